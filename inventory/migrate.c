/*
 * `inventory migrate --to URL`: a site's inventory copied into the fleet's,
 * whole, in one transaction of the target, so that the site's appliance
 * can switch its [inventory] database over without losing a host or an
 * event.  The source is read in one snapshot and streamed, table by
 * table, into temporary tables of the target (COPY on PostgreSQL); from
 * there a few statements check every conflict and write what is new.
 *
 * Running it twice changes nothing: a host the target holds with the same
 * name, site, serial and enrollment time is the same host (copied before)
 * and is left as it is; each event carries its origin (the source
 * inventory's id and the event's id there), and an origin the target
 * holds is not copied again.  Anything else the target holds under a
 * name of the source's (a hostname, serial, BMC, address, MAC or rack
 * position of another host) refuses the whole migration, every conflict
 * named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/xmalloc.h"

/* A source query, the target table it fills, and how many columns. */
struct copy {
	const char	*temp;		/* the target's temporary table */
	const char	*create;	/* its columns, from the real tables */
	const char	*select;	/* the source's rows, in that order */
	int		 ncols;
};

static const struct copy copies[] = {
	{ "mig_hosts",
	  "SELECT h.id, h.hostname, s.name AS site, r.name AS rack, h.unit, "
	  "h.serial, h.bmc, h.address, h.role, h.state, h.step, h.step_done, "
	  "h.image, h.disk, h.created_at, h.updated_at, h.bmc_driver, "
	  "h.prefixlen, h.gateway, h.owner_host, h.owner_pid, h.owner_start "
	  "FROM hosts h, sites s, racks r",
	  "SELECT h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, "
	  "h.address, h.role, h.state, h.step, h.step_done, h.image, h.disk, "
	  "h.created_at, h.updated_at, h.bmc_driver, h.prefixlen, h.gateway, "
	  "h.owner_host, h.owner_pid, h.owner_start FROM hosts h "
	  "JOIN sites s ON s.id = h.site_id LEFT JOIN racks r ON "
	  "r.id = h.rack_id ORDER BY h.id", 22 },
	{ "mig_nics",
	  "SELECT h.hostname, n.seq, n.mac, n.name, n.speed_mbps, n.enrolled "
	  "FROM nics n, hosts h",
	  "SELECT h.hostname, n.seq, n.mac, n.name, n.speed_mbps, n.enrolled "
	  "FROM nics n JOIN hosts h ON h.id = n.host_id "
	  "ORDER BY n.host_id, n.seq", 6 },
	{ "mig_disks",
	  "SELECT h.hostname, d.name, d.size_bytes, d.model, d.serial, "
	  "d.rotational, d.removable FROM disks d, hosts h",
	  "SELECT h.hostname, d.name, d.size_bytes, d.model, d.serial, "
	  "d.rotational, d.removable FROM disks d JOIN hosts h ON "
	  "h.id = d.host_id ORDER BY d.host_id, d.name", 7 },
	{ "mig_facts",
	  "SELECT h.hostname, f.cpu_model, f.cpu_cores, f.memory_mb, "
	  "f.sys_vendor, f.sys_product, f.sys_serial, f.inspected_at "
	  "FROM facts f, hosts h",
	  "SELECT h.hostname, f.cpu_model, f.cpu_cores, f.memory_mb, "
	  "f.sys_vendor, f.sys_product, f.sys_serial, f.inspected_at "
	  "FROM facts f JOIN hosts h ON h.id = f.host_id ORDER BY f.host_id", 8 },
	{ "mig_keys",
	  "SELECT h.hostname, k.type, k.key, k.fingerprint, k.pinned_at "
	  "FROM host_keys k, hosts h",
	  "SELECT h.hostname, k.type, k.key, k.fingerprint, k.pinned_at "
	  "FROM host_keys k JOIN hosts h ON h.id = k.host_id "
	  "ORDER BY k.host_id", 5 },
	{ "mig_gpus",
	  "SELECT h.hostname, g.seq, g.pci_slot, g.class, g.vendor, g.model, "
	  "g.memory_mb FROM gpus g, hosts h",
	  "SELECT h.hostname, g.seq, g.pci_slot, g.class, g.vendor, g.model, "
	  "g.memory_mb FROM gpus g JOIN hosts h ON h.id = g.host_id "
	  "ORDER BY g.host_id, g.seq", 7 },
	/* ?1: the source inventory's id, which an event's origin names
	 * unless it came from elsewhere before */
	{ "mig_events",
	  "SELECT e.id, e.host_id, e.hostname, e.time, e.actor, e.from_state, "
	  "e.to_state, e.step, e.reason, e.bytes, e.duration_ms, e.site, "
	  "e.origin FROM events e",
	  "SELECT e.id, e.host_id, e.hostname, e.time, e.actor, e.from_state, "
	  "e.to_state, e.step, e.reason, e.bytes, e.duration_ms, e.site, "
	  "coalesce(e.origin, CAST(?1 AS TEXT) || ':' || e.id) FROM events e "
	  "ORDER BY e.id", 13 },
};
#define NCOPIES	(sizeof(copies) / sizeof(copies[0]))

