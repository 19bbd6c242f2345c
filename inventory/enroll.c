/*
 * Enrolling hosts: `inventory add` (one host) and `inventory import` (a
 * CSV file) share this file.  Every row is validated first: the syntax of
 * every field, duplicates within the batch, and conflicts with what the
 * database already holds (checked inside the write transaction, so a
 * concurrent import cannot slip in between).  Every problem is reported
 * with its line; only a batch without a single problem is written, in one
 * transaction, each host with its `enrolled` event.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory/csv.h"
#include "inventory/inv_int.h"
#include "lib/parse.h"
#include "lib/file.h"
#include "lib/xmalloc.h"

#define MAX_CSV_BYTES	(512UL << 20)
#define MAX_ERRORS	1000	/* then "... and N more" */

/* A row after validation: normalised values, NULL when not given. */
struct row {
	const char	*hostname, *site, *rack, *serial, *bmc, *role, *disk;
	char		 address[64];	/* the bare address, canonical */
	unsigned	 prefixlen;	/* 0: no static prefix */
	char		 gateway[64];
	unsigned	 unit;
	char		 macs[INV_MAXMACS][18];
	size_t		 nmacs;
	int		 line;
};

struct batch {
	const char		*where;
	struct inv_errors	*errs;
	size_t			 dropped;
};

