/*
 * The configure step: on the host, find the installed system's root
 * partition on the target disk (by file system label, else the largest
 * Linux file system; partition nodes made when the kernel did not), mount
 * it, write the host's identity into it, unmount it, and pin the SSH host
 * key castiron generated for it.  Files written (docs/provision.md):
 *
 *   /etc/hostname, /etc/hosts
 *   /root/.ssh/authorized_keys        [provision] authorized_keys + ours
 *   /etc/ssh/ssh_host_ed25519_key{,.pub}  generated here, in memory
 *   /var/lib/cloud/seed/nocloud/{meta-data,user-data,network-config}
 *   /etc/castiron/provision-id        the marker verify looks for
 *
 * and, for a host whose role has a [role NAME] section, what castiron bgp
 * needs to run from the first boot (provision/role.c).
 *
 * The seed carries the host name, root's authorized keys and the network
 * configuration; in an image with cloud-init (/usr/bin/cloud-init in its
 * root) the first three files are left to cloud-init, which applies the
 * seed at first boot, so that what the installed system runs with is
 * cloud-init's result and not two writers' (images/recipes/debian12 is
 * such an image).  The host key is always castiron's: the seed tells
 * cloud-init to keep it and to make no other.
 *
 * Mounting, writing every file and unmounting are one remote command;
 * the files' bytes travel on its standard input, never in a command line;
 * every path is validated and quoted (provision/shell.h).  The key
 * is pinned last, after the root is unmounted, so that a configure step
 * that fails halfway leaves the deploy key pinned and can be resumed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/hostkey.h"
#include "provision/prov_int.h"
#include "provision/role.h"
#include "provision/shell.h"

extern char **environ;

static const char FIND_PARTS[] =
"n=${d##*/}\n"
"has() { for p in /sys/class/block/$n/$n*; do [ -r \"$p/partition\" ] && return 0; done; return 1; }\n"
/* The writer made the new table's partitions appear (BLKRRPART, else
 * BLKPG): a re-read now would drop the ones it added on a kernel without
 * the table's parser, and busybox has no partx to add them again. */
"has || blockdev --rereadpt \"$d\" 2>/dev/null || true\n"
"i=0\n"
"while ! has && [ $i -lt 30 ]; do\n"
/* A kernel without the table's parser: add them one by one (BLKPG). */
"  [ $i = 5 ] && { partx -a \"$d\" 2>/dev/null || true; }\n"
"  sleep 0.1 2>/dev/null || sleep 1; i=$((i+1))\n"
"done\n"
/* No blkid (a busybox deploy environment): LABEL and TYPE in blkid's
 * form from the file system's own superblock (ext2/3/4, xfs, btrfs). */
"at() { dd if=\"$1\" bs=1 skip=$2 count=$3 2>/dev/null; }\n"
"lbl() { at \"$@\" | tr -cd 'A-Za-z0-9 ._+-'; }\n"
"u8() { v=$(at \"$1\" $2 1 | od -An -tu1); echo $((${v:-0} + 0)); }\n"
"sb() {\n"
"  if [ \"$(at \"$1\" 1080 2 | od -An -tx1 | tr -d ' \\n')\" = 53ef ]; then\n"
"    t=ext2; [ $(($(u8 \"$1\" 1116) & 4)) != 0 ] && t=ext3\n"
"    [ $(($(u8 \"$1\" 1120) & 64)) != 0 ] && t=ext4\n"
"    echo \" LABEL=\\\"$(lbl \"$1\" 1144 16)\\\" TYPE=\\\"$t\\\"\"\n"
"  elif [ \"$(at \"$1\" 0 4)\" = XFSB ]; then\n"
"    echo \" LABEL=\\\"$(lbl \"$1\" 108 12)\\\" TYPE=\\\"xfs\\\"\"\n"
"  elif [ \"$(at \"$1\" 65600 8)\" = _BHRfS_M ]; then\n"
"    echo \" LABEL=\\\"$(lbl \"$1\" 65835 256)\\\" TYPE=\\\"btrfs\\\"\"\n"
"  fi\n"
"}\n"
"command -v blkid >/dev/null 2>&1 && bk=1 || bk=\n"
"for p in /sys/class/block/$n/$n*; do\n"
"  [ -r \"$p/partition\" ] || continue\n"
"  pn=${p##*/}\n"
"  if [ ! -b /dev/$pn ]; then mm=$(cat $p/dev); mknod /dev/$pn b ${mm%%:*} ${mm##*:}; fi\n"
"  if [ -n \"$bk\" ]; then id=$(blkid /dev/$pn 2>/dev/null | cut -d: -f2-); else id=$(sb /dev/$pn); fi\n"
"  echo \"part=/dev/$pn size=$(cat $p/size) $id\"\n"
"done\n";

