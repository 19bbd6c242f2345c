/*
 * The bgp daemon's control socket, as its clients (`bgp status`, `drain`,
 * `undrain`) use it, and the drain file.  The socket speaks one line in
 * ("status", "drain", "undrain") and one JSON document out; the drain
 * file is the only truth about a drain, which the daemon re-reads when
 * told.  The server side lives with the daemon (daemon_int.h).
 */
#ifndef CASTIRON_CONTROL_H
#define CASTIRON_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "lib/err.h"

/* Sends one control command to a running daemon and returns its JSON
 * reply (the caller decrefs it), or NULL with err filled. */
json_t	*control_request(const char *socket_path, const char *cmd,
	    struct err *);

/* The drain file: present means drained; its first line is the reason,
 * and a second line "withdraw_at MS" (epoch milliseconds) asks for a
 * graceful drain whose withdrawal comes then (0: none, withdraw now). */
enum err_code	control_drain_write(const char *path, const char *reason,
		    uint64_t withdraw_at_ms, struct err *);
enum err_code	control_drain_remove(const char *path, struct err *);
/* 1 drained (reason and *withdraw_at_ms filled; 0 when the file asks for
 * no grace), 0 not (no such file), -1 the file is there but cannot be
 * read (err says why; callers take it as drained, at once). */
int	control_drain_read(const char *path, char *reason, size_t len,
	    uint64_t *withdraw_at_ms, struct err *);

/* RFC 3339 UTC. */
void	control_fmt_time(time_t, char *buf, size_t len);
/* The wall clock in epoch milliseconds (the drain file's withdraw_at). */
uint64_t control_wall_ms(void);

#endif
