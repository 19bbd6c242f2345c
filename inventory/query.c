/*
 * Reading the inventory for people and scripts, as cursors of typed rows:
 * the hosts of `inventory list` and `show` (streamed one at a time, so
 * that a list of a million hosts costs the memory of a few), a host's
 * events, the grouped counts and sums of `inventory report`, and the
 * rack units of its elevations.  Every cursor reads one snapshot (a read
 * transaction, unless the caller's transaction is open), and each of its
 * queries is a stream: PostgreSQL hands it over a batch at a time.  What
 * the rows look like on a screen or in JSON is cli/'s business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/xmalloc.h"

/* A cursor's snapshot: a read transaction of its own when none is open. */
static int
snapshot_begin(struct inv *inv, int *own, struct err *err)
{
	*own = 0;
	if (inv->in_tx)
		return ERR_OK;
	if (db_begin(inv, DB_TX_READ, err) != ERR_OK)
		return ERR_FAIL;
	*own = 1;
	return ERR_OK;
}

static void
snapshot_end(struct inv *inv, int own)
{
	if (own)
		db_rollback(inv);
}

/*
 * How a list is read: the hosts in id order, and beside them, walked in
 * step (a merge join), their facts, pinned keys, NICs, disks and
 * accelerators, each a query of its own in (host_id, ...) order.  Only
 * the current host's rows are held: its NICs, disks and accelerators
 * copied into buffers reused from host to host, its facts and key read
 * where the cursor stands (it moves on at the next host), so memory does
 * not grow with the inventory.
 *
 * Which rows of those tables a filtered list reads: a site's hosts are
 * enrolled together and their ids lie close, so when the listed hosts'
 * ids span less than LIST_DENSE ids a host, the tables are read by that
 * range of ids, a walk along their primary keys (the rows of other hosts
 * in it are skipped here); otherwise they are joined to the listed
 * hosts, a probe of each host's rows.  On PostgreSQL the walk reads a
 * site's NICs of a million-host fleet in half the time of the probes;
 * at three ids a listed host (a site's active hosts, one in three) the
 * probes are cheaper again.
 */
#define LIST_DENSE	2

struct subcur {
	struct db_stmt	*st;
	int		 has;		/* st holds a row */
	int64_t		 host_id;	/* of that row */
};

/* The tables read beside the hosts: host_id first, in host order. */
enum { SUB_FACTS, SUB_KEYS, SUB_NICS, SUB_DISKS, SUB_GPUS, SUB_COUNT };
static const struct sub_table {
	const char	*cols;
	const char	*table;
	const char	*order;
} sub_tables[SUB_COUNT] = {
	[SUB_FACTS] = { "x.host_id, x.cpu_model, x.cpu_cores, x.memory_mb, "
	    "x.sys_vendor, x.sys_product, x.sys_serial", "facts",
	    "x.host_id" },
	[SUB_KEYS] = { "x.host_id, x.type, x.key, x.fingerprint, "
	    "x.pinned_at", "host_keys", "x.host_id" },
	[SUB_NICS] = { "x.host_id, x.name, x.mac, x.speed_mbps, x.enrolled",
	    "nics", "x.host_id, x.seq" },
	[SUB_DISKS] = { "x.host_id, x.name, x.size_bytes, x.model, x.serial, "
	    "x.rotational, x.removable", "disks", "x.host_id, x.name" },
	[SUB_GPUS] = { "x.host_id, x.pci_slot, x.class, x.vendor, x.model, "
	    "x.memory_mb", "gpus", "x.host_id, x.seq" },
};

struct hostbufs {
	struct inv_host_nic *nic;
	size_t		 nnic, capnic;
	struct inv_disk	*disk;
	size_t		 ndisk, capdisk;
	struct inv_gpu	*gpu;
	size_t		 ngpu, capgpu;
};

static int
cur_next(struct subcur *c)
{
	int	 rc = db_step(c->st);

	c->has = rc == 1;
	if (c->has)
		c->host_id = db_col_int64(c->st, 0);
	return rc == -1 ? -1 : 0;
}

/* Moves c past the rows of hosts before id: 1 when it stands on a row
 * of host id, 0 when not, -1 when the database failed. */
static int
cur_seek(struct subcur *c, int64_t id)
{
	while (c->has && c->host_id < id)
		if (cur_next(c) == -1)
			return -1;
	return c->has && c->host_id == id;
}