static const char *const root_labels[] = { "root", "ROOT", "rootfs",
    "cloudimg-rootfs", NULL };
static const char *const linux_fs[] = { "ext4", "ext3", "ext2", "xfs",
    "btrfs", NULL };

/* Value of KEY="..." in a blkid line (KEY preceded by a blank). */
static void
blkid_val(const char *line, const char *key, char *out, size_t len)
{
	char		 pat[32];
	const char	*p, *q;
	size_t		 n;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), " %s=\"", key);
	if ((p = strstr(line, pat)) == NULL)
		return;
	p += strlen(pat);
	if ((q = strchr(p, '"')) == NULL)
		return;
	n = (size_t)(q - p) < len - 1 ? (size_t)(q - p) : len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Picks the root partition from the FIND_PARTS listing. */
static enum err_code
pick_root(const char *listing, char *part, size_t partlen, struct err *err)
{
	const char	*p = listing, *nl;
	char		 line[1024], dev[128], label[128], type[32], best[128] = "";
	uint64_t	 size, bestsize = 0;
	int		 i;

	for (; *p; p = *nl ? nl + 1 : nl) {
		size_t n;
		char *sp;

		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p) < sizeof(line) - 1 ? (size_t)(nl - p) :
		    sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (strncmp(line, "part=", 5) != 0 ||
		    (sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		snprintf(dev, sizeof(dev), "%.*s", (int)sizeof(dev) - 1, line + 5);
		*sp = ' ';
		size = 0;
		if (strncmp(sp + 1, "size=", 5) == 0) {
			char num[24], *end = strchr(sp + 6, ' ');
			size_t nl2 = end ? (size_t)(end - (sp + 6)) :
			    strlen(sp + 6);
			if (nl2 < sizeof(num)) {
				memcpy(num, sp + 6, nl2);
				num[nl2] = '\0';
				if (parse_uint(num, 0, UINT64_MAX / 512, &size,
				    NULL) != ERR_OK)
					size = 0;
			}
		}
		blkid_val(line, "LABEL", label, sizeof(label));
		blkid_val(line, "TYPE", type, sizeof(type));
		for (i = 0; root_labels[i]; i++)
			if (strcmp(label, root_labels[i]) == 0) {
				snprintf(part, partlen, "%s", dev);
				return ERR_OK;
			}
		for (i = 0; linux_fs[i]; i++)
			if (strcmp(type, linux_fs[i]) == 0 && size > bestsize) {
				bestsize = size;
				snprintf(best, sizeof(best), "%s", dev);
			}
	}
	if (best[0] == '\0')
		return err_set(err, ERR_FAIL, "no root partition on the disk "
		    "(no file system labelled root, no Linux file system)");
	snprintf(part, partlen, "%s", best);
	return ERR_OK;
}

/*
 * The files configure writes into the installed root, sent as one
 * command: mount the root, write each file (its bytes the next ones on
 * stdin, through a temporary name, then renamed), unmount.  One command
 * for all of them, not one each: every command is a channel and an exec
 * of sshd's, well over 100 ms on a loaded host.  Contents go through
 * stdin only, never the command line (a private key is among them).
 */
struct rootfile {
	const char	*rel;
	int		 mode;
	char		*content;
	int		 seeded;	/* cloud-init writes it from the seed
					 * when the root has cloud-init */
	int		 unit;		/* rel: a .wants link to the unit of its
					   name, wherever the root has it */
};

#define ROOT_SCRIPT_HEAD \
	"m=$(mktemp -d /tmp/castiron-root.XXXXXX) || exit 1\n" \
	"mount %s \"$m\" || { rmdir \"$m\"; exit 1; }\n" \
	"umask 077\n" \
	/* Files are made 0600 and given their mode; the directories on \
	 * their way are made as the system's own are, 0755 (a 0700 \
	 * /etc/castiron kept user castiron from its castiron.ini). */ \
	"mkd() { (umask 022 && mkdir -p \"$1\"); }\n" \
	"put() {\n" \
	"\tt=\"$m$1.castiron-tmp\"\n" \
	"\tmkd \"$m${1%%/*}\" && dd bs=1 count=\"$3\" of=\"$t\" " \
	    "2>/dev/null &&\n" \
	"\t[ $(($(wc -c <\"$t\"))) -eq \"$3\" ] && chmod \"$2\" \"$t\" && " \
	    "mv -f \"$t\" \"$m$1\" ||\n" \
	"\t{ echo \"castiron: $1: cannot write it into the installed root\" " \
	    ">&2; return 1; }\n" \
	"}\n" \
	"unit() {\n" \
	"\tfor d in /etc/systemd/system /usr/local/lib/systemd/system " \
	    "/usr/lib/systemd/system /lib/systemd/system; do\n" \
	"\t\t[ -f \"$m$d/${1##*/}\" ] || continue\n" \
	"\t\tmkd \"$m${1%%/*}\" && ln -sfn \"$d/${1##*/}\" \"$m$1\" && " \
	    "return 0\n" \
	"\t\tbreak\n" \
	"\tdone\n" \
	"\techo \"castiron: ${1##*/}: no such unit in the installed root, or " \
	    "it cannot be enabled\" >&2; return 1\n" \
	"}\n" \
	/* seeded: the bytes are read either way, to keep stdin in step. */ \
	"ci=\n" \
	"[ -x \"$m/usr/bin/cloud-init\" ] && ci=1 && echo cloud-init\n" \
	"seeded() {\n" \
	"\tif [ -n \"$ci\" ]; then dd bs=1 count=\"$3\" of=/dev/null 2>/dev/null; " \
	    "else put \"$@\"; fi\n" \
	"}\n" \
	"true"
#define ROOT_SCRIPT_TAIL \
	"\nrc=$?\n" \
	"umount \"$m\" && rmdir \"$m\" || " \
	    "{ echo \"castiron: cannot unmount the installed root\" >&2; rc=1; }\n" \
	"exit $rc\n"

static int
write_root(struct prov_host *h, const char *part, const struct rootfile *f,
    size_t n, int *cloudinit)
{
	struct sess_result	 r;
	char		*q, *cmd, *t, *in;
	struct err	 ve;
	size_t		 i, len, inlen = 0;
	int		 rc;

	for (i = 0; i < n; i++) {
		if (sh_valid_path(f[i].rel, &ve) != ERR_OK) {
			phost_err(h, "%s: %s", h->h.hostname, ve.msg);
			return -1;
		}
		inlen += strlen(f[i].content);
	}
	q = sh_quote(part);
	cmd = xsprintf(ROOT_SCRIPT_HEAD, q);
	free(q);
	in = xmalloc(inlen + 1);
	/* Units first: they read nothing from stdin, and an image without
	 * one fails before any file is written. */
	for (i = 0; i < n; i++) {
		if (!f[i].unit)
			continue;
		q = sh_quote(f[i].rel);
		t = xsprintf("%s &&\nunit %s", cmd, q);
		free(q);
		free(cmd);
		cmd = t;
	}
	for (i = 0, inlen = 0; i < n; i++) {
		if (f[i].unit)
			continue;
		len = strlen(f[i].content);
		memcpy(in + inlen, f[i].content, len);
		inlen += len;
		q = sh_quote(f[i].rel);
		t = xsprintf("%s &&\n%s %s %o %zu", cmd, f[i].seeded ? "seeded" :
		    "put", q, f[i].mode, len);
		free(q);
		free(cmd);
		cmd = t;
	}
	t = xsprintf("%s%s", cmd, ROOT_SCRIPT_TAIL);
	free(cmd);
	rc = phost_remote(h, "write the installed root", t, in, inlen, &r);
	free(t);
	explicit_bzero(in, inlen);
	free(in);
	if (rc == 0) {
		*cloudinit = strncmp(r.out, "cloud-init\n", 11) == 0;
		sess_result_clear(&r);
	}
	return rc;
}

/* A new ed25519 host key for the installed system, made in memory. */
static int
gen_hostkey(struct prov_host *h, char **priv, char **pub)
{
	char		 comment[300];
	struct err	 e;

	snprintf(comment, sizeof(comment), "root@%s", h->h.hostname);
	if (hostkey_generate(comment, priv, pub, &e) != ERR_OK) {
		phost_err(h, "%s: %s", h->h.hostname, e.msg);
		return -1;
	}
	return 0;
}

/* s as a YAML double-quoted scalar (a key line's options may hold quotes). */
static char *
yaml_quote(const char *s, size_t n)
{
	char	*o = xmalloc(2 * n + 3), *p = o;
	size_t	 i;

	*p++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*p++ = '\\';
		*p++ = s[i];
	}
	*p++ = '"';
	*p = '\0';
	return o;
}

