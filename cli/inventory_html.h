/*
 * `inventory report --html FILE`: the self-contained HTML page of the
 * inventory (summaries and rack elevations), rendered from the
 * inventory's report and rack-unit cursors.
 */
#ifndef CASTIRON_CLI_INVENTORY_HTML_H
#define CASTIRON_CLI_INVENTORY_HTML_H

#include "lib/err.h"

struct inv;

/* Writes the page of one site (or of all, site NULL) to path (temp file
 * + rename); err set on failure. */
enum err_code	inventory_html_write(struct inv *, const char *path,
		    const char *site, struct err *);

#endif
