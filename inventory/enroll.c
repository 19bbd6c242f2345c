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
	const char	*bmc_driver;	/* redfish, ipmi, NULL: [bmc] driver */
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
	r->bmc_driver = given(in->bmc_driver);
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
	if (r->bmc_driver && strcmp(r->bmc_driver, "redfish") != 0 &&
	    strcmp(r->bmc_driver, "ipmi") != 0)
		bad(b, in->line, "bmc_driver: '%s' is neither redfish nor ipmi",
		    r->bmc_driver), nbad++;
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

/* ---- the batch in the database ---- */

/*
 * The batch is loaded into two temporary tables (as fast as the backend
 * loads rows: COPY on PostgreSQL), and everything after is a handful of
 * statements over whole tables, whatever the batch's size: one query
 * finds every conflict with the database, five write the sites, racks,
 * hosts, NICs and events.  The temporary tables take their columns from
 * the tables they feed (CREATE ... AS SELECT ... WHERE 1 = 0), so their
 * types and their comparison rules are those tables'.
 */
static const char batch_create[] =
	"CREATE TEMP TABLE enroll_rows AS SELECT h.id AS i, h.hostname, "
	"s.name AS site, r.name AS rack, h.unit, h.serial, h.bmc, h.address, "
	"h.role, h.disk, e.reason, h.prefixlen, h.gateway, h.bmc_driver "
	"FROM hosts h, sites s, racks r, events e WHERE 1 = 0; "
	"CREATE TEMP TABLE enroll_macs AS SELECT n.host_id AS i, n.seq, n.mac "
	"FROM nics n WHERE 1 = 0";
static const char batch_drop[] =
	"DROP TABLE enroll_rows; DROP TABLE enroll_macs";

enum { K_HOSTNAME, K_SERIAL, K_BMC, K_ADDRESS, K_MAC, K_POSITION };

/* Every value of the batch that the database holds for a host already,
 * by row, then in the order the row's fields are checked. */
static const char conflict_sql[] =
	"SELECT b.i, 0, 0, h.hostname FROM enroll_rows b "
	"JOIN hosts h ON h.hostname = b.hostname "
	"UNION ALL SELECT b.i, 1, 0, h.hostname FROM enroll_rows b "
	"JOIN hosts h ON h.serial = b.serial "
	"UNION ALL SELECT b.i, 2, 0, h.hostname FROM enroll_rows b "
	"JOIN hosts h ON h.bmc = b.bmc "
	"UNION ALL SELECT b.i, 3, 0, h.hostname FROM enroll_rows b "
	"JOIN hosts h ON h.address = b.address "
	"UNION ALL SELECT m.i, 4, m.seq, h.hostname FROM enroll_macs m "
	"JOIN nics n ON n.mac = m.mac JOIN hosts h ON h.id = n.host_id "
	"UNION ALL SELECT b.i, 5, 0, h.hostname FROM enroll_rows b "
	"JOIN sites s ON s.name = b.site "
	"JOIN racks r ON r.site_id = s.id AND r.name = b.rack "
	"JOIN hosts h ON h.rack_id = r.id AND h.unit = b.unit "
	"ORDER BY 1, 2, 3";

/* ?1 the time, ?2 the actor, ?3 the writer's site. */
static const char *const write_sql[] = {
	/* sites and racks, in the order the batch first names them */
	"INSERT INTO sites (name) SELECT b.site FROM enroll_rows b "
	"WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.name = b.site) "
	"GROUP BY b.site ORDER BY min(b.i)",
	"INSERT INTO racks (site_id, name) SELECT s.id, b.rack "
	"FROM enroll_rows b JOIN sites s ON s.name = b.site "
	"WHERE b.rack IS NOT NULL AND NOT EXISTS (SELECT 1 FROM racks r "
	"WHERE r.site_id = s.id AND r.name = b.rack) "
	"GROUP BY s.id, b.rack ORDER BY min(b.i)",
	/* hosts in the batch's order: their ids are the enrollment order */
	"INSERT INTO hosts (hostname, site_id, rack_id, unit, serial, bmc, "
	"address, role, disk, created_at, updated_at, prefixlen, gateway, "
	"bmc_driver) "
	"SELECT b.hostname, s.id, r.id, b.unit, b.serial, b.bmc, b.address, "
	"b.role, b.disk, ?1, ?1, b.prefixlen, b.gateway, b.bmc_driver "
	"FROM enroll_rows b "
	"JOIN sites s ON s.name = b.site "
	"LEFT JOIN racks r ON r.site_id = s.id AND r.name = b.rack "
	"ORDER BY b.i",
	"INSERT INTO nics (host_id, seq, mac) SELECT h.id, m.seq, m.mac "
	"FROM enroll_macs m JOIN enroll_rows b ON b.i = m.i "
	"JOIN hosts h ON h.hostname = b.hostname ORDER BY h.id, m.seq",
	"INSERT INTO events (host_id, hostname, time, actor, to_state, reason, "
	"site) SELECT h.id, b.hostname, ?1, ?2, 'enrolled', b.reason, ?3 "
	"FROM enroll_rows b JOIN hosts h ON h.hostname = b.hostname "
	"ORDER BY b.i",
};

