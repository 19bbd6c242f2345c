/*
 * Private to inventory/: the definition of the opaque handle, the seam
 * between the queries and the two databases, and the small helpers every
 * inventory file shares (statements, transactions, events, times).
 * Nothing outside inventory/ includes this.
 *
 * The queries (enroll.c, host.c, facts.c, query.c, migrate.c) are written
 * once, in the SQL both SQLite and PostgreSQL speak, with `?` for
 * parameters.  Everything that differs lives in one file per backend
 * (be_sqlite.c, be_pg.c) behind struct db_backend: opening and the checks
 * before it, the schema and its migrations, how a transaction begins and
 * what it locks, how a statement runs and a long result is streamed, how
 * a batch of rows is loaded, and which failures ask for the transaction
 * to be run again.
 */
#ifndef CASTIRON_INV_INT_H
#define CASTIRON_INV_INT_H

#include <stdint.h>

#include "inventory/inventory.h"
#include "lib/xmalloc.h"

#define INV_STMT_CACHE	16
#define DB_RETRIES	20	/* attempts of a transaction the database
				   refused for a serialization failure or a
				   deadlock */

enum db_tx {
	DB_TX_READ,	/* a snapshot: every query sees the same database */
	DB_TX_WRITE,	/* a write; the host rows it reads are locked */
	DB_TX_NAMES,	/* a write that claims unique names (hostnames,
			   serials, MACs, ...): serialized with every other
			   such write, so that its checks stay true */
};

#define DB_PERSIST	0x1	/* prepared once, kept for the handle */
#define DB_STREAM	0x2	/* a long result, read a batch at a time
				   (inside a transaction) */

/* A statement; each backend's own struct starts with this. */
struct db_stmt {
	struct inv	*inv;
};

struct db_backend {
	const char	*name;
	/* Appended to a SELECT of hosts h that the transaction will
	 * change: "" where a write transaction already excludes every
	 * other writer, " FOR UPDATE OF h" where it does not. */
	const char	*lock_host;
	int	(*open)(struct inv *, const char *target, int flags,
		    const struct inv_options *, struct err *err);
	void	(*close)(struct inv *);
	/* One or more statements without parameters or results. */
	int	(*exec)(struct inv *, const char *sql);
	int	(*begin)(struct inv *, enum db_tx);
	int	(*commit)(struct inv *);
	void	(*rollback)(struct inv *);
	int	(*prepare)(struct inv *, const char *sql, int flags,
		    struct db_stmt **);
	void	(*finalize)(struct db_stmt *);
	/* Forgets the result and the bindings. */
	void	(*reset)(struct db_stmt *);
	void	(*bind_text)(struct db_stmt *, int i, const char *s);
	void	(*bind_int64)(struct db_stmt *, int i, int64_t v);
	/* 1: a row; 0: done; -1: failed (errmsg says why). */
	int	(*step)(struct db_stmt *);
	/* A column of the current row: NULL for SQL NULL. */
	const char *(*col_text)(struct db_stmt *, int i);
	int64_t	(*col_int64)(struct db_stmt *, int i);
	int	(*col_null)(struct db_stmt *, int i);
	/* Rows into a table, all its columns in order, as text (NULL for
	 * SQL NULL), as fast as the database takes them. */
	int	(*load_begin)(struct inv *, const char *table, int ncols);
	int	(*load_row)(struct inv *, const char *const *vals);
	int	(*load_end)(struct inv *);
	/* The last failure, one line. */
	const char *(*errmsg)(struct inv *);
	/* The schema: migrations[i] brings a database from version i to
	 * i + 1 (db_migrate runs them). */
	const char *const *migrations;
	/* Inside the transaction that migrates: keeps any other process
	 * from migrating at the same time and reads the schema's version
	 * (0: none yet). */
	enum err_code (*schema_lock)(struct inv *, int *version, struct err *);
	/* Records that the schema is at version v. */
	int	(*schema_mark)(struct inv *, int v);
};

extern const struct db_backend db_sqlite;
extern const struct db_backend db_pg;

struct inv {
	const struct db_backend	*be;
	void			*conn;	/* the backend's */
	char			*name;	/* for messages: a path, or a
					   connection string without secrets */
	char			*site;	/* [castiron] site of the writer: in
					   every event; NULL when not set */
	int			 readonly;
	int			 in_tx;	/* 0, or enum db_tx + 1 */
	int			 retry;	/* the last failure was a serialization
					   failure or a deadlock */
	int			 lost;	/* the connection is gone */
	struct inv_owner	 owner;	/* the run it acts for (inv_run_owner) */
	int			 has_owner;
	struct {
		const char	*sql;	/* compared by address */
		struct db_stmt	*st;
	}			 cache[INV_STMT_CACHE];
};