/* Builds the WHERE clause for a filter, bound later with filter_bind, in
 * the same order. */
static char *
filter_where(const struct inv_filter *f)
{
	char	*w = xstrdup("1 = 1");
	char	*t;

#define AND(cond) do { t = xsprintf("%s AND %s", w, cond); free(w); w = t; } while (0)
	if (f && f->hostname)
		AND("h.hostname = ?");
	if (f && f->site)
		AND("s.name = ?");
	if (f && f->rack)
		AND("r.name = ?");
	if (f && f->role)
		AND("h.role = ?");
	if (f && f->state >= 0)
		AND("h.state = ?");
#undef AND
	return w;
}

static void
filter_bind(struct db_stmt *st, const struct inv_filter *f)
{
	int	 i = 1;

	if (f && f->hostname)
		db_bind_text(st, i++, f->hostname);
	if (f && f->site)
		db_bind_text(st, i++, f->site);
	if (f && f->rack)
		db_bind_text(st, i++, f->rack);
	if (f && f->role)
		db_bind_text(st, i++, f->role);
	if (f && f->state >= 0)
		db_bind_text(st, i++, host_state_name(f->state));
}

#define JOINS \
	" FROM hosts h JOIN sites s ON s.id = h.site_id" \
	" LEFT JOIN racks r ON r.id = h.rack_id"

/* The listed hosts' ids: the range [ids[0], ids[1]] to read the tables
 * beside them by, or none (ids[0] > ids[1]) when they are better joined
 * to the hosts. */
static int
list_range(struct inv *inv, const char *where, const struct inv_filter *f,
    int64_t ids[2], struct err *err)
{
	struct db_stmt	*st;
	char		*sql;
	int64_t		 n;
	int		 rc;

	ids[0] = 1;
	ids[1] = 0;
	sql = xsprintf("SELECT min(h.id), max(h.id), count(*)" JOINS
	    " WHERE %s", where);
	rc = db_prepare(inv, sql, &st, err);
	free(sql);
	if (rc != ERR_OK)
		return rc;
	filter_bind(st, f);
	if ((rc = db_step(st)) == -1) {
		db_finalize(st);
		return db_fail(inv, "hosts", err);
	}
	if (rc == 1 && (n = db_col_int64(st, 2)) > 0 &&
	    (db_col_int64(st, 1) - db_col_int64(st, 0)) / LIST_DENSE < n) {
		ids[0] = db_col_int64(st, 0);
		ids[1] = db_col_int64(st, 1);
	}
	db_finalize(st);
	return ERR_OK;
}

/* Opens the cursor of table t: the whole table when the list has no
 * filter (where is "1 = 1"), else the range ids of it, or (no range) its
 * rows joined to the listed hosts. */
static int
subcur_open(struct inv *inv, const struct sub_table *t, const char *where,
    const struct inv_filter *f, const int64_t ids[2], struct subcur *c,
    struct err *err)
{
	char	*sql;
	int	 rc, ranged = ids[0] <= ids[1];

	memset(c, 0, sizeof(*c));
	if (strcmp(where, "1 = 1") == 0)
		sql = xsprintf("SELECT %s FROM %s x ORDER BY %s", t->cols,
		    t->table, t->order);
	else if (ranged)
		sql = xsprintf("SELECT %s FROM %s x WHERE x.host_id BETWEEN ? "
		    "AND ? ORDER BY %s", t->cols, t->table, t->order);
	else
		sql = xsprintf("SELECT %s" JOINS " JOIN %s x ON x.host_id = "
		    "h.id WHERE %s ORDER BY %s", t->cols, t->table, where,
		    t->order);
	rc = db_prepare_stream(inv, sql, &c->st, err);
	free(sql);
	if (rc != ERR_OK)
		return rc;
	if (ranged) {
		db_bind_int64(c->st, 1, ids[0]);
		db_bind_int64(c->st, 2, ids[1]);
	} else
		filter_bind(c->st, f);
	if (cur_next(c) == -1)
		return db_fail(inv, t->table, err);
	return ERR_OK;
}