/* The source's hosts that the target does not hold by name. */
static const char new_create[] =
	"CREATE TEMP TABLE mig_new AS SELECT m.hostname FROM mig_hosts m "
	"WHERE NOT EXISTS (SELECT 1 FROM hosts x WHERE x.hostname = m.hostname)";

enum { K_HOSTNAME, K_SERIAL, K_BMC, K_ADDRESS, K_MAC, K_POSITION };

/* Source host id, kind, its name, the value, the target's host holding
 * it, and that host's site. */
static const char conflict_sql[] =
	"SELECT m.id, 0, m.hostname, m.hostname, h.hostname, s.name "
	"FROM mig_hosts m JOIN hosts h ON h.hostname = m.hostname "
	"JOIN sites s ON s.id = h.site_id "
	"WHERE NOT (s.name = m.site AND h.created_at = m.created_at "
	"AND h.serial IS NOT DISTINCT FROM m.serial) "
	"UNION ALL SELECT m.id, 1, m.hostname, m.serial, h.hostname, s.name "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN hosts h ON h.serial = m.serial JOIN sites s ON s.id = h.site_id "
	"UNION ALL SELECT m.id, 2, m.hostname, m.bmc, h.hostname, s.name "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN hosts h ON h.bmc = m.bmc JOIN sites s ON s.id = h.site_id "
	"UNION ALL SELECT m.id, 3, m.hostname, m.address, h.hostname, s.name "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN hosts h ON h.address = m.address "
	"JOIN sites s ON s.id = h.site_id "
	"UNION ALL SELECT m.id, 4, m.hostname, n.mac, h.hostname, s.name "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN mig_nics n ON n.hostname = m.hostname "
	"JOIN nics x ON x.mac = n.mac JOIN hosts h ON h.id = x.host_id "
	"JOIN sites s ON s.id = h.site_id "
	"UNION ALL SELECT m.id, 5, m.hostname, "
	"s.name || '/' || r.name || '/U' || m.unit, h.hostname, s.name "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN sites s ON s.name = m.site "
	"JOIN racks r ON r.site_id = s.id AND r.name = m.rack "
	"JOIN hosts h ON h.rack_id = r.id AND h.unit = m.unit "
	"ORDER BY 1, 2, 4";

