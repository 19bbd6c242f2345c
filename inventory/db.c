/*
 * The inventory handle, whichever database holds it: choosing the backend
 * from the [inventory] database value, the statement cache, transactions
 * and their bounded retries, and the helpers every inventory file shares
 * (events, hosts by name, sites and racks, the time).  What a backend
 * does differently is in be_sqlite.c and be_pg.c; nothing here names
 * either database's API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inventory/inv_int.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

int
inv_is_postgresql(const char *database)
{
	return database != NULL &&
	    (strncmp(database, "postgresql://", 13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0);
}

enum err_code
inv_open(const char *database, int flags, const struct inv_options *opt,
    struct inv **invp, struct err *err)
{
	static const struct inv_options	 none;
	struct inv			*inv;
	int				 rc;

	*invp = NULL;
	if (opt == NULL)
		opt = &none;
	inv = xcalloc(1, sizeof(*inv));
	inv->be = inv_is_postgresql(database) ? &db_pg : &db_sqlite;
	inv->readonly = (flags & INV_OPEN_READONLY) != 0;
	if (opt->site && *opt->site)
		inv->site = xstrdup(opt->site);
	if ((rc = inv->be->open(inv, database, flags, opt, err)) != ERR_OK) {
		inv_close(inv);
		return rc;
	}
	*invp = inv;
	return ERR_OK;
}

enum err_code
inv_open_config(const struct config *cfg, int flags, struct inv **invp,
    struct err *err)
{
	struct inv_options	 o = { 0 };

	o.password_file = cfg->inventory.password_file;
	o.site = cfg->castiron.site;
	return inv_open(cfg->inventory.database, flags, &o, invp, err);
}

void
inv_close(struct inv *inv)
{
	size_t	 i;

	if (inv == NULL)
		return;
	for (i = 0; i < INV_STMT_CACHE; i++)
		if (inv->cache[i].st)
			inv->be->finalize(inv->cache[i].st);
	if (inv->conn)
		inv->be->close(inv);
	free(inv->name);
	free(inv->site);
	free(inv);
}

const char *
inv_path(const struct inv *inv)
{
	return inv->name;
}

const char *
inv_backend(const struct inv *inv)
{
	return inv->be->name;
}

enum err_code
db_fail(struct inv *inv, const char *what, struct err *err)
{
	return err_set(err, ERR_FAIL, "%s: %s: %s", inv->name, what,
	    inv->be->errmsg(inv));
}

enum err_code
db_exec(struct inv *inv, const char *sql, struct err *err)
{
	if (inv->be->exec(inv, sql) == -1)
		return db_fail(inv, "query", err);
	return ERR_OK;
}

enum err_code
db_prepare(struct inv *inv, const char *sql, struct db_stmt **st,
    struct err *err)
{
	if (inv->be->prepare(inv, sql, 0, st) == -1) {
		*st = NULL;
		return db_fail(inv, "prepare", err);
	}
	return ERR_OK;
}

enum err_code
db_prepare_stream(struct inv *inv, const char *sql, struct db_stmt **st,
    struct err *err)
{
	if (inv->be->prepare(inv, sql, DB_STREAM, st) == -1) {
		*st = NULL;
		return db_fail(inv, "prepare", err);
	}
	return ERR_OK;
}

void
db_finalize(struct db_stmt *st)
{
	if (st)
		st->inv->be->finalize(st);
}

enum err_code
db_stmt(struct inv *inv, const char *sql, struct db_stmt **st, struct err *err)
{
	size_t	 i;

	for (i = 0; i < INV_STMT_CACHE && inv->cache[i].sql; i++)
		if (inv->cache[i].sql == sql) {
			*st = inv->cache[i].st;
			inv->be->reset(*st);
			return ERR_OK;
		}
	if (i == INV_STMT_CACHE)
		fatalx("inventory: statement cache full");
	if (inv->be->prepare(inv, sql, DB_PERSIST, st) == -1) {
		*st = NULL;
		return db_fail(inv, "prepare", err);
	}
	inv->cache[i].sql = sql;
	inv->cache[i].st = *st;
	return ERR_OK;
}

enum err_code
db_run_id(struct inv *inv, const char *sql, int64_t id, const char *what,
    struct err *err)
{
	struct db_stmt	*st;
	int		 rc;

	if (db_prepare(inv, sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) != 0)
		db_fail(inv, what, err);
	db_finalize(st);
	return rc == 0 ? ERR_OK : ERR_FAIL;
}

void
db_col_copy(struct db_stmt *st, int i, char *buf, size_t len)
{
	const char	*s = db_col_text(st, i);
	size_t		 n;

	if (len == 0)
		return;
	/* As snprintf would, without its cost (a list copies some ten
	 * columns a host). */
	n = s ? strnlen(s, len - 1) : 0;
	memcpy(buf, s ? s : "", n);
	buf[n] = '\0';
}