/* Copies the NICs, disks and accelerators of host id into b. */
static int
subs_collect(struct subcur *sub, int64_t id, struct hostbufs *b)
{
	struct subcur	*c;
	int		 on;

	b->nnic = b->ndisk = b->ngpu = 0;
	c = &sub[SUB_NICS];
	while ((on = cur_seek(c, id)) == 1) {
		struct inv_host_nic *n;

		b->nic = db_grow(b->nic, b->nnic, &b->capnic, sizeof(*n));
		n = &b->nic[b->nnic++];

		db_col_copy(c->st, 1, n->nic.name, sizeof(n->nic.name));
		db_col_copy(c->st, 2, n->nic.mac, sizeof(n->nic.mac));
		n->nic.speed_mbps = (uint64_t)db_col_int64(c->st, 3);
		n->enrolled = (int)db_col_int64(c->st, 4);
		if (cur_next(c) == -1)
			return -1;
	}
	if (on == -1)
		return -1;
	c = &sub[SUB_DISKS];
	while ((on = cur_seek(c, id)) == 1) {
		struct inv_disk	*d;

		b->disk = db_grow(b->disk, b->ndisk, &b->capdisk, sizeof(*d));
		d = &b->disk[b->ndisk++];

		db_col_copy(c->st, 1, d->name, sizeof(d->name));
		d->size_bytes = (uint64_t)db_col_int64(c->st, 2);
		db_col_copy(c->st, 3, d->model, sizeof(d->model));
		db_col_copy(c->st, 4, d->serial, sizeof(d->serial));
		d->rotational = (int)db_col_int64(c->st, 5);
		d->removable = (int)db_col_int64(c->st, 6);
		if (cur_next(c) == -1)
			return -1;
	}
	if (on == -1)
		return -1;
	c = &sub[SUB_GPUS];
	while ((on = cur_seek(c, id)) == 1) {
		b->gpu = db_grow(b->gpu, b->ngpu, &b->capgpu,
		    sizeof(*b->gpu));
		db_gpu_fill(c->st, 1, &b->gpu[b->ngpu++]);
		if (cur_next(c) == -1)
			return -1;
	}
	return on;
}

/* Fills r's facts and key from the rows of host id, read where their
 * cursors stand: valid until the next host moves them. */
static int
subs_facts(struct subcur *sub, int64_t id, struct inv_host_row *r)
{
	struct db_stmt	*st;
	int		 on;

	if ((on = cur_seek(&sub[SUB_FACTS], id)) == -1)
		return -1;
	st = on ? sub[SUB_FACTS].st : NULL;
	r->cpu_model = st ? db_col_text(st, 1) : NULL;
	r->cpu_cores = st ? db_col_int_or(st, 2, -1) : -1;
	r->memory_mb = st ? db_col_int_or(st, 3, -1) : -1;
	r->sys_vendor = st ? db_col_text(st, 4) : NULL;
	r->sys_product = st ? db_col_text(st, 5) : NULL;
	r->sys_serial = st ? db_col_text(st, 6) : NULL;
	if ((on = cur_seek(&sub[SUB_KEYS], id)) == -1)
		return -1;
	st = on ? sub[SUB_KEYS].st : NULL;
	r->key_type = st ? db_col_text(st, 1) : NULL;
	r->key = st ? db_col_text(st, 2) : NULL;
	r->key_fingerprint = st ? db_col_text(st, 3) : NULL;
	r->key_pinned_at = st ? db_col_text(st, 4) : NULL;
	return 0;
}

#define HOST_SELECT \
	"SELECT h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, " \
	"h.address, h.role, h.state, h.step, h.step_done, h.image, h.disk, " \
	"h.created_at, h.updated_at, h.prefixlen, h.gateway, h.owner_host, " \
	"h.owner_pid, h.owner_start, h.bmc_driver" JOINS

/* The hosts' statement and the tables' beside it, and the row they
 * make. */
struct inv_hosts {
	struct inv		*inv;
	struct db_stmt		*st;
	struct subcur		 sub[SUB_COUNT];
	struct hostbufs		 b;
	struct inv_host_row	 row;
	int			 own;	/* the snapshot is the cursor's */
};

void
inv_hosts_close(struct inv_hosts *c)
{
	int	 i;

	if (c == NULL)
		return;
	db_finalize(c->st);
	for (i = 0; i < SUB_COUNT; i++)
		db_finalize(c->sub[i].st);
	free(c->b.nic);
	free(c->b.disk);
	free(c->b.gpu);
	snapshot_end(c->inv, c->own);
	free(c);
}

