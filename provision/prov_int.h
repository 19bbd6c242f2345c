/*
 * Inside provision/, in layers: the run (prepare.c: what every host
 * shares), one host (host.c: its errors, notes, progress, remote commands
 * and its session, opened under the host key policy of trust.h), the
 * steps (step_*.c, each a function of a host), and run.c, which drives
 * each host through the table of steps on a pool of threads.  Steps call
 * host.c, never run.c.  Not for use outside provision/.
 */
#ifndef CASTIRON_PROV_INT_H
#define CASTIRON_PROV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "images/frame.h"
#include "inventory/inventory.h"
#include "lib/clock.h"
#include "lib/progress.h"
#include "provision/inspect.h"
#include "provision/provision.h"
#include "provision/sess.h"
#include "provision/trust.h"

#define PROV_MARKER	"/etc/castiron/provision-id"
#define PROV_WRITER_DIR	"/tmp"
/* The writer on the host, by the name that carries its digest (printf
 * of the digest's hex); a command runs it with "test -x || exit
 * WRITER_MISSING" first, and uploads it on that status. */
#define PROV_WRITER_NAME	PROV_WRITER_DIR "/castiron-writer-%.16s"
#define WRITER_MISSING	97

/* What every host of a run shares (prepare.c); read-only but for lock. */
struct prov_ctx {
	struct prov_opts	 o;
	const struct config	*cfg;
	char			 image[65];
	char			*image_path;	/* verified local file */
	char			 image_sha[65];	/* the catalog's sha256 */
	int			 image_fd;	/* held open for the run */
	char			 image_src[48];	/* what is read: the verified
						   file, through image_fd */
	char			*bmap_path;	/* NULL: none */
	char			 bmap_sha256[65];	/* its pin, "" when none */
	uint64_t		 image_bytes;	/* a target's least size; 0:
						   unknown (compressed) */
	enum frame_pack		 pack;		/* how the image travels */
	char			*writer_path;
	char			 writer_sha[65];
	char			 deploy_fp[SSH_FP_LEN];	/* "" when none */
	char			*authorized;	/* keys for the installed root */
	struct inv_owner	 owner;		/* this run (owner.c) */
	atomic_int		 stop;		/* the signal that interrupted
						   the run, 0 */
	pthread_mutex_t		 lock;		/* progress bars, counters */
	size_t			 next;		/* next host to take */
	size_t			 finished;	/* workers that are done */
	const char *const	*hosts;
	struct prov_result	*results;
	size_t			 nhosts;
};

/* One host in a run (host.c). */
struct prov_host {
	struct prov_ctx		*ctx;
	struct inv		*inv;		/* this thread's handle */
	struct inv_host		 h;
	struct prov_result	*res;
	struct progress		*bar;
	struct sess_conn	*sess;		/* NULL when not connected */
	enum hostkey_verdict	 key;		/* what the session's key was */
	int			 enrolled;	/* MAC and serial cross-checked
						   on this session */
	char			 presented[SSH_FP_LEN];	/* key of the session */
	char			 deploy_fp[SSH_FP_LEN];	/* deploy env's key */
	char			 checkin_fp[SSH_FP_LEN];	/* the key this
						   network boot checked in with */
	struct inspect		*insp;
	char			 disk[64];	/* chosen target */
	char			 root_part[128];	/* the installed root on it,
						   once found (phost_root_part) */
	char			 prov_id[64];
	int			 step;		/* running now */
	uint64_t		 step_bytes;
	char			 why[512];	/* the step's done note */
	struct err		 err;	/* why it failed (phost_err) */
};

