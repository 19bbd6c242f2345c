/*
 * Prometheus metrics for node-exporter's textfile collector: written to a
 * temporary file beside metrics_file and renamed over it, so a scrape
 * never sees half a file.  Written on every prefix change and every few
 * seconds (check counters), never on each check result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgp/daemon_int.h"
#include "lib/atomicfile.h"

/* Label values: backslash, quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

enum err_code
metrics_write(struct bgpd *d, struct err *err)
{
	struct afile	*a;
	FILE		*f;
	size_t		 i;

	if ((a = afile_open(d->cfg->bgp.metrics_file, 0644, &f, err)) == NULL)
		return err->code;
	fprintf(f, "# HELP castiron_bgp_drained 1 while the host is drained.\n"
	    "# TYPE castiron_bgp_drained gauge\ncastiron_bgp_drained %d\n",
	    d->drain_on || d->ctl->drained);
	fprintf(f, "# HELP castiron_bgp_draining 1 while a graceful drain's (or "
	    "stop's) grace lasts: the prefixes carry GRACEFUL_SHUTDOWN.\n"
	    "# TYPE castiron_bgp_draining gauge\ncastiron_bgp_draining %d\n",
	    d->grace_until != 0);
	fprintf(f, "# HELP castiron_bgp_bird_connected 1 while BIRD's control "
	    "socket answers.\n# TYPE castiron_bgp_bird_connected gauge\n"
	    "castiron_bgp_bird_connected %d\n", bird_connected(d->bird));
	fprintf(f, "# HELP castiron_bgp_include_file_error 1 while the include "
	    "file cannot be written (BIRD is then not reconfigured).\n"
	    "# TYPE castiron_bgp_include_file_error gauge\n"
	    "castiron_bgp_include_file_error %d\n",
	    announce_error(d->ann) != NULL);
	fprintf(f, "# HELP castiron_bgp_service_healthy 1 while the service "
	    "is healthy.\n# TYPE castiron_bgp_service_healthy gauge\n");
	for (i = 0; i < d->ctl->nservice; i++) {
		fputs("castiron_bgp_service_healthy{service=\"", f);
		label(f, d->ctl->service[i].name);
		fprintf(f, "\"} %d\n", d->ctl->service[i].healthy);
	}
	fprintf(f, "# HELP castiron_bgp_service_held 1 while flap damping holds "
	    "the service withdrawn.\n# TYPE castiron_bgp_service_held gauge\n");
	for (i = 0; i < d->ctl->nservice; i++) {
		fputs("castiron_bgp_service_held{service=\"", f);
		label(f, d->ctl->service[i].name);
		fprintf(f, "\"} %d\n", d->ctl->service[i].held_until != 0);
	}
	fprintf(f, "# HELP castiron_bgp_checks_total Check runs by result.\n"
	    "# TYPE castiron_bgp_checks_total counter\n");
	for (i = 0; i < d->ctl->nservice; i++) {
		fputs("castiron_bgp_checks_total{service=\"", f);
		label(f, d->ctl->service[i].name);
		fprintf(f, "\",result=\"ok\"} %llu\n",
		    (unsigned long long)d->ctl->service[i].checks_ok);
		fputs("castiron_bgp_checks_total{service=\"", f);
		label(f, d->ctl->service[i].name);
		fprintf(f, "\",result=\"failed\"} %llu\n",
		    (unsigned long long)d->ctl->service[i].checks_failed);
	}
	fprintf(f, "# HELP castiron_bgp_transitions_total Health changes.\n"
	    "# TYPE castiron_bgp_transitions_total counter\n");
	for (i = 0; i < d->ctl->nservice; i++) {
		fputs("castiron_bgp_transitions_total{service=\"", f);
		label(f, d->ctl->service[i].name);
		fprintf(f, "\"} %llu\n",
		    (unsigned long long)d->ctl->service[i].transitions);
	}
	fprintf(f, "# HELP castiron_bgp_prefix_announced 1 while BIRD "
	    "announces the prefix.\n# TYPE castiron_bgp_prefix_announced gauge\n");
	for (i = 0; i < d->ctl->nprefix; i++)
		fprintf(f, "castiron_bgp_prefix_announced{prefix=\"%s\"} %d\n",
		    d->ctl->prefix[i].str, d->ctl->prefix[i].applied == 1);
	fprintf(f, "# HELP castiron_bgp_prefix_kept 1 while the last-announcer "
	    "guard keeps the prefix announced although a fail_open service of "
	    "it failed.\n# TYPE castiron_bgp_prefix_kept gauge\n");
	for (i = 0; i < d->ctl->nprefix; i++)
		fprintf(f, "castiron_bgp_prefix_kept{prefix=\"%s\"} %d\n",
		    d->ctl->prefix[i].str, d->ctl->prefix[i].guarded &&
		    d->ctl->prefix[i].kept);
	return afile_commit(a, 0, err);
}