enum err_code
inv_hosts_open(struct inv *inv, const struct inv_filter *f,
    struct inv_hosts **curp, struct err *err)
{
	struct inv_hosts	*c;
	char			*where, *sql;
	int64_t			 ids[2] = { 1, 0 };
	int			 i, rc, own;

	*curp = NULL;
	/* One snapshot: every query sees the same database. */
	if ((rc = snapshot_begin(inv, &own, err)) != ERR_OK)
		return rc;
	c = xcalloc(1, sizeof(*c));
	c->inv = inv;
	c->own = own;
	where = filter_where(f);
	if (strcmp(where, "1 = 1") != 0 &&
	    (rc = list_range(inv, where, f, ids, err)) != ERR_OK)
		goto fail;
	for (i = 0; i < SUB_COUNT; i++)
		if ((rc = subcur_open(inv, &sub_tables[i], where, f, ids,
		    &c->sub[i], err)) != ERR_OK)
			goto fail;
	sql = xsprintf(HOST_SELECT " WHERE %s ORDER BY h.id", where);
	rc = db_prepare_stream(inv, sql, &c->st, err);
	free(sql);
	if (rc != ERR_OK)
		goto fail;
	filter_bind(c->st, f);
	free(where);
	*curp = c;
	return ERR_OK;
fail:
	free(where);
	inv_hosts_close(c);
	return rc;
}

/* Steps a cursor's statement: 1 for a row, 0 at the end, -1 with err
 * set. */
static int
stmt_step(struct inv *inv, struct db_stmt *st, const char *what,
    struct err *err)
{
	int	 rc = db_step(st);

	if (rc == -1)
		db_fail(inv, what, err);
	return rc;
}

static int
col_step(struct db_stmt *st, int i)
{
	int	 s = prov_step_parse(db_col_text(st, i));

	return s < 0 ? STEP_NONE : s;
}

int
inv_hosts_next(struct inv_hosts *c, const struct inv_host_row **rowp,
    struct err *err)
{
	struct inv_host_row	*r = &c->row;
	struct db_stmt		*st = c->st;
	int64_t			 id;
	int			 rc;

	*rowp = NULL;
	if ((rc = stmt_step(c->inv, st, "hosts", err)) != 1)
		return rc;
	id = db_col_int64(st, 0);
	if (subs_collect(c->sub, id, &c->b) == -1 ||
	    subs_facts(c->sub, id, r) == -1) {
		db_fail(c->inv, "facts, keys, nics, disks and accelerators",
		    err);
		return -1;
	}
	r->hostname = db_col_text(st, 1);
	r->site = db_col_text(st, 2);
	r->rack = db_col_text(st, 3);
	r->unit = (unsigned)db_col_int64(st, 4);
	r->serial = db_col_text(st, 5);
	r->bmc = db_col_text(st, 6);
	r->address = db_col_text(st, 7);
	r->role = db_col_text(st, 8);
	r->state = host_state_parse(db_col_text(st, 9));
	r->step = col_step(st, 10);
	r->step_done = col_step(st, 11);
	r->image = db_col_text(st, 12);
	r->disk = db_col_text(st, 13);
	r->created_at = db_col_text(st, 14);
	r->updated_at = db_col_text(st, 15);
	r->prefixlen = (unsigned)db_col_int64(st, 16);
	r->gateway = db_col_text(st, 17);
	r->owner_host = db_col_text(st, 18);
	r->owner_pid = db_col_int64(st, 19);
	r->owner_start = db_col_text(st, 20);
	r->bmc_driver = db_col_text(st, 21);
	r->gpus = c->b.gpu;
	r->ngpus = c->b.ngpu;
	r->disks = c->b.disk;
	r->ndisks = c->b.ndisk;
	r->nics = c->b.nic;
	r->nnics = c->b.nnic;
	*rowp = r;
	return 1;
}

/* A single-statement cursor (events, report groups, rack units). */
struct stmtcur {
	struct inv	*inv;
	struct db_stmt	*st;
	int		 own;
};

/* Opens c over sql, in a snapshot, with text bound to its one parameter
 * (none when text is NULL). */