static void __attribute__((format(printf, 3, 4)))
bad(struct batch *b, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *full;

	if (line >= 0)
		b->errs->total++;
	if (b->errs->n >= MAX_ERRORS && line >= 0) {
		b->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (line < 0)
		full = xstrdup(msg ? msg : "?");
	else if (line > 0)
		full = xsprintf("%s:%d: %s", b->where, line, msg ? msg : "?");
	else
		full = xsprintf("%s: %s", b->where, msg ? msg : "?");
	free(msg);
	b->errs->msg = xreallocarray(b->errs->msg, b->errs->n + 1,
	    sizeof(char *));
	b->errs->msg[b->errs->n++] = full;
}

static const char *
given(const char *s)
{
	return s && *s ? s : NULL;
}

/* Whether addr is the network or broadcast address of its IPv4 subnet
 * of len bits (a /31 and a /32 have neither). */
static int
v4_net_or_bcast(const uint8_t addr[16], unsigned len)
{
	uint32_t	 a, host;

	if (len > 30)
		return 0;
	a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
	    (uint32_t)addr[2] << 8 | addr[3];
	host = a & (0xffffffffU >> len);
	return host == 0 || host == 0xffffffffU >> len;
}

/*
 * address: ADDRESS or ADDRESS/PREFIXLEN (a static address: what the
 * installed system configures); gateway: an address of that subnet,
 * which needs the prefix length.  Fills r->address (the bare address,
 * what SSH connects to), r->prefixlen and r->gateway.  Returns the
 * number of problems.
 */
static int
address_check(struct batch *b, const struct inv_enroll *in, struct row *r)
{
	struct prefix	 net, gw;
	char		 a[64], pfx[80];
	struct err	 e;
	const char	*slash;
	uint64_t	 len;
	unsigned	 max;
	size_t		 n;

	if (!given(in->address)) {
		if (given(in->gateway)) {
			bad(b, in->line, "gateway: %s given without an address "
			    "(ADDRESS/PREFIXLEN)", in->gateway);
			return 1;
		}
		return 0;
	}
	memset(&net, 0, sizeof(net));
	slash = strchr(in->address, '/');
	n = slash ? (size_t)(slash - in->address) : strlen(in->address);
	if (n >= sizeof(a)) {
		bad(b, in->line, "address: '%.64s...' is not an IP address",
		    in->address);
		return 1;
	}
	memcpy(a, in->address, n);
	a[n] = '\0';
	if (parse_ip(a, &net.family, net.addr, &e) != ERR_OK) {
		bad(b, in->line, "address: %s", e.msg);
		return 1;
	}
	inet_ntop(net.family, net.addr, r->address, sizeof(r->address));
	max = net.family == AF_INET ? 32 : 128;
	if (slash) {
		if (parse_uint(slash + 1, 1, max, &len, &e) != ERR_OK) {
			bad(b, in->line, "address: %s: bad prefix length: %s",
			    in->address, e.msg);
			return 1;
		}
		net.len = r->prefixlen = (unsigned)len;
		if (net.family == AF_INET && v4_net_or_bcast(net.addr, net.len)) {
			bad(b, in->line, "address: %s is the network or the "
			    "broadcast address of its subnet", in->address);
			return 1;
		}
	}
	if (!given(in->gateway))
		return 0;
	snprintf(pfx, sizeof(pfx), "%s/%u", r->address, net.len);
	if (!slash) {
		bad(b, in->line, "gateway: %s needs the address's prefix length "
		    "(address %s/PREFIXLEN)", in->gateway, r->address);
		return 1;
	}
	if (parse_ip(in->gateway, &gw.family, gw.addr, &e) != ERR_OK) {
		bad(b, in->line, "gateway: %s", e.msg);
		return 1;
	}
	gw.len = max;
	if (!prefix_contains(&net, &gw)) {
		bad(b, in->line, "gateway: %s is outside the subnet of %s",
		    in->gateway, pfx);
		return 1;
	}
	if (memcmp(gw.addr, net.addr, sizeof(gw.addr)) == 0 ||
	    (gw.family == AF_INET && v4_net_or_bcast(gw.addr, net.len))) {
		bad(b, in->line, "gateway: %s is the host's own address or its "
		    "subnet's network or broadcast address (%s)", in->gateway,
		    pfx);
		return 1;
	}
	inet_ntop(gw.family, gw.addr, r->gateway, sizeof(r->gateway));
	return 0;
}

/* Syntax of one row; fills r.  Returns the number of problems. */
static int
row_check(struct batch *b, const struct inv_enroll *in, struct row *r)
{
	char		 tmp[32];
	struct err	 e;
	uint64_t	 u;
	int		 nbad = 0;
	const char	*p;

	memset(r, 0, sizeof(*r));
	r->line = in->line;
	r->hostname = given(in->hostname);
	r->site = given(in->site);
	r->rack = given(in->rack);
	r->serial = given(in->serial);
	r->bmc = given(in->bmc);
	r->role = given(in->role);
	r->disk = given(in->disk);
	if (r->hostname == NULL)
		bad(b, in->line, "hostname: missing"), nbad++;
	else if (valid_hostname(r->hostname, &e) != ERR_OK)
		bad(b, in->line, "hostname: %s", e.msg), nbad++;
	if (r->site == NULL)
		bad(b, in->line, "site: missing (every host belongs to a "
		    "site)"), nbad++;
	else if (valid_name(r->site, &e) != ERR_OK)
		bad(b, in->line, "site: %s", e.msg), nbad++;
	if (r->rack && valid_name(r->rack, &e) != ERR_OK)
		bad(b, in->line, "rack: %s", e.msg), nbad++;
	if (given(in->unit)) {
		if (parse_uint(in->unit, 1, 100, &u, &e) != ERR_OK)
			bad(b, in->line, "unit: %s", e.msg), nbad++;
		else if (r->rack == NULL)
			bad(b, in->line, "unit: %s given without a rack",
			    in->unit), nbad++;
		else
			r->unit = (unsigned)u;
	}
	if (r->serial && valid_name(r->serial, &e) != ERR_OK)
		bad(b, in->line, "serial: %s", e.msg), nbad++;
	if (r->role && valid_name(r->role, &e) != ERR_OK)
		bad(b, in->line, "role: %s", e.msg), nbad++;
	if (r->bmc && valid_bmc(r->bmc, &e) != ERR_OK)
		bad(b, in->line, "bmc: %s", e.msg), nbad++;
	nbad += address_check(b, in, r);
	if (r->disk && (r->disk[0] != '/' || strlen(r->disk) > 255 ||
	    strpbrk(r->disk, " \t\n'\"`$;&|<>\\") != NULL))
		bad(b, in->line, "disk: '%s' is not a device path", r->disk),
		    nbad++;
	for (p = in->macs ? in->macs : ""; *p != '\0'; ) {
		size_t	 n = strcspn(p, ";,");

		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n >= sizeof(tmp)) {
			bad(b, in->line, "macs: '%.*s' is not a MAC address",
			    (int)(n > 40 ? 40 : n), p), nbad++;
		} else if (n > 0) {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
			if (r->nmacs >= INV_MAXMACS)
				bad(b, in->line, "macs: more than %d",
				    INV_MAXMACS), nbad++;
			else if (parse_mac(tmp, r->macs[r->nmacs],
			    &e) != ERR_OK)
				bad(b, in->line, "macs: %s", e.msg), nbad++;
			else
				r->nmacs++;
		}
		p += strcspn(p, ";,");
		while (*p == ';' || *p == ',' || *p == ' ')
			p++;
	}
	return nbad;
}