/* host.c */
struct prov_host *phost_new(struct prov_ctx *, size_t i);
void	phost_free(struct prov_host *);
void	phost_err(struct prov_host *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	phost_status(struct prov_host *, uint64_t done, const char *status);
/* Waits between a step's attempts (reboot, boot). */
void	phost_sleep_ms(unsigned ms);
int	phost_note(struct prov_host *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Runs cmd; non-zero exit is an error naming what with the stderr tail. */
int	phost_remote(struct prov_host *, const char *what, const char *cmd,
	    const void *in, size_t inlen, struct sess_result *);
/*
 * Opens the host's session unless one is open: connect (within
 * connect_ms), check the presented key under the policy of trust.h for
 * the phase, and only then authenticate.  Returns 0 (h->key says which
 * key it was), 1 in the installed phase when the host still presents the
 * deploy key (not rebooted yet: no session is left open), or -1 with
 * h->err set (*unreachable, when not NULL, says the host did not answer).
 */
int	phost_session(struct prov_host *, enum hostkey_phase,
	    uint64_t connect_ms, int *unreachable);
void	phost_disconnect(struct prov_host *);
/* The options every session of the host is dialled with. */
void	phost_sess_opts(const struct prov_host *, struct sess_opts *,
	    uint64_t connect_ms);
/* The pinned key's fingerprint, or -1 with h->err set. */
int	phost_pinned(struct prov_host *, char fp[SSH_FP_LEN]);
/* What the last event of step whose reason starts with prefix says after
 * it ("" when none): what an earlier run of the host recorded. */
int	phost_recall(struct prov_host *, const char *step, const char *prefix,
	    char *buf, size_t len);
/* Runs the inspection dump into h->insp (nothing recorded). */
int	phost_inspect(struct prov_host *);
/* MAC and serial of the inspection against the enrollment; sets
 * h->enrolled. */
int	phost_cross_check(struct prov_host *);

/* owner.c: this process as a run's owner; and whether a host found in
 * provisioning, owned by rec, may be taken over by me (ERR_OK, the
 * event's reason in why) or not (ERR_WRONGSTATE, the one line naming
 * whose it is). */
enum err_code	owner_self(struct inv_owner *, struct err *);
enum err_code	owner_may_take(const struct inv_owner *rec,
		    const struct inv_owner *me, const char *hostname,
		    int force, char *why, size_t whylen, struct err *);

/* reboot = bmc: a one-time disk boot and a restart (step_power.c). */
int	phost_bmc_disk_boot(struct prov_host *);
/* A run resumed after boot: the network boot's check-in read again
 * (step_power.c). */
int	phost_resume_boot(struct prov_host *);
/*
 * The image pushed over streams sessions at once (image_split.c): as
 * step_image's own push, but split (images/frame.h); *missing says the
 * host had no writer at writer.  0, or -1 with h->err set (one line).
 */
int	phost_send_split(struct prov_host *, const char *writer,
	    unsigned streams, struct frame_send_result *,
	    struct frame_report *done, int *missing);
/*
 * A stream to castiron-writer and what its report lines said
 * (step_image.c).  writer_chan_out() is a frame sender's out(): it
 * writes to st, and once the header is out waits for the writer's
 * "ready" (or its error), so that a missing writer or a refused target
 * stops before any image byte is sent.  writer_chan_line() is the
 * stream's line callback.  Both take the writer_chan.
 */
struct writer_chan {
	struct sess_stream	*st;
	struct err		 err;	/* the transport's failure: code
					   ERR_OK while there is none */
	int			 started;	/* the header is out */
	int			 have_ready, have_done, have_error;
	struct frame_report	 ready, done, error;
};

int	writer_chan_out(void *wc, const void *buf, size_t len);
void	writer_chan_line(void *wc, const char *line);

/* castiron-writer uploaded to remote, its digest checked (step_image.c). */
int	phost_upload_writer(struct prov_host *, const char *remote);
/* The installed root partition on the written disk (step_configure.c). */
int	phost_root_part(struct prov_host *, char *part, size_t partlen);
/*
 * reboot = kexec (step_kexec.c): the installed system's kernel started
 * from the deploy environment.  0: the kexec is under way (the session
 * is closed); 1: the deploy kernel refused it, why says so (nothing
 * else changed); -1 with h->err set.
 */
int	phost_kexec(struct prov_host *, char *why, size_t whylen);

/* The steps: each returns 0 (h->why may say something) or -1 with
 * h->err set. */
int	step_power(struct prov_host *);
int	step_boot(struct prov_host *);
int	step_inspect(struct prov_host *);
int	step_image(struct prov_host *);
int	step_configure(struct prov_host *);
int	step_reboot(struct prov_host *);
int	step_verify(struct prov_host *);

#endif
