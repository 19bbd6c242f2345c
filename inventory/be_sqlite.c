/*
 * The SQLite backend: a site's inventory in one file.  The checks that
 * keep castiron from touching a file it does not understand (not SQLite,
 * or written by a newer castiron), WAL mode and the busy timeout that let
 * several castiron processes share the file, the schema with its forward
 * migrations (numbered by PRAGMA user_version), and statements as SQLite
 * runs them.  A write transaction is BEGIN IMMEDIATE: it holds the file's
 * one write lock from its first statement, so no other writer can change
 * what it reads, and writers queue on the busy timeout instead of failing.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "inventory/inv_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define BUSY_TIMEOUT_MS	60000

/*
 * The triggers that keep site_sums as a host's facts, disks and
 * accelerators come and go: what row r (new or old) adds, with sign s,
 * and the three triggers of table t (when a row is added, changed in
 * the columns named, or removed) that add it to the site of the row's
 * host.
 */
#define FACTS_ADDS(s, r) \
	s "coalesce(" r ".cpu_cores, 0), " \
	s "coalesce(" r ".memory_mb, 0), 0, 0"
#define DISKS_ADDS(s, r)	"0, 0, " s r ".size_bytes, 0"
#define GPUS_ADDS(s, r)		"0, 0, 0, " s "1"
#define SQ_SUMS_ROW(r, adds) \
	SUMS_INTO "SELECT site_id, " adds " FROM hosts WHERE id = " r ".host_id" \
	SUMS_ADD
#define SQ_SUMS_CHILD(t, cols, adds) \
	"CREATE TRIGGER site_sums_" t "_add AFTER INSERT ON " t " BEGIN " \
	SQ_SUMS_ROW("new", adds("", "new")) " END;" \
	"CREATE TRIGGER site_sums_" t "_change AFTER UPDATE OF " cols \
	"  ON " t " BEGIN " SQ_SUMS_ROW("old", adds("-", "old")) \
	SQ_SUMS_ROW("new", adds("", "new")) " END;" \
	"CREATE TRIGGER site_sums_" t "_remove AFTER DELETE ON " t " BEGIN " \
	SQ_SUMS_ROW("old", adds("-", "old")) " END;"

/*
 * migrations[i] brings a database from user_version i to i + 1.  Never edit
 * a published step: append a new one and raise INV_SCHEMA_VERSION (and
 * write the same step for PostgreSQL in be_pg.c).
 */
