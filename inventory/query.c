/*
 * Reading the inventory for people and scripts: the host objects of
 * `inventory list` and `show` (DESIGN.md's fields, streamed one at a time
 * so that a list of 100,000 hosts costs the memory of a few), and the
 * grouped counts and sums of `inventory report`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_impl.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

/*
 * How a list is read: three queries walked side by side in host id order,
 * a merge join.  hosts in id order; nics and disks, stored WITHOUT ROWID
 * in (host_id, ...) order, read sequentially.  Only the current host's
 * NICs and disks are held, in buffers reused from host to host, so memory
 * does not grow with the inventory.
 */
struct nicbuf {
	struct inv_nic	 n;
	int		 enrolled;
};

struct subcur {
	sqlite3_stmt	*st;
	int		 has;		/* st holds a row */
	int64_t		 host_id;	/* of that row */
};

struct hostbufs {
	struct nicbuf	*nic;
	size_t		 nnic, capnic;
	struct inv_disk	*disk;
	size_t		 ndisk, capdisk;
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

static json_t *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char	*s = sqlite3_column_text(st, i);

	return s ? json_string((const char *)s) : json_null();
}

static json_t *
col_int(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, i));
}

/* Builds the WHERE clause for a filter (and an optional host name) and
 * binds it later with filter_bind, in the same order. */
static char *
filter_where(const struct inv_filter *f, const char *hostname)
{
	char	*w = xstrdup("1");
	char	*t;

#define AND(cond) do { t = xsprintf("%s AND %s", w, cond); free(w); w = t; } while (0)
	if (hostname)
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
filter_bind(sqlite3_stmt *st, const struct inv_filter *f, const char *hostname)
{
	int	 i = 1;

	if (hostname)
		sqlite3_bind_text(st, i++, hostname, -1, SQLITE_STATIC);
	if (f && f->site)
		sqlite3_bind_text(st, i++, f->site, -1, SQLITE_STATIC);
	if (f && f->rack)
		sqlite3_bind_text(st, i++, f->rack, -1, SQLITE_STATIC);
	if (f && f->role)
		sqlite3_bind_text(st, i++, f->role, -1, SQLITE_STATIC);
	if (f && f->state >= 0)
		sqlite3_bind_text(st, i++, host_state_name(f->state), -1,
		    SQLITE_STATIC);
}

#define JOINS \
	" FROM hosts h JOIN sites s ON s.id = h.site_id" \
	" LEFT JOIN racks r ON r.id = h.rack_id"

/* Prepares the nics or disks cursor; filtered through the hosts when a
 * filter is given, else a plain sequential scan. */
static int
subcur_open(struct inv *inv, const char *cols, const char *table,
    const char *order, const char *where, const struct inv_filter *f,
    const char *hostname, struct subcur *c, char *err, size_t errlen)
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
	filter_bind(c->st, f, hostname);
	if (cur_next(c) == -1)
		return db_fail(inv, table, err, errlen);
	return INV_OK;
}

