/*
 * `inventory report --html FILE`: one self-contained page (inline CSS, no
 * scripts, no external assets) that an operator can mail or open from a
 * share: the summary tables by site, state and role, and an elevation of
 * every rack, top unit first, each unit drawn with its host name and
 * coloured by state.  Written to a temporary file next to FILE and renamed
 * over it, so a reader never sees half a page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/inventory_html.h"
#include "inventory/inventory.h"
#include "lib/atomicfile.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"

#define RACK_UNITS	42	/* drawn at least this tall */
#define MAX_UNITS	100

static const char *const state_colour[HS_COUNT] = {
	[HS_ENROLLED] = "#9ecae1",
	[HS_PROVISIONING] = "#ffd54f",
	[HS_ACTIVE] = "#81c784",
	[HS_FAILED] = "#e57373",
	[HS_MAINTENANCE] = "#ffb74d",
	[HS_RETIRED] = "#bdbdbd",
};

static void
esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *
colour(int state)
{
	return state >= 0 && state < HS_COUNT ? state_colour[state] :
	    "#ffffff";
}

/* The report by one key, as a table, the totals last. */
static enum err_code
summary(FILE *f, struct inv *inv, const char *by, const char *site,
    struct err *err)
{
	const struct inv_report_group	*g;
	struct inv_report		*cur;
	int64_t				 total = 0;
	int				 rc, s;
	char				 sz[32];

	if ((rc = inv_report_open(inv, by, site, &cur, err)) != ERR_OK)
		return rc;
	fprintf(f, "<h2>By %s</h2>\n<table class=sum><tr><th>%s</th>"
	    "<th>hosts</th><th>CPU cores</th><th>memory</th><th>disk</th>",
	    by, by);
	for (s = 0; s < HS_COUNT; s++)
		fprintf(f, "<th style=\"background:%s\">%s</th>",
		    state_colour[s], host_state_name(s));
	fputs("</tr>\n", f);
	while ((rc = inv_report_next(cur, &g, err)) == 1) {
		fputs("<tr><td>", f);
		esc(f, g->key);
		fprintf(f, "</td><td class=n>%lld</td><td class=n>%lld</td>",
		    (long long)g->hosts, (long long)g->cpu_cores);
		fprintf(f, "<td class=n>%s</td>", fmt_size((uint64_t)
		    g->memory_mb << 20, sz, sizeof(sz)));
		fprintf(f, "<td class=n>%s</td>", fmt_size((uint64_t)
		    g->disk_bytes, sz, sizeof(sz)));
		for (s = 0; s < HS_COUNT; s++) {
			if (g->states[s])
				fprintf(f, "<td class=n>%lld</td>",
				    (long long)g->states[s]);
			else
				fputs("<td></td>", f);
		}
		fputs("</tr>\n", f);
		total += g->hosts;
	}
	inv_report_close(cur);
	if (rc != 0)
		return err->code;
	fprintf(f, "<tr class=tot><td>total</td><td class=n>%lld</td>"
	    "<td colspan=%d></td></tr>\n</table>\n", (long long)total,
	    3 + HS_COUNT);
	return ERR_OK;
}

struct unitcell {
	char	*host;
	int	 state;
};

static void
rack_flush(FILE *f, const char *site, const char *rack,
    struct unitcell *units, unsigned top, char **loose, size_t nloose)
{
	unsigned	 u;
	size_t		 i;

	fputs("<div class=rack><div class=rtitle>", f);
	esc(f, site);
	fputs(" / ", f);
	esc(f, rack);
	fputs("</div><table class=el>\n", f);
	for (u = top; u >= 1; u--) {
		fprintf(f, "<tr><td class=u>%u</td>", u);
		if (units[u].host) {
			fprintf(f, "<td class=h style=\"background:%s\" "
			    "title=\"", colour(units[u].state));
			esc(f, host_state_name(units[u].state));
			fputs("\">", f);
			esc(f, units[u].host);
			fputs("</td></tr>\n", f);
		} else
			fputs("<td class=e></td></tr>\n", f);
	}
	fputs("</table>", f);
	if (nloose) {
		fputs("<div class=loose>no unit: ", f);
		for (i = 0; i < nloose; i++) {
			if (i)
				fputs(", ", f);
			esc(f, loose[i]);
		}
		fputs("</div>", f);
	}
	fputs("</div>\n", f);
}