enum err_code
db_schema_check(struct inv *inv, int v, struct err *err)
{
	if (v > INV_SCHEMA_VERSION) {
		return err_set(err, ERR_INVAL, "%s: inventory schema version "
		    "%d is newer than this castiron understands (%d); upgrade "
		    "castiron", inv->name, v, INV_SCHEMA_VERSION);
	}
	if (v < INV_SCHEMA_VERSION && inv->readonly) {
		return err_set(err, ERR_INVAL, "%s: inventory schema version "
		    "%d needs a migration; open it once for writing", inv->name,
		    v);
	}
	return ERR_OK;
}

enum err_code
db_migrate(struct inv *inv, struct err *err)
{
	int	 v, rc;

	if ((rc = db_begin(inv, DB_TX_WRITE, err)) != ERR_OK)
		return rc;
	if ((rc = inv->be->schema_lock(inv, &v, err)) != ERR_OK ||
	    (rc = db_schema_check(inv, v, err)) != ERR_OK)
		goto fail;
	for (; v < INV_SCHEMA_VERSION; v++)
		if (inv->be->exec(inv, inv->be->migrations[v]) == -1) {
			rc = err_set(err, ERR_FAIL, "%s: migrating the schema "
			    "from version %d: %s", inv->name, v,
			    inv->be->errmsg(inv));
			goto fail;
		}
	if (inv->be->schema_mark(inv, INV_SCHEMA_VERSION) == -1) {
		rc = db_fail(inv, "query", err);
		goto fail;
	}
	return db_commit(inv, err);
fail:
	db_rollback(inv);
	return rc;
}

enum err_code
db_begin(struct inv *inv, enum db_tx kind, struct err *err)
{
	if (inv->in_tx)
		fatalx("inventory: a transaction is already open");
	if (kind != DB_TX_READ && inv->readonly) {
		return err_set(err, ERR_FAIL, "%s: opened read-only",
		    inv->name);
	}
	inv->retry = 0;
	if (inv->be->begin(inv, kind) == -1)
		return db_fail(inv, "begin", err);
	inv->in_tx = (int)kind + 1;
	return ERR_OK;
}

enum err_code
db_commit(struct inv *inv, struct err *err)
{
	if (inv->be->commit(inv) == -1) {
		db_fail(inv, "commit", err);
		db_rollback(inv);
		return ERR_FAIL;
	}
	inv->in_tx = 0;
	return ERR_OK;
}

void
db_rollback(struct inv *inv)
{
	if (inv->in_tx)
		inv->be->rollback(inv);
	inv->in_tx = 0;
}