static const char *const migrations[INV_SCHEMA_VERSION] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE sites ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE racks ("
	"  id INTEGER PRIMARY KEY,"
	"  site_id INTEGER NOT NULL REFERENCES sites(id),"
	"  name TEXT NOT NULL,"
	"  UNIQUE (site_id, name));"
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  hostname TEXT NOT NULL UNIQUE,"
	"  site_id INTEGER NOT NULL REFERENCES sites(id),"
	"  rack_id INTEGER REFERENCES racks(id),"
	"  unit INTEGER CHECK (unit IS NULL OR (unit >= 1 AND rack_id IS NOT NULL)),"
	"  serial TEXT UNIQUE,"
	"  bmc TEXT UNIQUE,"
	"  address TEXT UNIQUE,"
	"  role TEXT,"
	"  state TEXT NOT NULL DEFAULT 'enrolled' CHECK (state IN ('enrolled',"
	"    'provisioning','active','failed','maintenance','retired')),"
	"  step TEXT,"
	"  step_done TEXT,"
	"  image TEXT,"
	"  disk TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  UNIQUE (rack_id, unit));"
	"CREATE INDEX hosts_site ON hosts(site_id, rack_id, unit);"
	"CREATE INDEX hosts_state ON hosts(state);"
	/* NICs and disks are stored in host order (WITHOUT ROWID), so that
	 * listing every host reads them sequentially. */
	"CREATE TABLE nics ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  mac TEXT NOT NULL UNIQUE,"
	"  name TEXT,"
	"  speed_mbps INTEGER,"
	"  enrolled INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (host_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE disks ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  size_bytes INTEGER NOT NULL,"
	"  model TEXT,"
	"  serial TEXT,"
	"  rotational INTEGER NOT NULL DEFAULT 0,"
	"  removable INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (host_id, name)) WITHOUT ROWID;"
	"CREATE TABLE facts ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  cpu_model TEXT,"
	"  cpu_cores INTEGER,"
	"  memory_mb INTEGER,"
	"  sys_vendor TEXT,"
	"  sys_product TEXT,"
	"  sys_serial TEXT,"
	"  inspected_at TEXT NOT NULL);"
	"CREATE TABLE host_keys ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  type TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  pinned_at TEXT NOT NULL);"
	/* Events outlive their host: no foreign key, the name is kept. */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER,"
	"  hostname TEXT NOT NULL,"
	"  time TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  from_state TEXT,"
	"  to_state TEXT,"
	"  step TEXT,"
	"  reason TEXT,"
	"  bytes INTEGER,"
	"  duration_ms INTEGER);"
	"CREATE INDEX events_host ON events(host_id, id);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
	/* 1 -> 2: the BMC's driver, a static address's prefix length and
	 * gateway, the owner of a provisioning run (so that a later run can
	 * take over a host whose owner is gone), and accelerators. */
	"ALTER TABLE hosts ADD COLUMN bmc_driver TEXT"
	"  CHECK (bmc_driver IS NULL OR bmc_driver IN ('redfish','ipmi'));"
	"ALTER TABLE hosts ADD COLUMN prefixlen INTEGER"
	"  CHECK (prefixlen IS NULL OR (prefixlen >= 0 AND prefixlen <= 128));"
	"ALTER TABLE hosts ADD COLUMN gateway TEXT;"
	"ALTER TABLE hosts ADD COLUMN owner_host TEXT;"
	"ALTER TABLE hosts ADD COLUMN owner_pid INTEGER;"
	"ALTER TABLE hosts ADD COLUMN owner_start TEXT;"
	"CREATE TABLE gpus ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  pci_slot TEXT NOT NULL,"
	"  class TEXT NOT NULL,"
	"  vendor TEXT,"
	"  model TEXT,"
	"  memory_mb INTEGER,"
	"  PRIMARY KEY (host_id, seq)) WITHOUT ROWID;",
	/* 2 -> 3: many sites in one inventory.  Each event records the site
	 * of the appliance that wrote it; an event copied from another
	 * inventory (inventory migrate) records where it came from, so that
	 * it is never copied twice; the inventory's own id is what its
	 * copies name.  A host's history is read by name. */
	"ALTER TABLE events ADD COLUMN site TEXT;"
	"ALTER TABLE events ADD COLUMN origin TEXT;"
	"CREATE UNIQUE INDEX events_origin ON events(origin);"
	"CREATE INDEX events_hostname ON events(hostname, id);"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	"INSERT INTO meta (key, value) VALUES ('inventory_id',"
	"  lower(hex(randomblob(16))));",
	/* 3 -> 4: machines that network-booted unknown (enlistment,
	 * discover.c): each with its MACs (unique, and never a MAC a host
	 * has: the writes check), the SMBIOS serial and facts of its
	 * inspection, where and when it was seen; their history is an
	 * append-only table of its own (a discovered machine has no host
	 * name, and the hosts' events are read and copied by name). */
	"CREATE TABLE discovered ("
	"  id INTEGER PRIMARY KEY,"
	"  serial TEXT,"
	"  site TEXT,"
	"  address TEXT,"
	"  cpu_model TEXT,"
	"  cpu_cores INTEGER,"
	"  memory_mb INTEGER,"
	"  sys_vendor TEXT,"
	"  sys_product TEXT,"
	"  facts TEXT,"
	"  note TEXT,"
	"  checkins INTEGER NOT NULL DEFAULT 1,"
	"  first_seen TEXT NOT NULL,"
	"  last_seen TEXT NOT NULL);"
	"CREATE INDEX discovered_serial ON discovered(serial);"
	"CREATE TABLE discovered_macs ("
	"  discovered_id INTEGER NOT NULL REFERENCES discovered(id)"
	"    ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  mac TEXT NOT NULL UNIQUE,"
	"  PRIMARY KEY (discovered_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE discovered_events ("
	"  id INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  site TEXT,"
	"  what TEXT NOT NULL,"
	"  macs TEXT NOT NULL,"
	"  serial TEXT,"
	"  address TEXT,"
	"  hostname TEXT,"
	"  reason TEXT);"
	"CREATE TRIGGER discovered_events_no_update BEFORE UPDATE ON"
	"  discovered_events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER discovered_events_no_delete BEFORE DELETE ON"
	"  discovered_events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
	/* 4 -> 5: what each site's hosts hold, for the report, kept by
	 * triggers (inv_int.h says how). */
	"CREATE TABLE site_sums ("
	"  site_id INTEGER PRIMARY KEY,"
	"  cpu_cores INTEGER NOT NULL,"
	"  memory_mb INTEGER NOT NULL,"
	"  disk_bytes INTEGER NOT NULL,"
	"  gpus INTEGER NOT NULL);"
	SUMS_FILL
	"CREATE TRIGGER site_sums_host_move AFTER UPDATE OF site_id ON hosts"
	"  WHEN old.site_id IS NOT new.site_id BEGIN "
	SUMS_INTO "SELECT old.site_id, " SUMS_HOST("-", "old.id") " WHERE true"
	SUMS_ADD
	SUMS_INTO "SELECT new.site_id, " SUMS_HOST("", "new.id") " WHERE true"
	SUMS_ADD " END;"
	"CREATE TRIGGER site_sums_host_remove BEFORE DELETE ON hosts BEGIN "
	SUMS_INTO "SELECT old.site_id, " SUMS_HOST("-", "old.id") " WHERE true"
	SUMS_ADD " END;"
	SQ_SUMS_CHILD("facts", "host_id, cpu_cores, memory_mb", FACTS_ADDS)
	SQ_SUMS_CHILD("disks", "host_id, size_bytes", DISKS_ADDS)
	SQ_SUMS_CHILD("gpus", "host_id", GPUS_ADDS),
};

