/*
 * reboot = kexec: the installed system's kernel started straight from
 * the deploy environment, without firmware or boot loader.  After
 * configure, castiron mounts the installed root read-only on the host
 * and reads its /boot/grub/grub.cfg, the grubenv beside it and what
 * /boot/grub holds (one command); it finds the default entry as GRUB
 * would (provision/grubcfg.c: its linux and initrd lines and the command
 * line GRUB passes, BOOT_IMAGE= first); then a second command mounts the
 * root again, has castiron-writer --kexec load the kernel and initrd
 * from inside it with kexec_file_load(2), unmounts it, and starts
 * castiron-writer --kexec exec detached, which syncs and reboots into
 * that kernel a second later.  The reboot step's wait and verify follow
 * as for the other reboots (step_reboot.c).
 *
 * When the deploy kernel refuses (kexec_load_disabled, lockdown, no
 * KEXEC_FILE, a kernel it cannot load), nothing has changed on the host
 * and step_reboot.c falls back to [provision] kexec_fallback.  What
 * cannot be read (no grub.cfg, an entry castiron cannot know) is an
 * error, not a refusal: the firmware's boot loader would read the same
 * file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "provision/grubcfg.h"
#include "provision/prov_int.h"
#include "provision/shell.h"

#define KEXEC_REFUSED	3	/* castiron-writer --kexec: the kernel said no */
#define GRUB_DIR	"/boot/grub"

/* Mounts the root (a validated device path) read-only on $m and defines
 * fin, which unmounts it and exits with its argument. */
#define ROOT_RO \
	"m=$(mktemp -d /tmp/castiron-kexec.XXXXXX) || exit 1\n" \
	"mount -o ro %s \"$m\" || { rmdir \"$m\"; exit 1; }\n" \
	"fin() { umount \"$m\" && rmdir \"$m\" || { echo \"castiron: cannot " \
	    "unmount the installed root\" >&2; exit 1; }; exit $1; }\n"

/*
 * What the read prints: a header, the listing of /boot/grub (grubcfg.h's
 * form; links as "l", their targets not known here), then grubenv and
 * grub.cfg, each after a line giving its size ("none": not there) and
 * only when within the limit.  Links for either are refused: they could
 * point out of the installed system.
 */
static const char READ_GRUB[] =
"g=\"$m" GRUB_DIR "\"\n"
"if [ -L \"$g/grub.cfg\" ] || [ ! -f \"$g/grub.cfg\" ]; then\n"
"  echo \"castiron: no " GRUB_DIR "/grub.cfg on the installed root %s"
    "$([ -L \"$g/grub.cfg\" ] && echo ' (a symbolic link)')\" >&2; fin 1\n"
"fi\n"
"if [ -L \"$g/grubenv\" ]; then\n"
"  echo \"castiron: " GRUB_DIR "/grubenv on the installed root is a symbolic "
    "link\" >&2; fin 1\n"
"fi\n"
"nl=$(printf '\\nx'); nl=${nl%%x}\n"
"echo castiron-grub 1\n"
"for f in \"$g\"/* \"$g\"/.[!.]*; do\n"
"  n=${f##*/}\n"
"  case $n in *\"$nl\"*) continue ;; esac\n"
"  if [ -L \"$f\" ]; then echo \"l 0 $n\"\n"
"  elif [ -d \"$f\" ]; then echo \"d 0 $n\"\n"
"  elif [ -f \"$f\" ]; then echo \"f $(($(wc -c <\"$f\"))) $n\"; fi\n"
"done\n"
"if [ -f \"$g/grubenv\" ]; then\n"
"  s=$(($(wc -c <\"$g/grubenv\"))); echo \"env $s\"\n"
"  [ $s -gt %d ] || cat \"$g/grubenv\"\n"
"else echo 'env none'; fi\n"
"s=$(($(wc -c <\"$g/grub.cfg\"))); echo \"cfg $s\"\n"
"[ $s -gt %d ] || cat \"$g/grub.cfg\"\n"
"fin 0\n";

struct grub_read {
	char		*files;		/* the listing, NUL-terminated */
	const char	*env;		/* NULL: none */
	size_t		 envlen;
	const char	*cfg;
	size_t		 cfglen;
};

/* A "NAME SIZE\n" line at *p (NAME env or cfg): the size, or -1 for
 * "none"; -2 when the line is not that. */