static int
batch_load(struct inv *inv, const struct row *rows, size_t n,
    const char *where, struct err *err)
{
	const char	*v[14];
	char		 idx[24], unit[16], seq[24], plen[16], *reason;
	size_t		 i, m;
	int		 rc;

	if ((rc = db_exec(inv, batch_create, err)) != ERR_OK || (rc =
	    db_load_begin(inv, "enroll_rows", 14, err)) != ERR_OK)
		return rc;
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		snprintf(idx, sizeof(idx), "%zu", i);
		snprintf(unit, sizeof(unit), "%u", r->unit);
		reason = r->line > 0 ? xsprintf("enrolled from %s:%d", where,
		    r->line) : xstrdup("enrolled");
		v[0] = idx;
		v[1] = r->hostname;
		v[2] = r->site;
		v[3] = r->rack;
		v[4] = r->unit ? unit : NULL;
		v[5] = r->serial;
		v[6] = r->bmc;
		v[7] = *r->address ? r->address : NULL;
		v[8] = r->role;
		v[9] = r->disk;
		v[10] = reason;
		snprintf(plen, sizeof(plen), "%u", r->prefixlen);
		v[11] = r->prefixlen ? plen : NULL;
		v[12] = *r->gateway ? r->gateway : NULL;
		v[13] = r->bmc_driver;
		rc = db_load_row(inv, v, err);
		free(reason);
		if (rc != ERR_OK)
			goto fail;
	}
	if ((rc = db_load_end(inv, err)) != ERR_OK ||
	    (rc = db_load_begin(inv, "enroll_macs", 3, err)) != ERR_OK)
		return rc;
	for (i = 0; i < n; i++)
		for (m = 0; m < rows[i].nmacs; m++) {
			snprintf(idx, sizeof(idx), "%zu", i);
			snprintf(seq, sizeof(seq), "%zu", m + 1);
			v[0] = idx;
			v[1] = seq;
			v[2] = rows[i].macs[m];
			if ((rc = db_load_row(inv, v, err)) != ERR_OK)
				goto fail;
		}
	return db_load_end(inv, err);
fail:
	/* End the load (its error is the one already in err). */
	db_load_end(inv, NULL);
	return rc;
}

