/*
 * MACs learned after enrollment: `bmc identity --learn-macs` records a MAC
 * the BMC reports and the enrollment lacked, as an enrolled NIC of that
 * host and an event.  A MAC another host has is refused by name.  It
 * claims a name (a MAC): a DB_TX_NAMES transaction, run again when the
 * database asks.
 */
#include <stdio.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/parse.h"

static int
mac_learn_tx(struct inv *inv, const char *hostname, const char *actor,
    const char *mac_in, int *learned, struct err *err)
{
	struct db_stmt	*st = NULL;
	struct db_event	 ev;
	char		 mac[18], reason[128], owner[254] = "";
	struct err	 e;
	int64_t		 id, owner_id = 0;
	int		 state, rc, enrolled = 0;

	*learned = 0;
	if (parse_mac(mac_in, mac, &e) != ERR_OK) {
		return err_set(err, ERR_INVAL, "%s: %s", hostname, e.msg);
	}
	if ((rc = db_begin(inv, DB_TX_NAMES, err)) != ERR_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, &state, err)) != ERR_OK)
		goto fail;
	if ((rc = db_prepare(inv, "SELECT n.host_id, h.hostname, n.enrolled "
	    "FROM nics n JOIN hosts h ON h.id = n.host_id WHERE n.mac = ?",
	    &st, err)) != ERR_OK)
		goto fail;
	db_bind_text(st, 1, mac);
	if ((rc = db_step(st)) == 1) {
		owner_id = db_col_int64(st, 0);
		db_col_copy(st, 1, owner, sizeof(owner));
		enrolled = (int)db_col_int64(st, 2);
	} else if (rc == -1) {
		rc = db_fail(inv, "nics", err);
		goto fail;
	}
	db_finalize(st);
	st = NULL;
	if (owner_id != 0 && owner_id != id) {
		rc = err_set(err, ERR_INVAL, "%s: MAC %s belongs to host %s",
		    hostname, mac, owner);
		goto fail;
	}
	if (owner_id == id && enrolled) {
		db_rollback(inv);
		return ERR_OK;		/* known already: nothing to learn */
	}
	if ((rc = db_prepare(inv, owner_id == id ?
	    "UPDATE nics SET enrolled = 1 WHERE host_id = ?1 AND mac = ?2" :
	    "INSERT INTO nics (host_id, seq, mac, enrolled) VALUES (?1, "
	    "(SELECT coalesce(max(seq), 0) + 1 FROM nics WHERE host_id = ?1), "
	    "?2, 1)", &st, err)) != ERR_OK)
		goto fail;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, mac);
	if (db_step(st) != 0) {
		rc = db_fail(inv, "learning a MAC", err);
		goto fail;
	}
	db_finalize(st);
	st = NULL;
	snprintf(reason, sizeof(reason), "learned MAC %s from the BMC", mac);
	db_event_init(&ev, id, hostname, actor);
	ev.reason = reason;
	if ((rc = db_event_commit(inv, &ev, err)) == ERR_OK)
		*learned = 1;
	return rc;
fail:
	db_finalize(st);
	db_rollback(inv);
	return rc;
}

enum err_code
inv_mac_learn(struct inv *inv, const char *hostname, const char *actor,
    const char *mac, int *learned, struct err *err)
{
	int	 rc;

	DB_RETRY(inv, rc, mac_learn_tx(inv, hostname, actor, mac, learned,
	    err));
	return rc;
}

enum err_code
inv_host_by_mac(struct inv *inv, const char *mac_in, struct inv_host *h,
    struct err *err)
{
	struct db_stmt	*st;
	char		 mac[18], host[254];
	struct err	 e;
	int		 rc;

	if (parse_mac(mac_in, mac, &e) != ERR_OK) {
		return err_set(err, ERR_INVAL, "%s", e.msg);
	}
	if (db_prepare(inv, "SELECT h.hostname FROM nics n JOIN hosts h ON "
	    "h.id = n.host_id WHERE n.mac = ?", &st, err) != ERR_OK)
		return ERR_FAIL;
	db_bind_text(st, 1, mac);
	rc = db_step(st);
	if (rc == 1)
		db_col_copy(st, 0, host, sizeof(host));
	else if (rc == -1)
		db_fail(inv, "MAC", err);
	db_finalize(st);
	if (rc == 0) {
		return err_set(err, ERR_NOENT, "MAC %s: no host has it", mac);
	}
	if (rc == -1)
		return ERR_FAIL;
	return inv_host_find(inv, host, h, err);
}
