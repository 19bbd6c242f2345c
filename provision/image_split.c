/*
 * The image step over several SSH sessions at once ([provision]
 * image_streams).  libssh2 1.10 encrypts one 16-byte block per call, so
 * one session's thread, not the link, sets the pace of an image that is
 * sent plain (a raw image whose data does not compress).  Such an image
 * is split (images/frame.h): the host's own session carries the lead
 * stream (the table and every n-th stripe), and n - 1 more sessions, each
 * dialled, checked and driven by a thread of its own, carry the other
 * stripes to castiron-writer processes that hand their pipes to the lead
 * (castiron-writer --join).  Every extra session checks the host key
 * before it authenticates: it must be the key the host's session
 * presented, and that key must still pass the policy of trust.h against
 * the pin.  The first stream to fail stops the others (sess_set_abort);
 * the host fails with one line: the writer's own error when it gave one
 * (it tells every stream), otherwise the first stream's failure.
 */
#include <sys/random.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/frame.h"
#include "lib/xmalloc.h"
#include "provision/prov_int.h"
#include "provision/shell.h"

struct split_run;

struct split_stream {
	struct writer_chan	 wc;		/* first: its callbacks take it */
	struct split_run	*run;
	unsigned		 k;
	struct sess_conn	*c;
	pthread_t		 thread;
	int			 rc, status;
};

struct split_run {
	struct prov_host	*h;
	unsigned		 n;
	struct frame_split	*sp;
	const char		*cmd;
	char			 pinned[SSH_FP_LEN];
	atomic_int		 abort;
	atomic_int		 first;		/* the stream that failed first */
	_Atomic uint64_t	 sent;
	struct split_stream	 s[FRAME_MAX_STREAMS];
};

/* Stream s failed: the others stop; the first one's words are kept. */
static int
split_failed(struct split_stream *s)
{
	int	 none = -1;

	if (atomic_compare_exchange_strong(&s->run->first, &none, (int)s->k))
		atomic_store(&s->run->abort, 1);
	s->rc = -1;
	return -1;
}

/*
 * Dials one more session to the host: the key it presents is checked
 * before authentication, as the host's own session's was.
 */
static int
split_dial(struct split_stream *s)
{
	struct prov_host	*h = s->run->h;
	struct sess_opts	 so;
	struct hostkey_in	 k;
	char			 fp[SSH_FP_LEN];

	phost_sess_opts(h, &so, h->ctx->cfg->provision.connect_timeout_ms);
	if (sess_dial(&so, &s->c, &s->wc.err) != ERR_OK) {
		err_prefix(&s->wc.err, "unreachable");
		return -1;
	}
	sess_set_abort(s->c, &s->run->abort);
	if (sess_hostkey(s->c, fp, NULL, 0, &s->wc.err) != ERR_OK)
		return -1;
	memset(&k, 0, sizeof(k));
	k.host = h->h.hostname;
	k.presented = fp;
	k.pinned = s->run->pinned;
	k.deploy = h->ctx->deploy_fp;
	k.seen = h->deploy_fp;
	k.checkin = h->checkin_fp;
	k.phase = HOSTKEY_PHASE_DEPLOY;
	if (hostkey_decide_more(&k, h->presented, &s->wc.err) == -1)
		return -1;
	if (sess_auth(s->c, &s->wc.err) != ERR_OK)
		return -1;
	return 0;
}

static void
split_progress(void *arg, uint64_t n)
{
	struct split_stream	*s = arg;
	uint64_t		 done = atomic_fetch_add(&s->run->sent, n) + n;

	/* The host's thread draws the bar (stream 0). */
	if (s->k == 0) {
		s->run->h->step_bytes = done;
		phost_status(s->run->h, done, "image");
	}
}

/* One stream, from the dial (the lead has the host's session) to the
 * writer's exit. */
static int
split_stream_run(struct split_stream *s)
{
	struct sess_result	 r;
	struct err		 se;
	enum err_code		 rc;

	s->status = -1;
	if (s->k != 0 && split_dial(s) == -1)
		return split_failed(s);
	if (sess_stream_open(s->c, s->run->cmd, writer_chan_line, s,
	    &s->wc.st, &s->wc.err) != ERR_OK)
		return split_failed(s);
	if (frame_split_send(s->run->sp, s->k, writer_chan_out, s,
	    split_progress, s, &se) != ERR_OK) {
		if (s->wc.err.code != ERR_OK)
			sess_stream_abort(s->wc.st);	/* the transport failed */
		else {
			s->wc.err = se;
			if (sess_stream_finish(s->wc.st, &r, NULL) == ERR_OK) {
				s->status = r.status;
				sess_result_clear(&r);
			}
		}
		s->wc.st = NULL;
		return split_failed(s);
	}
	rc = sess_stream_finish(s->wc.st, &r, &s->wc.err);
	s->wc.st = NULL;
	if (rc != ERR_OK)
		return split_failed(s);
	s->status = r.status;
	if (r.status != 0 || !s->wc.have_done) {
		err_set(&s->wc.err, ERR_FAIL, "the writer exited %d without a "
		    "report: %.200s", r.status, r.errout);
		sess_result_clear(&r);
		return split_failed(s);
	}
	sess_result_clear(&r);
	s->rc = 0;
	return 0;
}