static int
dups_in_db(struct inv *inv, struct batch *b, const struct row *rows,
    size_t n, struct err *err)
{
	struct db_stmt	*st;
	const struct row *r;
	const char	*who;
	int64_t		 i, seq;
	int		 rc;

	if (db_prepare_stream(inv, conflict_sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	while ((rc = db_step(st)) == 1) {
		i = db_col_int64(st, 0);
		seq = db_col_int64(st, 2);
		who = db_col_text(st, 3);
		if (i < 0 || (size_t)i >= n)
			continue;
		r = &rows[i];
		switch (db_col_int64(st, 1)) {
		case K_HOSTNAME:
			bad(b, r->line, "hostname %s is already in the "
			    "inventory", r->hostname);
			break;
		case K_SERIAL:
			bad(b, r->line, "serial %s already belongs to %s",
			    r->serial, who);
			break;
		case K_BMC:
			bad(b, r->line, "bmc %s already belongs to %s", r->bmc,
			    who);
			break;
		case K_ADDRESS:
			bad(b, r->line, "address %s already belongs to %s",
			    r->address, who);
			break;
		case K_MAC:
			if (seq >= 1 && (size_t)seq <= r->nmacs)
				bad(b, r->line, "MAC %s already belongs to %s",
				    r->macs[seq - 1], who);
			break;
		case K_POSITION:
			bad(b, r->line, "position %s/%s/U%u is taken by %s",
			    r->site, r->rack, r->unit, who);
			break;
		}
	}
	if (rc == -1)
		rc = db_fail(inv, "conflicts", err);
	db_finalize(st);
	return rc == 0 ? ERR_OK : rc;
}

/* ---- writing ---- */

static int
rows_write(struct inv *inv, const char *actor, struct err *err)
{
	struct db_stmt	*st;
	char		 now[32];
	size_t		 k;
	int		 rc;

	db_now(now);
	for (k = 0; k < sizeof(write_sql) / sizeof(write_sql[0]); k++) {
		if (db_prepare(inv, write_sql[k], &st, err) != ERR_OK)
			return ERR_FAIL;
		if (k == 2 || k == 4)
			db_bind_text(st, 1, now);
		if (k == 4) {
			db_bind_text(st, 2, actor ? actor : "unknown");
			db_bind_text(st, 3, inv->site);
		}
		rc = db_step(st);
		if (rc != 0)
			rc = db_fail(inv, "enroll", err);
		db_finalize(st);
		if (rc != 0)
			return rc;
	}
	return db_exec(inv, batch_drop, err);
}

/* One attempt at the transaction: conflicts, then every row. */
static int
enroll_tx(struct inv *inv, struct batch *b, const struct row *rows,
    size_t n, const char *where, const char *actor, struct err *err)
{
	int	 rc;

	if ((rc = db_begin(inv, DB_TX_NAMES, err)) != ERR_OK)
		return rc;
	if ((rc = batch_load(inv, rows, n, where, err)) != ERR_OK ||
	    (rc = dups_in_db(inv, b, rows, n, err)) != ERR_OK)
		goto fail;
	if (b->errs->n > 0) {
		rc = ERR_INVAL;
		goto fail;
	}
	if ((rc = rows_write(inv, actor, err)) != ERR_OK)
		goto fail;
	return db_commit(inv, err);
fail:
	db_rollback(inv);
	return rc;
}

/* Drops what an attempt added to errs after its first n0 messages. */
static void
errs_truncate(struct inv_errors *errs, size_t n0, size_t total0)
{
	while (errs->n > n0)
		free(errs->msg[--errs->n]);
	errs->total = total0;
}

/* Validates and writes; errs may already hold problems of the caller's
 * (CSV syntax), in which case nothing is written either. */
static int
enroll(struct inv *inv, const struct inv_enroll *in, size_t n,
    const char *where, const char *actor, struct inv_errors *errs)
{
	struct batch	 b = { where, errs, 0 };
	struct row	*rows;
	struct err	 err;
	size_t		 i, n0, total0, dropped0;
	int		 rc, tries = 0;

	rows = xcalloc(n ? n : 1, sizeof(*rows));
	for (i = 0; i < n; i++)
		row_check(&b, &in[i], &rows[i]);
	dups_in_batch(&b, rows, n);
	n0 = errs->n;
	total0 = errs->total;
	dropped0 = b.dropped;
	for (;;) {
		err_clear(&err);
		rc = enroll_tx(inv, &b, rows, n, where, actor, &err);
		if (!db_retry(inv, rc, &tries))
			break;
		errs_truncate(errs, n0, total0);
		b.dropped = dropped0;
	}
	free(rows);
	if (rc == ERR_OK)
		return ERR_OK;
	if (rc == ERR_INVAL && err.msg[0] == '\0') {
		if (b.dropped)
			bad(&b, -1, "... and %zu more problems", b.dropped);
		return rc;
	}
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(char *));
	errs->msg[errs->n++] = xstrdup(err.msg);
	errs->total++;
	return rc;
}

enum err_code
inv_enroll(struct inv *inv, const struct inv_enroll *rows, size_t n,
    const char *where, const char *actor, struct inv_errors *errs)
{
	return enroll(inv, rows, n, where, actor, errs);
}

/* ---- CSV ---- */

enum { C_HOSTNAME, C_SITE, C_RACK, C_UNIT, C_SERIAL, C_BMC, C_MACS,
    C_ADDRESS, C_ROLE, C_DISK, C_GATEWAY, C_BMC_DRIVER, C_COUNT };
static const char *const columns[C_COUNT] = {
	"hostname", "site", "rack", "unit", "serial", "bmc", "macs", "address",
	"role", "disk", "gateway", "bmc_driver"
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

enum err_code
inv_import_csv(struct inv *inv, const char *path, const char *actor,
    size_t *imported, struct inv_errors *errs)
{
	struct batch		 b = { path, errs, 0 };
	struct csv		 c;
	struct inv_enroll	*rows = NULL;
	char			**cells = NULL, *data;
	struct err		 fe, err;
	int			 colmap[CSV_MAXFIELDS], have[C_COUNT] = { 0 };
	size_t			 len, n = 0, cap = 0, ncells = 0, ncols = 0, i;
	size_t			 cellcap = 0;
	int			 r, k, rc;

	*imported = 0;
	if ((data = file_read_small(path, MAX_CSV_BYTES, &len, &fe)) == NULL) {
		bad(&b, 0, "%s", strchr(fe.msg, ':') ? strchr(fe.msg, ':') + 2 :
		    fe.msg);
		return ERR_INVAL;
	}
	csv_init(&c, data, len);
	r = csv_next(&c, &err);
	if (r <= 0) {
		if (r == 0)
			bad(&b, 0, "empty file: the first line must be the "
			    "header hostname,site,rack,unit,serial,bmc,macs,"
			    "address,role");
		else
			bad(&b, c.errline, "%s", err.msg);
		rc = ERR_INVAL;
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
			    "address,role,disk,gateway,bmc_driver)", h);
		else if (have[colmap[i]]++)
			bad(&b, c.recline, "header: column '%s' given twice", h);
		free(h);
	}
	if (!have[C_HOSTNAME] || !have[C_SITE])
		bad(&b, c.recline, "header: the columns hostname and site are "
		    "required");
	if (errs->n > 0) {
		rc = ERR_INVAL;
		goto out;
	}
	while ((r = csv_next(&c, &err)) != 0) {
		struct inv_enroll	*e;
		const char		**slot[C_COUNT];

		if (r < 0) {
			bad(&b, c.errline, "%s", err.msg);
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
		slot[C_BMC_DRIVER] = &e->bmc_driver;
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
	if (rc == ERR_OK)
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