static int
stmtcur_open(struct inv *inv, const char *sql, const char *text,
    struct stmtcur *c, struct err *err)
{
	c->inv = inv;
	if (snapshot_begin(inv, &c->own, err) != ERR_OK)
		return ERR_FAIL;
	if (db_prepare_stream(inv, sql, &c->st, err) != ERR_OK) {
		snapshot_end(inv, c->own);
		return ERR_FAIL;
	}
	if (text)
		db_bind_text(c->st, 1, text);
	return ERR_OK;
}

/* A cursor of size bytes whose first member is its struct stmtcur, open
 * over sql (stmtcur_open); NULL with err set. */
static void *
stmtcur_new(struct inv *inv, size_t size, const char *sql, const char *text,
    struct err *err)
{
	void	*cur = xcalloc(1, size);

	if (stmtcur_open(inv, sql, text, cur, err) != ERR_OK) {
		free(cur);
		return NULL;
	}
	return cur;
}

/* Frees cur, the cursor that holds sc. */
static void
stmtcur_free(struct stmtcur *sc, void *cur)
{
	db_finalize(sc->st);
	snapshot_end(sc->inv, sc->own);
	free(cur);
}

/* ---- events ---- */

struct inv_events {
	struct stmtcur		 sc;
	struct inv_event_row	 row;
};

static const struct inv_event_row *
event_fill(struct db_stmt *st, struct inv_event_row *r)
{
	r->time = db_col_text(st, 0);
	r->actor = db_col_text(st, 1);
	r->from_state = db_col_text(st, 2);
	r->to_state = db_col_text(st, 3);
	r->step = db_col_text(st, 4);
	r->reason = db_col_text(st, 5);
	r->bytes = db_col_int_or(st, 6, -1);
	r->duration_ms = db_col_int_or(st, 7, -1);
	r->site = db_col_text(st, 8);
	return r;
}

void
inv_events_close(struct inv_events *c)
{
	if (c)
		stmtcur_free(&c->sc, c);
}

enum err_code
inv_events_open(struct inv *inv, const char *hostname,
    struct inv_events **curp, struct err *err)
{
	*curp = stmtcur_new(inv, sizeof(**curp), "SELECT time, actor, "
	    "from_state, to_state, step, reason, bytes, duration_ms, site FROM "
	    "events WHERE hostname = ? ORDER BY id", hostname, err);
	return *curp ? ERR_OK : ERR_FAIL;
}

int
inv_events_next(struct inv_events *c, const struct inv_event_row **rowp,
    struct err *err)
{
	int	 rc = stmt_step(c->sc.inv, c->sc.st, "events", err);

	*rowp = rc == 1 ? event_fill(c->sc.st, &c->row) : NULL;
	return rc;
}

/* ---- report ---- */

/* Accelerators per host (g.n), or per host and model (g.m, g.n) for
 * --by gpu. */
#define GPUS_PER_HOST \
	"SELECT host_id, count(*) AS n FROM gpus GROUP BY host_id"
#define GPUS_PER_MODEL \
	"SELECT host_id, trim(coalesce(vendor, '') || ' ' || " \
	"coalesce(model, '')) AS m, count(*) AS n FROM gpus GROUP BY host_id, " \
	"trim(coalesce(vendor, '') || ' ' || coalesce(model, ''))"

/* A report's key over the hosts h (with s, r, f, and g from gpus); by
 * site, the report reads what the database keeps for it instead. */
struct report_key {
	const char	*by;
	const char	*expr;
	const char	*gpus;
	int		 sums;	/* REPORT_SITES */
};
static const struct report_key report_keys[] = {
	{ "site", "s.name", GPUS_PER_HOST, 1 },
	{ "rack", "s.name || '/' || r.name", GPUS_PER_HOST, 0 },
	{ "state", "h.state", GPUS_PER_HOST, 0 },
	{ "role", "h.role", GPUS_PER_HOST, 0 },
	{ "model", "trim(coalesce(f.sys_vendor, '') || ' ' || "
	    "coalesce(f.sys_product, ''))", GPUS_PER_HOST, 0 },
	{ "image", "h.image", GPUS_PER_HOST, 0 },
	{ "gpu", "s.name || '/' || g.m", GPUS_PER_MODEL, 0 },
};
/* Every host once (the total of a report by gpu). */
static const struct report_key report_all = { "total", "'total'",
    GPUS_PER_HOST, 0 };

