/*
 * castiron-writer --kexec: the host's half of reboot = kexec
 * (provision/step_kexec.c).  A deploy environment of busybox has no
 * kexec-tools; this makes the two system calls itself:
 *
 *   castiron-writer --kexec load --root DIR --kernel PATH
 *                   [--initrd PATH] --cmdline TEXT
 *       opens PATH (and the initrd) inside DIR, the installed system's
 *       root mounted by castiron, as if DIR were / (openat2's
 *       RESOLVE_IN_ROOT: a link in the installed system resolves inside
 *       it, as GRUB would resolve it), and hands them to
 *       kexec_file_load(2) with TEXT as the command line
 *   castiron-writer --kexec exec
 *       syncs and reboots into the loaded kernel (reboot(2)
 *       LINUX_REBOOT_CMD_KEXEC): no firmware, no boot loader
 *   castiron-writer --kexec unload
 *
 * It prints one line on stdout, "kexec: ...", and exits 0 when done, 3
 * when the running kernel refused (kexec_file_load or the reboot failed:
 * castiron may then reboot through firmware instead), 1 on any other
 * failure (a file missing: no fallback would help) and 2 on bad usage.
 */
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/openat2.h>
#include <linux/reboot.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/writer/writer.h"
#include "lib/clock.h"

#define KX_REFUSED	3
#define KX_CMDLINE_MAX	2048	/* x86's COMMAND_LINE_SIZE, with its NUL */

static int
say(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
say(int code, const char *fmt, ...)
{
	va_list	 ap;

	fputs("kexec: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return code;
}

static int
kx_usage(void)
{
	fprintf(stderr, "usage: castiron-writer --kexec load --root DIR "
	    "--kernel PATH [--initrd PATH] --cmdline TEXT\n"
	    "       castiron-writer --kexec exec | unload\n");
	return 2;
}

/* A one-line file of /proc or /sys, "" when it cannot be read. */
static void
read_line(const char *path, char *buf, size_t len)
{
	FILE	*f;

	buf[0] = '\0';
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Why the kernel said no, as far as it shows. */
static const char *
why_refused(int e, char *buf, size_t len)
{
	char	 v[128];

	switch (e) {
	case EPERM:
		read_line("/proc/sys/kernel/kexec_load_disabled", v, sizeof(v));
		if (strcmp(v, "1") == 0)
			return "kernel.kexec_load_disabled is 1";
		read_line("/sys/kernel/security/lockdown", v, sizeof(v));
		if (strstr(v, "[integrity]") || strstr(v, "[confidentiality]")) {
			snprintf(buf, len, "the kernel is locked down (%s)", v);
			return buf;
		}
		return geteuid() != 0 ? "not run as root" : "no CAP_SYS_BOOT, "
		    "or the kernel's policy forbids it";
	case ENOSYS:
		return "the kernel has no kexec_file_load (CONFIG_KEXEC_FILE)";
	case ENOEXEC:
		return "the kernel cannot load this kind of kernel image";
	case EKEYREJECTED:
	case EBADMSG:
	case ENOKEY:
	case ENODATA:
		return "the kernel takes only images signed by a key it trusts "
		    "(KEXEC_SIG)";
	default:
		return "";
	}
}

/*
 * path inside root as if root were /.  Without openat2 (before Linux
 * 5.6) each component is opened without following links, and a link is
 * refused: it could point out of the installed system.
 */
static int
open_in_root(int rootfd, const char *path)
{
	struct open_how	 how;
	char		 comp[256];
	const char	*p = path, *slash;
	int		 fd, next;
	size_t		 n;

	while (*p == '/')
		p++;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
	if (fd != -1 || errno != ENOSYS)
		return fd;
	if ((fd = dup(rootfd)) == -1)
		return -1;
	while (*p) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(comp)) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		next = openat(fd, comp, (slash ? O_PATH | O_DIRECTORY : O_RDONLY) |
		    O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next == -1)
			return -1;
		fd = next;
		for (p += n; *p == '/'; p++)
			;
	}
	return fd;
}

/* A regular file of the installed system, open; its size in *size. */
static int
open_file(int rootfd, const char *root, const char *path, const char *what,
    long long *size)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open_in_root(rootfd, path)) == -1) {
		say(1, "%s %s in %s: %s", what, path, root, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		say(1, "%s %s in %s: not a regular file with data", what, path,
		    root);
		close(fd);
		return -1;
	}
	*size = (long long)st.st_size;
	return fd;
}

