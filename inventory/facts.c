/*
 * What inspection found on a host (CPU, memory, system, disks, NICs,
 * accelerators) and the SSH host key castiron pinned for it.  Facts are
 * replaced whole at each inspection; NICs are merged with the MACs the
 * operator enrolled so that provision can compare the two.  A pinned key
 * is never replaced or dropped without an event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "inventory/inv_int.h"
#include "lib/parse.h"
#include "lib/sshkey.h"
#include "lib/xmalloc.h"

void
db_gpu_fill(sqlite3_stmt *st, int i, struct inv_gpu *g)
{
	memset(g, 0, sizeof(*g));
	db_column_copy(st, i, g->pci_slot, sizeof(g->pci_slot));
	db_column_copy(st, i + 1, g->class, sizeof(g->class));
	db_column_copy(st, i + 2, g->vendor, sizeof(g->vendor));
	db_column_copy(st, i + 3, g->model, sizeof(g->model));
	g->memory_mb = sqlite3_column_type(st, i + 4) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, i + 4);
}

/* The host's accelerators, replaced whole. */
static int
gpus_write(struct inv *inv, int64_t id, const struct inv_facts *f,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	size_t		 i;
	int		 rc;

	if (db_prepare(inv, "DELETE FROM gpus WHERE host_id = ?", &st, err,
	    errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(inv, "gpus", err, errlen);
	if (f->ngpus == 0)
		return INV_OK;
	if (db_prepare(inv, "INSERT INTO gpus (host_id, seq, pci_slot, class, "
	    "vendor, model, memory_mb) VALUES (?, ?, ?, ?, ?, ?, ?)", &st, err,
	    errlen) != INV_OK)
		return INV_FAIL;
	for (i = 0; i < f->ngpus; i++) {
		const struct inv_gpu *g = &f->gpus[i];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i + 1);
		sqlite3_bind_text(st, 3, g->pci_slot, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, g->class, -1, SQLITE_STATIC);
		db_bind_text(st, 5, g->vendor);
		db_bind_text(st, 6, g->model);
		if (g->memory_mb >= 0)
			sqlite3_bind_int64(st, 7, g->memory_mb);
		else
			sqlite3_bind_null(st, 7);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			snprintf(err, errlen, "accelerator %s: %s", g->pci_slot,
			    sqlite3_errmsg(inv->db));
			return INV_EINVAL;
		}
	}
	sqlite3_finalize(st);
	return INV_OK;
}

static int
facts_write(struct inv *inv, int64_t id, const struct inv_facts *f,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	char		 now[32];
	size_t		 i;
	int		 rc;

	db_now(now);
	if (db_prepare(inv, "INSERT OR REPLACE INTO facts (host_id, cpu_model, "
	    "cpu_cores, memory_mb, sys_vendor, sys_product, sys_serial, "
	    "inspected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st, err,
	    errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, f->cpu_model);
	sqlite3_bind_int64(st, 3, f->cpu_cores);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)f->memory_mb);
	db_bind_text(st, 5, f->sys_vendor);
	db_bind_text(st, 6, f->sys_product);
	db_bind_text(st, 7, f->sys_serial);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(inv, "facts", err, errlen);

	if (db_prepare(inv, "DELETE FROM disks WHERE host_id = ?", &st, err,
	    errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(inv, "disks", err, errlen);
	if (db_prepare(inv, "INSERT INTO disks (host_id, name, size_bytes, "
	    "model, serial, rotational, removable) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    &st, err, errlen) != INV_OK)
		return INV_FAIL;
	for (i = 0; i < f->ndisks; i++) {
		const struct inv_disk *d = &f->disks[i];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)d->size_bytes);
		db_bind_text(st, 4, d->model);
		db_bind_text(st, 5, d->serial);
		sqlite3_bind_int(st, 6, d->rotational != 0);
		sqlite3_bind_int(st, 7, d->removable != 0);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			snprintf(err, errlen, "disk %s: %s", d->name,
			    sqlite3_errmsg(inv->db));
			return INV_EINVAL;
		}
	}
	sqlite3_finalize(st);
	return gpus_write(inv, id, f, err, errlen);
}