struct sq {
	sqlite3		*db;
	int		 temp_file;	/* temp_store is FILE (reads), not MEMORY */
	sqlite3_stmt	*load;		/* the INSERT of a bulk load */
	int		 load_ncols;
};

struct sq_stmt {
	struct db_stmt	 h;
	sqlite3_stmt	*st;
	int		 done;		/* stepped to its end */
};

#define SQ(inv)		((struct sq *)(inv)->conn)
#define ST(s)		(((struct sq_stmt *)(s))->st)

static const char *
sq_errmsg(struct inv *inv)
{
	return SQ(inv)->db ? sqlite3_errmsg(SQ(inv)->db) : "not open";
}

static int
sq_exec(struct inv *inv, const char *sql)
{
	return sqlite3_exec(SQ(inv)->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
	    0 : -1;
}

/*
 * Temporary storage in memory while writing (statement journals of
 * multi-index INSERTs, the batch tables of an import: 40x fewer writes),
 * in files while reading (the sorters and grouped subqueries of a report
 * over a million hosts would otherwise hold a hundred MiB).  No temporary
 * table outlives a transaction, so switching loses nothing.
 */
static int
sq_begin(struct inv *inv, enum db_tx kind)
{
	struct sq	*q = SQ(inv);
	int		 file = kind == DB_TX_READ;

	if (q->temp_file != file && sq_exec(inv, file ?
	    "PRAGMA temp_store = FILE" : "PRAGMA temp_store = MEMORY") == 0)
		q->temp_file = file;
	return sq_exec(inv, file ? "BEGIN" : "BEGIN IMMEDIATE");
}

static int
sq_commit(struct inv *inv)
{
	return sq_exec(inv, "COMMIT");
}

static void
sq_rollback(struct inv *inv)
{
	if (!sqlite3_get_autocommit(SQ(inv)->db))
		sqlite3_exec(SQ(inv)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sq_prepare(struct inv *inv, const char *sql, int flags, struct db_stmt **stp)
{
	struct sq_stmt	*s;
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v3(SQ(inv)->db, sql, -1, (flags & DB_PERSIST) ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK)
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->h.inv = inv;
	s->st = st;
	*stp = &s->h;
	return 0;
}

static void
sq_finalize(struct db_stmt *s)
{
	sqlite3_finalize(ST(s));
	free(s);
}

static void
sq_reset(struct db_stmt *s)
{
	sqlite3_reset(ST(s));
	sqlite3_clear_bindings(ST(s));
	((struct sq_stmt *)s)->done = 0;
}

static void
sq_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(ST(s), i);
	else
		sqlite3_bind_text(ST(s), i, v, -1, SQLITE_TRANSIENT);
}

static void
sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(ST(s), i, v);
}

static int
sq_step(struct db_stmt *s)
{
	struct sq_stmt	*q = (struct sq_stmt *)s;
	int		 rc;

	if (q->done)
		return 0;
	if ((rc = sqlite3_step(q->st)) == SQLITE_ROW)
		return 1;
	q->done = 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *
sq_col_text(struct db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(ST(s), i);
}

static int64_t
sq_col_int64(struct db_stmt *s, int i)
{
	return sqlite3_column_int64(ST(s), i);
}

static int
sq_col_null(struct db_stmt *s, int i)
{
	return sqlite3_column_type(ST(s), i) == SQLITE_NULL;
}

static int
sq_load_begin(struct inv *inv, const char *table, int ncols)
{
	struct sq	*q = SQ(inv);
	char		*sql, *p;
	int		 i, rc;

	/* 32 MiB of page cache while loading: a large batch's index pages
	 * stay in memory instead of spilling to the WAL and being read
	 * back. */
	sq_exec(inv, "PRAGMA cache_size = -32768");
	sql = xsprintf("INSERT INTO %s VALUES (", table);
	for (i = 0; i < ncols; i++) {
		p = xsprintf("%s%s?", sql, i ? ", " : "");
		free(sql);
		sql = p;
	}
	p = xsprintf("%s)", sql);
	free(sql);
	rc = sqlite3_prepare_v2(q->db, p, -1, &q->load, NULL);
	free(p);
	q->load_ncols = ncols;
	return rc == SQLITE_OK ? 0 : -1;
}

static int
sq_load_row(struct inv *inv, const char *const *vals)
{
	struct sq	*q = SQ(inv);
	int		 i;

	sqlite3_reset(q->load);
	for (i = 0; i < q->load_ncols; i++)
		if (vals[i] == NULL)
			sqlite3_bind_null(q->load, i + 1);
		else
			sqlite3_bind_text(q->load, i + 1, vals[i], -1,
			    SQLITE_STATIC);
	return sqlite3_step(q->load) == SQLITE_DONE ? 0 : -1;
}

static int
sq_load_end(struct inv *inv)
{
	struct sq	*q = SQ(inv);

	sqlite3_finalize(q->load);
	q->load = NULL;
	return 0;
}

/*
 * The first bytes of the file, read through SQLite's own file layer and
 * not with open() and close(): a close() of any descriptor of the file
 * drops every POSIX lock this process holds on it, so one by us while
 * another connection of this process has the file open would let another
 * process checkpoint and delete the WAL under that connection (its later
 * writes unseen, then checkpointed over the others').  SQLite's layer
 * knows the locks its connections hold and keeps such a descriptor open
 * until they are released.  0, or -1 with errno set.
 */
static int
read_head(const char *path, char *head, size_t len)
{
	sqlite3_vfs	*vfs;
	sqlite3_file	*f;
	const char	*name;
	int		 rc, out;

	if ((vfs = sqlite3_vfs_find(NULL)) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((name = sqlite3_create_filename(path, "", "", 0, NULL)) == NULL)
		fatalx("sqlite3_create_filename: out of memory");
	f = xcalloc(1, (size_t)vfs->szOsFile);
	rc = vfs->xOpen(vfs, name, f, SQLITE_OPEN_MAIN_DB |
	    SQLITE_OPEN_READONLY, &out);
	if (rc == SQLITE_OK) {
		/* A short read is SQLITE_IOERR_SHORT_READ, zero-filled. */
		rc = f->pMethods->xRead(f, head, (int)len, 0);
		f->pMethods->xClose(f);
		if (rc == SQLITE_IOERR_SHORT_READ)
			rc = SQLITE_OK;
	} else if (f->pMethods != NULL)
		f->pMethods->xClose(f);
	free(f);
	sqlite3_free_filename(name);
	if (rc != SQLITE_OK) {
		errno = rc == SQLITE_CANTOPEN ? EACCES : EIO;
		return -1;
	}
	return 0;
}

/* Refuses, without opening it with SQLite, a file that is not a database. */
static int
check_file(const char *path, int flags, struct err *err)
{
	static const char	 magic[16] = "SQLite format 3";
	struct stat		 sb;
	char			 head[16];

	if (path == NULL || path[0] != '/') {
		return err_set(err, ERR_INVAL, "%s: not an absolute path (nor "
		    "a postgresql:// URL)", path ? path : "(none)");
	}
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT && (flags & INV_OPEN_CREATE))
			return ERR_OK;
		if (errno == ENOENT)
			return err_set(err, ERR_INVAL, "%s: no inventory "
			    "database here (castiron inventory add or import "
			    "creates it)", path);
		return err_errno(err, ERR_INVAL, "%s", path);
	}
	if (!S_ISREG(sb.st_mode)) {
		return err_set(err, ERR_INVAL, "%s: not a regular file", path);
	}
	if (sb.st_size == 0)
		return ERR_OK;		/* SQLite's empty database */
	if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == -1 ||
	    read_head(path, head, sizeof(head)) == -1)
		return err_errno(err, ERR_INVAL, "%s", path);
	if (memcmp(head, magic, 16) != 0) {
		return err_set(err, ERR_INVAL, "%s: not an SQLite database "
		    "(refusing to touch it)", path);
	}
	return ERR_OK;
}

