/*
 * The iPXE scripts the boot service hands out.  Every fetch is retried a
 * bounded number of times (a boot service restarting in the middle of a
 * deploy costs a few seconds, not the boot), then the script gives up
 * and boots the local disk rather than loop for ever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"

#define IPXE_TRIES	20	/* each fetch, 3 s apart */

void
boot_base_url(const struct config *cfg, char *buf, size_t len)
{
	if (cfg->boot.url)
		snprintf(buf, len, "%s", cfg->boot.url);
	else
		snprintf(buf, len, "http://%s", cfg->boot.listen);
	buf[strcspn(buf, "\n")] = '\0';
	if (*buf && buf[strlen(buf) - 1] == '/')
		buf[strlen(buf) - 1] = '\0';
}

char *
boot_script_chain(const char *base)
{
	/* ${netX/mac} is the interface iPXE booted from. */
	return xsprintf("#!ipxe\n"
	    "set tries:int32 0\n"
	    ":again\n"
	    "chain --autofree %s/ipxe/${netX/mac:hexhyp} && exit ||\n"
	    "inc tries\n"
	    "iseq ${tries} %d && exit ||\n"
	    "sleep 3\n"
	    "goto again\n", base, IPXE_TRIES);
}

/* kernel and initrd from base, each retried. */
static char *
script_boot(const char *base, const char *args)
{
	return xsprintf("#!ipxe\n"
	    "set tries:int32 0\n"
	    ":kernel\n"
	    "kernel --name vmlinuz %s/deploy/vmlinuz initrd=initrd.img %s && "
	    "goto initrd ||\n"
	    "inc tries\n"
	    "iseq ${tries} %d && exit ||\n"
	    "sleep 3\n"
	    "goto kernel\n"
	    ":initrd\n"
	    "initrd --name initrd.img %s/deploy/initrd.img && goto boot ||\n"
	    "inc tries\n"
	    "iseq ${tries} %d && exit ||\n"
	    "sleep 3\n"
	    "goto initrd\n"
	    ":boot\n"
	    "boot\n", base, args, IPXE_TRIES, base, IPXE_TRIES);
}

char *
boot_script_deploy(const char *base, const char *host, const char *token,
    const char *cmdline)
{
	char	*args, *s;

	args = xsprintf("%s castiron.mode=deploy castiron.host=%s "
	    "castiron.checkin=%s/checkin castiron.token=%s", cmdline, host,
	    base, token);
	s = script_boot(base, args);
	free(args);
	return s;
}

char *
boot_script_enlist(const char *base, const char *cmdline)
{
	char	*args, *s;

	args = xsprintf("%s castiron.mode=enlist castiron.checkin=%s/checkin",
	    cmdline, base);
	s = script_boot(base, args);
	free(args);
	return s;
}

char *
boot_script_local(void)
{
	/* Leave iPXE: the firmware boots the next device, the disk. */
	return xstrdup("#!ipxe\nexit\n");
}