/*
 * cloud-init's NoCloud user-data: the host name (and /etc/hosts), root's
 * authorized keys (one per non-comment line of the configured file and
 * ours; a line with a control character is left out, YAML could not
 * carry it), and the host key kept as castiron wrote it.
 */
static char *
user_data(const char *hn, const char *authorized)
{
	const char	*p, *nl;
	char		*s, *t, *q;
	size_t		 n, i, nkeys;

	s = xsprintf("#cloud-config\nhostname: %s\npreserve_hostname: false\n"
	    "manage_etc_hosts: true\n"
	    "# The host key castiron wrote and pinned stays; no other is made\n"
	    "# (cloud-init makes a type only when its key file is missing).\n"
	    "ssh_deletekeys: false\nssh_genkeytypes: [ed25519]\n"
	    "disable_root: false\nssh_pwauth: false\n", hn);
	for (p = authorized, nkeys = 0; *p; p = *nl ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			n--;
		if (n == 0 || *p == '#')
			continue;
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				break;
		if (i < n)
			continue;
		q = yaml_quote(p, n);
		t = xsprintf("%s%s  - %s\n", s, nkeys++ ? "" :
		    "ssh_authorized_keys:\n", q);
		free(q);
		free(s);
		s = t;
	}
	return s;
}

/*
 * cloud-init's NoCloud network-config (version 2): each enrolled MAC
 * matched; the first carries the host's static address (address,
 * prefixlen and gateway, as enrollment validated them) when it has one,
 * every other NIC DHCP.  A default route, not gateway4/gateway6, which
 * netplan deprecated.
 */
