/*
 * Private to inventory/: the definition of the opaque handle and the small
 * helpers every inventory file shares (statements, transactions, events,
 * times).  Nothing outside inventory/ includes this.
 */
#ifndef CASTIRON_INV_INT_H
#define CASTIRON_INV_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "inventory/inventory.h"

#define INV_STMT_CACHE	16

struct inv {
	sqlite3		*db;
	struct {
		const char	*sql;	/* a string literal: compared by address */
		sqlite3_stmt	*st;
	}		 cache[INV_STMT_CACHE];
	char		*path;
	int		 readonly;
	struct inv_owner owner;		/* the run it acts for (inv_run_owner) */
	int		 has_owner;
};

/* Sets err to "what: SQLite's message" and returns INV_FAIL. */
int	db_fail(struct inv *, const char *what, char *err, size_t errlen);
int	db_exec(struct inv *, const char *sql, char *err, size_t errlen);
int	db_prepare(struct inv *, const char *sql, sqlite3_stmt **, char *err,
	    size_t errlen);
/* A prepared statement kept for the life of the handle, for the queries
 * run once per row; sql must be a string literal.  Reset and unbound on
 * return; the caller resets it when done and never finalizes it. */
int	db_stmt(struct inv *, const char *sql, sqlite3_stmt **, char *err,
	    size_t errlen);
/* BEGIN IMMEDIATE (waits on the busy timeout), COMMIT, ROLLBACK. */
int	db_begin(struct inv *, char *err, size_t errlen);
int	db_commit(struct inv *, char *err, size_t errlen);
void	db_rollback(struct inv *);

/* Binds s, or NULL when s is NULL or empty. */
int	db_bind_text(sqlite3_stmt *, int, const char *s);
/* Copies column i into buf (always terminated; NULL gives ""). */
void	db_column_copy(sqlite3_stmt *, int i, char *buf, size_t len);

/* An accelerator from columns i.. of st: pci_slot, class, vendor, model,
 * memory_mb (facts.c). */
void	db_gpu_fill(sqlite3_stmt *, int i, struct inv_gpu *);

/* The current time, RFC 3339 UTC with seconds: 2026-11-26T12:00:00Z. */
void	db_now(char buf[32]);

/* Looks a host up by name: id and state.  INV_ENOENT when none. */
int	db_host_id(struct inv *, const char *hostname, int64_t *id,
	    int *state, char *err, size_t errlen);

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
/* Appends an event (inside the caller's transaction). */
int	db_event_add(struct inv *, const struct db_event *, char *err,
	    size_t errlen);
/* Appends an event and commits the caller's transaction; rolls it back
 * when either fails. */
int	db_event_commit(struct inv *, const struct db_event *, char *err,
	    size_t errlen);

/* Upserts a site / a rack and returns its id (inside a transaction). */
int	db_site_id(struct inv *, const char *site, int64_t *id, char *err,
	    size_t errlen);
int	db_rack_id(struct inv *, int64_t site_id, const char *rack,
	    int64_t *id, char *err, size_t errlen);

#endif
