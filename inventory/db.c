/*
 * Opening the inventory: the checks that keep castiron from touching a
 * file it does not understand (not SQLite, or written by a newer
 * castiron), WAL mode and the busy timeout that let several castiron
 * processes share one file, and the schema with its forward migrations
 * (numbered by PRAGMA user_version).  Also the helpers the other
 * inventory files share: transactions, events, sites and racks.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inventory/inv_int.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define BUSY_TIMEOUT_MS	60000

/*
 * migrations[i] brings a database from user_version i to i + 1.  Never edit
 * a published step: append a new one and raise INV_SCHEMA_VERSION.
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
};

int
db_fail(struct inv *inv, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", inv->path, what,
	    sqlite3_errmsg(inv->db));
	return INV_FAIL;
}

int
db_exec(struct inv *inv, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_exec(inv->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(inv, "query", err, errlen);
	return INV_OK;
}

int
db_prepare(struct inv *inv, const char *sql, sqlite3_stmt **st, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v2(inv->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(inv, "prepare", err, errlen);
	}
	return INV_OK;
}

int
db_stmt(struct inv *inv, const char *sql, sqlite3_stmt **st, char *err,
    size_t errlen)
{
	size_t	 i;

	for (i = 0; i < INV_STMT_CACHE && inv->cache[i].sql; i++)
		if (inv->cache[i].sql == sql) {
			*st = inv->cache[i].st;
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return INV_OK;
		}
	if (sqlite3_prepare_v3(inv->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(inv, "prepare", err, errlen);
	}
	if (i < INV_STMT_CACHE) {
		inv->cache[i].sql = sql;
		inv->cache[i].st = *st;
	} else
		fatalx("inventory: statement cache full");
	return INV_OK;
}

int
db_begin(struct inv *inv, char *err, size_t errlen)
{
	if (inv->readonly) {
		snprintf(err, errlen, "%s: opened read-only", inv->path);
		return INV_FAIL;
	}
	if (sqlite3_exec(inv->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_fail(inv, "begin", err, errlen);
	return INV_OK;
}

int
db_commit(struct inv *inv, char *err, size_t errlen)
{
	if (sqlite3_exec(inv->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(inv, "commit", err, errlen);
		db_rollback(inv);
		return INV_FAIL;
	}
	return INV_OK;
}

void
db_rollback(struct inv *inv)
{
	if (!sqlite3_get_autocommit(inv->db))
		sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

void
db_column_copy(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char	*s = sqlite3_column_text(st, i);
	size_t			 n;

	if (len == 0)
		return;
	n = s ? (size_t)sqlite3_column_bytes(st, i) : 0;
	if (n >= len)
		n = len - 1;
	if (n)
		memcpy(buf, s, n);
	buf[n] = '\0';
}

void
db_now(char buf[32])
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
db_host_id(struct inv *inv, const char *hostname, int64_t *id, int *state,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db_stmt(inv, "SELECT id, state FROM hosts WHERE hostname = ?",
	    &st, err, errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_text(st, 1, hostname, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (state)
			*state = host_state_parse(
			    (const char *)sqlite3_column_text(st, 1));
		sqlite3_reset(st);
		return INV_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(inv, "host lookup", err, errlen);
	snprintf(err, errlen, "%s: no such host in the inventory", hostname);
	return INV_ENOENT;
}

int
db_event_add(struct inv *inv, const struct db_event *e, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	char		 now[32];
	int		 rc;

	if (db_stmt(inv, "INSERT INTO events (host_id, hostname, time, "
	    "actor, from_state, to_state, step, reason, bytes, duration_ms) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err, errlen) != INV_OK)
		return INV_FAIL;
	db_now(now);
	if (e->host_id > 0)
		sqlite3_bind_int64(st, 1, e->host_id);
	sqlite3_bind_text(st, 2, e->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->actor ? e->actor : "unknown", -1,
	    SQLITE_STATIC);
	db_bind_text(st, 5, e->from_state);
	db_bind_text(st, 6, e->to_state);
	db_bind_text(st, 7, e->step);
	db_bind_text(st, 8, e->reason);
	if (e->bytes >= 0)
		sqlite3_bind_int64(st, 9, e->bytes);
	if (e->duration_ms >= 0)
		sqlite3_bind_int64(st, 10, e->duration_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(inv, "event", err, errlen);
	return INV_OK;
}

int
db_event_commit(struct inv *inv, const struct db_event *e, char *err,
    size_t errlen)
{
	int	 rc;

	if ((rc = db_event_add(inv, e, err, errlen)) != INV_OK) {
		db_rollback(inv);
		return rc;
	}
	return db_commit(inv, err, errlen);
}

int
db_site_id(struct inv *inv, const char *site, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db_stmt(inv, "INSERT INTO sites (name) VALUES (?) ON CONFLICT "
	    "(name) DO UPDATE SET name = excluded.name RETURNING id", &st, err,
	    errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(inv, "site", err, errlen);
	return INV_OK;
}

int
db_rack_id(struct inv *inv, int64_t site_id, const char *rack, int64_t *id,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (db_stmt(inv, "INSERT INTO racks (site_id, name) VALUES (?, ?) "
	    "ON CONFLICT (site_id, name) DO UPDATE SET name = excluded.name "
	    "RETURNING id", &st, err, errlen) != INV_OK)
		return INV_FAIL;
	sqlite3_bind_int64(st, 1, site_id);
	sqlite3_bind_text(st, 2, rack, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(inv, "rack", err, errlen);
	return INV_OK;
}

/* Refuses, without opening it with SQLite, a file that is not a database. */
static int
check_file(const char *path, int flags, int *exists, char *err, size_t errlen)
{
	static const char	 magic[16] = "SQLite format 3";
	struct stat		 sb;
	char			 head[16];
	ssize_t			 n;
	int			 fd;

	*exists = 0;
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT && (flags & INV_OPEN_CREATE))
			return INV_OK;
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: no inventory database here "
			    "(castiron inventory add or import creates it)",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return INV_EINVAL;
	}
	*exists = 1;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return INV_EINVAL;
	}
	if (sb.st_size == 0)
		return INV_OK;		/* SQLite's empty database */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return INV_EINVAL;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, 16) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database (refusing to "
		    "touch it)", path);
		return INV_EINVAL;
	}
	return INV_OK;
}