static long long
size_line(const char **p, const char *end, const char *name)
{
	const char	*s = *p, *nl;
	long long	 v = 0;
	size_t		 n = strlen(name);

	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL ||
	    (size_t)(nl - s) <= n + 1 || memcmp(s, name, n) != 0 || s[n] != ' ')
		return -2;
	*p = nl + 1;
	if (nl - (s + n + 1) == 4 && memcmp(s + n + 1, "none", 4) == 0)
		return -1;
	for (s += n + 1; s < nl; s++) {
		if (*s < '0' || *s > '9' || v > (1LL << 40))
			return -2;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Splits what READ_GRUB printed; g points into out (the listing is
 * copied).  ERR_FAIL with err set. */
static enum err_code
split_read(const char *out, size_t len, struct grub_read *g,
    struct err *err)
{
	const char	*p, *end = out + len, *lst, *nl;
	long long	 n;

	memset(g, 0, sizeof(*g));
	if (len < 16 || memcmp(out, "castiron-grub 1\n", 16) != 0) {
		return err_set(err, ERR_FAIL, "the host's answer is not the "
		    "listing castiron asked for");
	}
	lst = p = out + 16;
	while (p < end && strncmp(p, "env ", 4) != 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	g->files = xmalloc((size_t)(p - lst) + 1);
	memcpy(g->files, lst, (size_t)(p - lst));
	g->files[p - lst] = '\0';
	if ((n = size_line(&p, end, "env")) == -2)
		goto bad;
	if (n > GRUBENV_MAX) {
		return err_set(err, ERR_FAIL, GRUB_DIR "/grubenv is %lld "
		    "bytes, more than %d", n, GRUBENV_MAX);
	}
	if (n >= 0) {
		if (end - p < n)
			goto bad;
		g->env = p;
		g->envlen = (size_t)n;
		p += n;
	}
	if ((n = size_line(&p, end, "cfg")) < 0)
		goto bad;
	if (n > GRUBCFG_MAX) {
		return err_set(err, ERR_FAIL, GRUB_DIR "/grub.cfg is %lld "
		    "bytes, more than %d", n, GRUBCFG_MAX);
	}
	if (end - p != n)
		goto bad;
	g->cfg = p;
	g->cfglen = (size_t)n;
	return ERR_OK;
bad:
	return err_set(err, ERR_FAIL, "the host's listing of " GRUB_DIR " is "
	    "cut short or malformed");
}

/* Reads and parses the installed system's boot loader configuration. */
static int
read_boot(struct prov_host *h, const char *part, struct grub_boot *b)
{
	struct sess_result	 r;
	struct grubcfg_in	 in;
	struct grub_read	 g;
	struct err		 e;
	char			*head, *body, *cmd;
	int			 rc;

	/* part is a validated device path (phost_root_part). */
	head = xsprintf(ROOT_RO, part);
	body = xsprintf(READ_GRUB, part, GRUBENV_MAX, GRUBCFG_MAX);
	cmd = xsprintf("%s%s", head, body);
	free(head);
	free(body);
	memset(&r, 0, sizeof(r));
	rc = phost_remote(h, "read the installed boot loader's configuration",
	    cmd, NULL, 0, &r);
	free(cmd);
	if (rc == -1)
		return -1;
	memset(&g, 0, sizeof(g));
	if (r.truncated || split_read(r.out, r.outlen, &g, &e) != ERR_OK) {
		phost_err(h, "%s: kexec: %s", h->h.hostname, r.truncated ?
		    "the installed boot configuration is larger than castiron "
		    "reads" : e.msg);
		free(g.files);
		sess_result_clear(&r);
		return -1;
	}
	memset(&in, 0, sizeof(in));
	in.name = GRUB_DIR "/grub.cfg";
	in.cfg = g.cfg;
	in.cfglen = g.cfglen;
	in.env = g.env;
	in.envlen = g.envlen;
	in.files = g.files;
	rc = grubcfg_parse(&in, b, &e) == ERR_OK ? 0 : -1;
	if (rc == -1)
		phost_err(h, "%s: kexec: %s (on the installed root %s)",
		    h->h.hostname, e.msg, part);
	free(g.files);
	sess_result_clear(&r);
	return rc;
}

/* The last line of a command's stderr into out ("" when none). */
static void
last_line(const struct sess_result *r, char *out, size_t outlen)
{
	const char	*end = r->errout + r->erroutlen, *s;

	while (end > r->errout && end[-1] == '\n')
		end--;
	for (s = end; s > r->errout && s[-1] != '\n'; s--)
		;
	snprintf(out, outlen, "%.*s", (int)(end - s), s);
}

/*
 * Loads the kernel on the host and starts the detached exec.  Returns 0
 * (under way; out holds the writer's line), 1 (refused; out says why),
 * WRITER_MISSING, or -1 with h->err set.
 */
static int
load_and_exec(struct prov_host *h, const char *writer, const char *part,
    const struct grub_boot *b, char *out, size_t outlen)
{
	struct sess_result	 r;
	char			*qw, *qk, *qi, *qc;
	char			*head, *cmd;
	const char		*o;
	int			 rc;

	qw = sh_quote(writer);
	qk = sh_quote(b->kernel);
	qi = sh_quote(b->initrd);
	qc = sh_quote(b->cmdline);
	head = xsprintf(ROOT_RO, part);
	cmd = xsprintf("test -x %s || exit %d\n%s"
	    "%s --kexec load --root \"$m\" --kernel %s%s%s --cmdline %s\n"
	    "rc=$?\n"
	    "umount \"$m\" && rmdir \"$m\" || { echo \"castiron: cannot unmount "
	        "the installed root\" >&2\n"
	    "  [ $rc = 0 ] && %s --kexec unload >/dev/null; exit 1; }\n"
	    "[ $rc = 0 ] || exit $rc\n"
	    "(sleep 1; exec %s --kexec exec) </dev/null >/dev/null 2>&1 &\n"
	    "exit 0\n", qw, WRITER_MISSING, head, qw, qk,
	    b->initrd[0] ? " --initrd " : "", b->initrd[0] ? qi : "", qc, qw,
	    qw);
	free(head);
	free(qw);
	free(qk);
	free(qi);
	free(qc);
	memset(&r, 0, sizeof(r));
	if (sess_run(h->sess, cmd, NULL, 0, 65536, &r, &h->err) != ERR_OK) {
		free(cmd);
		err_prefix(&h->err, "%s: kexec", h->h.hostname);
		return -1;
	}
	free(cmd);
	/* The writer's one line, without its "kexec: ". */
	o = strncmp(r.out, "kexec: ", 7) == 0 ? r.out + 7 : r.out;
	snprintf(out, outlen, "%.*s", (int)strcspn(o, "\n"), o);
	switch (r.status) {
	case 0:
		rc = 0;
		break;
	case KEXEC_REFUSED:
		if (strncmp(out, "refused: ", 9) == 0)
			memmove(out, out + 9, strlen(out + 9) + 1);
		rc = 1;
		break;
	case WRITER_MISSING:
		rc = WRITER_MISSING;
		break;
	default:
		/* The writer's line, else the shell's last word. */
		if (*out == '\0')
			last_line(&r, out, outlen);
		phost_err(h, "%s: kexec: exit %d: %s", h->h.hostname, r.status,
		    *out ? out : "(no message)");
		rc = -1;
		break;
	}
	sess_result_clear(&r);
	return rc;
}

int
phost_kexec(struct prov_host *h, char *why, size_t whylen)
{
	struct grub_boot	 b;
	char			 part[128], writer[128], out[512];
	int			 rc;

	if (phost_root_part(h, part, sizeof(part)) == -1 ||
	    read_boot(h, part, &b) == -1)
		return -1;
	if (phost_note(h, "kexec: the default entry of %s/grub.cfg on %s, "
	    "%.100s (line %d, %s): linux %s (line %d)%s%s, command line "
	    "'%.160s'", GRUB_DIR, part, b.entry, b.entry_line, b.how, b.kernel,
	    b.linux_line, b.initrd[0] ? ", initrd " : ", no initrd",
	    b.initrd, b.cmdline) == -1)
		return -1;
	snprintf(writer, sizeof(writer), PROV_WRITER_NAME, h->ctx->writer_sha);
	rc = load_and_exec(h, writer, part, &b, out, sizeof(out));
	if (rc == WRITER_MISSING) {
		if (phost_upload_writer(h, writer) == -1)
			return -1;
		rc = load_and_exec(h, writer, part, &b, out, sizeof(out));
		if (rc == WRITER_MISSING) {
			phost_err(h, "%s: kexec: no castiron-writer at %s after "
			    "its upload", h->h.hostname, writer);
			return -1;
		}
	}
	if (rc == -1)
		return -1;
	if (rc == 1) {
		snprintf(why, whylen, "%s", out);
		return 1;
	}
	phost_disconnect(h);
	snprintf(why, whylen, "%s", b.kernel);
	return phost_note(h, "kexec: %s; the deploy environment reboots into "
	    "it in a second, without firmware", out) == -1 ? -1 : 0;
}