static char *
network_config(const struct inv_host *hh)
{
	char	*s, *t;
	size_t	 i;
	int	 v6 = strchr(hh->address, ':') != NULL;

	s = xstrdup("version: 2\nethernets:\n");
	for (i = 0; i < hh->nmacs; i++) {
		t = xsprintf("%s  nic%zu:\n    match:\n      macaddress: "
		    "\"%s\"\n", s, i, hh->macs[i]);
		free(s);
		s = t;
		if (i == 0 && hh->prefixlen != 0) {
			t = xsprintf("%s    addresses: [\"%s/%u\"]\n", s,
			    hh->address, hh->prefixlen);
			free(s);
			s = t;
			if (hh->gateway[0] == '\0')
				continue;
			t = xsprintf("%s    routes:\n      - to: \"%s\"\n"
			    "        via: \"%s\"\n", s, v6 ? "::/0" : "0.0.0.0/0",
			    hh->gateway);
		} else
			t = xsprintf("%s    dhcp4: true\n", s);
		free(s);
		s = t;
	}
	if (hh->nmacs == 0) {
		t = xsprintf("%s  all:\n    match:\n      name: \"e*\"\n"
		    "    dhcp4: true\n", s);
		free(s);
		s = t;
	}
	return s;
}

/*
 * The installed system's root partition on the disk the image step
 * wrote (by the inventory's record of it in a resumed run): configure
 * writes into it, reboot = kexec reads its boot loader's configuration.
 * Found once a run.
 */