static int
nics_merge(struct inv *inv, int64_t id, const char *hostname,
    const struct inv_facts *f, char *err, size_t errlen)
{
	sqlite3_stmt	*find = NULL, *upd = NULL, *ins = NULL;
	char		 mac[18];
	struct err	 e;
	size_t		 i;
	int		 rc = INV_FAIL;

	if (db_prepare(inv, "SELECT n.host_id, h.hostname FROM nics n JOIN "
	    "hosts h ON h.id = n.host_id WHERE n.mac = ?", &find, err,
	    errlen) != INV_OK ||
	    db_prepare(inv, "UPDATE nics SET name = ?, speed_mbps = ? WHERE "
	    "mac = ?", &upd, err, errlen) != INV_OK ||
	    db_prepare(inv, "INSERT INTO nics (host_id, seq, mac, name, "
	    "speed_mbps, enrolled) VALUES (?1, (SELECT coalesce(max(seq), 0) + "
	    "1 FROM nics WHERE host_id = ?1), ?2, ?3, ?4, 0)", &ins, err,
	    errlen) != INV_OK)
		goto out;
	for (i = 0; i < f->nnics; i++) {
		const struct inv_nic *n = &f->nics[i];
		sqlite3_stmt	*st;
		int		 r;

		if (parse_mac(n->mac, mac, &e) != ERR_OK) {
			snprintf(err, errlen, "%s: nic %s: %s", hostname,
			    n->name, e.msg);
			rc = INV_EINVAL;
			goto out;
		}
		sqlite3_reset(find);
		sqlite3_bind_text(find, 1, mac, -1, SQLITE_STATIC);
		r = sqlite3_step(find);
		if (r == SQLITE_ROW && sqlite3_column_int64(find, 0) != id) {
			snprintf(err, errlen, "%s: nic %s: MAC %s belongs to %s",
			    hostname, n->name, mac,
			    (const char *)sqlite3_column_text(find, 1));
			rc = INV_EINVAL;
			goto out;
		}
		if (r != SQLITE_ROW && r != SQLITE_DONE) {
			rc = db_fail(inv, "nics", err, errlen);
			goto out;
		}
		st = r == SQLITE_ROW ? upd : ins;
		sqlite3_reset(st);
		if (st == upd) {
			db_bind_text(st, 1, n->name);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)n->speed_mbps);
			sqlite3_bind_text(st, 3, mac, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
			db_bind_text(st, 3, n->name);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)n->speed_mbps);
		}
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_fail(inv, "nics", err, errlen);
			goto out;
		}
	}
	rc = INV_OK;
out:
	sqlite3_finalize(find);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	return rc;
}

int
inv_facts_set(struct inv *inv, const char *hostname, const char *actor,
    const struct inv_facts *f, char *err, size_t errlen)
{
	struct db_event	 ev = { 0 };
	uint64_t	 total = 0;
	char		*text, sz[32];
	size_t		 i;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, err, errlen)) != INV_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err, errlen)) != INV_OK)
		goto fail;
	if ((rc = facts_write(inv, id, f, err, errlen)) != INV_OK ||
	    (rc = nics_merge(inv, id, hostname, f, err, errlen)) != INV_OK)
		goto fail;
	for (i = 0; i < f->ndisks; i++)
		total += f->disks[i].size_bytes;
	text = xsprintf("inspected: %u cores, %llu MiB, %zu disk%s (%s), "
	    "%zu nic%s, %zu accelerator%s", f->cpu_cores,
	    (unsigned long long)f->memory_mb, f->ndisks, f->ndisks == 1 ? "" :
	    "s", fmt_size(total, sz, sizeof(sz)), f->nnics, f->nnics == 1 ? "" :
	    "s", f->ngpus, f->ngpus == 1 ? "" : "s");
	ev.host_id = id;
	ev.hostname = hostname;
	ev.actor = actor;
	ev.step = "inspect";
	ev.reason = text;
	ev.bytes = ev.duration_ms = -1;
	rc = db_event_commit(inv, &ev, err, errlen);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