/* ---- duplicates within the batch: a small string -> line hash ---- */

struct seen {
	char	 **key;
	uint64_t  *hash;
	int64_t	  *line;	/* a line, or an id */
	size_t	   cap, n;
};

static uint64_t
hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Returns the line that already had key, or 0 after adding it (key is
 * taken either way). */
static int64_t
seen_add(struct seen *t, char *key, int64_t line)
{
	uint64_t	 h = hash(key);
	size_t		 i;

	if (t->n * 2 >= t->cap) {
		struct seen	 nt = { 0 };
		size_t		 j;

		nt.cap = t->cap ? t->cap * 2 : 1024;
		nt.key = xcalloc(nt.cap, sizeof(char *));
		nt.hash = xcalloc(nt.cap, sizeof(uint64_t));
		nt.line = xcalloc(nt.cap, sizeof(int64_t));
		for (j = 0; j < t->cap; j++) {
			if (t->key[j] == NULL)
				continue;
			for (i = t->hash[j] & (nt.cap - 1); nt.key[i];
			    i = (i + 1) & (nt.cap - 1))
				;
			nt.key[i] = t->key[j];
			nt.hash[i] = t->hash[j];
			nt.line[i] = t->line[j];
		}
		nt.n = t->n;
		free(t->key);
		free(t->hash);
		free(t->line);
		*t = nt;
	}
	for (i = h & (t->cap - 1); t->key[i]; i = (i + 1) & (t->cap - 1))
		if (t->hash[i] == h && strcmp(t->key[i], key) == 0) {
			free(key);
			return t->line[i] ? t->line[i] : -1;
		}
	t->key[i] = key;
	t->hash[i] = h;
	t->line[i] = line;
	t->n++;
	return 0;
}

static void
seen_free(struct seen *t)
{
	size_t	 i;

	for (i = 0; i < t->cap; i++)
		free(t->key[i]);
	free(t->key);
	free(t->hash);
	free(t->line);
}

/* Ids of sites ("site\t") and racks ("site\track"); 0 when unknown. */
static int64_t
seen_get(struct seen *t, const char *site, const char *rack)
{
	uint64_t	 h;
	char		*key;
	size_t		 i;

	if (t->cap == 0)
		return 0;
	key = xsprintf("%s\t%s", site, rack);
	h = hash(key);
	for (i = h & (t->cap - 1); t->key[i]; i = (i + 1) & (t->cap - 1))
		if (t->hash[i] == h && strcmp(t->key[i], key) == 0) {
			free(key);
			return t->line[i];
		}
	free(key);
	return 0;
}

static void
seen_put(struct seen *t, const char *site, const char *rack, int64_t id)
{
	seen_add(t, xsprintf("%s\t%s", site, rack), id);
}

static void
dup_check(struct batch *b, struct seen *t, const struct row *r,
    const char *what, const char *val)
{
	int64_t	 l;

	if (val == NULL || *val == '\0')
		return;
	if ((l = seen_add(t, xsprintf("%s\t%s", what, val), r->line)) != 0) {
		if (l > 0 && r->line > 0)
			bad(b, r->line, "%s %s is also on line %d", what, val,
			    (int)l);
		else
			bad(b, r->line, "%s %s is given twice", what, val);
	}
}

static void
dups_in_batch(struct batch *b, const struct row *rows, size_t n)
{
	struct seen	 t = { 0 };
	char		 pos[160];
	size_t		 i, m;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		dup_check(b, &t, r, "hostname", r->hostname);
		dup_check(b, &t, r, "serial", r->serial);
		dup_check(b, &t, r, "bmc", r->bmc);
		dup_check(b, &t, r, "address", r->address);
		for (m = 0; m < r->nmacs; m++)
			dup_check(b, &t, r, "MAC", r->macs[m]);
		if (r->unit && r->site && r->rack) {
			snprintf(pos, sizeof(pos), "%s/%s/U%u", r->site,
			    r->rack, r->unit);
			dup_check(b, &t, r, "position", pos);
		}
	}
	seen_free(&t);
}

/* ---- conflicts with the database ---- */

enum { Q_HOSTNAME, Q_SERIAL, Q_BMC, Q_ADDRESS, Q_MAC, Q_POSITION, Q_COUNT };

