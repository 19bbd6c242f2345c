/*
 * MACs learned after enrollment: `bmc identity --learn-macs` records a MAC
 * the BMC reports and the enrollment lacked, as an enrolled NIC of that
 * host and an event.  A MAC another host has is refused by name.
 */
#include <stdio.h>
#include <string.h>

#include "inventory/inv_int.h"
#include "lib/parse.h"

int
inv_mac_learn(struct inv *inv, const char *hostname, const char *actor,
    const char *mac_in, int *learned, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	struct db_event	 ev;
	char		 mac[18], reason[128], owner[254] = "";
	struct err	 e;
	int64_t		 id, owner_id = 0;
	int		 state, rc, enrolled = 0;

	*learned = 0;
	if (parse_mac(mac_in, mac, &e) != ERR_OK) {
		snprintf(err, errlen, "%s: %s", hostname, e.msg);
		return INV_EINVAL;
	}
	if ((rc = db_begin(inv, err, errlen)) != INV_OK)
		return rc;
	if ((rc = db_host_id(inv, hostname, &id, &state, err, errlen)) !=
	    INV_OK)
		goto fail;
	if ((rc = db_prepare(inv, "SELECT n.host_id, h.hostname, n.enrolled "
	    "FROM nics n JOIN hosts h ON h.id = n.host_id WHERE n.mac = ?",
	    &st, err, errlen)) != INV_OK)
		goto fail;
	db_bind_text(st, 1, mac);
	if (sqlite3_step(st) == SQLITE_ROW) {
		owner_id = sqlite3_column_int64(st, 0);
		db_column_copy(st, 1, owner, sizeof(owner));
		enrolled = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (owner_id != 0 && owner_id != id) {
		snprintf(err, errlen, "%s: MAC %s belongs to host %s", hostname,
		    mac, owner);
		rc = INV_EINVAL;
		goto fail;
	}
	if (owner_id == id && enrolled) {
		db_rollback(inv);
		return INV_OK;		/* known already: nothing to learn */
	}
	if ((rc = db_prepare(inv, owner_id == id ?
	    "UPDATE nics SET enrolled = 1 WHERE host_id = ?1 AND mac = ?2" :
	    "INSERT INTO nics (host_id, seq, mac, enrolled) VALUES (?1, "
	    "(SELECT coalesce(max(seq), 0) + 1 FROM nics WHERE host_id = ?1), "
	    "?2, 1)", &st, err, errlen)) != INV_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, mac);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = db_fail(inv, "learning a MAC", err, errlen);
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(reason, sizeof(reason), "learned MAC %s from the BMC", mac);
	memset(&ev, 0, sizeof(ev));
	ev.host_id = id;
	ev.hostname = hostname;
	ev.actor = actor;
	ev.reason = reason;
	ev.bytes = ev.duration_ms = -1;
	if ((rc = db_event_commit(inv, &ev, err, errlen)) == INV_OK)
		*learned = 1;
	return rc;
fail:
	sqlite3_finalize(st);
	db_rollback(inv);
	return rc;
}

int
inv_host_by_mac(struct inv *inv, const char *mac_in, struct inv_host *h,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	char		 mac[18], host[254];
	struct err	 e;
	int		 rc;

	if (parse_mac(mac_in, mac, &e) != ERR_OK) {
		snprintf(err, errlen, "%s", e.msg);
		return INV_EINVAL;
	}
	if (db_prepare(inv, "SELECT h.hostname FROM nics n JOIN hosts h ON "
	    "h.id = n.host_id WHERE n.mac = ?", &st, err, errlen) != INV_OK)
		return INV_FAIL;
	db_bind_text(st, 1, mac);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_column_copy(st, 0, host, sizeof(host));
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "MAC %s: no host has it", mac);
		return INV_ENOENT;
	}
	if (rc != SQLITE_ROW)
		return db_fail(inv, "MAC", err, errlen);
	return inv_host_find(inv, host, h, err, errlen);
}