int
db_retry(struct inv *inv, int rc, int *tries)
{
	static unsigned	 seed;
	struct timespec	 ts;
	long		 ms;

	if (rc == ERR_OK || !inv->retry || inv->lost)
		return 0;
	db_rollback(inv);
	inv->retry = 0;
	if (++*tries >= DB_RETRIES)
		return 0;
	/* Exponential, with jitter (seeded per process, so that writers
	 * that collided do not retry in step), up to about half a second. */
	if (seed == 0)
		seed = (unsigned)getpid() * 2654435761U ^ (unsigned)time(NULL);
	ms = 2L << (*tries < 8 ? *tries : 8);
	ms = ms / 2 + (long)((unsigned long)rand_r(&seed) % (unsigned long)ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return 1;
}

enum err_code
db_load_begin(struct inv *inv, const char *table, int ncols, struct err *err)
{
	if (inv->be->load_begin(inv, table, ncols) == -1)
		return db_fail(inv, table, err);
	return ERR_OK;
}

enum err_code
db_load_row(struct inv *inv, const char *const *vals, struct err *err)
{
	if (inv->be->load_row(inv, vals) == -1)
		return db_fail(inv, "load", err);
	return ERR_OK;
}

enum err_code
db_load_end(struct inv *inv, struct err *err)
{
	if (inv->be->load_end(inv) == -1)
		return db_fail(inv, "load", err);
	return ERR_OK;
}

void
db_now(char buf[32])
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum err_code
db_host_id(struct inv *inv, const char *hostname, int64_t *id, int *state,
    struct err *err)
{
	static const char	*plain = "SELECT h.id, h.state FROM hosts h "
	    "WHERE h.hostname = ?";
	struct db_stmt		*st;
	char			*locked;
	int			 rc, lock;

	/* Inside a write, the row stays locked until the transaction ends. */
	lock = inv->in_tx > DB_TX_READ + 1 && *inv->be->lock_host != '\0';
	if (lock) {
		locked = xsprintf("%s%s", plain, inv->be->lock_host);
		rc = db_prepare(inv, locked, &st, err);
		free(locked);
	} else
		rc = db_stmt(inv, plain, &st, err);
	if (rc != ERR_OK)
		return ERR_FAIL;
	db_bind_text(st, 1, hostname);
	rc = db_step(st);
	if (rc == 1) {
		*id = db_col_int64(st, 0);
		if (state)
			*state = host_state_parse(db_col_text(st, 1));
		rc = ERR_OK;
	} else if (rc == 0) {
		rc = err_set(err, ERR_NOENT, "%s: no such host in the "
		    "inventory", hostname);
	} else
		rc = db_fail(inv, "host lookup", err);
	if (lock)
		db_finalize(st);
	else
		db_reset(st);
	return rc;
}

void
db_event_init(struct db_event *e, int64_t host_id, const char *hostname,
    const char *actor)
{
	memset(e, 0, sizeof(*e));
	e->host_id = host_id;
	e->hostname = hostname;
	e->actor = actor;
	e->bytes = e->duration_ms = -1;
}

enum err_code
db_event_add(struct inv *inv, const struct db_event *e, struct err *err)
{
	static const char	*sql = "INSERT INTO events (host_id, hostname, "
	    "time, actor, from_state, to_state, step, reason, bytes, "
	    "duration_ms, site) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	struct db_stmt		*st;
	char			 now[32];
	int			 rc;

	if (db_stmt(inv, sql, &st, err) != ERR_OK)
		return ERR_FAIL;
	db_now(now);
	if (e->host_id > 0)
		db_bind_int64(st, 1, e->host_id);
	db_bind_text(st, 2, e->hostname);
	db_bind_text(st, 3, now);
	db_bind_text(st, 4, e->actor ? e->actor : "unknown");
	db_bind_opt(st, 5, e->from_state);
	db_bind_opt(st, 6, e->to_state);
	db_bind_opt(st, 7, e->step);
	db_bind_opt(st, 8, e->reason);
	if (e->bytes >= 0)
		db_bind_int64(st, 9, e->bytes);
	if (e->duration_ms >= 0)
		db_bind_int64(st, 10, e->duration_ms);
	db_bind_text(st, 11, inv->site);
	rc = db_step(st);
	db_reset(st);
	if (rc != 0)
		return db_fail(inv, "event", err);
	return ERR_OK;
}

enum err_code
db_event_commit(struct inv *inv, const struct db_event *e, struct err *err)
{
	int	 rc;

	if ((rc = db_event_add(inv, e, err)) != ERR_OK) {
		db_rollback(inv);
		return rc;
	}
	return db_commit(inv, err);
}

void
inv_errors_clear(struct inv_errors *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = e->total = 0;
}