static enum err_code
elevations(struct inv *inv, const char *only, FILE *f, struct err *err)
{
	const struct inv_unit_row	*row;
	struct inv_units		*cur;
	struct unitcell			 units[MAX_UNITS + 1];
	char				 site[65] = "", rack[65] = "";
	char				 cursite[65] = "", **loose = NULL;
	unsigned			 top = RACK_UNITS, u;
	size_t				 nloose = 0, i;
	int				 rc, have = 0;

	memset(units, 0, sizeof(units));
	if ((rc = inv_units_open(inv, only, &cur, err)) != ERR_OK)
		return rc;
	for (;;) {
		const char	*s, *r;

		rc = inv_units_next(cur, &row, err);
		s = rc == 1 ? row->site : "";
		r = rc == 1 ? row->rack : "";
		if (have && (rc != 1 || strcmp(s, site) != 0 ||
		    strcmp(r, rack) != 0)) {
			rack_flush(f, site, rack, units, top, loose, nloose);
			for (u = 0; u <= MAX_UNITS; u++)
				free(units[u].host);
			memset(units, 0, sizeof(units));
			for (i = 0; i < nloose; i++)
				free(loose[i]);
			nloose = 0;
			top = RACK_UNITS;
			have = 0;
		}
		if (rc != 1)
			break;
		if (strcmp(s, cursite) != 0) {
			if (cursite[0])
				fputs("</div>\n", f);
			fputs("<h2>Racks in ", f);
			esc(f, s);
			fputs("</h2>\n<div class=racks>\n", f);
			snprintf(cursite, sizeof(cursite), "%s", s);
		}
		snprintf(site, sizeof(site), "%s", s);
		snprintf(rack, sizeof(rack), "%s", r);
		have = 1;
		u = row->unit;
		if (u >= 1 && u <= MAX_UNITS) {
			units[u].host = xstrdup(row->hostname);
			units[u].state = row->state;
			if (u > top)
				top = u;
		} else {
			loose = xreallocarray(loose, nloose + 1, sizeof(char *));
			loose[nloose++] = xstrdup(row->hostname);
		}
	}
	if (cursite[0])
		fputs("</div>\n", f);
	inv_units_close(cur);
	free(loose);
	return rc == 0 ? ERR_OK : err->code;
}

static const char css[] =
	"body{font:13px/1.35 sans-serif;margin:20px;color:#222}"
	"h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
	"table.sum{border-collapse:collapse}"
	"table.sum td,table.sum th{border:1px solid #ccc;padding:3px 8px}"
	"table.sum th{background:#eee}td.n{text-align:right}"
	"tr.tot td{font-weight:bold;background:#f6f6f6}"
	".racks{display:flex;flex-wrap:wrap;gap:14px}"
	".rack{border:2px solid #555;padding:4px;background:#fafafa}"
	".rtitle{font-weight:bold;text-align:center;margin-bottom:3px}"
	"table.el{border-collapse:collapse;width:170px}"
	"table.el td{border:1px solid #bbb;height:14px;padding:0 4px;"
	"font-size:11px;white-space:nowrap;overflow:hidden}"
	"td.u{width:18px;color:#777;text-align:right;background:#eee}"
	"td.e{background:#fff}"
	".loose{font-size:11px;max-width:170px;margin-top:3px}"
	".legend span{display:inline-block;padding:2px 8px;margin-right:6px;"
	"border:1px solid #999}";

enum err_code
inventory_html_write(struct inv *inv, const char *path, const char *site,
    struct err *err)
{
	static const char *const bys[] = { "site", "state", "role", "model" };
	struct afile	*a;
	struct tm	 tm;
	time_t		 t = time(NULL);
	FILE		*f;
	char		 now[32];
	struct err	 e;
	size_t		 i;
	int		 rc, s;

	if ((a = afile_open(path, 0644, &f, &e)) == NULL) {
		return err_set(err, ERR_FAIL, "%s", e.msg);
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
	    "<title>castiron inventory</title><style>", f);
	fputs(css, f);
	fputs("</style></head><body>\n<h1>castiron inventory</h1>\n<p>", f);
	esc(f, inv_path(inv));
	if (site) {
		fputs(", site ", f);
		esc(f, site);
	}
	fprintf(f, " &mdash; generated %s</p>\n<p class=legend>", now);
	for (s = 0; s < HS_COUNT; s++)
		fprintf(f, "<span style=\"background:%s\">%s</span>",
		    state_colour[s], host_state_name(s));
	fputs("</p>\n", f);
	rc = ERR_OK;
	for (i = 0; rc == ERR_OK && i < sizeof(bys) / sizeof(bys[0]); i++)
		rc = summary(f, inv, bys[i], site, err);
	if (rc == ERR_OK)
		rc = elevations(inv, site, f, err);
	fputs("</body></html>\n", f);
	if (rc != ERR_OK) {
		afile_abort(a);
		return rc;
	}
	if (afile_commit(a, 1, &e) != ERR_OK) {
		return err_set(err, ERR_FAIL, "%s", e.msg);
	}
	return ERR_OK;
}
