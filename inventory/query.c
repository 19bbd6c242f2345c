/*
 * Reading the inventory for people and scripts, as cursors of typed rows:
 * the hosts of `inventory list` and `show` (streamed one at a time, so
 * that a list of 100,000 hosts costs the memory of a few), a host's
 * events, the grouped counts and sums of `inventory report`, and the
 * rack units of its elevations.  What the rows look like on a screen or
 * in JSON is cli/'s business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/xmalloc.h"

/*
 * How a list is read: four queries walked side by side in host id order,
 * a merge join.  hosts in id order; nics, disks and gpus, stored WITHOUT
 * ROWID in (host_id, ...) order, read sequentially.  Only the current
 * host's NICs, disks and accelerators are held, in buffers reused from
 * host to host, so memory does not grow with the inventory.
 */
struct subcur {
	sqlite3_stmt	*st;
	int		 has;		/* st holds a row */
	int64_t		 host_id;	/* of that row */
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
	int	 rc = sqlite3_step(c->st);

	c->has = rc == SQLITE_ROW;
	if (c->has)
		c->host_id = sqlite3_column_int64(c->st, 0);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Builds the WHERE clause for a filter, bound later with filter_bind, in
 * the same order. */
static char *
filter_where(const struct inv_filter *f)
{
	char	*w = xstrdup("1");
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
filter_bind(sqlite3_stmt *st, const struct inv_filter *f)
{
	int	 i = 1;

	if (f && f->hostname)
		sqlite3_bind_text(st, i++, f->hostname, -1, SQLITE_TRANSIENT);
	if (f && f->site)
		sqlite3_bind_text(st, i++, f->site, -1, SQLITE_TRANSIENT);
	if (f && f->rack)
		sqlite3_bind_text(st, i++, f->rack, -1, SQLITE_TRANSIENT);
	if (f && f->role)
		sqlite3_bind_text(st, i++, f->role, -1, SQLITE_TRANSIENT);
	if (f && f->state >= 0)
		sqlite3_bind_text(st, i++, host_state_name(f->state), -1,
		    SQLITE_TRANSIENT);
}

#define JOINS \
	" FROM hosts h JOIN sites s ON s.id = h.site_id" \
	" LEFT JOIN racks r ON r.id = h.rack_id"

/* Prepares the nics or disks cursor; filtered through the hosts when a
 * filter is given, else a plain sequential scan. */
static int
subcur_open(struct inv *inv, const char *cols, const char *table,
    const char *order, const char *where, const struct inv_filter *f,
    struct subcur *c, char *err, size_t errlen)
{
	char	*sql;
	int	 rc;

	memset(c, 0, sizeof(*c));
	if (strcmp(where, "1") == 0)
		sql = xsprintf("SELECT %s FROM %s x ORDER BY %s", cols, table,
		    order);
	else
		sql = xsprintf("SELECT %s FROM %s x WHERE x.host_id IN (SELECT "
		    "h.id" JOINS " WHERE %s) ORDER BY %s", cols, table, where,
		    order);
	rc = db_prepare(inv, sql, &c->st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		return rc;
	filter_bind(c->st, f);
	if (cur_next(c) == -1)
		return db_fail(inv, table, err, errlen);
	return INV_OK;
}

/* Collects the NICs, disks and accelerators of host id into b. */
static int
subs_collect(struct subcur *nc, struct subcur *dc, struct subcur *gc,
    int64_t id, struct hostbufs *b)
{
	b->nnic = b->ndisk = b->ngpu = 0;
	while (nc->has && nc->host_id < id)
		if (cur_next(nc) == -1)
			return -1;
	while (nc->has && nc->host_id == id) {
		struct inv_host_nic *n;

		if (b->nnic == b->capnic) {
			b->capnic = b->capnic ? b->capnic * 2 : 8;
			b->nic = xreallocarray(b->nic, b->capnic, sizeof(*n));
		}
		n = &b->nic[b->nnic++];
		db_column_copy(nc->st, 1, n->nic.name, sizeof(n->nic.name));
		db_column_copy(nc->st, 2, n->nic.mac, sizeof(n->nic.mac));
		n->nic.speed_mbps = (uint64_t)sqlite3_column_int64(nc->st, 3);
		n->enrolled = sqlite3_column_int(nc->st, 4);
		if (cur_next(nc) == -1)
			return -1;
	}
	while (dc->has && dc->host_id < id)
		if (cur_next(dc) == -1)
			return -1;
	while (dc->has && dc->host_id == id) {
		struct inv_disk	*d;

		if (b->ndisk == b->capdisk) {
			b->capdisk = b->capdisk ? b->capdisk * 2 : 8;
			b->disk = xreallocarray(b->disk, b->capdisk, sizeof(*d));
		}
		d = &b->disk[b->ndisk++];
		db_column_copy(dc->st, 1, d->name, sizeof(d->name));
		d->size_bytes = (uint64_t)sqlite3_column_int64(dc->st, 2);
		db_column_copy(dc->st, 3, d->model, sizeof(d->model));
		db_column_copy(dc->st, 4, d->serial, sizeof(d->serial));
		d->rotational = sqlite3_column_int(dc->st, 5);
		d->removable = sqlite3_column_int(dc->st, 6);
		if (cur_next(dc) == -1)
			return -1;
	}
	while (gc->has && gc->host_id < id)
		if (cur_next(gc) == -1)
			return -1;
	while (gc->has && gc->host_id == id) {
		struct inv_gpu	*g;

		if (b->ngpu == b->capgpu) {
			b->capgpu = b->capgpu ? b->capgpu * 2 : 8;
			b->gpu = xreallocarray(b->gpu, b->capgpu, sizeof(*g));
		}
		g = &b->gpu[b->ngpu++];
		db_gpu_fill(gc->st, 1, g);
		if (cur_next(gc) == -1)
			return -1;
	}
	return 0;
}

#define HOST_SELECT \
	"SELECT h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, " \
	"h.address, h.role, h.state, h.step, h.step_done, h.image, h.disk, " \
	"h.created_at, h.updated_at, f.cpu_model, f.cpu_cores, f.memory_mb, " \
	"f.sys_vendor, f.sys_product, f.sys_serial, k.type, k.key, " \
	"k.fingerprint, k.pinned_at, h.prefixlen, h.gateway, h.owner_host, " \
	"h.owner_pid, h.owner_start" JOINS \
	" LEFT JOIN facts f ON f.host_id = h.id" \
	" LEFT JOIN host_keys k ON k.host_id = h.id"

/* Three statements walked side by side, and the row they make. */
struct inv_hosts {
	struct inv		*inv;
	sqlite3_stmt		*st;
	struct subcur		 nc, dc, gc;
	struct hostbufs		 b;
	struct inv_host_row	 row;
	int			 done;
};

void
inv_hosts_close(struct inv_hosts *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->st);
	sqlite3_finalize(c->nc.st);
	sqlite3_finalize(c->dc.st);
	sqlite3_finalize(c->gc.st);
	free(c->b.nic);
	free(c->b.disk);
	free(c->b.gpu);
	db_rollback(c->inv);
	free(c);
}

int
inv_hosts_open(struct inv *inv, const struct inv_filter *f,
    struct inv_hosts **curp, char *err, size_t errlen)
{
	struct inv_hosts	*c;
	char			*where, *sql;
	int			 rc;

	*curp = NULL;
	/* One read transaction: every query sees the same snapshot. */
	if ((rc = db_exec(inv, "BEGIN", err, errlen)) != INV_OK)
		return rc;
	c = xcalloc(1, sizeof(*c));
	c->inv = inv;
	where = filter_where(f);
	if ((rc = subcur_open(inv, "x.host_id, x.name, x.mac, x.speed_mbps, "
	    "x.enrolled", "nics", "x.host_id, x.seq", where, f, &c->nc,
	    err, errlen)) != INV_OK ||
	    (rc = subcur_open(inv, "x.host_id, x.name, x.size_bytes, x.model, "
	    "x.serial, x.rotational, x.removable", "disks", "x.host_id, x.name",
	    where, f, &c->dc, err, errlen)) != INV_OK ||
	    (rc = subcur_open(inv, "x.host_id, x.pci_slot, x.class, x.vendor, "
	    "x.model, x.memory_mb", "gpus", "x.host_id, x.seq", where, f,
	    &c->gc, err, errlen)) != INV_OK)
		goto fail;
	sql = xsprintf(HOST_SELECT " WHERE %s ORDER BY h.id", where);
	rc = db_prepare(inv, sql, &c->st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		goto fail;
	filter_bind(c->st, f);
	free(where);
	*curp = c;
	return INV_OK;
fail:
	free(where);
	inv_hosts_close(c);
	return rc;
}

/* Steps a cursor's statement: 1 for a row, 0 at the end (and on every
 * call after it), or a failure. */
static int
stmt_step(struct inv *inv, sqlite3_stmt *st, int *done, const char *what,
    char *err, size_t errlen)
{
	int	 rc;

	if (*done)
		return 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return 1;
	*done = 1;
	return rc == SQLITE_DONE ? 0 : db_fail(inv, what, err, errlen);
}

/* A single-statement cursor (events, rack units). */
struct stmtcur {
	struct inv	*inv;
	sqlite3_stmt	*st;
	int		 done;
};

static int
stmtcur_open(struct inv *inv, const char *sql, struct stmtcur *c, char *err,
    size_t errlen)
{
	c->inv = inv;
	c->done = 0;
	return db_prepare(inv, sql, &c->st, err, errlen);
}

/* Frees cur, the cursor that holds sc. */
static void
stmtcur_free(struct stmtcur *sc, void *cur)
{
	sqlite3_finalize(sc->st);
	free(cur);
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t
col_int_or(sqlite3_stmt *st, int i, int64_t none)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return none;
	return sqlite3_column_int64(st, i);
}

static int
col_step(sqlite3_stmt *st, int i)
{
	int	 s = prov_step_parse(col_text(st, i));

	return s < 0 ? STEP_NONE : s;
}

int
inv_hosts_next(struct inv_hosts *c, const struct inv_host_row **rowp,
    char *err, size_t errlen)
{
	struct inv_host_row	*r = &c->row;
	sqlite3_stmt		*st = c->st;
	int			 rc;

	*rowp = NULL;
	if ((rc = stmt_step(c->inv, st, &c->done, "hosts", err, errlen)) != 1)
		return rc;
	if (subs_collect(&c->nc, &c->dc, &c->gc, sqlite3_column_int64(st, 0),
	    &c->b) == -1)
		return db_fail(c->inv, "nics, disks and accelerators", err,
		    errlen);
	r->hostname = col_text(st, 1);
	r->site = col_text(st, 2);
	r->rack = col_text(st, 3);
	r->unit = (unsigned)sqlite3_column_int(st, 4);
	r->serial = col_text(st, 5);
	r->bmc = col_text(st, 6);
	r->address = col_text(st, 7);
	r->role = col_text(st, 8);
	r->state = host_state_parse(col_text(st, 9));
	r->step = col_step(st, 10);
	r->step_done = col_step(st, 11);
	r->image = col_text(st, 12);
	r->disk = col_text(st, 13);
	r->created_at = col_text(st, 14);
	r->updated_at = col_text(st, 15);
	r->cpu_model = col_text(st, 16);
	r->cpu_cores = col_int_or(st, 17, -1);
	r->memory_mb = col_int_or(st, 18, -1);
	r->sys_vendor = col_text(st, 19);
	r->sys_product = col_text(st, 20);
	r->sys_serial = col_text(st, 21);
	r->key_type = col_text(st, 22);
	r->key = col_text(st, 23);
	r->key_fingerprint = col_text(st, 24);
	r->key_pinned_at = col_text(st, 25);
	r->prefixlen = (unsigned)sqlite3_column_int(st, 26);
	r->gateway = col_text(st, 27);
	r->owner_host = col_text(st, 28);
	r->owner_pid = sqlite3_column_int64(st, 29);
	r->owner_start = col_text(st, 30);
	r->disks = c->b.disk;
	r->ndisks = c->b.ndisk;
	r->nics = c->b.nic;
	r->nnics = c->b.nnic;
	r->gpus = c->b.gpu;
	r->ngpus = c->b.ngpu;
	*rowp = r;
	return 1;
}

/* ---- events ---- */

struct inv_events {
	struct stmtcur		 sc;
	struct inv_event_row	 row;
};

static const struct inv_event_row *
event_fill(sqlite3_stmt *st, struct inv_event_row *r)
{
	r->time = col_text(st, 0);
	r->actor = col_text(st, 1);
	r->from_state = col_text(st, 2);
	r->to_state = col_text(st, 3);
	r->step = col_text(st, 4);
	r->reason = col_text(st, 5);
	r->bytes = col_int_or(st, 6, -1);
	r->duration_ms = col_int_or(st, 7, -1);
	return r;
}

void
inv_events_close(struct inv_events *c)
{
	if (c)
		stmtcur_free(&c->sc, c);
}

int
inv_events_open(struct inv *inv, const char *hostname,
    struct inv_events **curp, char *err, size_t errlen)
{
	struct inv_events	*c = xcalloc(1, sizeof(*c));

	*curp = NULL;
	if (stmtcur_open(inv, "SELECT time, actor, from_state, to_state, step, "
	    "reason, bytes, duration_ms FROM events WHERE hostname = ? "
	    "ORDER BY id", &c->sc, err, errlen) != INV_OK) {
		free(c);
		return INV_FAIL;
	}
	sqlite3_bind_text(c->sc.st, 1, hostname, -1, SQLITE_TRANSIENT);
	*curp = c;
	return INV_OK;
}

int
inv_events_next(struct inv_events *c, const struct inv_event_row **rowp,
    char *err, size_t errlen)
{
	int	 rc = stmt_step(c->sc.inv, c->sc.st, &c->sc.done, "events", err,
		    errlen);

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
	"coalesce(model, '')) AS m, count(*) AS n FROM gpus GROUP BY host_id, m"

static const struct {
	const char	*by;
	const char	*expr;
	const char	*gpus;
} report_keys[] = {
	{ "site", "s.name", GPUS_PER_HOST },
	{ "rack", "s.name || '/' || r.name", GPUS_PER_HOST },
	{ "state", "h.state", GPUS_PER_HOST },
	{ "role", "h.role", GPUS_PER_HOST },
	{ "model", "trim(coalesce(f.sys_vendor, '') || ' ' || "
	    "coalesce(f.sys_product, ''))", GPUS_PER_HOST },
	{ "image", "h.image", GPUS_PER_HOST },
	{ "gpu", "s.name || '/' || g.m", GPUS_PER_MODEL },
};
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
	struct inv		*inv;
	sqlite3_stmt		*st;
	int			 have;	/* st holds the next group's first row */
	int			 done;	/* st has no more rows */
	char			*key;
	struct inv_report_group	 row;
	int			 once;	/* every host in one group only */
	struct inv_report_group	 sum;	/* of the groups read so far */
};

/* The report's query: groups keyed by expr, accelerators from gpus. */
static int
report_prepare(struct inv_report *c, const char *expr, const char *gpus,
    char *err, size_t errlen)
{
	char	*sql;
	int	 rc;

	sql = xsprintf("SELECT coalesce(nullif(%s, ''), '(none)') AS k, "
	    "h.state, count(*), coalesce(sum(f.cpu_cores), 0), "
	    "coalesce(sum(f.memory_mb), 0), coalesce(sum(d.b), 0), "
	    "coalesce(sum(g.n), 0)" JOINS
	    " LEFT JOIN facts f ON f.host_id = h.id"
	    " LEFT JOIN (SELECT host_id, sum(size_bytes) AS b FROM disks "
	    "GROUP BY host_id) d ON d.host_id = h.id"
	    " LEFT JOIN (%s) g ON g.host_id = h.id"
	    " GROUP BY k, h.state ORDER BY k, h.state", expr, gpus);
	rc = db_prepare(c->inv, sql, &c->st, err, errlen);
	free(sql);
	c->have = c->done = 0;
	return rc;
}

int
inv_report_open(struct inv *inv, const char *by, struct inv_report **curp,
    char *err, size_t errlen)
{
	struct inv_report	*c;
	const char		*expr = NULL, *gpus = NULL;
	size_t			 i;
	int			 rc;

	*curp = NULL;
	for (i = 0; i < sizeof(report_keys) / sizeof(report_keys[0]); i++)
		if (strcmp(by, report_keys[i].by) == 0) {
			expr = report_keys[i].expr;
			gpus = report_keys[i].gpus;
		}
	if (expr == NULL) {
		snprintf(err, errlen, "report --by %s: must be site, rack, "
		    "state, role, model, image or gpu", by);
		return INV_EINVAL;
	}
	c = xcalloc(1, sizeof(*c));
	c->inv = inv;
	c->once = REPORT_ONCE(by);
	if ((rc = report_prepare(c, expr, gpus, err, errlen)) != INV_OK) {
		free(c);
		return rc;
	}
	*curp = c;
	return INV_OK;
}

/* A group is the run of (key, state) rows with one key. */
int
inv_report_next(struct inv_report *c, const struct inv_report_group **rowp,
    char *err, size_t errlen)
{
	struct inv_report_group	*g = &c->row;
	int			 rc, s;

	*rowp = NULL;
	if (!c->have && (rc = stmt_step(c->inv, c->st, &c->done, "report",
	    err, errlen)) != 1)
		return rc;
	free(c->key);
	c->key = xstrdup(col_text(c->st, 0));
	memset(g, 0, sizeof(*g));
	g->key = c->key;
	do {
		int64_t	 n = sqlite3_column_int64(c->st, 2);

		g->hosts += n;
		g->cpu_cores += sqlite3_column_int64(c->st, 3);
		g->memory_mb += sqlite3_column_int64(c->st, 4);
		g->disk_bytes += sqlite3_column_int64(c->st, 5);
		g->gpus += sqlite3_column_int64(c->st, 6);
		if ((s = host_state_parse(col_text(c->st, 1))) >= 0)
			g->states[s] = n;
		if ((rc = stmt_step(c->inv, c->st, &c->done, "report", err,
		    errlen)) < 0)
			return rc;
		c->have = rc == 1;
	} while (c->have && strcmp(col_text(c->st, 0), c->key) == 0);
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

int
inv_report_total(struct inv_report *c, const struct inv_report_group **rowp,
    char *err, size_t errlen)
{
	int	 rc;

	*rowp = NULL;
	if (c->once) {
		/* The sum of the groups, every one read. */
		while ((rc = inv_report_next(c, rowp, err, errlen)) == 1)
			;
		if (rc < 0)
			return rc;
		c->row = c->sum;
		c->row.key = "total";
		*rowp = &c->row;
		return INV_OK;
	}
	/* A host may be in several groups: count each once. */
	sqlite3_finalize(c->st);
	c->st = NULL;
	if ((rc = report_prepare(c, "'total'", GPUS_PER_HOST, err,
	    errlen)) != INV_OK)
		return rc;
	if ((rc = inv_report_next(c, rowp, err, errlen)) == 1)
		return INV_OK;
	if (rc == 0) {
		/* No host at all. */
		memset(&c->row, 0, sizeof(c->row));
		c->row.key = "total";
		*rowp = &c->row;
		return INV_OK;
	}
	return rc;
}

void
inv_report_close(struct inv_report *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->st);
	free(c->key);
	free(c);
}

/* ---- rack units ---- */

struct inv_units {
	struct stmtcur		 sc;
	struct inv_unit_row	 row;
};

static const struct inv_unit_row *
unit_fill(sqlite3_stmt *st, struct inv_unit_row *r)
{
	r->site = col_text(st, 0);
	r->rack = col_text(st, 1);
	r->unit = (unsigned)sqlite3_column_int(st, 2);
	r->hostname = col_text(st, 3);
	r->state = host_state_parse(col_text(st, 4));
	return r;
}

void
inv_units_close(struct inv_units *c)
{
	if (c)
		stmtcur_free(&c->sc, c);
}

int
inv_units_open(struct inv *inv, struct inv_units **curp, char *err,
    size_t errlen)
{
	struct inv_units	*c = xcalloc(1, sizeof(*c));

	*curp = NULL;
	if (stmtcur_open(inv, "SELECT s.name, r.name, h.unit, h.hostname, "
	    "h.state FROM hosts h JOIN sites s ON s.id = h.site_id JOIN racks "
	    "r ON r.id = h.rack_id ORDER BY s.name, r.name, h.unit",
	    &c->sc, err, errlen) != INV_OK) {
		free(c);
		return INV_FAIL;
	}
	*curp = c;
	return INV_OK;
}

int
inv_units_next(struct inv_units *c, const struct inv_unit_row **rowp,
    char *err, size_t errlen)
{
	int	 rc = stmt_step(c->sc.inv, c->sc.st, &c->sc.done, "racks", err,
		    errlen);

	*rowp = rc == 1 ? unit_fill(c->sc.st, &c->row) : NULL;
	return rc;
}