int
phost_root_part(struct prov_host *h, char *part, size_t partlen)
{
	struct sess_result	 r;
	const char		*hn = h->h.hostname;
	char			*cmd, *q;
	struct err		 ve;
	int			 rc;

	if (h->root_part[0]) {
		snprintf(part, partlen, "%s", h->root_part);
		return 0;
	}

	if (h->disk[0] == '\0') {
		/* A resumed run: the disk the image step wrote, as its done
		 * event in the inventory names it. */
		char	 what[256], *at;

		if (phost_recall(h, "image", "done: ", what, sizeof(what)) == -1)
			return -1;
		if ((at = strstr(what, " written to ")) == NULL) {
			phost_err(h, "%s: resuming after the image step, but the "
			    "inventory does not say which disk the image was "
			    "written to", hn);
			return -1;
		}
		/* By its serial or by-id link: the kernel's names may have
		 * changed since (a reboot of the deploy environment). */
		if (h->insp == NULL && phost_inspect(h) == -1)
			return -1;
		if (inspect_find_written(h->insp, at + 12, h->disk,
		    sizeof(h->disk), &ve) != ERR_OK ||
		    sh_valid_device(h->disk, &ve) != ERR_OK) {
			phost_err(h, "%s: resuming after the image step: %s",
			    hn, ve.msg);
			h->disk[0] = '\0';
			return -1;
		}
	}
	q = sh_quote(h->disk);
	cmd = xsprintf("d=%s\n%s", q, FIND_PARTS);
	free(q);
	rc = phost_remote(h, "find partitions", cmd, NULL, 0, &r);
	free(cmd);
	if (rc == -1)
		return -1;
	rc = pick_root(r.out, part, partlen, &ve) == ERR_OK &&
	    sh_valid_device(part, &ve) == ERR_OK ? 0 : -1;
	sess_result_clear(&r);
	if (rc == -1) {
		h->err = ve;
		err_prefix(&h->err, "%s: %s", hn, h->disk);
		return -1;
	}
	snprintf(h->root_part, sizeof(h->root_part), "%s", part);
	return 0;
}

