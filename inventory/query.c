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

/* ---- NICs and disks of many hosts, loaded once, sorted by host id ---- */

struct sub {
	int64_t		 host_id;
	json_t		*obj;
};

struct subs {
	struct sub	*v;
	size_t		 n, cap;
};

static void
subs_free(struct subs *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		json_decref(s->v[i].obj);
	free(s->v);
	memset(s, 0, sizeof(*s));
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

static int
subs_load(struct inv *inv, const char *what, const char *where,
    const struct inv_filter *f, const char *hostname, struct subs *s,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	char		*sql;
	int		 rc, nics = strcmp(what, "nics") == 0;

	memset(s, 0, sizeof(*s));
	if (nics)
		sql = xsprintf("SELECT x.host_id, x.name, x.mac, x.speed_mbps, "
		    "x.enrolled FROM nics x JOIN hosts h ON h.id = x.host_id "
		    "JOIN sites s ON s.id = h.site_id LEFT JOIN racks r ON "
		    "r.id = h.rack_id WHERE %s ORDER BY x.host_id, x.id", where);
	else
		sql = xsprintf("SELECT x.host_id, x.name, x.size_bytes, x.model, "
		    "x.serial, x.rotational, x.removable FROM disks x JOIN hosts "
		    "h ON h.id = x.host_id JOIN sites s ON s.id = h.site_id LEFT "
		    "JOIN racks r ON r.id = h.rack_id WHERE %s ORDER BY "
		    "x.host_id, x.name", where);
	rc = db_prepare(inv, sql, &st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		return rc;
	filter_bind(st, f, hostname);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t	*o;

		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		if (nics)
			o = json_pack("{s:o,s:o,s:o,s:b}", "name", col_str(st, 1),
			    "mac", col_str(st, 2), "speed_mbps", col_int(st, 3),
			    "enrolled", sqlite3_column_int(st, 4));
		else
			o = json_pack("{s:o,s:o,s:o,s:o,s:b,s:b}", "name",
			    col_str(st, 1), "size_bytes", col_int(st, 2),
			    "model", col_str(st, 3), "serial", col_str(st, 4),
			    "rotational", sqlite3_column_int(st, 5),
			    "removable", sqlite3_column_int(st, 6));
		if (o == NULL)
			fatalx("json_pack");
		s->v[s->n].host_id = sqlite3_column_int64(st, 0);
		s->v[s->n++].obj = o;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		subs_free(s);
		return db_fail(inv, what, err, errlen);
	}
	return INV_OK;
}

/* The objects of host id, as a new array (references taken). */
static json_t *
subs_of(const struct subs *s, int64_t id)
{
	json_t	*a = json_array();
	size_t	 lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].host_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && s->v[lo].host_id == id; lo++)
		json_array_append(a, s->v[lo].obj);
	return a;
}

#define HOST_SELECT \
	"SELECT h.id, h.hostname, s.name, r.name, h.unit, h.serial, h.bmc, " \
	"h.address, h.role, h.state, h.step, h.step_done, h.image, h.disk, " \
	"h.created_at, h.updated_at, f.cpu_model, f.cpu_cores, f.memory_mb, " \
	"f.sys_vendor, f.sys_product, f.sys_serial, k.type, k.key, " \
	"k.fingerprint, k.pinned_at" JOINS \
	" LEFT JOIN facts f ON f.host_id = h.id" \
	" LEFT JOIN host_keys k ON k.host_id = h.id"