/* The schema's version.  Also the schema lock: the write transaction that
 * migrates (BEGIN IMMEDIATE) already keeps every other writer out, and
 * another process may have migrated while it waited. */
static enum err_code
user_version(struct inv *inv, int *v, struct err *err)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(SQ(inv)->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK) {
		return err_set(err, ERR_INVAL, "%s: not a usable SQLite "
		    "database: %s", inv->name, sq_errmsg(inv));
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		return err_set(err, ERR_INVAL, "%s: not a usable SQLite "
		    "database: %s", inv->name, sq_errmsg(inv));
	}
	return ERR_OK;
}

static int
sq_schema_mark(struct inv *inv, int v)
{
	char	 sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return sq_exec(inv, sql);
}

/* journal_mode=WAL needs a moment alone with the file; bounded retries on
 * top of the busy handler when two processes create it together. */
static int
set_wal(struct inv *inv, struct err *err)
{
	int	 i, rc = SQLITE_OK;

	for (i = 0; i < 200; i++) {
		rc = sqlite3_exec(SQ(inv)->db, "PRAGMA journal_mode = WAL",
		    NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		usleep(50000);
	}
	if (rc != SQLITE_OK)
		return db_fail(inv, "journal_mode=WAL", err);
	return ERR_OK;
}

static int
sq_open(struct inv *inv, const char *path, int flags,
    const struct inv_options *opt, struct err *err)
{
	struct sq	*q;
	int		 v = 0, rc, oflags;

	(void)opt;
	if ((rc = check_file(path, flags, err)) != ERR_OK)
		return rc;
	inv->name = xstrdup(path);
	q = xcalloc(1, sizeof(*q));
	inv->conn = q;
	oflags = inv->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &q->db, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		return err_set(err, ERR_INVAL, "%s: %s", path, q->db ?
		    sqlite3_errmsg(q->db) : "cannot open");
	}
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(q->db, 0);
	/* Read the version before anything writes to the file. */
	if ((rc = user_version(inv, &v, err)) != ERR_OK)
		return rc;
	if ((rc = db_schema_check(inv, v, err)) != ERR_OK)
		return rc;
	/* Statement journals (one per multi-index INSERT) in memory, not
	 * in temporary files (sq_begin); an 8 MiB page cache (a bulk load
	 * raises it). */
	if ((rc = db_exec(inv, "PRAGMA foreign_keys = ON; PRAGMA cache_size = "
	    "-8192; PRAGMA temp_store = MEMORY", err)) != ERR_OK)
		return rc;
	if (!inv->readonly) {
		if ((rc = set_wal(inv, err)) != ERR_OK)
			return rc;
		if (v < INV_SCHEMA_VERSION &&
		    (rc = db_migrate(inv, err)) != ERR_OK)
			return rc;
	}
	return ERR_OK;
}

static void
sq_close(struct inv *inv)
{
	struct sq	*q = SQ(inv);

	sqlite3_finalize(q->load);
	sqlite3_close_v2(q->db);
	free(q);
	inv->conn = NULL;
}

const struct db_backend db_sqlite = {
	.name = "sqlite",
	.lock_host = "",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.reset = sq_reset,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int64 = sq_col_int64,
	.col_null = sq_col_null,
	.load_begin = sq_load_begin,
	.load_row = sq_load_row,
	.load_end = sq_load_end,
	.errmsg = sq_errmsg,
	.migrations = migrations,
	.schema_lock = user_version,
	.schema_mark = sq_schema_mark,
};