/* ---- statements, through the backend ---- */

static inline int
db_step(struct db_stmt *st)
{
	return st->inv->be->step(st);
}

static inline void
db_reset(struct db_stmt *st)
{
	st->inv->be->reset(st);
}

/* Binds s (NULL: SQL NULL). */
static inline void
db_bind_text(struct db_stmt *st, int i, const char *s)
{
	st->inv->be->bind_text(st, i, s);
}

/* Binds s, or SQL NULL when s is NULL or empty. */
static inline void
db_bind_opt(struct db_stmt *st, int i, const char *s)
{
	st->inv->be->bind_text(st, i, s && *s ? s : NULL);
}

static inline void
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	st->inv->be->bind_int64(st, i, v);
}

static inline const char *
db_col_text(struct db_stmt *st, int i)
{
	return st->inv->be->col_text(st, i);
}

static inline int64_t
db_col_int64(struct db_stmt *st, int i)
{
	return st->inv->be->col_int64(st, i);
}

static inline int
db_col_null(struct db_stmt *st, int i)
{
	return st->inv->be->col_null(st, i);
}

/* Column i, or none when it is NULL. */
static inline int64_t
db_col_int_or(struct db_stmt *st, int i, int64_t none)
{
	return db_col_null(st, i) ? none : db_col_int64(st, i);
}

void	db_finalize(struct db_stmt *);	/* NULL is fine */

/* Copies column i into buf (always terminated; NULL gives ""). */
void	db_col_copy(struct db_stmt *, int i, char *buf, size_t len);

/* Sets err to "NAME: what: the database's message" and returns ERR_FAIL. */
enum err_code	db_fail(struct inv *, const char *what, struct err *);
enum err_code	db_exec(struct inv *, const char *sql, struct err *);
/* A statement for one use (db_finalize it); flags DB_STREAM for a long
 * result. */
enum err_code	db_prepare(struct inv *, const char *sql,
		    struct db_stmt **, struct err *);
enum err_code	db_prepare_stream(struct inv *, const char *sql,
		    struct db_stmt **, struct err *);
/* A prepared statement kept for the life of the handle, for the queries
 * run again and again; sql must live as long as the handle (a string
 * literal).  Reset and unbound on return; the caller resets it when done
 * and never finalizes it. */
enum err_code	db_stmt(struct inv *, const char *sql, struct db_stmt **,
		    struct err *);

/* Runs sql, a statement without results whose one parameter is id
 * (a host's: "DELETE FROM disks WHERE host_id = ?"); what names it in
 * the error. */
enum err_code	db_run_id(struct inv *, const char *sql, int64_t id,
		    const char *what, struct err *);

/* ---- the schema ---- */

/* Whether a handle may use a database whose schema is at version v: not
 * when it is newer than this castiron's, nor when it is older and the
 * handle may not write (it cannot migrate). */
enum err_code	db_schema_check(struct inv *, int v, struct err *);
/* Brings the schema to INV_SCHEMA_VERSION, in one transaction; one that
 * another process migrated meanwhile is left as it is. */
enum err_code	db_migrate(struct inv *, struct err *);

/* ---- transactions ---- */

enum err_code	db_begin(struct inv *, enum db_tx, struct err *);
enum err_code	db_commit(struct inv *, struct err *);
void	db_rollback(struct inv *);	/* when one is open */
/* Whether the transaction that just failed with rc should be run again
 * (the database refused it for a serialization failure or a deadlock,
 * and fewer than DB_RETRIES attempts were made); waits a little first.
 * The loop: do rc = x_tx(...); while (db_retry(inv, rc, &tries)); */
int	db_retry(struct inv *, int rc, int *tries);
/* rc = call, a function that is one transaction, as often as db_retry
 * says. */
#define DB_RETRY(inv, rc, call) do {					\
	int	 tries_ = 0;						\
	do								\
		(rc) = (call);						\
	while (db_retry((inv), (rc), &tries_));				\
} while (0)

/* ---- rows in bulk ---- */

enum err_code	db_load_begin(struct inv *, const char *table, int ncols,
		    struct err *);
enum err_code	db_load_row(struct inv *, const char *const *vals,
		    struct err *);
enum err_code	db_load_end(struct inv *, struct err *);