static const char *const conflict_sql[Q_COUNT] = {
	"SELECT hostname FROM hosts WHERE hostname = ?",
	"SELECT hostname FROM hosts WHERE serial = ?",
	"SELECT hostname FROM hosts WHERE bmc = ?",
	"SELECT hostname FROM hosts WHERE address = ?",
	"SELECT h.hostname FROM nics n JOIN hosts h ON h.id = n.host_id "
	    "WHERE n.mac = ?",
	"SELECT hostname FROM hosts WHERE rack_id = (SELECT r.id FROM racks r "
	    "JOIN sites s ON s.id = r.site_id WHERE s.name = ? AND r.name = ?) "
	    "AND unit = ?",
};

/* The host holding val, or NULL; copies into out. */
static const char *
conflict(sqlite3_stmt *st, const char *a, const char *b2, unsigned unit,
    char *out, size_t outlen)
{
	const char	*res = NULL;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b2) {
		sqlite3_bind_text(st, 2, b2, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)unit);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		db_column_copy(st, 0, out, outlen);
		res = out;
	}
	sqlite3_reset(st);
	return res;
}

static int
dups_in_db(struct inv *inv, struct batch *b, const struct row *rows,
    size_t n, char *err, size_t errlen)
{
	sqlite3_stmt	*q[Q_COUNT] = { 0 };
	char		 who[256];
	size_t		 i, m;
	int		 k, rc = INV_FAIL;

	for (k = 0; k < Q_COUNT; k++)
		if (db_prepare(inv, conflict_sql[k], &q[k], err, errlen) !=
		    INV_OK)
			goto out;
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if (r->hostname && conflict(q[Q_HOSTNAME], r->hostname, NULL,
		    0, who, sizeof(who)))
			bad(b, r->line, "hostname %s is already in the "
			    "inventory", r->hostname);
		if (r->serial && conflict(q[Q_SERIAL], r->serial, NULL, 0, who,
		    sizeof(who)))
			bad(b, r->line, "serial %s already belongs to %s",
			    r->serial, who);
		if (r->bmc && conflict(q[Q_BMC], r->bmc, NULL, 0, who,
		    sizeof(who)))
			bad(b, r->line, "bmc %s already belongs to %s", r->bmc,
			    who);
		if (*r->address && conflict(q[Q_ADDRESS], r->address, NULL, 0,
		    who, sizeof(who)))
			bad(b, r->line, "address %s already belongs to %s",
			    r->address, who);
		for (m = 0; m < r->nmacs; m++)
			if (conflict(q[Q_MAC], r->macs[m], NULL, 0, who,
			    sizeof(who)))
				bad(b, r->line, "MAC %s already belongs to %s",
				    r->macs[m], who);
		if (r->unit && r->site && r->rack && conflict(q[Q_POSITION],
		    r->site, r->rack, r->unit, who, sizeof(who)))
			bad(b, r->line, "position %s/%s/U%u is taken by %s",
			    r->site, r->rack, r->unit, who);
	}
	rc = INV_OK;
out:
	for (k = 0; k < Q_COUNT; k++)
		sqlite3_finalize(q[k]);
	return rc;
}

/* ---- writing ---- */

