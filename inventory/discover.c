/*
 * Discovered machines: what the enlistment environment reports for a
 * machine that network-booted with a MAC no host has (the boot service's
 * check-in, provision/boot/serve.c), the automatic attachment of such a
 * machine to the enrolled host that has its serial, `inventory claim` to
 * attach one by hand, and the list `inventory discovered` reads.
 *
 * A discovered machine is known by its MACs (discovered_macs, unique, and
 * never a MAC of a host: both writes here check the hosts' NICs first);
 * a later check-in with any of them updates it.  Each write claims names
 * (MACs, a serial) and so is a DB_TX_NAMES transaction, run again when the
 * database asks; its history goes to discovered_events (append-only, as
 * the hosts' events), and an attachment is also an event of the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/log.h"
#include "lib/output.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define DISC_MAXROWS	100000	/* what open reads at most */

_Static_assert(INV_SERIAL_MAX == DMI_SERIAL_MAX, "one serial limit");

/* A serial as a check-in carries it (valid_dmi_serial). */
static int
serial_check(const char *s, struct err *err)
{
	struct err	 e;

	if (valid_dmi_serial(s, &e) == ERR_OK)
		return ERR_OK;
	return err_set(err, ERR_INVAL, "%s", e.msg);
}

/* A fact as text: printable ASCII, every other byte '?' (NULL for ""). */
static char *
clean(const char *s)
{
	char	*c;
	size_t	 i;

	if (s == NULL || *s == '\0')
		return NULL;
	c = xstrdup(s);
	for (i = 0; c[i]; i++)
		if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] > 0x7e)
			c[i] = '?';
	return c;
}

/* A cleaned string, or null for none. */
static void
out_clean(struct out *o, const char *key, const char *s)
{
	char	*c = clean(s);

	out_kstr(o, key, c);
	free(c);
}

/* The inspection's disks, NICs and accelerators as JSON text, as a host
 * object carries them (cli/cmd_inventory.c), written by lib/output's
 * JSON writer (compact: a memory stream is no terminal). */
