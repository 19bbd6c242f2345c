# What each site's hosts hold, as an inventory's database keeps it for
# the report (site_sums, schema step 5), against the same added up from
# every host's facts, disks and accelerators: they agree after every
# write, whoever made it (castiron, a migration, SQL).  Source it after
# tests/lib.sh.
#
#   sums_agree NAME FUNCTION   one result: FUNCTION SQL (sqlite3 or psql,
#                              unaligned, tuples only) gives the same rows
#                              for both, and not none

SUMS_KEPT='select site_id, cpu_cores, memory_mb, disk_bytes, gpus from site_sums
	where cpu_cores <> 0 or memory_mb <> 0 or disk_bytes <> 0 or gpus <> 0 order by 1'
SUMS_ADDED='select * from (select h.site_id, coalesce(sum(f.cpu_cores), 0) as c, coalesce(sum(f.memory_mb), 0) as m,
	coalesce(sum((select sum(size_bytes) from disks d where d.host_id = h.id)), 0) as d,
	coalesce(sum((select count(*) from gpus g where g.host_id = h.id)), 0) as g
	from hosts h left join facts f on f.host_id = h.id group by h.site_id) x
	where c <> 0 or m <> 0 or d <> 0 or g <> 0 order by 1'

sums_agree() {	# name function
	_kept=$($2 "$SUMS_KEPT")
	check "the sites' sums agree with their hosts: $1" "${_kept:-none}" = "$($2 "$SUMS_ADDED")"
}