static int
rows_write(struct inv *inv, const struct row *rows, size_t n,
    const char *where, const char *actor, char *err, size_t errlen)
{
	sqlite3_stmt	*host = NULL, *nic = NULL;
	struct db_event	 ev = { 0 };
	struct seen	 ids = { 0 };	/* site and site/rack -> id */
	char		 now[32], *reason;
	int64_t		 site_id = 0, rack_id = 0, id;
	size_t		 i, m;
	int		 rc = INV_FAIL;

	db_now(now);
	if (db_prepare(inv, "INSERT INTO hosts (hostname, site_id, rack_id, "
	    "unit, serial, bmc, address, role, disk, created_at, updated_at, "
	    "prefixlen, gateway) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "RETURNING id", &host, err, errlen) != INV_OK ||
	    db_prepare(inv, "INSERT INTO nics (host_id, seq, mac) VALUES (?, ?, ?)",
	    &nic, err, errlen) != INV_OK)
		goto out;
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		if ((site_id = seen_get(&ids, r->site, "")) == 0) {
			if (db_site_id(inv, r->site, &site_id, err, errlen) !=
			    INV_OK)
				goto out;
			seen_put(&ids, r->site, "", site_id);
		}
		if (r->rack && (rack_id = seen_get(&ids, r->site, r->rack)) ==
		    0) {
			if (db_rack_id(inv, site_id, r->rack, &rack_id, err,
			    errlen) != INV_OK)
				goto out;
			seen_put(&ids, r->site, r->rack, rack_id);
		}
		sqlite3_reset(host);
		sqlite3_clear_bindings(host);
		sqlite3_bind_text(host, 1, r->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_int64(host, 2, site_id);
		if (r->rack)
			sqlite3_bind_int64(host, 3, rack_id);
		if (r->unit)
			sqlite3_bind_int(host, 4, (int)r->unit);
		db_bind_text(host, 5, r->serial);
		db_bind_text(host, 6, r->bmc);
		db_bind_text(host, 7, r->address);
		db_bind_text(host, 8, r->role);
		db_bind_text(host, 9, r->disk);
		sqlite3_bind_text(host, 10, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(host, 11, now, -1, SQLITE_STATIC);
		if (r->prefixlen)
			sqlite3_bind_int(host, 12, (int)r->prefixlen);
		db_bind_text(host, 13, r->gateway);
		if (sqlite3_step(host) != SQLITE_ROW) {
			snprintf(err, errlen, "%s: %s: %s", inv->path,
			    r->hostname, sqlite3_errmsg(inv->db));
			goto out;
		}
		id = sqlite3_column_int64(host, 0);
		sqlite3_reset(host);
		for (m = 0; m < r->nmacs; m++) {
			sqlite3_reset(nic);
			sqlite3_bind_int64(nic, 1, id);
			sqlite3_bind_int64(nic, 2, (sqlite3_int64)m + 1);
			sqlite3_bind_text(nic, 3, r->macs[m], -1, SQLITE_STATIC);
			if (sqlite3_step(nic) != SQLITE_DONE) {
				snprintf(err, errlen, "%s: %s: %s", inv->path,
				    r->hostname, sqlite3_errmsg(inv->db));
				goto out;
			}
		}
		reason = r->line > 0 ? xsprintf("enrolled from %s:%d", where,
		    r->line) : xstrdup("enrolled");
		ev.host_id = id;
		ev.hostname = r->hostname;
		ev.actor = actor;
		ev.to_state = "enrolled";
		ev.reason = reason;
		ev.bytes = ev.duration_ms = -1;
		rc = db_event_add(inv, &ev, err, errlen);
		free(reason);
		if (rc != INV_OK)
			goto out;
		rc = INV_FAIL;
	}
	rc = INV_OK;
out:
	seen_free(&ids);
	sqlite3_finalize(host);
	sqlite3_finalize(nic);
	return rc;
}

/* Validates and writes; errs may already hold problems of the caller's
 * (CSV syntax), in which case nothing is written either. */
static int
enroll(struct inv *inv, const struct inv_enroll *in, size_t n,
    const char *where, const char *actor, struct inv_errors *errs)
{
	struct batch	 b = { where, errs, 0 };
	struct row	*rows;
	char		 err[INV_ERRLEN];
	size_t		 i;
	int		 rc;

	/* 32 MiB of page cache while enrolling: a large import's index pages
	 * stay in memory instead of spilling to the WAL and being read back. */
	if (n > 1000)
		db_exec(inv, "PRAGMA cache_size = -32768", err, sizeof(err));
	rows = xcalloc(n ? n : 1, sizeof(*rows));
	for (i = 0; i < n; i++)
		row_check(&b, &in[i], &rows[i]);
	dups_in_batch(&b, rows, n);
	if ((rc = db_begin(inv, err, sizeof(err))) != INV_OK)
		goto fail;
	if ((rc = dups_in_db(inv, &b, rows, n, err, sizeof(err))) != INV_OK)
		goto fail;
	if (errs->n > 0) {
		rc = INV_EINVAL;
		if (b.dropped)
			bad(&b, -1, "... and %zu more problems", b.dropped);
		goto fail_quiet;
	}
	if ((rc = rows_write(inv, rows, n, where, actor, err,
	    sizeof(err))) != INV_OK)
		goto fail;
	if ((rc = db_commit(inv, err, sizeof(err))) != INV_OK)
		goto fail;
	free(rows);
	return INV_OK;
fail:
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(char *));
	errs->msg[errs->n++] = xstrdup(err);
	errs->total++;
fail_quiet:
	db_rollback(inv);
	free(rows);
	return rc;
}

int
inv_enroll(struct inv *inv, const struct inv_enroll *rows, size_t n,
    const char *where, const char *actor, struct inv_errors *errs)
{
	return enroll(inv, rows, n, where, actor, errs);
}

/* ---- CSV ---- */

enum { C_HOSTNAME, C_SITE, C_RACK, C_UNIT, C_SERIAL, C_BMC, C_MACS,
    C_ADDRESS, C_ROLE, C_DISK, C_GATEWAY, C_COUNT };
static const char *const columns[C_COUNT] = {
	"hostname", "site", "rack", "unit", "serial", "bmc", "macs", "address",
	"role", "disk", "gateway"
};

static char *
trimdup(const char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

int
inv_import_csv(struct inv *inv, const char *path, const char *actor,
    size_t *imported, struct inv_errors *errs)
{
	struct batch		 b = { path, errs, 0 };
	struct csv		 c;
	struct inv_enroll	*rows = NULL;
	char			**cells = NULL, *data, err[INV_ERRLEN];
	struct err		 fe;
	int			 colmap[CSV_MAXFIELDS], have[C_COUNT] = { 0 };
	size_t			 len, n = 0, cap = 0, ncells = 0, ncols = 0, i;
	size_t			 cellcap = 0;
	int			 r, k, rc;

	*imported = 0;
	if ((data = file_read_small(path, MAX_CSV_BYTES, &len, &fe)) == NULL) {
		bad(&b, 0, "%s", strchr(fe.msg, ':') ? strchr(fe.msg, ':') + 2 :
		    fe.msg);
		return INV_EINVAL;
	}
	csv_init(&c, data, len);
	r = csv_next(&c, err, sizeof(err));
	if (r <= 0) {
		if (r == 0)
			bad(&b, 0, "empty file: the first line must be the "
			    "header hostname,site,rack,unit,serial,bmc,macs,"
			    "address,role");
		else
			bad(&b, c.errline, "%s", err);
		rc = INV_EINVAL;
		goto out;
	}
	ncols = c.nfields;
	for (i = 0; i < ncols; i++) {
		char *h = trimdup(c.field[i]);

		colmap[i] = -1;
		for (k = 0; k < C_COUNT; k++)
			if (strcasecmp(h, columns[k]) == 0)
				colmap[i] = k;
		if (colmap[i] < 0)
			bad(&b, c.recline, "header: unknown column '%s' "
			    "(known: hostname,site,rack,unit,serial,bmc,macs,"
			    "address,role,disk,gateway)", h);
		else if (have[colmap[i]]++)
			bad(&b, c.recline, "header: column '%s' given twice", h);
		free(h);
	}
	if (!have[C_HOSTNAME] || !have[C_SITE])
		bad(&b, c.recline, "header: the columns hostname and site are "
		    "required");
	if (errs->n > 0) {
		rc = INV_EINVAL;
		goto out;
	}
	while ((r = csv_next(&c, err, sizeof(err))) != 0) {
		struct inv_enroll	*e;
		const char		**slot[C_COUNT];

		if (r < 0) {
			bad(&b, c.errline, "%s", err);
			continue;
		}
		if (c.nfields != ncols) {
			bad(&b, c.recline, "%zu fields, but the header has %zu",
			    c.nfields, ncols);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = xreallocarray(rows, cap, sizeof(*rows));
		}
		e = &rows[n++];
		memset(e, 0, sizeof(*e));
		e->line = c.recline;
		slot[C_HOSTNAME] = &e->hostname;
		slot[C_SITE] = &e->site;
		slot[C_RACK] = &e->rack;
		slot[C_UNIT] = &e->unit;
		slot[C_SERIAL] = &e->serial;
		slot[C_BMC] = &e->bmc;
		slot[C_MACS] = &e->macs;
		slot[C_ADDRESS] = &e->address;
		slot[C_ROLE] = &e->role;
		slot[C_DISK] = &e->disk;
		slot[C_GATEWAY] = &e->gateway;
		for (i = 0; i < ncols; i++) {
			char *v = trimdup(c.field[i]);

			if (ncells == cellcap) {
				cellcap = cellcap ? cellcap * 2 : 1024;
				cells = xreallocarray(cells, cellcap,
				    sizeof(char *));
			}
			cells[ncells++] = v;
			*slot[colmap[i]] = v;
		}
	}
	rc = enroll(inv, rows, n, path, actor, errs);
	if (rc == INV_OK)
		*imported = n;
out:
	for (i = 0; i < ncells; i++)
		free(cells[i]);
	free(cells);
	free(rows);
	csv_release(&c);
	free(data);
	return rc;
}