static char *
facts_json(const struct inv_facts *f)
{
	struct out	*o;
	FILE		*mf;
	char		*text = NULL;
	size_t		 len = 0, i;

	if ((mf = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	o = out_new(mf, OUT_JSON, OUT_RECORD, NULL);
	out_begin_object(o);
	out_key(o, "disks");
	out_begin_array(o);
	for (i = 0; f && i < f->ndisks; i++) {
		out_begin_object(o);
		out_clean(o, "name", f->disks[i].name);
		out_kint(o, "size_bytes", (int64_t)f->disks[i].size_bytes);
		out_clean(o, "model", f->disks[i].model);
		out_clean(o, "serial", f->disks[i].serial);
		out_kbool(o, "rotational", f->disks[i].rotational != 0);
		out_kbool(o, "removable", f->disks[i].removable != 0);
		out_end_object(o);
	}
	out_end_array(o);
	out_key(o, "nics");
	out_begin_array(o);
	for (i = 0; f && i < f->nnics; i++) {
		out_begin_object(o);
		out_clean(o, "name", f->nics[i].name);
		out_clean(o, "mac", f->nics[i].mac);
		out_key(o, "speed_mbps");
		if (f->nics[i].speed_mbps)
			out_int(o, (int64_t)f->nics[i].speed_mbps);
		else
			out_null(o);
		out_end_object(o);
	}
	out_end_array(o);
	out_key(o, "gpus");
	out_begin_array(o);
	for (i = 0; f && i < f->ngpus; i++) {
		out_begin_object(o);
		out_clean(o, "pci_slot", f->gpus[i].pci_slot);
		out_clean(o, "class", f->gpus[i].class);
		out_clean(o, "vendor", f->gpus[i].vendor);
		out_clean(o, "model", f->gpus[i].model);
		out_key(o, "memory_mb");
		if (f->gpus[i].memory_mb >= 0)
			out_int(o, f->gpus[i].memory_mb);
		else
			out_null(o);
		out_end_object(o);
	}
	out_end_array(o);
	out_end_object(o);
	out_end(o);
	if (fclose(mf) != 0 || text == NULL)
		fatal("open_memstream");
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	return text;
}

/* "a, b, c" of n MACs. */
static void
mac_list(char macs[][18], size_t n, char *out, size_t len)
{
	size_t	 i, off = 0;

	out[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		    i ? ", " : "", macs[i]);
}

/* Finalizes st after its last step, whose result was rc (-1: failed,
 * said in err as what). */
static int
stmt_done(struct inv *inv, struct db_stmt *st, int rc, const char *what,
    struct err *err)
{
	rc = rc == -1 ? db_fail(inv, what, err) : ERR_OK;
	db_finalize(st);
	return rc;
}

/* The host (id, name, serial) the query sql finds for value, *id 0 when
 * none; sql selects h.id, h.hostname, h.serial of hosts h. */
static int
host_where(struct inv *inv, const char *sql, const char *value, int64_t *id,
    char *host, size_t hostlen, char *serial, size_t slen, struct err *err)
{
	struct db_stmt	*st;
	int		 rc;

	*id = 0;
	host[0] = serial[0] = '\0';
	if (db_prepare(inv, sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_text(st, 1, value);
	if ((rc = db_step(st)) == 1) {
		*id = db_col_int64(st, 0);
		db_col_copy(st, 1, host, hostlen);
		db_col_copy(st, 2, serial, slen);
	}
	return stmt_done(inv, st, rc, "hosts", err);
}

/* The host that has mac (*id 0 when none). */
static int
mac_owner(struct inv *inv, const char *mac, int64_t *id, char *host,
    size_t hostlen, struct err *err)
{
	char	 serial[65];

	return host_where(inv, "SELECT h.id, h.hostname, h.serial FROM nics n "
	    "JOIN hosts h ON h.id = n.host_id WHERE n.mac = ?", mac, id, host,
	    hostlen, serial, sizeof(serial), err);
}

/* The MACs host id has, every NIC (enrolled or inspected). */
static int
host_macs(struct inv *inv, int64_t id, char macs[][18], size_t max,
    size_t *n, struct err *err)
{
	struct db_stmt	*st;
	int		 rc;

	*n = 0;
	if (db_prepare(inv, "SELECT mac FROM nics WHERE host_id = ? ORDER BY "
	    "seq", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == 1)
		if (*n < max)
			db_col_copy(st, 0, macs[(*n)++], 18);
	return stmt_done(inv, st, rc, "nics", err);
}

static int
has_mac(char macs[][18], size_t n, const char *mac)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(macs[i], mac) == 0)
			return 1;
	return 0;
}

struct disc_event {
	const char	*what;		/* discovered, seen, attached, claimed */
	const char	*actor;
	char		 (*macs)[18];
	size_t		 nmacs;
	const char	*serial, *address, *hostname, *reason;
};

static int
disc_event_add(struct inv *inv, const struct disc_event *d, struct err *err)
{
	struct db_stmt	*st;
	char		 now[32], macs[INV_MAXMACS * 20];
	int		 rc;

	db_now(now);
	mac_list(d->macs, d->nmacs, macs, sizeof(macs));
	if (db_prepare(inv, "INSERT INTO discovered_events (time, actor, site, "
	    "what, macs, serial, address, hostname, reason) VALUES (?, ?, ?, "
	    "?, ?, ?, ?, ?, ?)", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_text(st, 1, now);
	db_bind_text(st, 2, d->actor ? d->actor : "unknown");
	db_bind_text(st, 3, inv->site);
	db_bind_text(st, 4, d->what);
	db_bind_text(st, 5, macs);
	db_bind_opt(st, 6, d->serial);
	db_bind_opt(st, 7, d->address);
	db_bind_opt(st, 8, d->hostname);
	db_bind_opt(st, 9, d->reason);
	rc = db_step(st) != 0 ? db_fail(inv, "discovered event", err) : ERR_OK;
	db_finalize(st);
	return rc;
}

/* A discovered machine as attach needs it. */
struct disc {
	int64_t		 id;		/* 0: not recorded (a check-in) */
	char		 macs[INV_MAXMACS][18];
	size_t		 nmacs;
	char		 serial[INV_SERIAL_MAX + 1];
	char		 address[64];
	char		 first_seen[32];
};

/*
 * Attaches d to host (id, hostname, its serial hserial) inside the
 * caller's transaction, after the checks: every MAC of the host is one
 * of d's, no other host has one of d's MACs or d's serial, and the
 * serials agree.  how: "automatically: its serial matched" or "by hand".
 * ERR_INVAL with why when it may not.
 */
static int
attach(struct inv *inv, const struct disc *d, int64_t id,
    const char *hostname, const char *hserial, const char *actor,
    const char *what, const char *how, size_t *learned, struct err *err)
{
	struct db_stmt	*st = NULL;
	struct db_event	 ev;
	struct disc_event de;
	char		 have[INV_MAXMACS * 4][18], other[254], now[32];
	char		 missing[INV_MAXMACS * 4 * 20], added[INV_MAXMACS][18];
	char		 addl[INV_MAXMACS * 20], reason[1024], serial_note[160];
	size_t		 nhave, i, nadded = 0, off = 0;
	int64_t		 oid;
	int		 rc, set_serial = 0;

	*learned = 0;
	if ((rc = host_macs(inv, id, have, INV_MAXMACS * 4, &nhave, err)) !=
	    ERR_OK)
		return rc;
	missing[0] = '\0';
	for (i = 0; i < nhave; i++)
		if (!has_mac((char (*)[18])d->macs, d->nmacs, have[i]))
			off += (size_t)snprintf(missing + off, off <
			    sizeof(missing) ? sizeof(missing) - off : 0,
			    "%s%s", off ? ", " : "", have[i]);
	if (*missing) {
		return err_set(err, ERR_INVAL, "%s already has MAC %s, which "
		    "this machine did not report", hostname, missing);
	}
	for (i = 0; i < d->nmacs; i++) {
		if ((rc = mac_owner(inv, d->macs[i], &oid, other,
		    sizeof(other), err)) != ERR_OK)
			return rc;
		if (oid != 0 && oid != id) {
			return err_set(err, ERR_INVAL, "MAC %s belongs to host "
			    "%s", d->macs[i], other);
		}
		if (oid == 0)
			memcpy(added[nadded++], d->macs[i], 18);
	}
	serial_note[0] = '\0';
	if (*d->serial && hserial && *hserial &&
	    strcmp(d->serial, hserial) != 0) {
		return err_set(err, ERR_INVAL, "%s's serial is %s, this "
		    "machine's %s", hostname, hserial, d->serial);
	}
	if (*d->serial && (hserial == NULL || *hserial == '\0')) {
		struct err	 e;

		if (valid_name(d->serial, &e) != ERR_OK)
			snprintf(serial_note, sizeof(serial_note), "; its "
			    "serial is not one a host can have, not recorded");
		else {
			if ((rc = db_prepare(inv, "SELECT hostname FROM hosts "
			    "WHERE serial = ?", &st, err)) != ERR_OK)
				return rc;
			db_bind_text(st, 1, d->serial);
			rc = db_step(st);
			if (rc == 1)
				err_set(err, ERR_INVAL, "serial %s belongs to "
				    "host %s", d->serial, db_col_text(st, 0));
			else if (rc == -1)
				db_fail(inv, "serial", err);
			db_finalize(st);
			st = NULL;
			if (rc != 0)
				return rc == 1 ? ERR_INVAL : ERR_FAIL;
			set_serial = 1;
			snprintf(serial_note, sizeof(serial_note), "; serial "
			    "%s recorded", d->serial);
		}
	}
	if ((rc = db_prepare(inv, "INSERT INTO nics (host_id, seq, mac, "
	    "enrolled) VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM nics "
	    "WHERE host_id = ?1), ?2, 1)", &st, err)) != ERR_OK)
		return rc;
	for (i = 0; i < nadded; i++) {
		db_reset(st);
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, added[i]);
		if (db_step(st) != 0) {
			rc = db_fail(inv, "learning a MAC", err);
			db_finalize(st);
			return rc;
		}
	}
	db_finalize(st);
	db_now(now);
	if ((nadded > 0 || set_serial) && (rc = db_prepare(inv, "UPDATE hosts "
	    "SET serial = coalesce(?, serial), updated_at = ? WHERE id = ?", &st,
	    err)) == ERR_OK) {
		db_bind_text(st, 1, set_serial ? d->serial : NULL);
		db_bind_text(st, 2, now);
		db_bind_int64(st, 3, id);
		rc = db_step(st) != 0 ? db_fail(inv, "host", err) : ERR_OK;
		db_finalize(st);
	}
	if (rc != ERR_OK)
		return rc;
	if (d->id != 0 && (rc = db_run_id(inv, "DELETE FROM discovered WHERE "
	    "id = ?", d->id, "discovered", err)) != ERR_OK)
		return rc;

	mac_list(added, nadded, addl, sizeof(addl));
	snprintf(reason, sizeof(reason), "attached a discovered machine "
	    "(serial %s, first seen %s%s%s) %s: MAC%s %s learned%s",
	    *d->serial ? d->serial : "none", d->first_seen,
	    *d->address ? " from " : "", d->address, how,
	    nadded == 1 ? "" : "s", nadded ? addl : "(none new)", serial_note);
	db_event_init(&ev, id, hostname, actor);
	ev.reason = reason;
	/* A host's own machine checking in again with nothing new (its
	 * MACs all known, no row to take over) changes nothing of the host:
	 * no event of the host for it, only the discovered history's. */
	if ((nadded > 0 || set_serial || d->id != 0) &&
	    (rc = db_event_add(inv, &ev, err)) != ERR_OK)
		return rc;
	memset(&de, 0, sizeof(de));
	de.what = what;
	de.actor = actor;
	de.macs = (char (*)[18])d->macs;
	de.nmacs = d->nmacs;
	de.serial = d->serial;
	de.address = d->address;
	de.hostname = hostname;
	de.reason = how;
	if ((rc = disc_event_add(inv, &de, err)) != ERR_OK)
		return rc;
	*learned = nadded;
	return ERR_OK;
}

/* The discovered rows that have one of macs, oldest first. */
static int
disc_by_macs(struct inv *inv, char macs[][18], size_t n, int64_t *ids,
    size_t *nids, struct err *err)
{
	struct db_stmt		*st;
	size_t			 i, j;
	int64_t			 v;
	int			 rc;

	*nids = 0;
	if (db_prepare(inv, "SELECT discovered_id FROM discovered_macs WHERE "
	    "mac = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < n; i++) {
		db_reset(st);
		db_bind_text(st, 1, macs[i]);
		if ((rc = db_step(st)) == -1) {
			rc = db_fail(inv, "discovered", err);
			db_finalize(st);
			return rc;
		}
		if (rc == 0)
			continue;
		v = db_col_int64(st, 0);
		for (j = 0; j < *nids && ids[j] != v; j++)
			;
		if (j == *nids)
			ids[(*nids)++] = v;
	}
	db_finalize(st);
	/* oldest first: ids only grow */
	for (i = 1; i < *nids; i++)
		for (j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			v = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = v;
		}
	return ERR_OK;
}

static int
disc_macs_write(struct inv *inv, int64_t id, char macs[][18], size_t n,
    struct err *err)
{
	struct db_stmt	*st;
	size_t		 i;

	if (db_run_id(inv, "DELETE FROM discovered_macs WHERE discovered_id = "
	    "?", id, "discovered", err) != ERR_OK)
		return ERR_FAIL;
	if (db_prepare(inv, "INSERT INTO discovered_macs (discovered_id, seq, "
	    "mac) VALUES (?, ?, ?)", &st, err) != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < n; i++) {
		db_reset(st);
		db_bind_int64(st, 1, id);
		db_bind_int64(st, 2, (int64_t)i + 1);
		db_bind_text(st, 3, macs[i]);
		if (db_step(st) != 0) {
			int r = db_fail(inv, "discovered MACs", err);

			db_finalize(st);
			return r;
		}
	}
	db_finalize(st);
	return ERR_OK;
}

/* Records (id 0: a new row) or updates the discovered machine: where and
 * when it was seen, and its facts when the check-in carried them (else
 * those of an earlier one stay). */
static int
disc_write(struct inv *inv, int64_t *id, const struct inv_discovery *in,
    char macs[][18], const char *serial, const char *note, struct err *err)
{
	const struct inv_facts	*f = in->facts;
	struct db_stmt		*st;
	char			 now[32], *fj, *cpu, *ven, *prod, *addr;
	int			 rc;

	db_now(now);
	addr = clean(in->address);
	rc = db_prepare(inv, *id == 0 ? "INSERT INTO discovered (serial, site, "
	    "address, note, last_seen, first_seen) VALUES (?, ?, ?, ?, ?, ?) "
	    "RETURNING id" : "UPDATE discovered SET serial = ?, site = ?, "
	    "address = ?, note = ?, last_seen = ?, checkins = checkins + 1 "
	    "WHERE id = ?", &st, err);
	if (rc != ERR_OK) {
		free(addr);
		return rc;
	}
	db_bind_opt(st, 1, serial);
	db_bind_text(st, 2, inv->site);
	db_bind_opt(st, 3, addr);
	db_bind_opt(st, 4, note);
	db_bind_text(st, 5, now);
	if (*id == 0) {
		db_bind_text(st, 6, now);
		/* The new row's id (RETURNING). */
		if ((rc = db_step(st)) == 1)
			*id = db_col_int64(st, 0);
		rc = rc == 1 ? ERR_OK : db_fail(inv, "discovered", err);
	} else {
		db_bind_int64(st, 6, *id);
		rc = db_step(st) != 0 ? db_fail(inv, "discovered", err) :
		    ERR_OK;
	}
	db_finalize(st);
	free(addr);
	if (rc == ERR_OK)
		rc = disc_macs_write(inv, *id, macs, in->nmacs, err);
	if (rc != ERR_OK || f == NULL)
		return rc;
	fj = facts_json(f);
	cpu = clean(f->cpu_model);
	ven = clean(f->sys_vendor);
	prod = clean(f->sys_product);
	if ((rc = db_prepare(inv, "UPDATE discovered SET cpu_model = ?, "
	    "cpu_cores = ?, memory_mb = ?, sys_vendor = ?, sys_product = ?, "
	    "facts = ? WHERE id = ?", &st, err)) == ERR_OK) {
		db_bind_opt(st, 1, cpu);
		if (f->cpu_cores)
			db_bind_int64(st, 2, f->cpu_cores);
		if (f->memory_mb)
			db_bind_int64(st, 3, (int64_t)f->memory_mb);
		db_bind_opt(st, 4, ven);
		db_bind_opt(st, 5, prod);
		db_bind_text(st, 6, fj);
		db_bind_int64(st, 7, *id);
		rc = db_step(st) != 0 ? db_fail(inv, "discovered facts", err) :
		    ERR_OK;
		db_finalize(st);
	}
	free(fj);
	free(cpu);
	free(ven);
	free(prod);
	return rc;
}

/* A discovered row's MACs, serial and first sight, for attach. */
static int
disc_read(struct inv *inv, int64_t id, struct disc *d, struct err *err)
{
	struct db_stmt	*st;
	int		 rc;

	memset(d, 0, sizeof(*d));
	d->id = id;
	if (db_prepare(inv, "SELECT serial, address, first_seen FROM "
	    "discovered WHERE id = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == 1) {
		db_col_copy(st, 0, d->serial, sizeof(d->serial));
		db_col_copy(st, 1, d->address, sizeof(d->address));
		db_col_copy(st, 2, d->first_seen, sizeof(d->first_seen));
	}
	if (rc == -1)
		db_fail(inv, "discovered", err);
	db_finalize(st);
	if (rc != 1)
		return rc == 0 ? ERR_NOENT : ERR_FAIL;
	if (db_prepare(inv, "SELECT mac FROM discovered_macs WHERE "
	    "discovered_id = ? ORDER BY seq", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == 1)
		if (d->nmacs < INV_MAXMACS)
			db_col_copy(st, 0, d->macs[d->nmacs++], 18);
	return stmt_done(inv, st, rc, "discovered", err);
}

/* The host with serial (*id 0 when none), its row locked. */
static int
serial_host(struct inv *inv, const char *serial, int64_t *id, char *host,
    size_t hostlen, char *hserial, size_t slen, struct err *err)
{
	char	*sql;
	int	 rc;

	sql = xsprintf("SELECT h.id, h.hostname, h.serial FROM hosts h WHERE "
	    "h.serial = ?%s", inv->be->lock_host);
	rc = host_where(inv, sql, serial, id, host, hostlen, hserial, slen,
	    err);
	free(sql);
	return rc;
}

static int
checkin_tx(struct inv *inv, const struct inv_discovery *in, const char *actor,
    struct inv_discovery_result *res, struct err *err)
{
	struct disc_event	 de;
	struct disc		 d;
	char			 macs[INV_MAXMACS][18], host[254], hserial[65];
	char			 owner[254];
	struct err		 why;
	const char		*serial = in->serial ? in->serial : "";
	int64_t			 hid, oid, ids[INV_MAXMACS];
	size_t			 i, nids, learned;
	int			 rc;

	memset(res, 0, sizeof(*res));
	if (in->nmacs == 0 || in->nmacs > INV_MAXMACS) {
		return err_set(err, ERR_INVAL, "a check-in with %zu MACs (1 to "
		    "%d)", in->nmacs, INV_MAXMACS);
	}
	for (i = 0; i < in->nmacs; i++) {
		struct err	 e;

		if (parse_mac(in->macs[i], macs[i], &e) != ERR_OK) {
			return err_set(err, ERR_INVAL, "%s", e.msg);
		}
		if (has_mac(macs, i, macs[i])) {
			return err_set(err, ERR_INVAL, "MAC %s given twice",
			    macs[i]);
		}
	}
	if ((rc = serial_check(serial, err)) != ERR_OK)
		return rc;
	if ((rc = db_begin(inv, DB_TX_NAMES, err)) != ERR_OK)
		return rc;
	hid = 0;
	if (*serial && (rc = serial_host(inv, serial, &hid, host,
	    sizeof(host), hserial, sizeof(hserial), err)) != ERR_OK)
		goto fail;
	for (i = 0; i < in->nmacs; i++) {
		if ((rc = mac_owner(inv, macs[i], &oid, owner, sizeof(owner),
		    err)) != ERR_OK)
			goto fail;
		if (oid != 0 && oid != hid) {
			rc = err_set(err, ERR_WRONGSTATE, "MAC %s belongs to "
			    "host %s, whose serial is not this machine's",
			    macs[i], owner);
			goto fail;
		}
	}
	if ((rc = disc_by_macs(inv, macs, in->nmacs, ids, &nids, err)) !=
	    ERR_OK)
		goto fail;
	/* Seen before under more than one row (its NICs booted apart):
	 * one row, the oldest, from now on. */
	for (i = 1; i < nids; i++)
		if ((rc = db_run_id(inv, "DELETE FROM discovered WHERE id = ?",
		    ids[i], "discovered", err)) != ERR_OK)
			goto fail;
	memset(&d, 0, sizeof(d));
	if (nids > 0 && (rc = disc_read(inv, ids[0], &d, err)) != ERR_OK)
		goto fail;
	if (nids == 0) {
		char	 now[32];

		db_now(now);
		snprintf(d.first_seen, sizeof(d.first_seen), "%s", now);
	}
	memcpy(d.macs, macs, sizeof(macs));
	d.nmacs = in->nmacs;
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	snprintf(d.address, sizeof(d.address), "%s", in->address ?
	    in->address : "");
	if (hid != 0) {
		rc = attach(inv, &d, hid, host, hserial, actor, "attached",
		    "automatically: its serial matched", &learned, &why);
		if (rc == ERR_OK) {
			snprintf(res->attached, sizeof(res->attached), "%s", host);
			return db_commit(inv, err);
		}
		if (rc != ERR_INVAL) {
			*err = why;
			goto fail;
		}
		snprintf(res->note, sizeof(res->note), "serial %s is host %s's, "
		    "but it was not attached: %.250s", serial, host, why.msg);
	}
	res->is_new = nids == 0;
	if (nids == 0)
		ids[0] = 0;
	if ((rc = disc_write(inv, &ids[0], in, macs, serial, *res->note ?
	    res->note : NULL, err)) != ERR_OK)
		goto fail;
	memset(&de, 0, sizeof(de));
	de.what = res->is_new ? "discovered" : "seen";
	de.actor = actor;
	de.macs = macs;
	de.nmacs = in->nmacs;
	de.serial = serial;
	de.address = in->address;
	de.reason = *res->note ? res->note : NULL;
	if ((rc = disc_event_add(inv, &de, err)) != ERR_OK)
		goto fail;
	return db_commit(inv, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_discovered_checkin(struct inv *inv, const struct inv_discovery *in,
    const char *actor, struct inv_discovery_result *res, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, checkin_tx(inv, in, actor, res, err));
	return rc;
}

static int
claim_tx(struct inv *inv, const char *key, const char *hostname,
    const char *actor, size_t *learned, struct err *err)
{
	struct db_stmt	*st;
	struct disc	 d;
	struct err	 e;
	char		 mac[18], hserial[65] = "";
	struct err	 why;
	int64_t		 did = 0, hid;
	int		 rc, n = 0, by_mac;

	*learned = 0;
	by_mac = parse_mac(key, mac, &e) == ERR_OK;
	if (!by_mac && serial_check(key, err) != ERR_OK)
		return ERR_INVAL;
	if ((rc = db_begin(inv, DB_TX_NAMES, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &hid, NULL, err)) != ERR_OK)
		goto fail;
	if ((rc = db_prepare(inv, by_mac ? "SELECT discovered_id FROM "
	    "discovered_macs WHERE mac = ?" : "SELECT id FROM discovered WHERE "
	    "serial = ? ORDER BY id", &st, err)) != ERR_OK)
		goto fail;
	db_bind_text(st, 1, by_mac ? mac : key);
	while ((rc = db_step(st)) == 1)
		if (n++ == 0)
			did = db_col_int64(st, 0);
	db_finalize(st);
	if (rc == -1) {
		rc = db_fail(inv, "discovered", err);
		goto fail;
	}
	if (n == 0) {
		rc = err_set(err, ERR_NOENT, "no discovered machine has %s %s "
		    "(castiron inventory discovered lists them)", by_mac ?
		    "MAC" : "serial", by_mac ? mac : key);
		goto fail;
	}
	if (n > 1) {
		rc = err_set(err, ERR_INVAL, "%d discovered machines have "
		    "serial %s: claim one by its MAC", n, key);
		goto fail;
	}
	if ((rc = disc_read(inv, did, &d, err)) != ERR_OK)
		goto fail;
	if ((rc = db_prepare(inv, "SELECT serial FROM hosts WHERE id = ?", &st,
	    err)) != ERR_OK)
		goto fail;
	db_bind_int64(st, 1, hid);
	if (db_step(st) == 1)
		db_col_copy(st, 0, hserial, sizeof(hserial));
	db_finalize(st);
	if ((rc = attach(inv, &d, hid, hostname, hserial, actor, "claimed",
	    "by hand (inventory claim)", learned, &why)) != ERR_OK) {
		err_set(err, rc, "%s: not claimed: %s", hostname, why.msg);
		goto fail;
	}
	return db_commit(inv, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_discovered_claim(struct inv *inv, const char *key, const char *hostname,
    const char *actor, size_t *learned, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, claim_tx(inv, key, hostname, actor, learned, err));
	return rc;
}

/* ---- the list ---- */

struct disc_row {
	struct inv_discovered_row	 r;
	char				*text[12];	/* owned strings */
};

struct inv_discovered {
	struct disc_row	*rows;
	size_t		 n, next;
};

void
inv_discovered_close(struct inv_discovered *c)
{
	size_t	 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		for (j = 0; j < 12; j++)
			free(c->rows[i].text[j]);
	free(c->rows);
	free(c);
}

static const char *
keep(struct disc_row *d, int i, struct db_stmt *st, int col)
{
	const char	*s = db_col_text(st, col);

	d->text[i] = s ? xstrdup(s) : NULL;
	return d->text[i];
}

enum err_code
inv_discovered_open(struct inv *inv, const char *site,
    struct inv_discovered **curp, struct err *err)
{
	struct inv_discovered	*c = xcalloc(1, sizeof(*c));
	struct db_stmt		*st = NULL, *ms = NULL;
	struct disc_row		*d;
	size_t			 cap = 0;
	int			 rc, own = 0;

	*curp = NULL;
	if (!inv->in_tx) {
		if (db_begin(inv, DB_TX_READ, err) != ERR_OK) {
			free(c);
			return ERR_FAIL;
		}
		own = 1;
	}
	if ((rc = db_prepare(inv, "SELECT d.id, d.serial, d.site, d.address, "
	    "d.cpu_model, d.cpu_cores, d.memory_mb, d.sys_vendor, "
	    "d.sys_product, d.facts, d.note, d.checkins, d.first_seen, "
	    "d.last_seen, (SELECT h.hostname FROM hosts h WHERE h.serial = "
	    "d.serial), (SELECT min(h.hostname) FROM discovered_macs m JOIN "
	    "nics n ON n.mac = m.mac JOIN hosts h ON h.id = n.host_id WHERE "
	    "m.discovered_id = d.id) FROM discovered d WHERE (CAST(?1 AS TEXT) IS "
	    "NULL OR d.site = ?1) ORDER BY d.id", &st, err)) != ERR_OK ||
	    (rc = db_prepare(inv, "SELECT mac FROM discovered_macs WHERE "
	    "discovered_id = ? ORDER BY seq", &ms, err)) != ERR_OK)
		goto out;
	db_bind_text(st, 1, site);
	while ((rc = db_step(st)) == 1 && c->n < DISC_MAXROWS) {
		if (c->n == cap) {
			cap = cap ? 2 * cap : 16;
			c->rows = xreallocarray(c->rows, cap, sizeof(*c->rows));
		}
		d = &c->rows[c->n++];
		memset(d, 0, sizeof(*d));
		d->r.serial = keep(d, 0, st, 1);
		d->r.site = keep(d, 1, st, 2);
		d->r.address = keep(d, 2, st, 3);
		d->r.cpu_model = keep(d, 3, st, 4);
		d->r.cpu_cores = db_col_int_or(st, 5, -1);
		d->r.memory_mb = db_col_int_or(st, 6, -1);
		d->r.sys_vendor = keep(d, 4, st, 7);
		d->r.sys_product = keep(d, 5, st, 8);
		d->r.facts_json = keep(d, 6, st, 9);
		d->r.note = keep(d, 7, st, 10);
		d->r.checkins = db_col_int64(st, 11);
		d->r.first_seen = keep(d, 8, st, 12);
		d->r.last_seen = keep(d, 9, st, 13);
		d->r.serial_host = keep(d, 10, st, 14);
		d->r.mac_host = keep(d, 11, st, 15);
		db_reset(ms);
		db_bind_int64(ms, 1, db_col_int64(st, 0));
		while ((rc = db_step(ms)) == 1)
			if (d->r.nmacs < INV_MAXMACS)
				db_col_copy(ms, 0, d->r.macs[d->r.nmacs++], 18);
		if (rc == -1)
			break;
	}
	rc = rc == -1 ? db_fail(inv, "discovered", err) : ERR_OK;
out:
	db_finalize(st);
	db_finalize(ms);
	if (own)
		db_rollback(inv);
	if (rc != ERR_OK) {
		inv_discovered_close(c);
		return rc;
	}
	*curp = c;
	return ERR_OK;
}

int
inv_discovered_next(struct inv_discovered *c,
    const struct inv_discovered_row **row, struct err *err)
{
	(void)err;
	*row = NULL;
	if (c->next >= c->n)
		return 0;
	*row = &c->rows[c->next++].r;
	return 1;
}