/*
 * The report by site without a join of every host's facts and disks:
 * the hosts counted by site and state (from the index of both), and a
 * row a site, without a state, of the sums of its hosts' cores, memory,
 * disks and accelerators (site_sums, kept by the database); the groups'
 * rows add up to the same.  %s: twice the site's condition, or nothing.
 */
#define REPORT_SITES \
	"SELECT coalesce(nullif(s.name, ''), '(none)') AS k, x.state, x.n, " \
	"x.c, x.m, x.d, x.g FROM (SELECT site_id, state, count(*) AS n, " \
	"0 AS c, 0 AS m, 0 AS d, 0 AS g FROM hosts%s GROUP BY site_id, state " \
	"UNION ALL SELECT site_id, NULL, 0, cpu_cores, memory_mb, " \
	"disk_bytes, gpus FROM site_sums WHERE (cpu_cores <> 0 OR " \
	"memory_mb <> 0 OR disk_bytes <> 0 OR gpus <> 0)%s) x " \
	"JOIN sites s ON s.id = x.site_id ORDER BY 1, 2"
#define REPORT_SITE_IS	"site_id = (SELECT id FROM sites WHERE name = ?1)"

/* Whether report --by key puts every host in one group only (then the
 * total is the groups' sum): all but gpu. */
#define REPORT_ONCE(k)	(strcmp((k), "gpu") != 0)

int
inv_report_valid_by(const char *by)
{
	size_t	 i;

	for (i = 0; i < sizeof(report_keys) / sizeof(report_keys[0]); i++)
		if (strcmp(by, report_keys[i].by) == 0)
			return 1;
	return 0;
}

struct inv_report {
	struct stmtcur		 sc;
	int			 have;	/* st holds the next group's first row */
	int			 once;	/* every host in one group only */
	char			*key;
	char			*site;	/* of the report, NULL: all */
	struct inv_report_group	 row;
	struct inv_report_group	 sum;	/* of the groups read so far */
};

/* The report's query for key k. */
static int
report_prepare(struct inv_report *c, struct inv *inv,
    const struct report_key *k, struct err *err)
{
	char	*sql;
	int	 rc;

	if (k->sums)
		sql = xsprintf(REPORT_SITES, c->site ? " WHERE "
		    REPORT_SITE_IS : "", c->site ? " AND " REPORT_SITE_IS : "");
	else
		sql = xsprintf("SELECT coalesce(nullif(%s, ''), '(none)') AS "
		    "k, h.state, count(*), coalesce(sum(f.cpu_cores), 0), "
		    "coalesce(sum(f.memory_mb), 0), coalesce(sum(d.b), 0), "
		    "coalesce(sum(g.n), 0)" JOINS
		    " LEFT JOIN facts f ON f.host_id = h.id"
		    " LEFT JOIN (SELECT host_id, sum(size_bytes) AS b FROM "
		    "disks GROUP BY host_id) d ON d.host_id = h.id"
		    " LEFT JOIN (%s) g ON g.host_id = h.id%s"
		    " GROUP BY 1, h.state ORDER BY 1, h.state", k->expr,
		    k->gpus, c->site ? " WHERE s.name = ?" : "");
	rc = stmtcur_open(inv, sql, c->site, &c->sc, err);
	free(sql);
	c->have = 0;
	return rc;
}

enum err_code
inv_report_open(struct inv *inv, const char *by, const char *site,
    struct inv_report **curp, struct err *err)
{
	struct inv_report	*c;
	const struct report_key	*k = NULL;
	size_t			 i;
	int			 rc;

	*curp = NULL;
	for (i = 0; i < sizeof(report_keys) / sizeof(report_keys[0]); i++)
		if (strcmp(by, report_keys[i].by) == 0)
			k = &report_keys[i];
	if (k == NULL) {
		return err_set(err, ERR_INVAL, "report --by %s: must be site, "
		    "rack, state, role, model, image or gpu", by);
	}
	c = xcalloc(1, sizeof(*c));
	c->once = REPORT_ONCE(by);
	c->site = site ? xstrdup(site) : NULL;
	if ((rc = report_prepare(c, inv, k, err)) != ERR_OK) {
		free(c->site);
		free(c);
		return rc;
	}
	*curp = c;
	return ERR_OK;
}

/* A group is the run of (key, state) rows with one key (by site, and a
 * row of sums without a state). */
int
inv_report_next(struct inv_report *c, const struct inv_report_group **rowp,
    struct err *err)
{
	struct inv_report_group	*g = &c->row;
	struct db_stmt		*st = c->sc.st;
	int			 rc, s;

