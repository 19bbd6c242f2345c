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
db_gpu_fill(struct db_stmt *st, int i, struct inv_gpu *g)
{
	memset(g, 0, sizeof(*g));
	db_col_copy(st, i, g->pci_slot, sizeof(g->pci_slot));
	db_col_copy(st, i + 1, g->class, sizeof(g->class));
	db_col_copy(st, i + 2, g->vendor, sizeof(g->vendor));
	db_col_copy(st, i + 3, g->model, sizeof(g->model));
	g->memory_mb = db_col_int_or(st, i + 4, -1);
}

/* The host's accelerators, replaced whole. */
static int
gpus_write(struct inv *inv, int64_t id, const struct inv_facts *f,
    struct err *err)
{
	struct db_stmt	*st = NULL;
	size_t		 i;
	enum err_code	 rc;

	if (db_run_id(inv, "DELETE FROM gpus WHERE host_id = ?", id, "gpus",
	    err) != ERR_OK)
		return ERR_FAIL;
	if (f->ngpus == 0)
		return ERR_OK;
	if (db_prepare(inv, "INSERT INTO gpus (host_id, seq, pci_slot, class, "
	    "vendor, model, memory_mb) VALUES (?, ?, ?, ?, ?, ?, ?)", &st, err)
	    != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < f->ngpus; i++) {
		const struct inv_gpu *g = &f->gpus[i];

		db_reset(st);
		db_bind_int64(st, 1, id);
		db_bind_int64(st, 2, (int64_t)i + 1);
		db_bind_text(st, 3, g->pci_slot);
		db_bind_text(st, 4, g->class);
		db_bind_opt(st, 5, g->vendor);
		db_bind_opt(st, 6, g->model);
		if (g->memory_mb >= 0)
			db_bind_int64(st, 7, g->memory_mb);
		if (db_step(st) != 0) {
			rc = err_set(err, inv->retry || inv->lost ? ERR_FAIL :
			    ERR_INVAL, "accelerator %s: %s", g->pci_slot,
			    inv->be->errmsg(inv));
			db_finalize(st);
			return rc;
		}
	}
	db_finalize(st);
	return ERR_OK;
}

static int
facts_write(struct inv *inv, int64_t id, const struct inv_facts *f,
    struct err *err)
{
	struct db_stmt	*st = NULL;
	char		 now[32];
	size_t		 i;
	int		 rc;