static json_t *
host_object(sqlite3_stmt *st, const struct subs *nics,
    const struct subs *disks)
{
	json_t	*o, *macs, *n, *key, *e;
	int64_t	 id = sqlite3_column_int64(st, 0);
	size_t	 i;

	n = subs_of(nics, id);
	macs = json_array();
	json_array_foreach(n, i, e)
		if (json_is_true(json_object_get(e, "enrolled")))
			json_array_append(macs, json_object_get(e, "mac"));
	if (sqlite3_column_type(st, 22) == SQLITE_NULL)
		key = json_null();
	else
		key = json_pack("{s:o,s:o,s:o,s:o}", "type", col_str(st, 22),
		    "key", col_str(st, 23), "fingerprint", col_str(st, 24),
		    "pinned_at", col_str(st, 25));
	o = json_object();
	json_object_set_new(o, "hostname", col_str(st, 1));
	json_object_set_new(o, "site", col_str(st, 2));
	json_object_set_new(o, "rack", col_str(st, 3));
	json_object_set_new(o, "unit", col_int(st, 4));
	json_object_set_new(o, "serial", col_str(st, 5));
	json_object_set_new(o, "bmc", col_str(st, 6));
	json_object_set_new(o, "macs", macs);
	json_object_set_new(o, "address", col_str(st, 7));
	json_object_set_new(o, "role", col_str(st, 8));
	json_object_set_new(o, "state", col_str(st, 9));
	json_object_set_new(o, "step", col_str(st, 10));
	json_object_set_new(o, "step_done", col_str(st, 11));
	json_object_set_new(o, "image", col_str(st, 12));
	json_object_set_new(o, "disk", col_str(st, 13));
	json_object_set_new(o, "cpu_model", col_str(st, 16));
	json_object_set_new(o, "cpu_cores", col_int(st, 17));
	json_object_set_new(o, "memory_mb", col_int(st, 18));
	json_object_set_new(o, "system_vendor", col_str(st, 19));
	json_object_set_new(o, "system_product", col_str(st, 20));
	json_object_set_new(o, "system_serial", col_str(st, 21));
	json_object_set_new(o, "disks", subs_of(disks, id));
	json_object_set_new(o, "nics", n);
	json_object_set_new(o, "ssh_host_key", key);
	json_object_set_new(o, "created_at", col_str(st, 14));
	json_object_set_new(o, "updated_at", col_str(st, 15));
	return o;
}

static int
hosts_each(struct inv *inv, const struct inv_filter *f, const char *hostname,
    int (*fn)(json_t *, void *), void *arg, char *err, size_t errlen)
{
	struct subs	 nics, disks;
	sqlite3_stmt	*st = NULL;
	char		*where, *sql;
	int		 rc;

	where = filter_where(f, hostname);
	/* One read transaction: the three queries see the same snapshot. */
	if ((rc = db_exec(inv, "BEGIN", err, errlen)) != INV_OK) {
		free(where);
		return rc;
	}
	if ((rc = subs_load(inv, "nics", where, f, hostname, &nics, err,
	    errlen)) != INV_OK)
		goto out0;
	if ((rc = subs_load(inv, "disks", where, f, hostname, &disks, err,
	    errlen)) != INV_OK)
		goto out1;
	sql = xsprintf(HOST_SELECT " WHERE %s ORDER BY s.name, r.name, "
	    "h.unit, h.hostname", where);
	rc = db_prepare(inv, sql, &st, err, errlen);
	free(sql);
	if (rc != INV_OK)
		goto out2;
	filter_bind(st, f, hostname);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t	*o = host_object(st, &nics, &disks);
		int	 r = fn(o, arg);

		json_decref(o);
		if (r != 0) {
			snprintf(err, errlen, "stopped");
			rc = INV_FAIL;
			goto out3;
		}
	}
	rc = rc == SQLITE_DONE ? INV_OK : db_fail(inv, "hosts", err, errlen);
out3:
	sqlite3_finalize(st);
out2:
	subs_free(&disks);
out1:
	subs_free(&nics);
out0:
	db_rollback(inv);
	free(where);
	return rc;
}

int
inv_hosts_each(struct inv *inv, const struct inv_filter *f,
    int (*fn)(json_t *, void *), void *arg, char *err, size_t errlen)
{
	return hosts_each(inv, f, NULL, fn, arg, err, errlen);
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
	if ((rc = hosts_each(inv, NULL, hostname, keep_one, &o, err,
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
