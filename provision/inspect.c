/*
 * Inspection: the dump script, its parser, the enrollment check and the
 * choice of the target disk.
 *
 * The dump is one "key=value" per line.  "castiron-inspect 1" opens it;
 * "disk=NAME", "nic=NAME" and "pci=SLOT" open a record that the
 * following disk, NIC or accelerator keys belong to; "mount=MAJ:MIN MOUNTPOINT" lines come from
 * /proc/self/mountinfo, "swap=NAME" from /proc/swaps.  Values run to the
 * end of the line; unknown keys are skipped so that the script may grow.
 * Device numbers (MAJ:MIN) rather than names tie mounts to disks, so a
 * mount through /dev/mapper or a by-uuid path is still seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/inspect.h"

const char INSPECT_SCRIPT[] =
"LC_ALL=C; export LC_ALL\n"
/* r KEY FILE: "KEY=first line of FILE" without a fork (read is built in) */
"r() { v=; { read -r v <\"$2\"; } 2>/dev/null; echo \"$1=$v\"; }\n"
"echo 'castiron-inspect 1'\n"
"sed -n '/^model name/{s/^[^:]*:[ \t]*/cpu_model=/p;q;}' /proc/cpuinfo\n"
"echo \"cpu_cores=$(grep -c '^processor' /proc/cpuinfo)\"\n"
"sed -n 's/^MemTotal:[ \t]*\\([0-9]*\\) kB$/mem_kb=\\1/p' /proc/meminfo\n"
"for f in sys_vendor product_name product_serial; do\n"
"  [ -r /sys/class/dmi/id/$f ] && r dmi_$f /sys/class/dmi/id/$f\n"
"done\n"
"for d in /sys/block/*; do\n"
"  [ -r \"$d/dev\" ] || continue\n"
"  { read -r s <\"$d/size\"; } 2>/dev/null || s=0\n"
/* unused loop, ram and nbd devices: nothing to see, and there may be
 * thousands of them */
"  [ \"$s\" = 0 ] && continue\n"
"  n=${d##*/}\n"
"  echo \"disk=$n\"\n"
"  r dev $d/dev\n"
"  echo \"size=$s\"\n"
"  r removable $d/removable\n"
"  r rotational $d/queue/rotational\n"
"  r ro $d/ro\n"
"  r model $d/device/model\n"
"  if [ -r $d/device/serial ]; then r serial $d/device/serial; else r serial $d/serial; fi\n"
"  for h in $d/holders/*; do [ -e \"$h\" ] && echo \"holder=${h##*/}\"; done\n"
"  for p in $d/$n*; do\n"
"    [ -r \"$p/partition\" ] || continue\n"
"    { read -r mm <\"$p/dev\"; } 2>/dev/null\n"
"    echo \"part=${p##*/} $mm\"\n"
"    for h in $p/holders/*; do [ -e \"$h\" ] && echo \"holder=${h##*/}\"; done\n"
"  done\n"
"done\n"
"for i in /sys/class/net/*; do\n"
"  n=${i##*/}\n"
"  [ \"$n\" = lo ] && continue\n"
"  { read -r t <\"$i/type\"; } 2>/dev/null || t=\n"
"  [ \"$t\" = 1 ] || continue\n"
"  echo \"nic=$n\"\n"
"  r mac $i/address\n"
"  r speed $i/speed\n"
"done\n"
/* Accelerators: PCI display (0x03) and processing-accelerator (0x12)
 * devices, their ids, a driver's VRAM size (amdgpu) and the first six
 * lines of resource (the BARs). */
"for p in /sys/bus/pci/devices/*; do\n"
"  { read -r c <\"$p/class\"; } 2>/dev/null || continue\n"
"  case $c in 0x03*|0x12*) ;; *) continue ;; esac\n"
"  echo \"pci=${p##*/}\"\n"
"  echo \"class=$c\"\n"
"  r vendor $p/vendor\n"
"  r device $p/device\n"
"  [ -r $p/mem_info_vram_total ] && r vram $p/mem_info_vram_total\n"
"  i=0\n"
"  [ -r $p/resource ] && while [ $i -lt 6 ] && read -r a b f; do\n"
"    echo \"bar=$a $b $f\"; i=$((i+1))\n"
"  done <$p/resource\n"
"done\n"
/* udev's stable names (../../NAME links), for --disk /dev/disk/by-id/... */
"for l in /dev/disk/by-id/* /dev/disk/by-path/*; do\n"
"  [ -L \"$l\" ] && t=$(readlink \"$l\") && echo \"alias=$l ${t##*/}\"\n"
"done\n"
"while read -r a b c d e r; do echo \"mount=$c $e\"; done </proc/self/mountinfo\n"
"sed -n '2,$s/^\\([^ \t]*\\).*/swap=\\1/p' /proc/swaps 2>/dev/null\n"
"echo end\n";