	db_now(now);
	if (db_prepare(inv, "INSERT INTO facts (host_id, cpu_model, "
	    "cpu_cores, memory_mb, sys_vendor, sys_product, sys_serial, "
	    "inspected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
	    "(host_id) DO UPDATE SET cpu_model = excluded.cpu_model, "
	    "cpu_cores = excluded.cpu_cores, memory_mb = excluded.memory_mb, "
	    "sys_vendor = excluded.sys_vendor, sys_product = "
	    "excluded.sys_product, sys_serial = excluded.sys_serial, "
	    "inspected_at = excluded.inspected_at", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	db_bind_opt(st, 2, f->cpu_model);
	db_bind_int64(st, 3, f->cpu_cores);
	db_bind_int64(st, 4, (int64_t)f->memory_mb);
	db_bind_opt(st, 5, f->sys_vendor);
	db_bind_opt(st, 6, f->sys_product);
	db_bind_opt(st, 7, f->sys_serial);
	db_bind_text(st, 8, now);
	rc = db_step(st);
	if (rc != 0)
		db_fail(inv, "facts", err);
	db_finalize(st);
	if (rc != 0)
		return ERR_FAIL;

	if (db_run_id(inv, "DELETE FROM disks WHERE host_id = ?", id, "disks",
	    err) != ERR_OK)
		return ERR_FAIL;
	if (db_prepare(inv, "INSERT INTO disks (host_id, name, size_bytes, "
	    "model, serial, rotational, removable) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    &st, err) != ERR_OK)
		return ERR_FAIL;
	for (i = 0; i < f->ndisks; i++) {
		const struct inv_disk *d = &f->disks[i];

		db_reset(st);
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, d->name);
		db_bind_int64(st, 3, (int64_t)d->size_bytes);
		db_bind_opt(st, 4, d->model);
		db_bind_opt(st, 5, d->serial);
		db_bind_int64(st, 6, d->rotational != 0);
		db_bind_int64(st, 7, d->removable != 0);
		if (db_step(st) != 0) {
			rc = err_set(err, inv->retry || inv->lost ? ERR_FAIL :
			    ERR_INVAL, "disk %s: %s", d->name,
			    inv->be->errmsg(inv));
			db_finalize(st);
			return rc;
		}
	}
	db_finalize(st);
	return gpus_write(inv, id, f, err);
}

static int
nics_merge(struct inv *inv, int64_t id, const char *hostname,
    const struct inv_facts *f, struct err *err)
{
	struct db_stmt	*find = NULL, *upd = NULL, *ins = NULL, *st;
	char		 mac[18];
	struct err	 e;
	size_t		 i;
	int		 rc = ERR_FAIL, r;

	if (db_prepare(inv, "SELECT n.host_id, h.hostname FROM nics n JOIN "
	    "hosts h ON h.id = n.host_id WHERE n.mac = ?", &find, err) != ERR_OK
	    || db_prepare(inv, "UPDATE nics SET name = ?, speed_mbps = ? WHERE "
	    "mac = ?", &upd, err) != ERR_OK || db_prepare(inv, "INSERT INTO "
	    "nics (host_id, seq, mac, name, speed_mbps, enrolled) VALUES (?1, "
	    "(SELECT coalesce(max(seq), 0) + 1 FROM nics WHERE host_id = ?1), "
	    "?2, ?3, ?4, 0)", &ins, err) != ERR_OK)
		goto out;
	for (i = 0; i < f->nnics; i++) {
		const struct inv_nic *n = &f->nics[i];

		if (parse_mac(n->mac, mac, &e) != ERR_OK) {
			rc = err_set(err, ERR_INVAL, "%s: nic %s: %s", hostname,
			    n->name, e.msg);
			goto out;
		}
		db_reset(find);
		db_bind_text(find, 1, mac);
		r = db_step(find);
		if (r == 1 && db_col_int64(find, 0) != id) {
			rc = err_set(err, ERR_INVAL, "%s: nic %s: MAC %s "
			    "belongs to %s", hostname, n->name, mac,
			    db_col_text(find, 1));
			goto out;
		}
		if (r == -1) {
			rc = db_fail(inv, "nics", err);
			goto out;
		}
		st = r == 1 ? upd : ins;
		db_reset(st);
		if (st == upd) {
			db_bind_opt(st, 1, n->name);
			db_bind_int64(st, 2, (int64_t)n->speed_mbps);
			db_bind_text(st, 3, mac);
		} else {
			db_bind_int64(st, 1, id);
			db_bind_text(st, 2, mac);
			db_bind_opt(st, 3, n->name);
			db_bind_int64(st, 4, (int64_t)n->speed_mbps);
		}
		if (db_step(st) != 0) {
			rc = db_fail(inv, "nics", err);
			goto out;
		}
	}
	rc = ERR_OK;
out:
	db_finalize(find);
	db_finalize(upd);
	db_finalize(ins);
	return rc;
}

/* Inspection may add MACs: a write that claims names (DB_TX_NAMES). */
static int
facts_set_tx(struct inv *inv, const char *hostname, const char *actor,
    const struct inv_facts *f, struct err *err)
{
	struct db_event	 ev;
	uint64_t	 total = 0;
	char		*text, sz[32];
	size_t		 i;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, DB_TX_NAMES, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK)
		goto fail;
	if ((rc = facts_write(inv, id, f, err)) != ERR_OK ||
	    (rc = nics_merge(inv, id, hostname, f, err)) != ERR_OK)
		goto fail;
	for (i = 0; i < f->ndisks; i++)
		total += f->disks[i].size_bytes;
	text = xsprintf("inspected: %u cores, %llu MiB, %zu disk%s (%s), "
	    "%zu nic%s, %zu accelerator%s", f->cpu_cores,
	    (unsigned long long)f->memory_mb, f->ndisks, f->ndisks == 1 ? "" :
	    "s", fmt_size(total, sz, sizeof(sz)), f->nnics, f->nnics == 1 ? "" :
	    "s", f->ngpus, f->ngpus == 1 ? "" : "s");
	db_event_init(&ev, id, hostname, actor);
	ev.step = "inspect";
	ev.reason = text;
	rc = db_event_commit(inv, &ev, err);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_facts_set(struct inv *inv, const char *hostname, const char *actor,
    const struct inv_facts *f, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, facts_set_tx(inv, hostname, actor, f, err));
	return rc;
}

enum err_code
inv_facts_get(struct inv *inv, const char *hostname, struct inv_facts *f,
    struct err *err)
{
	struct db_stmt	*st;
	int64_t		 id;
	size_t		 cap = 0;
	int		 rc;

	memset(f, 0, sizeof(*f));
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK)
		return rc;
	if (db_prepare(inv, "SELECT cpu_model, cpu_cores, memory_mb, "
	    "sys_vendor, sys_product, sys_serial FROM facts WHERE host_id = ?",
	    &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == 1) {
		db_col_copy(st, 0, f->cpu_model, sizeof(f->cpu_model));
		f->cpu_cores = (unsigned)db_col_int64(st, 1);
		f->memory_mb = (uint64_t)db_col_int64(st, 2);
		db_col_copy(st, 3, f->sys_vendor, sizeof(f->sys_vendor));
		db_col_copy(st, 4, f->sys_product, sizeof(f->sys_product));
		db_col_copy(st, 5, f->sys_serial, sizeof(f->sys_serial));
	}
	if (rc == -1)
		db_fail(inv, "facts", err);
	db_finalize(st);
	if (rc == -1)
		return ERR_FAIL;

	if (db_prepare(inv, "SELECT name, size_bytes, model, serial, "
	    "rotational, removable FROM disks WHERE host_id = ? ORDER BY name",
	    &st, err) != ERR_OK)
		goto fail;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == 1) {
		struct inv_disk *d;

		f->disks = db_grow(f->disks, f->ndisks, &cap, sizeof(*d));
		d = &f->disks[f->ndisks++];
		memset(d, 0, sizeof(*d));
		db_col_copy(st, 0, d->name, sizeof(d->name));
		d->size_bytes = (uint64_t)db_col_int64(st, 1);
		db_col_copy(st, 2, d->model, sizeof(d->model));
		db_col_copy(st, 3, d->serial, sizeof(d->serial));
		d->rotational = (int)db_col_int64(st, 4);
		d->removable = (int)db_col_int64(st, 5);
	}
	if (rc == -1)
		goto fail_db;
	db_finalize(st);

	cap = 0;
	if (db_prepare(inv, "SELECT name, mac, speed_mbps FROM nics WHERE "
	    "host_id = ? ORDER BY seq", &st, err) != ERR_OK)
		goto fail;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == 1) {
		struct inv_nic *n;

		f->nics = db_grow(f->nics, f->nnics, &cap, sizeof(*n));
		n = &f->nics[f->nnics++];
		memset(n, 0, sizeof(*n));
		db_col_copy(st, 0, n->name, sizeof(n->name));
		db_col_copy(st, 1, n->mac, sizeof(n->mac));
		n->speed_mbps = (uint64_t)db_col_int64(st, 2);
	}
	if (rc == -1)
		goto fail_db;
	db_finalize(st);