	*rowp = NULL;
	if (!c->have && (rc = stmt_step(c->sc.inv, st, "report", err)) != 1)
		return rc;
	free(c->key);
	c->key = xstrdup(db_col_text(st, 0));
	memset(g, 0, sizeof(*g));
	g->key = c->key;
	do {
		int64_t	 n = db_col_int64(st, 2);

		g->hosts += n;
		g->cpu_cores += db_col_int64(st, 3);
		g->memory_mb += db_col_int64(st, 4);
		g->disk_bytes += db_col_int64(st, 5);
		g->gpus += db_col_int64(st, 6);
		if ((s = host_state_parse(db_col_text(st, 1))) >= 0)
			g->states[s] = n;
		if ((rc = stmt_step(c->sc.inv, st, "report", err)) < 0)
			return rc;
		c->have = rc == 1;
	} while (c->have && strcmp(db_col_text(st, 0), c->key) == 0);
	c->sum.hosts += g->hosts;
	c->sum.cpu_cores += g->cpu_cores;
	c->sum.memory_mb += g->memory_mb;
	c->sum.disk_bytes += g->disk_bytes;
	c->sum.gpus += g->gpus;
	for (s = 0; s < HS_COUNT; s++)
		c->sum.states[s] += g->states[s];
	*rowp = g;
	return 1;
}

enum err_code
inv_report_total(struct inv_report *c, const struct inv_report_group **rowp,
    struct err *err)
{
	struct inv	*inv = c->sc.inv;
	int		 rc;

	*rowp = NULL;
	if (c->once) {
		/* The sum of the groups, every one read. */
		while ((rc = inv_report_next(c, rowp, err)) == 1)
			;
		if (rc < 0)
			return ERR_FAIL;
		c->row = c->sum;
		c->row.key = "total";
		*rowp = &c->row;
		return ERR_OK;
	}
	/* A host may be in several groups: count each once. */
	db_finalize(c->sc.st);
	c->sc.st = NULL;
	snapshot_end(inv, c->sc.own);
	if ((rc = report_prepare(c, inv, &report_all, err)) != ERR_OK)
		return rc;
	if ((rc = inv_report_next(c, rowp, err)) == 1)
		return ERR_OK;
	if (rc == 0) {
		/* No host at all. */
		memset(&c->row, 0, sizeof(c->row));
		c->row.key = "total";
		*rowp = &c->row;
		return ERR_OK;
	}
	return ERR_FAIL;
}

void
inv_report_close(struct inv_report *c)
{
	if (c == NULL)
		return;
	free(c->key);
	free(c->site);
	stmtcur_free(&c->sc, c);
}

/* ---- rack units ---- */

struct inv_units {
	struct stmtcur		 sc;
	struct inv_unit_row	 row;
};

static const struct inv_unit_row *
unit_fill(struct db_stmt *st, struct inv_unit_row *r)
{
	r->site = db_col_text(st, 0);
	r->rack = db_col_text(st, 1);
	r->unit = (unsigned)db_col_int64(st, 2);
	r->hostname = db_col_text(st, 3);
	r->state = host_state_parse(db_col_text(st, 4));
	return r;
}

void
inv_units_close(struct inv_units *c)
{
	if (c)
		stmtcur_free(&c->sc, c);
}

enum err_code
inv_units_open(struct inv *inv, const char *site, struct inv_units **curp,
    struct err *err)
{
	char	*sql;

	sql = xsprintf("SELECT s.name, r.name, h.unit, h.hostname, h.state "
	    "FROM hosts h JOIN sites s ON s.id = h.site_id JOIN racks r ON "
	    "r.id = h.rack_id%s ORDER BY s.name, r.name, h.unit NULLS FIRST",
	    site ? " WHERE s.name = ?" : "");
	*curp = stmtcur_new(inv, sizeof(**curp), sql, site, err);
	free(sql);
	return *curp ? ERR_OK : ERR_FAIL;
}

int
inv_units_next(struct inv_units *c, const struct inv_unit_row **rowp,
    struct err *err)
{
	int	 rc = stmt_step(c->sc.inv, c->sc.st, "racks", err);

	*rowp = rc == 1 ? unit_fill(c->sc.st, &c->row) : NULL;
	return rc;
}