/* Copies a value: control characters become '?', trailing blanks go. */
static void
copy_val(char *dst, size_t len, const char *v, size_t vlen)
{
	size_t	 i, n = vlen < len - 1 ? vlen : len - 1;

	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' :
		    v[i];
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t'))
		n--;
	dst[n] = '\0';
}

static void
setv(char *dst, size_t len, const char *v)
{
	copy_val(dst, len, v, strlen(v));
}

/* A MAJ:MIN device number; bounded and all digits. */
static int
valid_devno(const char *s)
{
	const char	*c = strchr(s, ':');
	size_t		 i;

	if (c == NULL || c == s || c[1] == '\0' || strlen(s) > 15)
		return 0;
	for (i = 0; s[i]; i++)
		if (s + i != c && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

static int
num(const char *v, uint64_t max, uint64_t *out)
{
	if (*v == '\0') {
		*out = 0;
		return 0;
	}
	return parse_uint(v, 0, max, out, NULL) == ERR_OK ? 0 : -1;
}

static int
is_virtual(const char *name)
{
	static const char *const pfx[] = { "loop", "ram", "zram", "dm-", "md",
	    "sr", "fd", "nbd", NULL };
	int	 i;

	for (i = 0; pfx[i]; i++)
		if (strncmp(name, pfx[i], strlen(pfx[i])) == 0)
			return 1;
	return 0;
}

/*
 * Whether name is the disk or one of its partitions, as the kernel names
 * them: sda1 of sda, nvme0n1p1 of nvme0n1 (a "p" when the disk's name
 * ends in a digit); nvme0n10p1 is not of nvme0n1.
 */
static int
part_of(const char *name, const char *disk)
{
	size_t	 n = strlen(disk);
	const char *p = name + n;

	if (n == 0 || strncmp(name, disk, n) != 0)
		return 0;
	if (*p == '\0')
		return 1;
	if (disk[n - 1] >= '0' && disk[n - 1] <= '9' && *p++ != 'p')
		return 0;
	if (*p == '\0')
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* A hex number "0x..." of at most 16 digits. */
static int
hexnum(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 n = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	for (s += 2; *s && n < 17; s++, n++) {
		int	 d = *s >= '0' && *s <= '9' ? *s - '0' :
		    *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
		    *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0 || n > 16 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A PCI slot as sysfs names it: 0000:3b:00.0 (hex, ':' and '.'). */
static int
valid_slot(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 7 && n < 16 && strspn(s, "0123456789abcdef:.") == n;
}

#define PCI_RES_MEM		0x200	/* IORESOURCE_MEM */
#define PCI_RES_PREFETCH	0x2000	/* IORESOURCE_PREFETCH */

/* One key of an accelerator's record. */
static void
gpu_key(struct inspect_gpu *g, const char *key, const char *val)
{
	uint64_t	 u, a, b, fl;
	char		 t[3][24];
	const char	*p = val;
	size_t		 i, n;

	if (strcmp(key, "vendor") == 0 && hexnum(val, 0xffff, &u) == 0) {
		g->vendor_id = (unsigned)u;
		snprintf(g->g.vendor, sizeof(g->g.vendor), "%04x",
		    g->vendor_id);
	} else if (strcmp(key, "device") == 0 && hexnum(val, 0xffff, &u) == 0) {
		g->device_id = (unsigned)u;
		snprintf(g->g.model, sizeof(g->g.model), "%04x", g->device_id);
	} else if (strcmp(key, "vram") == 0 && num(val, UINT64_MAX / 2,
	    &u) == 0)
		g->vram_bytes = u;
	else if (strcmp(key, "bar") == 0 && g->nbars < 6) {
		g->nbars++;
		for (i = 0; i < 3; i++) {
			p += strspn(p, " ");
			n = strcspn(p, " ");
			if (n == 0 || n >= sizeof(t[i]))
				return;
			memcpy(t[i], p, n);
			t[i][n] = '\0';
			p += n;
		}
		if (hexnum(t[0], UINT64_MAX, &a) == -1 ||
		    hexnum(t[1], UINT64_MAX, &b) == -1 ||
		    hexnum(t[2], UINT64_MAX, &fl) == -1)
			return;
		if ((fl & PCI_RES_MEM) && (fl & PCI_RES_PREFETCH) && a != 0 &&
		    b > a && b - a + 1 > g->bar_bytes)
			g->bar_bytes = b - a + 1;
	}
}

static struct inspect_disk *
disk_by_partname(struct inspect *in, const char *name)
{
	size_t	 i;

	for (i = 0; i < in->ndisks; i++)
		if (part_of(name, in->disks[i].d.name))
			return &in->disks[i];
	return NULL;
}

enum err_code
inspect_parse(const char *dump, size_t len, struct inspect *in, struct err *err)
{
	const char		*p = dump, *end = dump + len, *nl;
	char			 key[32], val[1024];
	struct inspect_disk	*disk = NULL;
	struct inv_nic		*nic = NULL;
	struct inspect_gpu	*gpu = NULL;
	uint64_t		 u;
	unsigned		 lineno = 0;
	int			 seen_hdr = 0, seen_end = 0;
	size_t			 i, j;

	memset(in, 0, sizeof(*in));
	if (len > INSPECT_MAXDUMP) {
		return err_set(err, ERR_FAIL, "inspection output too large "
		    "(%zu bytes)", len);
	}
	for (; p < end; p = nl + 1) {
		const char	*eq;
		size_t		 ll, kl;

		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		if (!seen_hdr) {
			if (ll == 18 && memcmp(p, "castiron-inspect 1", 18) == 0) {
				seen_hdr = 1;
				continue;
			}
			return err_set(err, ERR_FAIL, "inspection output does "
			    "not start with 'castiron-inspect 1'");
		}
		if (ll == 3 && memcmp(p, "end", 3) == 0) {
			seen_end = 1;
			break;
		}
		if ((eq = memchr(p, '=', ll)) == NULL)
			continue;	/* noise (a stray error message) */
		kl = (size_t)(eq - p);
		if (kl == 0 || kl >= sizeof(key))
			continue;
		memcpy(key, p, kl);
		key[kl] = '\0';
		copy_val(val, sizeof(val), eq + 1, ll - kl - 1);

		if (strcmp(key, "cpu_model") == 0)
			copy_val(in->cpu_model, sizeof(in->cpu_model), val,
			    strlen(val));
		else if (strcmp(key, "cpu_cores") == 0 &&
		    num(val, 1 << 20, &u) == 0)
			in->cpu_cores = (unsigned)u;
		else if (strcmp(key, "mem_kb") == 0 &&
		    num(val, UINT64_MAX / 2, &u) == 0)
			in->memory_mb = u / 1024;
		else if (strcmp(key, "dmi_sys_vendor") == 0)
			setv(in->sys_vendor, sizeof(in->sys_vendor), val);
		else if (strcmp(key, "dmi_product_name") == 0)
			setv(in->sys_product, sizeof(in->sys_product), val);
		else if (strcmp(key, "dmi_product_serial") == 0)
			setv(in->sys_serial, sizeof(in->sys_serial), val);
		else if (strcmp(key, "pci") == 0) {
			disk = NULL;
			nic = NULL;
			gpu = NULL;
			if (in->ngpus == INSPECT_MAXGPUS || !valid_slot(val))
				continue;
			gpu = &in->gpus[in->ngpus++];
			setv(gpu->g.pci_slot, sizeof(gpu->g.pci_slot), val);
		} else if (strcmp(key, "disk") == 0) {
			nic = NULL;
			disk = NULL;
			gpu = NULL;
			if (*val == '\0' || strchr(val, '/') != NULL)
				continue;
			if (in->ndisks == INSPECT_MAXDISKS) {
				/* Full: a real disk still takes the place
				 * of a loop or ram device. */
				if (is_virtual(val))
					continue;
				for (i = in->ndisks; i > 0; i--)
					if (in->disks[i - 1].virtual_)
						break;
				if (i == 0)
					continue;
				disk = &in->disks[i - 1];
				memset(disk, 0, sizeof(*disk));
			} else
				disk = &in->disks[in->ndisks++];
			setv(disk->d.name, sizeof(disk->d.name), val);
			disk->virtual_ = is_virtual(val);
		} else if (strcmp(key, "nic") == 0) {
			disk = NULL;
			nic = NULL;
			gpu = NULL;
			if (in->nnics == INSPECT_MAXNICS || *val == '\0')
				continue;
			nic = &in->nics[in->nnics++];
			setv(nic->name, sizeof(nic->name), val);
		} else if (strcmp(key, "mount") == 0) {
			char	*sp = strchr(val, ' ');
			disk = NULL;
			nic = NULL;
			gpu = NULL;
			if (sp == NULL)
				continue;
			*sp = '\0';
			if (!valid_devno(val))
				continue;
			if (strcmp(sp + 1, "/") == 0)
				setv(in->rootdev, sizeof(in->rootdev), val);
			if (in->nmounts < INSPECT_MAXMOUNTS)
				setv(in->mounts[in->nmounts++], 16, val);
		} else if (strcmp(key, "alias") == 0) {
			char	*sp = strrchr(val, ' ');
			disk = NULL;
			nic = NULL;
			gpu = NULL;
			if (sp == NULL || in->naliases == INSPECT_MAXALIASES)
				continue;
			*sp++ = '\0';
			if (strncmp(val, "/dev/disk/", 10) != 0 || *sp == '\0' ||
			    strchr(sp, '/') != NULL ||
			    strlen(val) >= sizeof(in->aliases[0].path) ||
			    strlen(sp) >= sizeof(in->aliases[0].name))
				continue;
			setv(in->aliases[in->naliases].path,
			    sizeof(in->aliases[0].path), val);
			setv(in->aliases[in->naliases].name,
			    sizeof(in->aliases[0].name), sp);
			in->naliases++;
		} else if (strcmp(key, "swap") == 0) {
			const char *b = strrchr(val, '/');
			struct inspect_disk *sd;
			b = b ? b + 1 : val;
			gpu = NULL;
			if ((sd = disk_by_partname(in, b)) != NULL)
				sd->in_use = 1;
		} else if (gpu != NULL && strcmp(key, "class") == 0) {
			/* 0x030200: class and subclass, 03 or 12 only */
			if (hexnum(val, 0xffffff, &u) == -1 ||
			    (u >> 16 != 0x03 && u >> 16 != 0x12)) {
				in->ngpus--;
				gpu = NULL;
				continue;
			}
			snprintf(gpu->g.class, sizeof(gpu->g.class), "%04x",
			    (unsigned)(u >> 8));
		} else if (gpu != NULL)
			gpu_key(gpu, key, val);
		else if (disk != NULL) {
			if (strcmp(key, "dev") == 0 && valid_devno(val))
				setv(disk->dev, sizeof(disk->dev), val);
			else if (strcmp(key, "size") == 0 &&
			    num(val, UINT64_MAX / 512, &u) == 0)
				disk->d.size_bytes = u * 512;
			else if (strcmp(key, "removable") == 0)
				disk->d.removable = strcmp(val, "1") == 0;
			else if (strcmp(key, "rotational") == 0)
				disk->d.rotational = strcmp(val, "1") == 0;
			else if (strcmp(key, "ro") == 0)
				disk->ro = strcmp(val, "1") == 0;
			else if (strcmp(key, "model") == 0)
				setv(disk->d.model, sizeof(disk->d.model), val);
			else if (strcmp(key, "serial") == 0)
				setv(disk->d.serial, sizeof(disk->d.serial), val);
			else if (strcmp(key, "holder") == 0)
				disk->in_use = 1;
			else if (strcmp(key, "part") == 0) {
				char *sp = strchr(val, ' ');
				if (sp && valid_devno(sp + 1) &&
				    disk->nparts < INSPECT_MAXPARTS)
					setv(disk->parts[disk->nparts++],
					    16, sp + 1);
			}
		} else if (nic != NULL) {
			char	 mac[18];
			if (strcmp(key, "mac") == 0 &&
			    parse_mac(val, mac, NULL) == ERR_OK)
				memcpy(nic->mac, mac, sizeof(nic->mac));
			else if (strcmp(key, "speed") == 0 &&
			    num(val, 1ULL << 32, &u) == 0)
				nic->speed_mbps = u;
		}
	}
	if (!seen_hdr || !seen_end) {
		return err_set(err, ERR_FAIL, "inspection output is truncated "
		    "(%u lines, no end marker)", lineno);
	}
	/* Tie mounts to disks by device number. */
	for (i = 0; i < in->ndisks; i++) {
		struct inspect_disk *d = &in->disks[i];
		for (j = 0; j < in->nmounts; j++) {
			size_t k;
			int hit = strcmp(d->dev, in->mounts[j]) == 0;
			for (k = 0; !hit && k < d->nparts; k++)
				hit = strcmp(d->parts[k], in->mounts[j]) == 0;
			if (!hit)
				continue;
			d->in_use = 1;
			if (strcmp(in->mounts[j], in->rootdev) == 0)
				d->is_root = 1;
		}
	}
	/* A NIC without a MAC is no use to the inventory, nor a PCI device
	 * whose class or ids did not come. */
	for (i = 0, j = 0; i < in->nnics; i++)
		if (in->nics[i].mac[0])
			in->nics[j++] = in->nics[i];
	in->nnics = j;
	for (i = 0, j = 0; i < in->ngpus; i++) {
		struct inspect_gpu *g = &in->gpus[i];

		if (g->g.class[0] == '\0' || g->g.vendor[0] == '\0' ||
		    g->g.model[0] == '\0')
			continue;
		g->g.memory_mb = g->vram_bytes ? (int64_t)(g->vram_bytes >> 20) :
		    g->bar_bytes ? (int64_t)(g->bar_bytes >> 20) : -1;
		in->gpus[j++] = *g;
	}
	in->ngpus = j;
	return ERR_OK;
}

/* A pci.ids line "ID  NAME" after depth tabs: the id, or -1. */
static long
ids_line(const char *line, int depth, const char **name)
{
	uint64_t	 id = 0;
	int		 i;

	for (i = 0; i < depth; i++)
		if (line[i] != '\t')
			return -1;
	line += depth;
	if (line[0] == '\t')
		return -1;
	for (i = 0; i < 4; i++) {
		int	 c = line[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		id = id << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (line[4] != ' ' || line[5] != ' ' || line[6] == '\0')
		return -1;
	*name = line + 6;
	return (long)id;
}

void
inspect_pci_names(struct inspect *in, const char *path)
{
	char		 line[512];
	const char	*name;
	long		 vendor = -1, id;
	size_t		 i, n;
	FILE		*f;

	if (in->ngpus == 0 || (f = fopen(path ? path : INSPECT_PCI_IDS,
	    "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((n = strcspn(line, "\n")) == sizeof(line) - 1) {
			int	 c;	/* longer than any name: skip the rest */

			while ((c = getc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line[n] = '\0';
		if (line[0] == 'C' && line[1] == ' ')
			break;		/* the device classes: no vendor after */
		if ((id = ids_line(line, 0, &name)) >= 0) {
			vendor = id;
			for (i = 0; i < in->ngpus; i++)
				if (in->gpus[i].vendor_id == (unsigned)id)
					setv(in->gpus[i].g.vendor,
					    sizeof(in->gpus[i].g.vendor), name);
		} else if (vendor >= 0 && (id = ids_line(line, 1, &name)) >= 0) {
			for (i = 0; i < in->ngpus; i++)
				if (in->gpus[i].vendor_id == (unsigned)vendor &&
				    in->gpus[i].device_id == (unsigned)id)
					setv(in->gpus[i].g.model,
					    sizeof(in->gpus[i].g.model), name);
		}
	}
	fclose(f);
}

void
inspect_to_facts(const struct inspect *in, struct inv_facts *f)
{
	size_t	 i, n = 0;

	memset(f, 0, sizeof(*f));
	snprintf(f->cpu_model, sizeof(f->cpu_model), "%s", in->cpu_model);
	f->cpu_cores = in->cpu_cores;
	f->memory_mb = in->memory_mb;
	snprintf(f->sys_vendor, sizeof(f->sys_vendor), "%s", in->sys_vendor);
	snprintf(f->sys_product, sizeof(f->sys_product), "%s", in->sys_product);
	snprintf(f->sys_serial, sizeof(f->sys_serial), "%s", in->sys_serial);
	/* Disks: the real ones; loop and ram devices are not hardware. */
	f->disks = xcalloc(in->ndisks ? in->ndisks : 1, sizeof(*f->disks));
	for (i = 0; i < in->ndisks; i++)
		if (!in->disks[i].virtual_ && in->disks[i].d.size_bytes > 0)
			f->disks[n++] = in->disks[i].d;
	f->ndisks = n;
	f->nics = xcalloc(in->nnics ? in->nnics : 1, sizeof(*f->nics));
	memcpy(f->nics, in->nics, in->nnics * sizeof(*f->nics));
	f->nnics = in->nnics;
	f->gpus = xcalloc(in->ngpus ? in->ngpus : 1, sizeof(*f->gpus));
	for (i = 0; i < in->ngpus; i++)
		f->gpus[i] = in->gpus[i].g;
	f->ngpus = in->ngpus;
}

enum err_code
inspect_check_enrolled(const struct inspect *in, const struct inv_host *h,
    struct err *err)
{
	size_t	 i, j;

	for (i = 0; i < h->nmacs; i++) {
		for (j = 0; j < in->nnics; j++)
			if (strcasecmp(h->macs[i], in->nics[j].mac) == 0)
				break;
		if (j == in->nnics) {
			char	 seen[256] = "";
			for (j = 0; j < in->nnics; j++) {
				if (j)
					strncat(seen, ", ", sizeof(seen) -
					    strlen(seen) - 1);
				strncat(seen, in->nics[j].mac, sizeof(seen) -
				    strlen(seen) - 1);
			}
			return err_set(err, ERR_FAIL, "%s: enrolled MAC %s not "
			    "found on the host (it has: %s)", h->hostname,
			    h->macs[i], *seen ? seen : "no NICs");
		}
	}
	if (h->serial[0] && in->sys_serial[0] &&
	    strcmp(h->serial, in->sys_serial) != 0) {
		return err_set(err, ERR_FAIL, "%s: system serial %s does not "
		    "match the enrolled serial %s", h->hostname, in->sys_serial,
		    h->serial);
	}
	return ERR_OK;
}

static enum err_code
disk_usable(const struct inspect_disk *d, uint64_t min_bytes, struct err *err)
{
	char	 a[32], b[32];

	if (d->in_use || d->is_root) {
		return err_set(err, ERR_FAIL, "target disk /dev/%s is in use "
		    "(mounted, swap or held); refused before writing",
		    d->d.name);
	}
	if (d->ro) {
		return err_set(err, ERR_FAIL, "target disk /dev/%s is "
		    "read-only", d->d.name);
	}
	if (d->d.size_bytes < min_bytes) {
		return err_set(err, ERR_FAIL, "target disk /dev/%s is too "
		    "small: %s, the image needs %s", d->d.name,
		    fmt_size(d->d.size_bytes, a, sizeof(a)), fmt_size(min_bytes,
		    b, sizeof(b)));
	}
	return ERR_OK;
}

enum err_code
inspect_pick_disk(const struct inspect *in, const char *want,
    uint64_t min_bytes, char *out, size_t outlen, struct err *err)
{
	const struct inspect_disk	*best = NULL;
	size_t				 i;

	if (want && *want && strcmp(want, "auto") != 0) {
		const char *name = strncmp(want, "/dev/", 5) == 0 ? want + 5 :
		    want;

		if (strncmp(want, "/dev/disk/", 10) == 0) {
			for (i = 0; i < in->naliases; i++)
				if (strcmp(in->aliases[i].path, want) == 0)
					break;
			if (i == in->naliases) {
				return err_set(err, ERR_FAIL, "target disk %s "
				    "not found on the host (no such link)",
				    want);
			}
			name = in->aliases[i].name;
		}
		for (i = 0; i < in->ndisks; i++)
			if (strcmp(in->disks[i].d.name, name) == 0)
				break;
		if (i == in->ndisks) {
			return err_set(err, ERR_FAIL, "target disk %s not "
			    "found on the host", want);
		}
		if (disk_usable(&in->disks[i], min_bytes, err) != ERR_OK)
			return ERR_FAIL;
		snprintf(out, outlen, "/dev/%s", in->disks[i].d.name);
		return ERR_OK;
	}
	for (i = 0; i < in->ndisks; i++) {
		const struct inspect_disk *d = &in->disks[i];
		if (d->virtual_ || d->d.removable || d->in_use || d->is_root ||
		    d->ro || d->d.size_bytes == 0)
			continue;
		if (best == NULL || d->d.size_bytes > best->d.size_bytes)
			best = d;
	}
	if (best == NULL) {
		return err_set(err, ERR_FAIL, "no target disk: every disk is "
		    "removable, virtual, read-only or in use");
	}
	if (disk_usable(best, min_bytes, err) != ERR_OK)
		return ERR_FAIL;
	snprintf(out, outlen, "/dev/%s", best->d.name);
	return ERR_OK;
}

/* Serials as they are recorded: no blanks (the record is one line of
 * words). */
static void
serial_word(const char *s, char *out, size_t len)
{
	size_t	 i;

	snprintf(out, len, "%s", s);
	for (i = 0; out[i]; i++)
		if (out[i] == ' ' || out[i] == '\t' || out[i] == '=')
			out[i] = '_';
}

void
inspect_disk_identity(const struct inspect *in, const char *dev,
    char *serial, size_t slen, char *byid, size_t blen)
{
	const char	*name = strncmp(dev, "/dev/", 5) == 0 ? dev + 5 : dev;
	size_t		 i;

	serial[0] = byid[0] = '\0';
	for (i = 0; i < in->ndisks; i++)
		if (strcmp(in->disks[i].d.name, name) == 0)
			serial_word(in->disks[i].d.serial, serial, slen);
	for (i = 0; i < in->naliases; i++)
		if (strcmp(in->aliases[i].name, name) == 0 &&
		    strncmp(in->aliases[i].path, "/dev/disk/by-id/", 16) == 0) {
			snprintf(byid, blen, "%s", in->aliases[i].path);
			break;
		}
}

enum err_code
inspect_find_written(const struct inspect *in, const char *recorded,
    char *out, size_t outlen, struct err *err)
{
	char		 dev[256] = "", serial[128] = "", byid[256] = "";
	char		 w[128];
	const char	*p = recorded;
	size_t		 i, n;

	/* "DEV [serial=S] [by-id=PATH]" */
	n = strcspn(p, " ");
	if (n == 0 || n >= sizeof(dev)) {
		return err_set(err, ERR_FAIL, "no disk recorded");
	}
	memcpy(dev, p, n);
	for (p += n; *p == ' '; p++) {
		n = strcspn(p + 1, " ");
		if (strncmp(p + 1, "serial=", 7) == 0 && n - 7 < sizeof(serial))
			snprintf(serial, sizeof(serial), "%.*s", (int)(n - 7),
			    p + 8);
		else if (strncmp(p + 1, "by-id=", 6) == 0 && n - 6 <
		    sizeof(byid))
			snprintf(byid, sizeof(byid), "%.*s", (int)(n - 6), p + 7);
		p += n;
	}
	if (*serial) {
		for (i = 0; i < in->ndisks; i++) {
			serial_word(in->disks[i].d.serial, w, sizeof(w));
			if (strcmp(w, serial) == 0) {
				snprintf(out, outlen, "/dev/%s",
				    in->disks[i].d.name);
				return ERR_OK;
			}
		}
		return err_set(err, ERR_FAIL, "the disk the image was written "
		    "to (serial %s, then %s) is not on the host now", serial,
		    dev);
	}
	if (*byid) {
		for (i = 0; i < in->naliases; i++)
			if (strcmp(in->aliases[i].path, byid) == 0) {
				snprintf(out, outlen, "/dev/%s",
				    in->aliases[i].name);
				return ERR_OK;
			}
		return err_set(err, ERR_FAIL, "the disk the image was written "
		    "to (%s, then %s) is not on the host now", byid, dev);
	}
	/* No identity to go by (a loop device): the name it had. */
	snprintf(out, outlen, "%s", dev);
	return ERR_OK;
}
