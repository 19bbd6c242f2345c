/*
 * Progress bars.  A terminal gets a line rewritten with '\r' at most ten
 * times a second; anything else gets a timestamped line every five
 * seconds, so that logs of piped runs stay readable.  Bars share one
 * block of lines on the terminal; a bar's line is redrawn by moving the
 * cursor up to it (ANSI, as every terminal in a data centre speaks it).
 */
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/parse.h"
#include "lib/progress.h"
#include "lib/xmalloc.h"

struct progress {
	FILE		*f;
	char		*label;
	uint64_t	 total, done;
	uint64_t	 start_ms, last_ms;
	int		 tty;
	int		 row;		/* its line in the block, from the top */
	char		 status[32];
};

static int	 quiet;
static int	 block_rows;	/* lines in the live block on the terminal */
static int	 live;		/* bars not yet finished */

void
progress_set_quiet(int q)
{
	quiet = q;
}

struct progress *
progress_new(FILE *f, const char *label, uint64_t total)
{
	struct progress	*p;

	p = xcalloc(1, sizeof(*p));
	p->f = f;
	p->label = xstrdup(label);
	p->total = total;
	p->start_ms = p->last_ms = mono_ms();
	p->tty = isatty(fileno(f));
	if (p->tty && !quiet) {
		if (live == 0)
			block_rows = 0;
		p->row = block_rows++;
		live++;
		fputc('\n', f);
	}
	return p;
}

void
progress_format(char *buf, size_t len, const char *label, uint64_t done,
    uint64_t total, uint64_t elapsed_ms, const char *status)
{
	char	 d[32], t[32], r[32], eta[32] = "";
	double	 rate = elapsed_ms ? done * 1000.0 / elapsed_ms : 0;

	fmt_size(done, d, sizeof(d));
	fmt_size((uint64_t)rate, r, sizeof(r));
	if (total > 0) {
		fmt_size(total, t, sizeof(t));
		if (rate > 0 && done < total)
			fmt_duration_ms((uint64_t)((total - done) / rate * 1000),
			    eta, sizeof(eta));
		snprintf(buf, len, "%-20s %-10s %10s / %-10s %3d%%  %10s/s  %s%s",
		    label, status ? status : "", d, t,
		    (int)(done * 100 / total), r, *eta ? "ETA " : "", eta);
	} else
		snprintf(buf, len, "%-20s %-10s %10s  %10s/s", label,
		    status ? status : "", d, r);
}

static void
draw(struct progress *p, int final, const char *result)
{
	char		 line[256];
	uint64_t	 now = mono_ms();

	progress_format(line, sizeof(line), p->label, p->done, p->total,
	    now - p->start_ms, final ? result : p->status);
	if (p->tty) {
		int up = block_rows - p->row;
		fprintf(p->f, "\033[%dA\r\033[2K%s\033[%dB\r", up, line, up);
	} else {
		char		 ts[32];
		time_t		 t = time(NULL);
		struct tm	 tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(p->f, "%s %s\n", ts, line);
	}
	fflush(p->f);
}

void
progress_update(struct progress *p, uint64_t done, const char *status)
{
	uint64_t	 now = mono_ms();
	int		 changed = 0;

	p->done = done;
	if (status && strcmp(status, p->status) != 0) {
		snprintf(p->status, sizeof(p->status), "%s", status);
		changed = 1;
	}
	if (quiet)
		return;
	if (now - p->last_ms < (p->tty ? 100 : 5000) && !changed)
		return;
	p->last_ms = now;
	draw(p, 0, NULL);
}

void
progress_finish(struct progress *p, const char *result)
{
	if (!quiet)
		draw(p, 1, result);
	if (p->tty && !quiet && --live == 0)
		block_rows = 0;
	free(p->label);
	free(p);
}