	cap = 0;
	if (db_prepare(inv, "SELECT pci_slot, class, vendor, model, memory_mb "
	    "FROM gpus WHERE host_id = ? ORDER BY seq", &st, err) != ERR_OK)
		goto fail;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == 1) {
		struct inv_gpu *g;

		f->gpus = db_grow(f->gpus, f->ngpus, &cap, sizeof(*g));
		g = &f->gpus[f->ngpus++];
		db_gpu_fill(st, 0, g);
	}
	if (rc == -1)
		goto fail_db;
	db_finalize(st);
	return ERR_OK;
fail_db:
	db_fail(inv, "facts", err);
	db_finalize(st);
fail:
	inv_facts_free(f);
	return ERR_FAIL;
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

enum err_code
inv_hostkey_fingerprint(const char *key_b64, char *out, size_t outlen,
    struct err *err)
{
	char	 fp[SSH_FP_LEN];

	if (sshkey_fp_b64(key_b64, fp) == -1) {
		return err_set(err, ERR_INVAL, "host key is not valid base64");
	}
	snprintf(out, outlen, "%s", fp);
	return ERR_OK;
}

/* The blob must start with its own type as an SSH string. */
static int
hostkey_check(const char *type, const char *key_b64, struct err *err)
{
	unsigned char	*blob;
	size_t		 len, tlen = strlen(type);
	uint32_t	 n;
	int		 ok;

	if (tlen == 0 || tlen >= 32 || strlen(key_b64) >= 4096) {
		return err_set(err, ERR_INVAL, "host key type or key too long");
	}
	if (sshkey_b64_decode(key_b64, strlen(key_b64), &blob, &len) == -1) {
		return err_set(err, ERR_INVAL, "host key is not valid base64");
	}
	n = len >= 4 ? ((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3]) : 0;
	ok = len >= 4 + tlen && n == tlen && memcmp(blob + 4, type, tlen) == 0;
	free(blob);
	if (!ok) {
		return err_set(err, ERR_INVAL, "host key is not an SSH public "
		    "key of type %s", type);
	}
	return ERR_OK;
}

