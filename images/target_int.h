/*
 * Internals shared by target.c, write.c and parttable.c: the target
 * handle and the partition-table reader used to tell the kernel about
 * partitions after an image was written.
 */
#ifndef CASTIRON_IMAGES_TARGET_INT_H
#define CASTIRON_IMAGES_TARGET_INT_H

#include <stdint.h>

#include "lib/err.h"

struct img_target {
	int		 fd;
	int		 dfd;		/* O_DIRECT, -1 when unsupported */
	char		*path;
	uint64_t	 size;
	int		 blk;
};

#define PART_MAX	128

struct part_entry {
	int		num;		/* 1-based */
	uint64_t	start, len;	/* bytes */
};

/* Reads an MBR or GPT from the disk; returns the partitions found
 * (0: none, -1: unreadable, err set). */
int	part_table_read(int fd, uint64_t disk_size, struct part_entry *,
	    int max, struct err *);
int	part_blkpg_add(int fd, const struct part_entry *);
/* How many of the n partitions the kernel does not show as they are. */
int	sysfs_parts_missing(const char *sysdir, const struct part_entry *,
	    int n);

#endif
