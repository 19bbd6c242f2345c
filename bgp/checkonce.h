/*
 * `castiron bgp check`: run every configured check once and report.
 */
#ifndef CASTIRON_CHECKONCE_H
#define CASTIRON_CHECKONCE_H

#include <jansson.h>

#include "lib/config.h"

/* Rows {service check result detail ms}; *ndown counts the failures.
 * NULL when no event loop could be made.  The caller decrefs. */
json_t	*bgp_check_once(const struct config *, int *ndown);

#endif