enum err_code
inv_hostkey_get(struct inv *inv, const char *hostname, struct inv_hostkey *k,
    struct err *err)
{
	struct db_stmt	*st;
	int64_t		 id;
	int		 rc;

	memset(k, 0, sizeof(*k));
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK)
		return rc;
	if (db_prepare(inv, "SELECT type, key, fingerprint, pinned_at FROM "
	    "host_keys WHERE host_id = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == 1) {
		db_col_copy(st, 0, k->type, sizeof(k->type));
		db_col_copy(st, 1, k->key, sizeof(k->key));
		db_col_copy(st, 2, k->fingerprint, sizeof(k->fingerprint));
		db_col_copy(st, 3, k->pinned_at, sizeof(k->pinned_at));
	} else if (rc == -1)
		db_fail(inv, "host key", err);
	db_finalize(st);
	if (rc == 0) {
		return err_set(err, ERR_NOENT, "%s: no SSH host key is pinned",
		    hostname);
	}
	return rc == 1 ? ERR_OK : ERR_FAIL;
}

static int
hostkey_set_tx(struct inv *inv, const char *hostname, const char *actor,
    const char *type, const char *key_b64, const char *fp, struct err *err)
{
	struct db_event	 ev;
	struct db_stmt	*st;
	char		 now[32], *text;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK)
		goto fail;
	if ((rc = db_prepare(inv, "INSERT INTO host_keys (host_id, type, key, "
	    "fingerprint, pinned_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
	    "(host_id) DO UPDATE SET type = excluded.type, key = excluded.key, "
	    "fingerprint = excluded.fingerprint, pinned_at = "
	    "excluded.pinned_at", &st, err)) != ERR_OK)
		goto fail;
	db_now(now);
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, type);
	db_bind_text(st, 3, key_b64);
	db_bind_text(st, 4, fp);
	db_bind_text(st, 5, now);
	rc = db_step(st);
	if (rc != 0)
		db_fail(inv, "host key", err);
	db_finalize(st);
	if (rc != 0) {
		rc = ERR_FAIL;
		goto fail;
	}
	text = xsprintf("host key pinned: %s %s", type, fp);
	db_event_init(&ev, id, hostname, actor);
	ev.reason = text;
	rc = db_event_commit(inv, &ev, err);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_hostkey_set(struct inv *inv, const char *hostname, const char *actor,
    const char *type, const char *key_b64, struct err *err)
{
	char	 fp[64];
	int	 rc;

	if ((rc = hostkey_check(type, key_b64, err)) != ERR_OK || (rc =
	    inv_hostkey_fingerprint(key_b64, fp, sizeof(fp), err)) != ERR_OK)
		return rc;
	DB_RETRY(inv, rc, hostkey_set_tx(inv, hostname, actor, type, key_b64,
	    fp, err));
	return rc;
}

static int
hostkey_forget_tx(struct inv *inv, const char *hostname, const char *actor,
    const char *reason, struct err *err)
{
	struct db_event	 ev;
	struct inv_hostkey k;
	char		*text;
	int64_t		 id;
	int		 rc;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, NULL, err)) != ERR_OK ||
	    (rc = inv_hostkey_get(inv, hostname, &k, err)) != ERR_OK)
		goto fail;
	if ((rc = db_run_id(inv, "DELETE FROM host_keys WHERE host_id = ?", id,
	    "host key", err)) != ERR_OK)
		goto fail;
	text = xsprintf("host key forgotten (was %s %s)%s%s", k.type,
	    k.fingerprint, reason ? ": " : "", reason ? reason : "");
	db_event_init(&ev, id, hostname, actor);
	ev.reason = text;
	rc = db_event_commit(inv, &ev, err);
	free(text);
	return rc;
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
inv_hostkey_forget(struct inv *inv, const char *hostname, const char *actor,
    const char *reason, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, hostkey_forget_tx(inv, hostname, actor, reason, err));
	return rc;
}