/* Collects the NICs and disks of host id into b. */
static int
subs_collect(struct subcur *nc, struct subcur *dc, int64_t id,
    struct hostbufs *b)
{
	b->nnic = b->ndisk = 0;
	while (nc->has && nc->host_id < id)
		if (cur_next(nc) == -1)
			return -1;
	while (nc->has && nc->host_id == id) {
		struct nicbuf	*n;

		if (b->nnic == b->capnic) {
			b->capnic = b->capnic ? b->capnic * 2 : 8;
			b->nic = xreallocarray(b->nic, b->capnic, sizeof(*n));
		}
		n = &b->nic[b->nnic++];
		db_column_copy(nc->st, 1, n->n.name, sizeof(n->n.name));
		db_column_copy(nc->st, 2, n->n.mac, sizeof(n->n.mac));
		n->n.speed_mbps = (uint64_t)sqlite3_column_int64(nc->st, 3);
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
	return 0;
}

#define HOST_SELECT \
	"SELECT h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, " \
	"h.address, h.role, h.state, h.step, h.step_done, h.image, h.disk, " \
	"h.created_at, h.updated_at, f.cpu_model, f.cpu_cores, f.memory_mb, " \
	"f.sys_vendor, f.sys_product, f.sys_serial, k.type, k.key, " \
	"k.fingerprint, k.pinned_at" JOINS \
	" LEFT JOIN facts f ON f.host_id = h.id" \
	" LEFT JOIN host_keys k ON k.host_id = h.id"

/* A host object's fields, in order, and where each comes from (the
 * column of HOST_SELECT); one table for both renderers below. */
enum ftype { F_STR, F_INT, F_MACS, F_DISKS, F_NICS, F_KEY };
static const struct {
	const char	*name;
	enum ftype	 type;
	int		 col;
} host_fields[] = {
	{ "hostname", F_STR, 1 }, { "site", F_STR, 2 }, { "rack", F_STR, 3 },
	{ "unit", F_INT, 4 }, { "serial", F_STR, 5 }, { "bmc", F_STR, 6 },
	{ "macs", F_MACS, 0 }, { "address", F_STR, 7 }, { "role", F_STR, 8 },
	{ "state", F_STR, 9 }, { "step", F_STR, 10 },
	{ "step_done", F_STR, 11 }, { "image", F_STR, 12 },
	{ "disk", F_STR, 13 }, { "cpu_model", F_STR, 16 },
	{ "cpu_cores", F_INT, 17 }, { "memory_mb", F_INT, 18 },
	{ "system_vendor", F_STR, 19 }, { "system_product", F_STR, 20 },
	{ "system_serial", F_STR, 21 }, { "disks", F_DISKS, 0 },
	{ "nics", F_NICS, 0 }, { "ssh_host_key", F_KEY, 22 },
	{ "created_at", F_STR, 14 }, { "updated_at", F_STR, 15 },
};
#define NFIELDS	(sizeof(host_fields) / sizeof(host_fields[0]))

/* "" (not known) is null in JSON. */
static json_t *
str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *
host_object(sqlite3_stmt *st, const struct hostbufs *b)
{
	json_t	*o = json_object(), *v;
	size_t	 i, j;

	for (i = 0; i < NFIELDS; i++) {
		int c = host_fields[i].col;

		switch (host_fields[i].type) {
		case F_STR:
			v = col_str(st, c);
			break;
		case F_INT:
			v = col_int(st, c);
			break;
		case F_MACS:
			v = json_array();
			for (j = 0; j < b->nnic; j++)
				if (b->nic[j].enrolled)
					json_array_append_new(v,
					    json_string(b->nic[j].n.mac));
			break;
		case F_NICS:
			v = json_array();
			for (j = 0; j < b->nnic; j++) {
				const struct nicbuf *n = &b->nic[j];
				json_array_append_new(v, json_pack(
				    "{s:o,s:s,s:o,s:b}", "name",
				    str_or_null(n->n.name), "mac", n->n.mac,
				    "speed_mbps", n->n.speed_mbps ?
				    json_integer((json_int_t)n->n.speed_mbps) :
				    json_null(), "enrolled", n->enrolled));
			}
			break;
		case F_DISKS:
			v = json_array();
			for (j = 0; j < b->ndisk; j++) {
				const struct inv_disk *d = &b->disk[j];
				json_array_append_new(v, json_pack(
				    "{s:o,s:I,s:o,s:o,s:b,s:b}", "name",
				    str_or_null(d->name), "size_bytes",
				    (json_int_t)d->size_bytes, "model",
				    str_or_null(d->model), "serial",
				    str_or_null(d->serial), "rotational",
				    d->rotational, "removable", d->removable));
			}
			break;
		case F_KEY:
		default:
			if (sqlite3_column_type(st, c) == SQLITE_NULL)
				v = json_null();
			else
				v = json_pack("{s:o,s:o,s:o,s:o}", "type",
				    col_str(st, c), "key", col_str(st, c + 1),
				    "fingerprint", col_str(st, c + 2),
				    "pinned_at", col_str(st, c + 3));
			break;
		}
		json_object_set_new(o, host_fields[i].name, v ? v :
		    json_null());
	}
	return o;
}

/* ---- the same object written straight to a stream (list --format json
 * over 100,000 hosts: no JSON tree, no allocation per field) ---- */

struct wbuf {
	FILE	*f;
	size_t	 n;
	char	 b[1 << 16];
};

static void
wb_flush(struct wbuf *w)
{
	if (w->n)
		fwrite(w->b, 1, w->n, w->f);
	w->n = 0;
}

static inline void
wb_write(struct wbuf *w, const char *p, size_t n)
{
	if (w->n + n > sizeof(w->b)) {
		wb_flush(w);
		if (n > sizeof(w->b)) {
			fwrite(p, 1, n, w->f);
			return;
		}
	}
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static inline void
wb_putc(struct wbuf *w, char c)
{
	if (w->n == sizeof(w->b))
		wb_flush(w);
	w->b[w->n++] = c;
}

static inline void
wb_puts(struct wbuf *w, const char *s)
{
	wb_write(w, s, strlen(s));
}

static void
w_str(struct wbuf *f, const char *s)
{
	const char	*run;

	if (s == NULL) {
		wb_write(f, "null", 4);
		return;
	}
	wb_putc(f, '"');
	for (run = s; *s; s++) {
		unsigned char	 c = (unsigned char)*s;
		char		 esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		wb_write(f, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			wb_write(f, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			wb_write(f, esc, 6);
		}
	}
	wb_write(f, run, (size_t)(s - run));
	wb_putc(f, '"');
}

static void
w_int(struct wbuf *f, int64_t v)
{
	char		 buf[24], *p = buf + sizeof(buf);
	uint64_t	 u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	wb_write(f, p, (size_t)(buf + sizeof(buf) - p));
}

static void
w_key(struct wbuf *f, const char *k, int first)
{
	if (!first)
		wb_putc(f, ',');
	wb_putc(f, '"');
	wb_puts(f, k);
	wb_write(f, "\":", 2);
}

static void
w_col(struct wbuf *f, sqlite3_stmt *st, int c, int isint)
{
	if (sqlite3_column_type(st, c) == SQLITE_NULL)
		wb_write(f, "null", 4);
	else if (isint)
		w_int(f, sqlite3_column_int64(st, c));
	else
		w_str(f, (const char *)sqlite3_column_text(st, c));
}

static void
host_write(struct wbuf *f, sqlite3_stmt *st, const struct hostbufs *b)
{
	size_t	 i, j;
	int	 first;

	wb_putc(f, '{');
	for (i = 0; i < NFIELDS; i++) {
		int c = host_fields[i].col;

		w_key(f, host_fields[i].name, i == 0);
		switch (host_fields[i].type) {
		case F_STR:
		case F_INT:
			w_col(f, st, c, host_fields[i].type == F_INT);
			break;
		case F_MACS:
			wb_putc(f, '[');
			for (first = 1, j = 0; j < b->nnic; j++) {
				if (!b->nic[j].enrolled)
					continue;
				if (!first)
					wb_putc(f, ',');
				first = 0;
				w_str(f, b->nic[j].n.mac);
			}
			wb_putc(f, ']');
			break;
		case F_NICS:
			wb_putc(f, '[');
			for (j = 0; j < b->nnic; j++) {
				const struct nicbuf *n = &b->nic[j];

				if (j > 0)
					wb_putc(f, ',');
				wb_putc(f, '{');
				w_key(f, "name", 1);
				w_str(f, *n->n.name ? n->n.name : NULL);
				w_key(f, "mac", 0);
				w_str(f, n->n.mac);
				w_key(f, "speed_mbps", 0);
				if (n->n.speed_mbps == 0)
					wb_puts(f, "null");
				else
					w_int(f, (int64_t)n->n.speed_mbps);
				w_key(f, "enrolled", 0);
				wb_puts(f, n->enrolled ? "true}" : "false}");
			}
			wb_putc(f, ']');
			break;
		case F_DISKS:
			wb_putc(f, '[');
			for (j = 0; j < b->ndisk; j++) {
				const struct inv_disk *d = &b->disk[j];

				if (j > 0)
					wb_putc(f, ',');
				wb_putc(f, '{');
				w_key(f, "name", 1);
				w_str(f, *d->name ? d->name : NULL);
				w_key(f, "size_bytes", 0);
				w_int(f, (int64_t)d->size_bytes);
				w_key(f, "model", 0);
				w_str(f, *d->model ? d->model : NULL);
				w_key(f, "serial", 0);
				w_str(f, *d->serial ? d->serial : NULL);
				w_key(f, "rotational", 0);
				wb_puts(f, d->rotational ? "true" : "false");
				w_key(f, "removable", 0);
				wb_puts(f, d->removable ? "true}" : "false}");
			}
			wb_putc(f, ']');
			break;
		case F_KEY:
		default:
			if (sqlite3_column_type(st, c) == SQLITE_NULL) {
				wb_puts(f, "null");
				break;
			}
			wb_putc(f, '{');
				w_key(f, "type", 1);
			w_col(f, st, c, 0);
			w_key(f, "key", 0);
			w_col(f, st, c + 1, 0);
			w_key(f, "fingerprint", 0);
			w_col(f, st, c + 2, 0);
			w_key(f, "pinned_at", 0);
			w_col(f, st, c + 3, 0);
			wb_putc(f, '}');
			break;
		}
	}
	wb_putc(f, '}');
}

/* Runs the host query; for each host either fn(object) or, with out, the
 * object written to out as part of a JSON array. */
static int
hosts_run(struct inv *inv, const struct inv_filter *f, const char *hostname,
    int (*fn)(json_t *, void *), void *arg, FILE *out, char *err,
    size_t errlen)
{
	struct subcur	 nc = { 0 }, dc = { 0 };
	struct hostbufs	 b = { 0 };
	struct wbuf	*wb = NULL;
	sqlite3_stmt	*st = NULL;
	char		*where, *sql;
	size_t		 n = 0;
	int		 rc;

	where = filter_where(f, hostname);
	/* One read transaction: every query sees the same snapshot. */
	if ((rc = db_exec(inv, "BEGIN", err, errlen)) != INV_OK) {
		free(where);
		return rc;
	}
	if ((rc = subcur_open(inv, "x.host_id, x.name, x.mac, x.speed_mbps, "
	    "x.enrolled", "nics", "x.host_id, x.seq", where, f, hostname, &nc,
	    err, errlen)) != INV_OK ||
	    (rc = subcur_open(inv, "x.host_id, x.name, x.size_bytes, x.model, "
	    "x.serial, x.rotational, x.removable", "disks", "x.host_id, x.name",
	    where, f, hostname, &dc, err, errlen)) != INV_OK)
		goto out;
	sql = xsprintf(HOST_SELECT " WHERE %s ORDER BY h.id", where);
	rc = db_prepare(inv, sql, &st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		goto out;
	filter_bind(st, f, hostname);
	if (out) {
		wb = xmalloc(sizeof(*wb));
		wb->f = out;
		wb->n = 0;
		wb_putc(wb, '[');
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (subs_collect(&nc, &dc, sqlite3_column_int64(st, 0), &b) ==
		    -1) {
			rc = db_fail(inv, "nics and disks", err, errlen);
			goto out;
		}
		if (wb) {
			if (n++)
				wb_putc(wb, ',');
			host_write(wb, st, &b);
		} else {
			json_t	*o = host_object(st, &b);
			int	 r = fn(o, arg);

			json_decref(o);
			if (r != 0) {
				snprintf(err, errlen, "stopped");
				rc = INV_FAIL;
				goto out;
			}
		}
	}
	if (wb) {
		wb_write(wb, "]\n", 2);
		wb_flush(wb);
	}
	rc = rc == SQLITE_DONE ? INV_OK : db_fail(inv, "hosts", err, errlen);
out:
	free(wb);
	sqlite3_finalize(st);
	sqlite3_finalize(nc.st);
	sqlite3_finalize(dc.st);
	free(b.nic);
	free(b.disk);
	db_rollback(inv);
	free(where);
	return rc;
}

int
inv_hosts_each(struct inv *inv, const struct inv_filter *f,
    int (*fn)(json_t *, void *), void *arg, char *err, size_t errlen)
{
	return hosts_run(inv, f, NULL, fn, arg, NULL, err, errlen);
}

int
inv_hosts_write_json(struct inv *inv, const struct inv_filter *f, FILE *out,
    char *err, size_t errlen)
{
	return hosts_run(inv, f, NULL, NULL, NULL, out, err, errlen);
}

static int
keep_one(json_t *o, void *arg)
{
	json_t	**out = arg;

	*out = json_incref(o);
	return 0;
}

static int
host_events(struct inv *inv, const char *hostname, json_t **out, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db_prepare(inv, "SELECT time, actor, from_state, to_state, step, "
	    "reason, bytes, duration_ms FROM events WHERE hostname = ? "
	    "ORDER BY id", &st, err, errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_text(st, 1, hostname, -1, SQLITE_STATIC);
	*out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, json_pack("{s:o,s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o}", "time", col_str(st, 0), "actor",
		    col_str(st, 1), "from_state", col_str(st, 2), "to_state",
		    col_str(st, 3), "step", col_str(st, 4), "reason",
		    col_str(st, 5), "bytes", col_int(st, 6), "duration_ms",
		    col_int(st, 7)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return db_fail(inv, "events", err, errlen);
	}
	return INV_OK;
}

int
inv_host_json(struct inv *inv, const char *hostname, json_t **out, char *err,
    size_t errlen)
{
	json_t	*o = NULL, *ev;
	int	 rc;

	*out = NULL;
	if ((rc = hosts_run(inv, NULL, hostname, keep_one, &o, NULL, err,
	    errlen)) != INV_OK)
		return rc;
	if (o == NULL) {
		snprintf(err, errlen, "%s: no such host in the inventory",
		    hostname);
		return INV_ENOENT;
	}
	if ((rc = host_events(inv, hostname, &ev, err, errlen)) != INV_OK) {
		json_decref(o);
		return rc;
	}
	json_object_set_new(o, "events", ev);
	*out = o;
	return INV_OK;
}

/* ---- report ---- */

static const struct {
	const char	*by;
	const char	*expr;
} report_keys[] = {
	{ "site", "s.name" },
	{ "rack", "s.name || '/' || r.name" },
	{ "state", "h.state" },
	{ "role", "h.role" },
	{ "model", "trim(coalesce(f.sys_vendor, '') || ' ' || "
	    "coalesce(f.sys_product, ''))" },
	{ "image", "h.image" },
};

int
inv_report_valid_by(const char *by)
{
	size_t	 i;

	for (i = 0; i < sizeof(report_keys) / sizeof(report_keys[0]); i++)
		if (strcmp(by, report_keys[i].by) == 0)
			return 1;
	return 0;
}

int
inv_report_json(struct inv *inv, const char *by, json_t **out, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	const char	*expr = NULL;
	json_t		*groups, *g = NULL;
	json_int_t	 total = 0;
	char		*sql;
	size_t		 i;
	int		 rc;

	*out = NULL;
	for (i = 0; i < sizeof(report_keys) / sizeof(report_keys[0]); i++)
		if (strcmp(by, report_keys[i].by) == 0)
			expr = report_keys[i].expr;
	if (expr == NULL) {
		snprintf(err, errlen, "report --by %s: must be site, rack, "
		    "state, role, model or image", by);
		return INV_EINVAL;
	}
	sql = xsprintf("SELECT coalesce(nullif(%s, ''), '(none)') AS k, "
	    "h.state, count(*), coalesce(sum(f.cpu_cores), 0), "
	    "coalesce(sum(f.memory_mb), 0), coalesce(sum(d.b), 0)" JOINS
	    " LEFT JOIN facts f ON f.host_id = h.id"
	    " LEFT JOIN (SELECT host_id, sum(size_bytes) AS b FROM disks "
	    "GROUP BY host_id) d ON d.host_id = h.id"
	    " GROUP BY k, h.state ORDER BY k, h.state", expr);
	rc = db_prepare(inv, sql, &st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		return rc;
	groups = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*k = (const char *)sqlite3_column_text(st, 0);
		json_int_t	 n = sqlite3_column_int64(st, 2);

		if (g == NULL || strcmp(json_string_value(json_object_get(g,
		    "key")), k) != 0) {
			g = json_pack("{s:s,s:I,s:I,s:I,s:I,s:{}}", "key", k,
			    "hosts", (json_int_t)0, "cpu_cores", (json_int_t)0,
			    "memory_mb", (json_int_t)0, "disk_bytes",
			    (json_int_t)0, "states");
			json_array_append_new(groups, g);
		}
#define ADD(name, v) json_object_set_new(g, name, json_integer( \
	json_integer_value(json_object_get(g, name)) + (v)))
		ADD("hosts", n);
		ADD("cpu_cores", sqlite3_column_int64(st, 3));
		ADD("memory_mb", sqlite3_column_int64(st, 4));
		ADD("disk_bytes", sqlite3_column_int64(st, 5));
#undef ADD
		json_object_set_new(json_object_get(g, "states"),
		    (const char *)sqlite3_column_text(st, 1), json_integer(n));
		total += n;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(groups);
		return db_fail(inv, "report", err, errlen);
	}
	*out = json_pack("{s:s,s:I,s:o}", "by", by, "total", total, "groups",
	    groups);
	return INV_OK;
}