static const char *const write_sql[] = {
	"INSERT INTO sites (name) SELECT m.site FROM mig_hosts m "
	"JOIN mig_new w ON w.hostname = m.hostname "
	"WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.name = m.site) "
	"GROUP BY m.site ORDER BY min(m.id)",
	"INSERT INTO racks (site_id, name) SELECT s.id, m.rack "
	"FROM mig_hosts m JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN sites s ON s.name = m.site WHERE m.rack IS NOT NULL "
	"AND NOT EXISTS (SELECT 1 FROM racks r WHERE r.site_id = s.id "
	"AND r.name = m.rack) GROUP BY s.id, m.rack ORDER BY min(m.id)",
	"INSERT INTO hosts (hostname, site_id, rack_id, unit, serial, bmc, "
	"address, role, state, step, step_done, image, disk, created_at, "
	"updated_at, bmc_driver, prefixlen, gateway, owner_host, owner_pid, "
	"owner_start) SELECT m.hostname, s.id, r.id, m.unit, m.serial, m.bmc, "
	"m.address, m.role, m.state, m.step, m.step_done, m.image, m.disk, "
	"m.created_at, m.updated_at, m.bmc_driver, m.prefixlen, m.gateway, "
	"m.owner_host, m.owner_pid, m.owner_start FROM mig_hosts m "
	"JOIN mig_new w ON w.hostname = m.hostname "
	"JOIN sites s ON s.name = m.site "
	"LEFT JOIN racks r ON r.site_id = s.id AND r.name = m.rack "
	"ORDER BY m.id",
	"INSERT INTO nics (host_id, seq, mac, name, speed_mbps, enrolled) "
	"SELECT h.id, n.seq, n.mac, n.name, n.speed_mbps, n.enrolled "
	"FROM mig_nics n JOIN mig_new w ON w.hostname = n.hostname "
	"JOIN hosts h ON h.hostname = n.hostname ORDER BY h.id, n.seq",
	"INSERT INTO disks (host_id, name, size_bytes, model, serial, "
	"rotational, removable) SELECT h.id, d.name, d.size_bytes, d.model, "
	"d.serial, d.rotational, d.removable FROM mig_disks d "
	"JOIN mig_new w ON w.hostname = d.hostname "
	"JOIN hosts h ON h.hostname = d.hostname ORDER BY h.id, d.name",
	"INSERT INTO facts (host_id, cpu_model, cpu_cores, memory_mb, "
	"sys_vendor, sys_product, sys_serial, inspected_at) SELECT h.id, "
	"f.cpu_model, f.cpu_cores, f.memory_mb, f.sys_vendor, f.sys_product, "
	"f.sys_serial, f.inspected_at FROM mig_facts f "
	"JOIN mig_new w ON w.hostname = f.hostname "
	"JOIN hosts h ON h.hostname = f.hostname ORDER BY h.id",
	"INSERT INTO host_keys (host_id, type, key, fingerprint, pinned_at) "
	"SELECT h.id, k.type, k.key, k.fingerprint, k.pinned_at "
	"FROM mig_keys k JOIN mig_new w ON w.hostname = k.hostname "
	"JOIN hosts h ON h.hostname = k.hostname ORDER BY h.id",
	"INSERT INTO gpus (host_id, seq, pci_slot, class, vendor, model, "
	"memory_mb) SELECT h.id, g.seq, g.pci_slot, g.class, g.vendor, "
	"g.model, g.memory_mb FROM mig_gpus g "
	"JOIN mig_new w ON w.hostname = g.hostname "
	"JOIN hosts h ON h.hostname = g.hostname ORDER BY h.id, g.seq",
	/* An event of a host the source still holds goes with that host;
	 * one of a removed host keeps its name only. */
	"INSERT INTO events (host_id, hostname, time, actor, from_state, "
	"to_state, step, reason, bytes, duration_ms, site, origin) "
	"SELECT h.id, e.hostname, e.time, e.actor, e.from_state, e.to_state, "
	"e.step, e.reason, e.bytes, e.duration_ms, e.site, e.origin "
	"FROM mig_events e LEFT JOIN mig_hosts m ON m.id = e.host_id AND "
	"m.hostname = e.hostname LEFT JOIN hosts h ON h.hostname = m.hostname "
	"WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.origin = e.origin) "
	"ORDER BY e.id",
};

static const char drop_sql[] =
	"DROP TABLE mig_hosts; DROP TABLE mig_nics; DROP TABLE mig_disks; "
	"DROP TABLE mig_facts; DROP TABLE mig_keys; DROP TABLE mig_gpus; "
	"DROP TABLE mig_events; DROP TABLE mig_new";

static void
problem(struct inv_errors *errs, char *msg)
{
	errs->total++;
	if (errs->n >= 1000) {
		free(msg);
		return;
	}
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(char *));
	errs->msg[errs->n++] = msg;
}

/* One value of a query of one row (a count, an id); NULL when none. */
static char *
one_value(struct inv *inv, const char *sql, const char *bind, struct err *err)
{
	struct db_stmt	*st;
	char		*v = NULL;
	int		 rc;

	if (db_prepare(inv, sql, &st, err) != ERR_OK)
		return NULL;
	if (bind)
		db_bind_text(st, 1, bind);
	if ((rc = db_step(st)) == 1 && db_col_text(st, 0))
		v = xstrdup(db_col_text(st, 0));
	if (rc == -1)
		db_fail(inv, "query", err);
	else if (v == NULL)
		err_set(err, ERR_FAIL, "%s: %s: no value", inv->name, sql);
	db_finalize(st);
	return v;
}

static int
count(struct inv *inv, const char *sql, size_t *n, struct err *err)
{
	char	*v;

	if ((v = one_value(inv, sql, NULL, err)) == NULL)
		return ERR_FAIL;
	*n = (size_t)strtoull(v, NULL, 10);
	free(v);
	return ERR_OK;
}

/* Streams the rows of c's source query into its temporary table. */
static int
copy_one(struct inv *from, struct inv *to, const struct copy *c,
    const char *id, struct err *err)
{
	struct db_stmt	*st;
	const char	*vals[32];
	char		*sql;
	int		 i, rc;

	sql = xsprintf("CREATE TEMP TABLE %s AS %s WHERE 1 = 0", c->temp,
	    c->create);
	rc = db_exec(to, sql, err);
	free(sql);
	if (rc != ERR_OK)
		return rc;
	if (db_prepare_stream(from, c->select, &st, err) != ERR_OK)
		return ERR_FAIL;
	if (strstr(c->select, "?1"))
		db_bind_text(st, 1, id);
	if ((rc = db_load_begin(to, c->temp, c->ncols, err)) != ERR_OK) {
		db_finalize(st);
		return rc;
	}
	while ((rc = db_step(st)) == 1) {
		for (i = 0; i < c->ncols; i++)
			vals[i] = db_col_text(st, i);
		if ((rc = db_load_row(to, vals, err)) != ERR_OK)
			break;
	}
	if (rc == -1)
		rc = db_fail(from, c->temp + 4, err);
	db_finalize(st);
	if (rc != 0) {
		db_load_end(to, err);
		return ERR_FAIL;
	}
	return db_load_end(to, err);
}

