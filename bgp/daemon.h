/*
 * `castiron bgp run`: the daemon.  One thread and one epoll loop carry
 * the checks, the BIRD connection, the control socket and the timers;
 * signal handlers only set flags.  The control socket speaks one line in
 * ("status", "drain", "undrain") and one JSON document out.
 */
#ifndef CASTIRON_BGPD_H
#define CASTIRON_BGPD_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "lib/config.h"

/* Runs until SIGTERM/SIGINT; returns the exit code (0, 1, or 2 when the
 * configuration is bad at start). */
int	bgpd_run(const char *config_path);

/* Sends one control command to a running daemon and returns its JSON
 * reply (the caller decrefs it), or NULL with err filled. */
json_t	*bgpd_control(const char *socket_path, const char *cmd, char *err,
	    size_t errlen);

/* The drain file: present means drained; its first line is the reason. */
int	bgpd_drain_write(const char *path, const char *reason, char *err,
	    size_t errlen);
int	bgpd_drain_remove(const char *path, char *err, size_t errlen);
/* 1 drained (reason filled), 0 not (no such file), -1 the file is there
 * but cannot be read (reason says why; callers take it as drained). */
int	bgpd_drain_read(const char *path, char *reason, size_t len);

/* RFC 3339 UTC. */
void	bgpd_fmt_time(time_t, char *buf, size_t len);

#endif