int
inv_facts_get(struct inv *inv, const char *hostname, struct inv_facts *f,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	size_t		 cap = 0;
	int		 rc;

	memset(f, 0, sizeof(*f));
	if ((rc = db_host_id(inv, hostname, &id, NULL, err, errlen)) != INV_OK)
		return rc;
	if (db_prepare(inv, "SELECT cpu_model, cpu_cores, memory_mb, "
	    "sys_vendor, sys_product, sys_serial FROM facts WHERE host_id = ?",
	    &st, err, errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_column_copy(st, 0, f->cpu_model, sizeof(f->cpu_model));
		f->cpu_cores = (unsigned)sqlite3_column_int(st, 1);
		f->memory_mb = (uint64_t)sqlite3_column_int64(st, 2);
		db_column_copy(st, 3, f->sys_vendor, sizeof(f->sys_vendor));
		db_column_copy(st, 4, f->sys_product, sizeof(f->sys_product));
		db_column_copy(st, 5, f->sys_serial, sizeof(f->sys_serial));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(inv, "facts", err, errlen);

	if (db_prepare(inv, "SELECT name, size_bytes, model, serial, "
	    "rotational, removable FROM disks WHERE host_id = ? ORDER BY name",
	    &st, err, errlen) != INV_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct inv_disk *d;

		if (f->ndisks == cap) {
			cap = cap ? cap * 2 : 4;
			f->disks = xreallocarray(f->disks, cap, sizeof(*d));
		}
		d = &f->disks[f->ndisks++];
		memset(d, 0, sizeof(*d));
		db_column_copy(st, 0, d->name, sizeof(d->name));
		d->size_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		db_column_copy(st, 2, d->model, sizeof(d->model));
		db_column_copy(st, 3, d->serial, sizeof(d->serial));
		d->rotational = sqlite3_column_int(st, 4);
		d->removable = sqlite3_column_int(st, 5);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail_db;

	cap = 0;
	if (db_prepare(inv, "SELECT name, mac, speed_mbps FROM nics WHERE "
	    "host_id = ? ORDER BY seq", &st, err, errlen) != INV_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct inv_nic *n;

		if (f->nnics == cap) {
			cap = cap ? cap * 2 : 4;
			f->nics = xreallocarray(f->nics, cap, sizeof(*n));
		}
		n = &f->nics[f->nnics++];
		memset(n, 0, sizeof(*n));
		db_column_copy(st, 0, n->name, sizeof(n->name));
		db_column_copy(st, 1, n->mac, sizeof(n->mac));
		n->speed_mbps = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail_db;

	cap = 0;
	if (db_prepare(inv, "SELECT pci_slot, class, vendor, model, memory_mb "
	    "FROM gpus WHERE host_id = ? ORDER BY seq", &st, err,
	    errlen) != INV_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct inv_gpu *g;

		if (f->ngpus == cap) {
			cap = cap ? cap * 2 : 4;
			f->gpus = xreallocarray(f->gpus, cap, sizeof(*g));
		}
		g = &f->gpus[f->ngpus++];
		db_gpu_fill(st, 0, g);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail_db;
	return INV_OK;
fail_db:
	db_fail(inv, "facts", err, errlen);
fail:
	inv_facts_free(f);
	return INV_FAIL;
}

void
inv_facts_free(struct inv_facts *f)
{
	if (f == NULL)
		return;
	free(f->disks);
	free(f->nics);
	free(f->gpus);
	f->disks = NULL;
	f->nics = NULL;
	f->gpus = NULL;
	f->ndisks = f->nnics = f->ngpus = 0;
}

/* ---- pinned SSH host keys ---- */

int
inv_hostkey_fingerprint(const char *key_b64, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char	 fp[SSH_FP_LEN];

	if (sshkey_fp_b64(key_b64, fp) == -1) {
		snprintf(err, errlen, "host key is not valid base64");
		return INV_EINVAL;
	}
	snprintf(out, outlen, "%s", fp);
	return INV_OK;
}

/* The blob must start with its own type as an SSH string. */
static int
hostkey_check(const char *type, const char *key_b64, char *err,
    size_t errlen)
{
	unsigned char	*blob;
	size_t		 len, tlen = strlen(type);
	uint32_t	 n;
	int		 ok;

	if (tlen == 0 || tlen >= 32 || strlen(key_b64) >= 4096) {
		snprintf(err, errlen, "host key type or key too long");
		return INV_EINVAL;
	}
	if (sshkey_b64_decode(key_b64, strlen(key_b64), &blob, &len) == -1) {
		snprintf(err, errlen, "host key is not valid base64");
		return INV_EINVAL;
	}
	n = len >= 4 ? ((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3]) : 0;
	ok = len >= 4 + tlen && n == tlen && memcmp(blob + 4, type, tlen) == 0;
	free(blob);
	if (!ok) {
		snprintf(err, errlen, "host key is not an SSH public key of "
		    "type %s", type);
		return INV_EINVAL;
	}
	return INV_OK;
}

int
inv_hostkey_get(struct inv *inv, const char *hostname, struct inv_hostkey *k,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 rc;

	memset(k, 0, sizeof(*k));
	if ((rc = db_host_id(inv, hostname, &id, NULL, err, errlen)) != INV_OK)
		return rc;
	if (db_prepare(inv, "SELECT type, key, fingerprint, pinned_at FROM "
	    "host_keys WHERE host_id = ?", &st, err, errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_column_copy(st, 0, k->type, sizeof(k->type));
		db_column_copy(st, 1, k->key, sizeof(k->key));
		db_column_copy(st, 2, k->fingerprint, sizeof(k->fingerprint));
		db_column_copy(st, 3, k->pinned_at, sizeof(k->pinned_at));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "%s: no SSH host key is pinned", hostname);
		return INV_ENOENT;
	}
	if (rc != SQLITE_ROW)
		return db_fail(inv, "host key", err, errlen);
	return INV_OK;
}

int
inv_hostkey_set(struct inv *inv, const char *hostname, const char *actor,
    const char *type, const char *key_b64, char *err, size_t errlen)
{
	struct db_event	 ev = { 0 };
	sqlite3_stmt	*st;
	char		 fp[64], now[32], *text;
	int64_t		 id;
	int		 rc;

	if ((rc = hostkey_check(type, key_b64, err, errlen)) != INV_OK ||
	    (rc = inv_hostkey_fingerprint(key_b64, fp, sizeof(fp), err,
	    errlen)) != INV_OK)
		return rc;
	if ((rc = db_begin(inv, err, errlen)) != INV_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err, errlen)) != INV_OK)
		goto fail;
	if ((rc = db_prepare(inv, "INSERT OR REPLACE INTO host_keys (host_id, "
	    "type, key, fingerprint, pinned_at) VALUES (?, ?, ?, ?, ?)", &st,
	    err, errlen)) != INV_OK)
		goto fail;
	db_now(now);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key_b64, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(inv, "host key", err, errlen);
		goto fail;
	}
	text = xsprintf("host key pinned: %s %s", type, fp);
	ev.host_id = id;
	ev.hostname = hostname;
	ev.actor = actor;
	ev.reason = text;
	ev.bytes = ev.duration_ms = -1;
	rc = db_event_commit(inv, &ev, err, errlen);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

int
inv_hostkey_forget(struct inv *inv, const char *hostname, const char *actor,
    const char *reason, char *err, size_t errlen)
{
	struct db_event	 ev = { 0 };
	struct inv_hostkey k;
	sqlite3_stmt	*st;
	char		*text;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, err, errlen)) != INV_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err, errlen)) != INV_OK ||
	    (rc = inv_hostkey_get(inv, hostname, &k, err, errlen)) != INV_OK)
		goto fail;
	if ((rc = db_prepare(inv, "DELETE FROM host_keys WHERE host_id = ?",
	    &st, err, errlen)) != INV_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(inv, "host key", err, errlen);
		goto fail;
	}
	text = xsprintf("host key forgotten (was %s %s)%s%s", k.type,
	    k.fingerprint, reason ? ": " : "", reason ? reason : "");
	ev.host_id = id;
	ev.hostname = hostname;
	ev.actor = actor;
	ev.reason = text;
	ev.bytes = ev.duration_ms = -1;
	rc = db_event_commit(inv, &ev, err, errlen);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}
