/*
 * What GRUB would boot: the default menu entry of an installed system's
 * /boot/grub/grub.cfg, its kernel, initrd and command line, for
 * reboot = kexec (provision/step_kexec.c).  The file is read as GRUB's
 * script language and run the way GRUB runs it, as far as that can be
 * known without GRUB: what cannot be known (a condition on the firmware,
 * another file sourced, a loop) is refused with the file and line unless
 * it cannot change the entry or what it loads.  docs/provision.md
 * ("reboot = kexec") says exactly what is read and what is refused.
 * Library-like: no I/O, no logging.
 */
#ifndef CASTIRON_PROVISION_GRUBCFG_H
#define CASTIRON_PROVISION_GRUBCFG_H

#include <stddef.h>

#include "lib/err.h"

#define GRUBCFG_MAX		(512 * 1024)	/* the largest grub.cfg read */
#define GRUBENV_MAX		65536
#define GRUB_PATH_MAX		256
/* x86's COMMAND_LINE_SIZE, the terminating NUL included. */
#define GRUB_CMDLINE_MAX	2048

struct grubcfg_in {
	const char	*name;		/* in messages: "/boot/grub/grub.cfg" */
	const char	*cfg;		/* its bytes (need not be terminated) */
	size_t		 cfglen;
	/* /boot/grub/grubenv, what load_env reads; NULL: there is none. */
	const char	*env;
	size_t		 envlen;
	/* What /boot/grub holds, for GRUB's file tests ([ -f ... ]): one
	 * line "f SIZE NAME" per file, "d 0 NAME" per directory and "l 0
	 * NAME" per symbolic link (a test of it is undecided), NAME without
	 * the directory; NULL: not known (every such test undecided). */
	const char	*files;
};

struct grub_boot {
	char	 entry[256];	/* its title; "SUBMENU>TITLE" inside one */
	char	 how[320];	/* how it was chosen: "default=0", ... */
	char	 kernel[GRUB_PATH_MAX];	/* absolute, on the root file system */
	char	 initrd[GRUB_PATH_MAX];	/* "" when the entry loads none */
	/* As GRUB's linux command passes it: "BOOT_IMAGE=KERNEL ARGS". */
	char	 cmdline[GRUB_CMDLINE_MAX];
	int	 entry_line;	/* of the menuentry */
	int	 linux_line;
	int	 initrd_line;	/* 0 when none */
};

/*
 * Finds the default entry of in->cfg.  ERR_OK with *b filled, or
 * ERR_INVAL with one line "NAME:LINE: why" (or "NAME: why") in err.
 */
enum err_code	grubcfg_parse(const struct grubcfg_in *in, struct grub_boot *b,
		    struct err *err);

#endif
