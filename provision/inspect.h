/*
 * Hardware inspection of a host in its deploy environment.  One remote
 * command (INSPECT_SCRIPT, plain POSIX sh reading /proc and /sys, so it
 * runs under busybox) prints a line-oriented dump; inspect_parse() turns
 * it into facts for the inventory (accelerators among them, named from
 * pci.ids here) plus what target-disk selection needs (device numbers,
 * partitions, mounts, the root disk).  The parser and the
 * checks are pure functions, unit-tested against captured dumps.
 */
#ifndef CASTIRON_PROVISION_INSPECT_H
#define CASTIRON_PROVISION_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "inventory/inventory.h"

#define INSPECT_MAXDISKS	256
#define INSPECT_MAXPARTS	32
#define INSPECT_MAXMOUNTS	256
#define INSPECT_MAXNICS		32
#define INSPECT_MAXALIASES	512
#define INSPECT_MAXGPUS		64
#define INSPECT_PCI_IDS		"/usr/share/misc/pci.ids"	/* Debian's pci.ids */
#define INSPECT_MAXDUMP		(1024 * 1024)

/* The dump script; its output format is described in inspect.c. */
extern const char INSPECT_SCRIPT[];

struct inspect_disk {
	struct inv_disk	 d;
	char		 dev[16];	/* "8:0" */
	int		 ro;
	char		 parts[INSPECT_MAXPARTS][16];	/* their MAJ:MIN */
	size_t		 nparts;
	int		 in_use;	/* it or a partition mounted, swap, held */
	int		 is_root;	/* the deploy environment runs from it */
	int		 virtual_;	/* loop, ram, zram, dm, md, sr, fd */
};

/* An accelerator (a PCI device of class 0x03 or 0x12); g.vendor and
 * g.model hold the hex ids until inspect_pci_names finds their names. */
struct inspect_gpu {
	struct inv_gpu	 g;
	unsigned	 vendor_id, device_id;
	uint64_t	 vram_bytes;	/* what its driver says, 0: nothing */
	uint64_t	 bar_bytes;	/* its largest prefetchable memory BAR */
	unsigned	 nbars;
};

struct inspect {
	char			 cpu_model[128];
	unsigned		 cpu_cores;
	uint64_t		 memory_mb;
	char			 sys_vendor[128];
	char			 sys_product[128];
	char			 sys_serial[128];
	struct inspect_disk	 disks[INSPECT_MAXDISKS];
	size_t			 ndisks;
	struct inv_nic		 nics[INSPECT_MAXNICS];
	size_t			 nnics;
	char			 mounts[INSPECT_MAXMOUNTS][16];	/* MAJ:MIN */
	size_t			 nmounts;
	char			 rootdev[16];	/* MAJ:MIN of / */
	/* /dev/disk/by-id and by-path links: the path, the kernel name */
	struct {
		char		 path[160];
		char		 name[32];
	}			 aliases[INSPECT_MAXALIASES];
	size_t			 naliases;
	struct inspect_gpu	 gpus[INSPECT_MAXGPUS];
	size_t			 ngpus;
};

/* Parses a dump; ERR_FAIL with a reason when it is not one. */
enum err_code	inspect_parse(const char *dump, size_t len,
		    struct inspect *, struct err *);
/*
 * Names the accelerators' vendors and models from a pci.ids file (path,
 * or NULL for INSPECT_PCI_IDS); without the file, or for an id it does
 * not list, the hex ids stay.  Reads the file on the provisioning server
 * (the deploy environment has none), once for all of a host's devices.
 */
void	inspect_pci_names(struct inspect *, const char *path);
/* Fills f from in (f's arrays are allocated; inv_facts_free). */
void	inspect_to_facts(const struct inspect *, struct inv_facts *f);
/* Checks against the enrollment: every enrolled MAC present, the serial
 * equal when both are known.  ERR_FAIL with the contradiction in err. */
enum err_code	inspect_check_enrolled(const struct inspect *,
		    const struct inv_host *, struct err *);
/*
 * The target disk.  want: a device path ("/dev/sdb"), a udev link the host
 * has ("/dev/disk/by-id/..." or by-path), or NULL/"auto" for
 * the largest non-removable, non-virtual, writable disk that is not in
 * use and not the root disk.  min_bytes: the image's size.  Writes
 * "/dev/NAME" into out.  ERR_FAIL when missing, in use, read-only or too
 * small (the host fails before a byte is written).
 */
enum err_code	inspect_pick_disk(const struct inspect *, const char *want,
		    uint64_t min_bytes, char *out, size_t outlen,
		    struct err *);
/* What identifies the disk dev ("/dev/NAME") beyond its kernel name: its
 * serial (blanks made '_') and a /dev/disk/by-id link; "" when none. */
void	inspect_disk_identity(const struct inspect *, const char *dev,
	    char *serial, size_t slen, char *byid, size_t blen);
/* The disk a record "DEV [serial=S] [by-id=PATH]" names on the host now:
 * by serial first, else by the link, else (nothing identifies it, as for
 * a loop device) DEV itself.  ERR_FAIL when the disk is not there any
 * more. */
enum err_code	inspect_find_written(const struct inspect *,
		    const char *recorded, char *out, size_t outlen,
		    struct err *);

#endif
