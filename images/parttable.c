/*
 * Just enough of MBR and GPT to tell the kernel about the partitions of
 * a freshly written image when BLKRRPART did not make their nodes appear
 * (a disk someone else has open, a kernel that refused the re-read):
 * partitions are added one by one with BLKPG, as util-linux's `partx -a`
 * does.  Every field read from the disk is bounds-checked against the
 * disk size; extended (logical) MBR partitions are left to the kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/blkpg.h>
#include <linux/fs.h>

#include "images/target_int.h"
#include "lib/xmalloc.h"

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t	 n;
	size_t	 got = 0;

	while (got < len) {
		n = pread(fd, (uint8_t *)buf + got, len - got,
		    (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
add_part(struct part_entry *p, int *n, int max, int num, uint64_t start,
    uint64_t len, uint64_t disk)
{
	if (len == 0 || start >= disk || len > disk - start || *n >= max)
		return 0;
	p[*n].num = num;
	p[*n].start = start;
	p[*n].len = len;
	(*n)++;
	return 0;
}

static int
read_gpt(int fd, uint64_t disk, uint64_t ss, struct part_entry *p, int max,
    struct err *err)
{
	uint8_t		 hdr[512], *ents;
	uint64_t	 lba, first, last;
	uint32_t	 count, esz, i;
	int		 n = 0;
	static const uint8_t zero[16];

	if (read_at(fd, hdr, sizeof(hdr), ss) == -1) {
		err_set(err, ERR_FAIL, "cannot read the GPT header");
		return -1;
	}
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return 0;
	lba = le64(hdr + 72);
	count = le32(hdr + 80);
	esz = le32(hdr + 84);
	if (count == 0 || count > 1024 || esz < 128 || esz > 1024 ||
	    (esz & 7) || lba == 0 || lba > disk / ss) {
		err_set(err, ERR_FAIL, "implausible GPT header");
		return -1;
	}
	ents = xmalloc((size_t)count * esz);
	if (read_at(fd, ents, (size_t)count * esz, lba * ss) == -1) {
		free(ents);
		err_set(err, ERR_FAIL, "cannot read the GPT entries");
		return -1;
	}
	for (i = 0; i < count; i++) {
		const uint8_t *e = ents + (size_t)i * esz;
		if (memcmp(e, zero, 16) == 0)
			continue;
		first = le64(e + 32);
		last = le64(e + 40);
		if (last < first || last >= disk / ss)
			continue;
		add_part(p, &n, max, (int)i + 1, first * ss,
		    (last - first + 1) * ss, disk);
	}
	free(ents);
	return n;
}

int
part_table_read(int fd, uint64_t disk, struct part_entry *p, int max,
    struct err *err)
{
	uint8_t		 mbr[512];
	int		 ssz = 512, i, n = 0, gpt = 0;
	uint8_t		 type;
	uint64_t	 ss;

	if (ioctl(fd, BLKSSZGET, &ssz) == -1 || ssz < 512 || ssz > 65536)
		ssz = 512;
	ss = (uint64_t)ssz;
	if (disk < 2 * ss)
		return 0;
	if (read_at(fd, mbr, sizeof(mbr), 0) == -1) {
		err_set(err, ERR_FAIL, "cannot read the partition table");
		return -1;
	}
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		return 0;
	for (i = 0; i < 4; i++)
		if (mbr[446 + 16 * i + 4] == 0xee)
			gpt = 1;
	if (gpt)
		return read_gpt(fd, disk, ss, p, max, err);
	for (i = 0; i < 4; i++) {
		const uint8_t *e = mbr + 446 + 16 * i;
		type = e[4];
		if (type == 0 || type == 0x05 || type == 0x0f || type == 0x85)
			continue;
		add_part(p, &n, max, i + 1, (uint64_t)le32(e + 8) * ss,
		    (uint64_t)le32(e + 12) * ss, disk);
	}
	return n;
}

int
part_blkpg_add(int fd, const struct part_entry *e)
{
	struct blkpg_partition	 bp;
	struct blkpg_ioctl_arg	 a;

	memset(&bp, 0, sizeof(bp));
	bp.start = (long long)e->start;
	bp.length = (long long)e->len;
	bp.pno = e->num;
	memset(&a, 0, sizeof(a));
	a.op = BLKPG_ADD_PARTITION;
	a.datalen = sizeof(bp);
	a.data = &bp;
	return ioctl(fd, BLKPG, &a);
}

static int
read_u64(const char *path, uint64_t *v)
{
	FILE		*f;
	char		 buf[32], *end;
	unsigned long long x;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end != '\0'))
		return -1;
	*v = x;
	return 0;
}

int
sysfs_parts_missing(const char *sysdir, const struct part_entry *p, int n)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];
	uint64_t	 num, start, size;
	int		 i, missing = n, *seen;

	if ((d = opendir(sysdir)) == NULL)
		return -1;
	seen = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*seen));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", sysdir,
		    de->d_name);
		if (read_u64(path, &num) == -1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/start", sysdir, de->d_name);
		if (read_u64(path, &start) == -1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/size", sysdir, de->d_name);
		if (read_u64(path, &size) == -1)
			continue;
		/* sysfs counts 512-byte sectors whatever the disk's. */
		for (i = 0; i < n; i++)
			if (!seen[i] && (uint64_t)p[i].num == num &&
			    p[i].start == start * 512 && p[i].len == size * 512) {
				seen[i] = 1;
				missing--;
			}
	}
	closedir(d);
	free(seen);
	return missing;
}