static int
kx_load(int argc, char **argv)
{
	const char	*root = NULL, *kernel = NULL, *initrd = NULL;
	const char	*cmdline = NULL, *w;
	char		 why[256];
	long long	 ksize = 0, isize = 0;
	uint64_t	 t0;
	size_t		 clen;
	int		 i, rootfd, kfd, ifd = -1, e;
	long		 rc;

	for (i = 0; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--root") == 0 ? &root :
		    strcmp(argv[i], "--kernel") == 0 ? &kernel :
		    strcmp(argv[i], "--initrd") == 0 ? &initrd :
		    strcmp(argv[i], "--cmdline") == 0 ? &cmdline : NULL;

		if (slot == NULL || *slot != NULL || i + 1 == argc)
			return kx_usage();
		*slot = argv[++i];
	}
	if (root == NULL || kernel == NULL || cmdline == NULL)
		return kx_usage();
	if ((clen = strlen(cmdline)) >= KX_CMDLINE_MAX)
		return say(1, "the command line is %zu bytes, more than %d",
		    clen, KX_CMDLINE_MAX - 1);
	t0 = mono_ms();
	if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return say(1, "%s: %s", root, strerror(errno));
	kfd = open_file(rootfd, root, kernel, "kernel", &ksize);
	if (kfd != -1 && initrd)
		ifd = open_file(rootfd, root, initrd, "initrd", &isize);
	close(rootfd);
	if (kfd == -1 || (initrd && ifd == -1)) {
		if (kfd != -1)
			close(kfd);
		return 1;
	}
	rc = syscall(SYS_kexec_file_load, kfd, ifd, clen + 1, cmdline,
	    (unsigned long)(ifd == -1 ? KEXEC_FILE_NO_INITRAMFS : 0));
	e = errno;
	close(kfd);
	if (ifd != -1)
		close(ifd);
	if (rc != 0) {
		w = why_refused(e, why, sizeof(why));
		return say(KX_REFUSED, "refused: kexec_file_load: %s%s%s%s",
		    strerror(e), *w ? " (" : "", w, *w ? ")" : "");
	}
	/* The kernel reads both and digests them (purgatory checks the
	 * digests at exec): the time says what that costs. */
	return say(0, "loaded %s (%lld bytes)%s%s%s, command line of %zu bytes, "
	    "in %llu ms", kernel, ksize, initrd ? ", initrd " : "",
	    initrd ? initrd : "", initrd ? "" : ", no initrd", clen,
	    (unsigned long long)(mono_ms() - t0));
}

static int
kx_exec(void)
{
	const char	*w;
	char		 v[16], why[256];
	int		 e;

	read_line("/sys/kernel/kexec_loaded", v, sizeof(v));
	if (strcmp(v, "1") != 0)
		return say(1, "no kernel is loaded (/sys/kernel/kexec_loaded "
		    "is '%s')", v);
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	e = errno;
	w = why_refused(e, why, sizeof(why));
	return say(KX_REFUSED, "refused: reboot: %s%s%s%s", strerror(e),
	    *w ? " (" : "", w, *w ? ")" : "");
}

int
writer_kexec(int argc, char **argv)
{
	if (argc < 1)
		return kx_usage();
	if (strcmp(argv[0], "load") == 0)
		return kx_load(argc - 1, argv + 1);
	if (argc == 1 && strcmp(argv[0], "exec") == 0)
		return kx_exec();
	if (argc == 1 && strcmp(argv[0], "unload") == 0) {
		if (syscall(SYS_kexec_file_load, -1, -1, 0UL, "",
		    (unsigned long)KEXEC_FILE_UNLOAD) != 0)
			return say(1, "unload: %s", strerror(errno));
		return say(0, "unloaded");
	}
	return kx_usage();
}