static void *
split_thread(void *arg)
{
	(void)split_stream_run(arg);
	return NULL;
}

/* The host's one line, when the write failed. */
static void
split_blame(struct split_run *run)
{
	struct prov_host	*h = run->h;
	int			 first = atomic_load(&run->first);
	unsigned		 k;

	/* The writer tells every stream why it stopped: its word first. */
	for (k = 0; k < run->n; k++)
		if (run->s[k].wc.have_error) {
			phost_err(h, "%s: writer: %s", h->h.hostname,
			    run->s[k].wc.error.msg);
			return;
		}
	if (first < 0)
		first = 0;
	/* The stream's own code: a key refused is the host's trust
	 * failure, not the write's. */
	if (run->s[first].wc.err.code != ERR_OK)
		h->err = run->s[first].wc.err;
	else
		err_set(&h->err, ERR_FAIL, "failed");
	err_prefix(&h->err, "%s: image stream %d of %u", h->h.hostname, first,
	    run->n);
}

int
phost_send_split(struct prov_host *h, const char *writer, unsigned n,
    struct frame_send_result *sr, struct frame_report *done, int *missing)
{
	struct prov_ctx		*c = h->ctx;
	struct frame_send_opts	 so;
	struct split_run	*run;
	struct err		 se;
	uint8_t			 rnd[8];
	char			 id[17], *cmd, *qw, *qd;
	unsigned		 k;
	int			 rc = -1;

	*missing = 0;
	memset(&so, 0, sizeof(so));
	so.image_path = c->image_src;
	so.bmap_path = c->bmap_path;
	so.bmap_sha256 = c->bmap_sha256[0] ? c->bmap_sha256 : NULL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		phost_err(h, "%s: getrandom failed", h->h.hostname);
		return -1;
	}
	for (k = 0; k < sizeof(rnd); k++)
		snprintf(id + 2 * k, 3, "%02x", rnd[k]);
	run = xcalloc(1, sizeof(*run));
	run->h = h;
	run->n = n;
	atomic_init(&run->abort, 0);
	atomic_init(&run->first, -1);
	atomic_init(&run->sent, 0);
	if ((run->sp = frame_split_new(&so, n, &se)) == NULL) {
		phost_err(h, "%s: %s", h->h.hostname, se.msg);
		free(run);
		return -1;
	}
	/* The pin as it is now: the host's session may have just pinned
	 * a new key (--accept-new-hostkey); the others only match it. */
	if (phost_pinned(h, run->pinned) == -1)
		goto out;
	qw = sh_quote(writer);
	qd = sh_quote(h->disk);
	cmd = xsprintf("test -x %s || exit %d; exec %s --join %s %s", qw,
	    WRITER_MISSING, qw, id, qd);
	free(qw);
	free(qd);
	run->cmd = cmd;
	sess_set_abort(h->sess, &run->abort);
	for (k = 0; k < n; k++) {
		run->s[k].run = run;
		run->s[k].k = k;
		run->s[k].c = k == 0 ? h->sess : NULL;
	}
	for (k = 1; k < n; k++)
		if (pthread_create(&run->s[k].thread, NULL, split_thread,
		    &run->s[k]) != 0) {
			err_set(&run->s[k].wc.err, ERR_FAIL,
			    "no thread for it");
			split_failed(&run->s[k]);
			run->s[k].k = FRAME_MAX_STREAMS;	/* not started */
		}
	(void)split_stream_run(&run->s[0]);
	for (k = 1; k < n; k++)
		if (run->s[k].k == k)
			pthread_join(run->s[k].thread, NULL);
	sess_set_abort(h->sess, NULL);
	free(cmd);
	if (run->s[0].status == WRITER_MISSING && !run->s[0].wc.have_ready) {
		*missing = 1;
		phost_err(h, "%s: no castiron-writer at %s", h->h.hostname,
		    writer);
		goto out;
	}
	for (k = 0; k < n; k++)
		if (run->s[k].rc != 0) {
			split_blame(run);
			goto out;
		}
	frame_split_result(run->sp, sr);
	*done = run->s[0].wc.done;
	if (strcmp(done->sha256, sr->sha256) != 0 ||
	    done->bytes != sr->mapped_bytes) {
		phost_err(h, "%s: the writer reports %llu bytes with sha256 "
		    "%s, castiron sent %llu with %s", h->h.hostname,
		    (unsigned long long)done->bytes, done->sha256,
		    (unsigned long long)sr->mapped_bytes, sr->sha256);
		goto out;
	}
	h->step_bytes = sr->mapped_bytes;
	rc = 0;
out:
	/* The further sessions end with the write (after a failure, one
	 * that stopped has shut its connection down). */
	for (k = 1; k < n; k++)
		sess_close(run->s[k].c);
	frame_split_free(run->sp);
	free(run);
	return rc;
}
