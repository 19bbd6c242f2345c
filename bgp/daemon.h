/*
 * `castiron bgp run`: the daemon.  One thread and one epoll loop carry
 * the checks, the BIRD connection, the control socket and the timers;
 * signal handlers only set flags.  Its control socket and drain file are
 * in control.h.
 */
#ifndef CASTIRON_BGPD_H
#define CASTIRON_BGPD_H

#include "lib/config.h"

/* Runs until SIGTERM/SIGINT; returns the exit code (0, 1, or 2 when the
 * configuration is bad at start). */
int	bgpd_run(const char *config_path);

#endif
