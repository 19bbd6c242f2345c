/*
 * `castiron bgp run`: the daemon.  One thread and one epoll loop carry
 * the checks, the BIRD connection, the control socket and the timers;
 * signal handlers only set flags.  Its control socket and drain file are
 * in control.h.
 */
#ifndef CASTIRON_BGPD_H
#define CASTIRON_BGPD_H

#include "lib/config.h"
#include "lib/err.h"

/* Runs until SIGTERM/SIGINT: ERR_OK after a clean stop; ERR_INVAL when
 * the configuration is bad at start (each of its errors logged, one line
 * each; err says what else was wrong, if anything); ERR_FAIL with err
 * when the daemon could not start. */
enum err_code	bgpd_run(const char *config_path, struct err *err);

#endif