int
step_configure(struct prov_host *h)
{
	const char		*hn = h->h.hostname;
	char			 part[128];
	char			*priv = NULL, *pub = NULL, type[40], b64[1024];
	int			 rc = -1, cloudinit = 0;
	struct role_plan	 rp;
	struct err		 re;

	/* What the host's role adds, rendered and checked before anything
	 * is written. */
	if (role_plan(h->ctx->cfg, &h->h, &rp, &re) != ERR_OK) {
		phost_err(h, "%s", re.msg);
		return -1;
	}
	if (phost_root_part(h, part, sizeof(part)) == -1) {
		role_plan_clear(&rp);
		return -1;
	}
	/* The host's own private key goes only to a host that proved its
	 * pinned key, or whose MAC and serial were checked on this very
	 * session: the deploy key alone is every deploy host's. */
	if (h->key == HOSTKEY_DEPLOY && !h->enrolled) {
		phost_err(h, "%s: refusing to send the host's key: the session "
		    "proved only the shared deploy key and its enrollment was "
		    "not checked", hn);
		role_plan_clear(&rp);
		return -1;
	}
	if (gen_hostkey(h, &priv, &pub) == -1) {
		role_plan_clear(&rp);
		return -1;
	}
	{
		/* The host's own files, then its role's. */
		struct rootfile	 f[9 + ROLE_MAXFILES] = {
			{ "/etc/hostname", 0644, xsprintf("%s\n", hn), 1 },
			{ "/etc/hosts", 0644, xsprintf("127.0.0.1\tlocalhost\n"
			    "::1\tlocalhost ip6-localhost ip6-loopback\n"
			    "127.0.1.1\t%s\n", hn), 1 },
			{ "/root/.ssh/authorized_keys", 0600,
			    xstrdup(h->ctx->authorized), 1 },
			{ "/etc/ssh/ssh_host_ed25519_key", 0600,
			    xstrdup(priv), 0 },
			{ "/etc/ssh/ssh_host_ed25519_key.pub", 0644,
			    xstrdup(pub), 0 },
			{ "/var/lib/cloud/seed/nocloud/meta-data", 0644,
			    xsprintf("instance-id: %s\nlocal-hostname: %s\n",
			    h->prov_id, hn), 0 },
			{ "/var/lib/cloud/seed/nocloud/user-data", 0600,
			    user_data(hn, h->ctx->authorized), 0 },
			{ "/var/lib/cloud/seed/nocloud/network-config", 0644,
			    network_config(&h->h), 0 },
			{ PROV_MARKER, 0644, xsprintf("id=%s\nhost=%s\n"
			    "image=%s\n", h->prov_id, hn, h->ctx->image), 0 },
		};
		size_t	 i, nf;

		for (nf = 0; nf < sizeof(f) / sizeof(f[0]) && f[nf].rel; nf++)
			;
		for (i = 0; i < rp.n; i++, nf++) {	/* now f's to free */
			f[nf].rel = rp.f[i].path;
			f[nf].mode = rp.f[i].mode;
			f[nf].content = rp.f[i].content;
			f[nf].unit = rp.f[i].unit;
		}
		rp.n = 0;
		rc = write_root(h, part, f, nf, &cloudinit);
		for (i = 0; i < nf; i++) {
			explicit_bzero(f[i].content, strlen(f[i].content));
			free(f[i].content);
		}
	}
	if (rc == 0) {
		/* "ssh-ed25519 BASE64 comment": pin it. */
		struct err	 ie;
		size_t		 tl = strcspn(pub, " "), bl;
		const char *b = pub + tl + (pub[tl] ? 1 : 0);
		bl = strcspn(b, " \n");
		snprintf(type, sizeof(type), "%.*s", (int)tl, pub);
		snprintf(b64, sizeof(b64), "%.*s", (int)bl, b);
		if (inv_hostkey_set(h->inv, hn, h->ctx->o.actor, type, b64, &ie)
		    != ERR_OK) {
			phost_err(h, "inventory: %s", ie.msg);
			rc = -1;
		} else if (sshkey_fp_line(pub, h->presented, NULL) == ERR_OK)
			rc = phost_note(h, "installed host key %s pinned%s",
			    h->presented, cloudinit ? "; host name, hosts and "
			    "authorized keys left to the image's cloud-init "
			    "(NoCloud seed)" : "");
	}
	if (priv) {
		explicit_bzero(priv, strlen(priv));
		free(priv);
	}
	free(pub);
	if (rc == 0 && rp.note[0] != '\0')
		rc = phost_note(h, "%s", rp.note);
	role_plan_clear(&rp);
	if (rc == 0)
		snprintf(h->why, sizeof(h->why), "provision id %s", h->prov_id);
	return rc;
}
