/*
 * Inside provision/: the run context shared by every host's thread and
 * the per-host job the steps work on.  Not for use outside provision/.
 */
#ifndef CASTIRON_PROV_IMPL_H
#define CASTIRON_PROV_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "images/frame.h"
#include "inventory/inventory.h"
#include "lib/progress.h"
#include "provision/inspect.h"
#include "provision/provision.h"
#include "provision/ssh.h"

#define PROV_ERRLEN	768
#define PROV_MARKER	"/etc/castiron/provision-id"
#define PROV_WRITER_DIR	"/tmp"

struct prov_ctx {
	struct prov_opts	 o;
	const struct config	*cfg;
	char			 image[65];
	char			*image_path;	/* verified local file */
	char			*bmap_path;	/* NULL: none */
	uint64_t		 image_bytes;	/* 0: unknown (compressed) */
	enum frame_pack		 pack;		/* how the image travels */
	char			*writer_path;
	char			 writer_sha[65];
	char			 deploy_fp[SSH_FP_LEN];	/* "" when none */
	char			*authorized;	/* keys for the installed root */
	pthread_mutex_t		 lock;		/* progress bars, counters */
	size_t			 next;		/* next host to take */
	const char *const	*hosts;
	struct prov_result	*results;
	size_t			 nhosts;
};

struct prov_host {
	struct prov_ctx		*ctx;
	struct inv		*inv;
	struct inv_host		 h;
	struct prov_result	*res;
	struct progress		*bar;
	struct ssh_conn		*ssh;
	char			 presented[SSH_FP_LEN];	/* key of the session */
	char			 deploy_fp[SSH_FP_LEN];	/* deploy env's key */
	struct inspect		*insp;
	char			 disk[64];	/* chosen target */
	char			 prov_id[64];
	int			 step;		/* running now */
	uint64_t		 step_bytes;
	char			 err[PROV_ERRLEN];
};

/* Steps in other files; each returns 0 or -1 with h->err set. */
int	prov_step_image(struct prov_host *);
int	prov_step_configure(struct prov_host *);

/* Helpers from run.c. */
void	prov_err(struct prov_host *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	prov_status(struct prov_host *, uint64_t done, const char *status);
int	prov_note(struct prov_host *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Runs cmd; non-zero exit is an error naming what with the stderr tail. */
int	prov_remote(struct prov_host *, const char *what, const char *cmd,
	    const void *in, size_t inlen, struct ssh_result *);
uint64_t prov_now_ms(void);
int	prov_file_sha256(const char *path, char hex[65], uint64_t *size,
	    char *err, size_t errlen);

#endif