static int
user_version(struct inv *inv, int *v, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(inv->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable SQLite database: %s",
		    inv->path, sqlite3_errmsg(inv->db));
		return INV_EINVAL;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "%s: not a usable SQLite database: %s",
		    inv->path, sqlite3_errmsg(inv->db));
		return INV_EINVAL;
	}
	return INV_OK;
}

static int
migrate(struct inv *inv, char *err, size_t errlen)
{
	char	 sql[64];
	int	 v, rc;

	if ((rc = db_begin(inv, err, errlen)) != INV_OK)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	if ((rc = user_version(inv, &v, err, errlen)) != INV_OK)
		goto fail;
	for (; v < INV_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(inv->db, migrations[v], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: migrating the schema from "
			    "version %d: %s", inv->path, v,
			    sqlite3_errmsg(inv->db));
			rc = INV_FAIL;
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    INV_SCHEMA_VERSION);
	if ((rc = db_exec(inv, sql, err, errlen)) != INV_OK)
		goto fail;
	return db_commit(inv, err, errlen);
fail:
	db_rollback(inv);
	return rc;
}

/* journal_mode=WAL needs a moment alone with the file; bounded retries on
 * top of the busy handler when two processes create it together. */
static int
set_wal(struct inv *inv, char *err, size_t errlen)
{
	int	 i, rc = SQLITE_OK;

	for (i = 0; i < 200; i++) {
		rc = sqlite3_exec(inv->db, "PRAGMA journal_mode = WAL", NULL,
		    NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		usleep(50000);
	}
	if (rc != SQLITE_OK)
		return db_fail(inv, "journal_mode=WAL", err, errlen);
	return INV_OK;
}

int
inv_open(const char *path, int flags, struct inv **invp, char *err,
    size_t errlen)
{
	struct inv	*inv;
	int		 exists, v = 0, rc, oflags;

	*invp = NULL;
	if ((rc = check_file(path, flags, &exists, err, errlen)) != INV_OK)
		return rc;
	inv = xcalloc(1, sizeof(*inv));
	inv->path = xstrdup(path);
	inv->readonly = (flags & INV_OPEN_READONLY) != 0;
	oflags = inv->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &inv->db, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, inv->db ?
		    sqlite3_errmsg(inv->db) : "cannot open");
		rc = INV_EINVAL;
		goto fail;
	}
	sqlite3_busy_timeout(inv->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(inv->db, 0);
	/* Read the version before anything writes to the file. */
	if ((rc = user_version(inv, &v, err, errlen)) != INV_OK)
		goto fail;
	if (v > INV_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: inventory schema version %d is newer "
		    "than this castiron understands (%d); upgrade castiron",
		    path, v, INV_SCHEMA_VERSION);
		rc = INV_EINVAL;
		goto fail;
	}
	if (v < INV_SCHEMA_VERSION && inv->readonly) {
		snprintf(err, errlen, "%s: inventory schema version %d needs a "
		    "migration; open it once for writing", path, v);
		rc = INV_EINVAL;
		goto fail;
	}
	/* Statement journals (one per multi-index INSERT) in memory, not
	 * in temporary files; an 8 MiB page cache (enroll raises it). */
	if ((rc = db_exec(inv, "PRAGMA foreign_keys = ON; "
	    "PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY", err,
	    errlen)) != INV_OK)
		goto fail;
	if (!inv->readonly) {
		if ((rc = set_wal(inv, err, errlen)) != INV_OK)
			goto fail;
		if (v < INV_SCHEMA_VERSION &&
		    (rc = migrate(inv, err, errlen)) != INV_OK)
			goto fail;
	}
	(void)exists;
	*invp = inv;
	return INV_OK;
fail:
	inv_close(inv);
	return rc;
}

void
inv_close(struct inv *inv)
{
	size_t	 i;

	if (inv == NULL)
		return;
	for (i = 0; i < INV_STMT_CACHE; i++)
		sqlite3_finalize(inv->cache[i].st);
	sqlite3_close_v2(inv->db);
	free(inv->path);
	free(inv);
}

const char *
inv_path(const struct inv *inv)
{
	return inv->path;
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
