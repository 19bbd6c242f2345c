/*
 * dnsmasq's configuration for the provisioning network, written from the
 * inventory (castiron never answers DHCP itself).  Two files in
 * [boot] dnsmasq_dir, each replaced atomically:
 *
 *   castiron.conf  DHCP and TFTP only (port=0: no DNS), on [boot]
 *                  interface; iPXE clients (option 175) get the boot
 *                  service's script URL, other firmware Debian's iPXE
 *                  binaries over TFTP to chainload (undionly.kpxe for
 *                  BIOS, ipxe.efi for UEFI x86-64); the waits measured
 *                  in the lab removed (no-ping, no ProxyDHCP wait);
 *   hosts          dhcp-hostsfile: each enrolled MAC of a host with an
 *                  address gets that address and the host's name.
 *
 * Its leases go to a file of castiron's own, [castiron] state_dir/
 * dnsmasq.leases (persistent, unlike dnsmasq_dir under /run), never to
 * dnsmasq's default /var/lib/misc/dnsmasq.leases, which every dnsmasq of
 * the machine shares: another instance's lease there would be taken for
 * one of ours.
 *
 * boot serve rewrites the hosts file whenever the inventory changes and
 * sends dnsmasq SIGHUP (its pidfile) so that it reads it again.
 */
#include <sys/stat.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inventory.h"
#include "lib/atomicfile.h"
#include "lib/config.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"

#define IPXE_DIR	"/usr/lib/ipxe"

static enum err_code
replace(const char *path, const char *text, int *changed, struct err *e)
{
	char	*old;
	size_t	 len;

	old = file_read_small(path, 64u << 20, &len, NULL);
	*changed = old == NULL || len != strlen(text) || memcmp(old, text,
	    len) != 0;
	free(old);
	if (!*changed)
		return ERR_OK;
	return file_replace(path, text, strlen(text), 0644, 1, e);
}

/* The hosts file's text: "MAC,ADDRESS,HOSTNAME" per enrolled MAC. */
static enum err_code
hosts_text(const struct config *cfg, char **out, struct err *e)
{
	struct inv_host	*hosts;
	struct inv	*inv;
	char		*text = xstrdup(""), *t;
	struct err	 m;
	size_t		 n, i, k;

	*out = NULL;
	if (inv_open_config(cfg, INV_OPEN_READONLY, &inv, &m) != ERR_OK) {
		free(text);
		return err_set(e, ERR_FAIL, "%s", m.msg);
	}
	if (inv_hosts_by_site(inv, NULL, &hosts, &n, &m) != ERR_OK) {
		inv_close(inv);
		free(text);
		return err_set(e, ERR_FAIL, "%s", m.msg);
	}
	inv_close(inv);
	for (i = 0; i < n; i++) {
		if (*hosts[i].address == '\0' || strchr(hosts[i].address, ':'))
			continue;	/* DHCPv4 only gives IPv4 */
		for (k = 0; k < hosts[i].nmacs; k++) {
			t = xsprintf("%s%s,%s,%s\n", text, hosts[i].macs[k],
			    hosts[i].address, hosts[i].hostname);
			free(text);
			text = t;
		}
	}
	free(hosts);
	*out = text;
	return ERR_OK;
}

enum err_code
boot_dnsmasq_write(const struct config *cfg, int *hosts_changed,
    struct err *e)
{
	const char	*dir = cfg->boot.dnsmasq_dir;
	char		*conf, *path, *hosts, base[300];
	enum err_code	 rc;
	int		 changed;

	*hosts_changed = 0;
	if (cfg->boot.interface == NULL || cfg->boot.dhcp_range == NULL)
		return err_set(e, ERR_INVAL, "%s: [boot] interface and "
		    "dhcp_range are needed for dnsmasq", cfg->path);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return err_errno(e, ERR_FAIL, "%s", dir);
	if (mkdir(cfg->castiron.state_dir, 0755) == -1 && errno != EEXIST)
		return err_errno(e, ERR_FAIL, "%s", cfg->castiron.state_dir);
	boot_base_url(cfg, base, sizeof(base));
	conf = xsprintf(
	    "# Written by castiron from %s; do not edit: it is replaced.\n"
	    "port=0\n"
	    "interface=%s\n"
	    "bind-interfaces\n"
	    "dhcp-range=%s\n"
	    "dhcp-authoritative\n"
	    "no-ping\n"
	    "dhcp-hostsfile=%s/hosts\n"
	    "dhcp-leasefile=%s/dnsmasq.leases\n"
	    "dhcp-match=set:ipxe,175\n"
	    "dhcp-match=set:efi64,option:client-arch,7\n"
	    "dhcp-match=set:efi64,option:client-arch,9\n"
	    /* iPXE: no wait for ProxyDHCP offers. */
	    "dhcp-option=tag:ipxe,encap:175,176,1\n"
	    "dhcp-boot=tag:ipxe,%s/boot.ipxe\n"
	    "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi\n"
	    "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe\n"
	    "enable-tftp\n"
	    "tftp-root=%s\n"
	    "log-dhcp\n"
	    "%s%s%s", cfg->path, cfg->boot.interface,
	    cfg->boot.dhcp_range, dir, cfg->castiron.state_dir, base,
	    IPXE_DIR,
	    /* Without router advertisements iPXE waits ~16 s for IPv6. */
	    cfg->boot.router_advertisements ? "enable-ra\ndhcp-range=::,"
	    "constructor:" : "", cfg->boot.router_advertisements ?
	    cfg->boot.interface : "", cfg->boot.router_advertisements ?
	    ",ra-only\n" : "");
	path = xsprintf("%s/castiron.conf", dir);
	rc = replace(path, conf, &changed, e);
	free(path);
	free(conf);
	if (rc != ERR_OK)
		return rc;
	if ((rc = hosts_text(cfg, &hosts, e)) != ERR_OK)
		return rc;
	path = xsprintf("%s/hosts", dir);
	rc = replace(path, hosts, hosts_changed, e);
	free(path);
	free(hosts);
	return rc;
}

void
boot_dnsmasq_reload(const struct config *cfg)
{
	char		*path, *text;
	struct err	 e;
	long		 pid;

	if (cfg->boot.dnsmasq_pidfile == NULL)
		return;
	path = cfg->boot.dnsmasq_pidfile;
	if ((text = file_read_small(path, 64, NULL, &e)) == NULL) {
		log_warnx("boot: %s", e.msg);
		return;
	}
	pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || kill((pid_t)pid, SIGHUP) == -1)
		log_warn("boot: dnsmasq (pid %ld from %s)", pid, path);
	else
		log_info("boot: dnsmasq told to read its hosts again");
}