/* ---- what a site's hosts hold, for the report (schema step 5) ----
 *
 * site_sums holds, for each site, the sums of its hosts' cores, memory,
 * disks' bytes and accelerators, so that `report --by site` reads one
 * row a site instead of joining every host, fact and disk; the hosts
 * themselves are counted by site and state from an index of both
 * (hosts_site_state).  The database keeps the sums, by triggers each
 * backend writes in its own words (be_sqlite.c, be_pg.c): every change
 * to a host's facts, disks or accelerators, whoever writes it, adds its
 * difference to the row of the host's site, in the same transaction.
 * A host that changes site takes its sums along; a host removed takes
 * them away before its facts and disks go (with it, by ON DELETE
 * CASCADE: their own triggers then find no host and add nothing).  A
 * change of state touches none of it.  The SQL both speak: */

/* An INSERT of differences, (site_id, cpu_cores, memory_mb, disk_bytes,
 * gpus) rows, that SUMS_ADD ends. */
#define SUMS_INTO \
	"INSERT INTO site_sums (site_id, cpu_cores, memory_mb, disk_bytes, " \
	"gpus) "
#define SUMS_ADD \
	" ON CONFLICT (site_id) DO UPDATE SET " \
	"cpu_cores = site_sums.cpu_cores + excluded.cpu_cores, " \
	"memory_mb = site_sums.memory_mb + excluded.memory_mb, " \
	"disk_bytes = site_sums.disk_bytes + excluded.disk_bytes, " \
	"gpus = site_sums.gpus + excluded.gpus;"
/* What the host whose id is x holds (cores, memory, the disks' bytes,
 * accelerators), each with sign s ("" or "-"). */
#define SUMS_HOST(s, x) \
	s "coalesce((SELECT cpu_cores FROM facts WHERE host_id = " x "), 0), " \
	s "coalesce((SELECT memory_mb FROM facts WHERE host_id = " x "), 0), " \
	s "coalesce((SELECT sum(size_bytes) FROM disks WHERE host_id = " x \
	"), 0), " \
	s "(SELECT count(*) FROM gpus WHERE host_id = " x ")"
/* The index that counts hosts by site and state, and the sums of the
 * hosts there are when the table is made. */
#define SUMS_FILL \
	"CREATE INDEX hosts_site_state ON hosts(site_id, state);" \
	SUMS_INTO "SELECT h.site_id, coalesce(sum(f.cpu_cores), 0), " \
	"coalesce(sum(f.memory_mb), 0), coalesce(sum(d.b), 0), " \
	"coalesce(sum(g.n), 0) FROM hosts h " \
	"LEFT JOIN facts f ON f.host_id = h.id " \
	"LEFT JOIN (SELECT host_id, sum(size_bytes) AS b FROM disks " \
	"GROUP BY host_id) d ON d.host_id = h.id " \
	"LEFT JOIN (SELECT host_id, count(*) AS n FROM gpus " \
	"GROUP BY host_id) g ON g.host_id = h.id " \
	"GROUP BY h.site_id;"

/* ---- shared helpers ---- */

/* p, an array of n elements of size sz (room for *cap), with room for
 * one more (inline: a list grows its buffers for every host). */
static inline void *
db_grow(void *p, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	return xreallocarray(p, *cap, sz);
}

/* An accelerator from columns i.. of st: pci_slot, class, vendor, model,
 * memory_mb (facts.c). */
void	db_gpu_fill(struct db_stmt *, int i, struct inv_gpu *);

/* The current time, RFC 3339 UTC with seconds: 2026-11-26T12:00:00Z. */
void	db_now(char buf[32]);

/* Looks a host up by name: id and state (state may be NULL); inside a
 * write transaction the host's row is locked until it ends.  ERR_NOENT
 * when none. */
enum err_code	db_host_id(struct inv *, const char *hostname, int64_t *id,
		    int *state, struct err *);

struct db_event {
	int64_t		 host_id;
	const char	*hostname;
	const char	*actor;
	const char	*from_state, *to_state;	/* NULL: no transition */
	const char	*step;
	const char	*reason;
	int64_t		 bytes;		/* -1: none */
	int64_t		 duration_ms;	/* -1: none */
};
/* An event of host host_id (0: none) by actor: no transition, step,
 * reason, bytes or duration until the caller sets them. */
void	db_event_init(struct db_event *, int64_t host_id,
	    const char *hostname, const char *actor);
/* Appends an event (inside the caller's transaction), with the writer's
 * site. */
enum err_code	db_event_add(struct inv *, const struct db_event *,
		    struct err *);
/* Appends an event and commits the caller's transaction; rolls it back
 * when either fails. */
enum err_code	db_event_commit(struct inv *, const struct db_event *,
		    struct err *);

#endif