static int
conflicts(struct inv *to, struct inv_errors *errs, struct err *err)
{
	static const char *const what[] = { "hostname", "serial", "bmc",
	    "address", "MAC", "position" };
	struct db_stmt	*st;
	const char	*host, *val, *who, *site;
	int64_t		 k;
	int		 rc;

	if (db_prepare_stream(to, conflict_sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	while ((rc = db_step(st)) == 1) {
		k = db_col_int64(st, 1);
		host = db_col_text(st, 2);
		val = db_col_text(st, 3);
		who = db_col_text(st, 4);
		site = db_col_text(st, 5);
		if (k == K_HOSTNAME)
			problem(errs, xsprintf("%s: hostname already taken by "
			    "another host (at site %s) in %s", host, site,
			    to->name));
		else if (k > K_HOSTNAME && k <= K_POSITION)
			problem(errs, xsprintf("%s: %s %s already belongs to "
			    "%s (at site %s) in %s", host, what[k], val, who,
			    site, to->name));
	}
	if (rc == -1)
		rc = db_fail(to, "conflicts", err);
	db_finalize(st);
	return rc == 0 ? ERR_OK : rc;
}

static int
migrate_tx(struct inv *from, struct inv *to, struct inv_migrate_result *res,
    struct inv_errors *errs, struct err *err)
{
	struct db_stmt	*st;
	char		*id = NULL, *toid = NULL;
	size_t		 i, total;
	int		 rc;

	memset(res, 0, sizeof(*res));
	if ((rc = db_begin(from, DB_TX_READ, err)) != ERR_OK)
		return rc;
	if ((rc = db_begin(to, DB_TX_NAMES, err)) != ERR_OK)
		goto out;
	rc = ERR_FAIL;
	if ((id = one_value(from, "SELECT value FROM meta WHERE key = "
	    "'inventory_id'", NULL, err)) == NULL ||
	    (toid = one_value(to, "SELECT value FROM meta WHERE key = "
	    "'inventory_id'", NULL, err)) == NULL)
		goto out;
	if (strcmp(id, toid) == 0) {
		rc = err_set(err, ERR_INVAL, "%s and %s are the same inventory",
		    from->name, to->name);
		goto out;
	}
	for (i = 0; i < NCOPIES; i++)
		if ((rc = copy_one(from, to, &copies[i], id, err)) != ERR_OK)
			goto out;
	if ((rc = db_exec(to, new_create, err)) != ERR_OK ||
	    (rc = conflicts(to, errs, err)) != ERR_OK)
		goto out;
	if (errs->n > 0) {
		rc = ERR_INVAL;
		goto out;
	}
	if ((rc = count(to, "SELECT count(*) FROM mig_hosts", &total, err)) !=
	    ERR_OK || (rc = count(to, "SELECT count(*) FROM mig_new",
	    &res->hosts, err)) != ERR_OK)
		goto out;
	res->hosts_there = total - res->hosts;
	if ((rc = count(to, "SELECT count(*) FROM mig_events", &total, err)) !=
	    ERR_OK || (rc = count(to, "SELECT count(*) FROM mig_events e WHERE "
	    "NOT EXISTS (SELECT 1 FROM events x WHERE x.origin = e.origin)",
	    &res->events, err)) != ERR_OK)
		goto out;
	res->events_there = total - res->events;
	for (i = 0; i < sizeof(write_sql) / sizeof(write_sql[0]); i++) {
		if ((rc = db_prepare(to, write_sql[i], &st, err)) != ERR_OK)
			goto out;
		rc = db_step(st);
		if (rc != 0)
			rc = db_fail(to, "migrate", err);
		db_finalize(st);
		if (rc != 0)
			goto out;
	}
	if ((rc = db_exec(to, drop_sql, err)) != ERR_OK)
		goto out;
	rc = db_commit(to, err);
out:
	free(id);
	free(toid);
	db_rollback(to);
	db_rollback(from);
	return rc;
}

enum err_code
inv_migrate(struct inv *from, struct inv *to, struct inv_migrate_result *res,
    struct inv_errors *errs)
{
	struct err	 err;
	int		 rc;

	err_clear(&err);
	DB_RETRY(to, rc, migrate_tx(from, to, res, errs, &err));
	if (rc != ERR_OK && err.msg[0] != '\0')
		problem(errs, xstrdup(err.msg));
	return rc;
}
