/*
 * Unit tests for provision/inspect.c: the dump parser on a captured
 * server listing (SATA root disk, a bigger NVMe, a USB stick, loop and
 * zram devices, a mounted data disk), truncated and hostile dumps, the
 * enrollment check, every rule of target disk selection, and
 * accelerators with their names from a pci.ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "provision/inspect.h"

static struct err err;

/* Captured from a 1U server in its deploy environment (trimmed). */
static const char DUMP[] =
"castiron-inspect 1\n"
"cpu_model=Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz\n"
"cpu_cores=32\n"
"mem_kb=131598596\n"
"dmi_sys_vendor=Supermicro\n"
"dmi_product_name=SYS-1029P-WTR  \n"
"dmi_product_serial=S123456X9\n"
"disk=loop0\ndev=7:0\nsize=1048576\nremovable=0\nrotational=0\nro=0\nmodel=\nserial=\n"
"disk=sda\ndev=8:0\nsize=937703088\nremovable=0\nrotational=0\nro=0\n"
"model=SAMSUNG MZ7LH480   \nserial=S45PNA0M123456\n"
"part=sda1 8:1\npart=sda2 8:2\n"
"disk=sdb\ndev=8:16\nsize=60437492\nremovable=1\nrotational=0\nro=0\n"
"model=Cruzer Blade\nserial=\n"
"disk=sdc\ndev=8:32\nsize=7814037168\nremovable=0\nrotational=1\nro=0\n"
"model=ST4000NM000A\nserial=ZC1ABCDE\npart=sdc1 8:33\n"
"disk=nvme0n1\ndev=259:0\nsize=3750748848\nremovable=0\nrotational=0\nro=0\n"
"model=SAMSUNG MZQL21T9HCJR-00A07\nserial=S64GNE0R000001\n"
"disk=zram0\ndev=252:0\nsize=8388608\nremovable=0\nrotational=0\nro=0\n"
"nic=eno1\nmac=3C:EC:EF:00:11:22\nspeed=25000\n"
"nic=eno2\nmac=3c:ec:ef:00:11:23\nspeed=-1\n"
"nic=bond0\nmac=\nspeed=\n"
"mount=0:21 /proc\n"
"mount=8:2 /\n"
"mount=8:33 /srv/data\n"
"swap=/dev/zram0\n"
"alias=/dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R000001 nvme0n1\n"
"alias=/dev/disk/by-id/ata-SAMSUNG_MZ7LH480_S45PNA0M123456 sda\n"
"alias=/dev/disk/by-id/ata-SAMSUNG_MZ7LH480_S45PNA0M123456-part2 sda2\n"
"alias=/dev/disk/by-path/pci-0000:3b:00.0-ata-1 sda\n"
"alias=/etc/passwd sda\n"
"alias=/dev/disk/by-id/evil ../sda\n"
"end\n";

static void
t_parse_facts(void **st)
{
	struct inspect		 in;
	struct inv_facts	 f;
	(void)st;
	assert_int_equal(inspect_parse(DUMP, strlen(DUMP), &in, &err), ERR_OK);
	assert_string_equal(in.cpu_model,
	    "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz");
	assert_int_equal(in.cpu_cores, 32);
	assert_int_equal(in.memory_mb, 131598596 / 1024);
	assert_string_equal(in.sys_product, "SYS-1029P-WTR");
	assert_string_equal(in.sys_serial, "S123456X9");
	assert_int_equal(in.ndisks, 6);
	assert_string_equal(in.disks[1].d.model, "SAMSUNG MZ7LH480");
	assert_int_equal(in.disks[1].d.size_bytes, 937703088ULL * 512);
	assert_true(in.disks[1].is_root);
	assert_true(in.disks[1].in_use);
	assert_true(in.disks[3].in_use);	/* sdc1 mounted */
	assert_false(in.disks[3].is_root);
	assert_true(in.disks[2].d.removable);
	assert_true(in.disks[5].in_use);	/* swap on zram0 */
	assert_int_equal(in.nnics, 2);		/* bond0 has no MAC */
	assert_string_equal(in.nics[0].mac, "3c:ec:ef:00:11:22");
	assert_int_equal(in.nics[0].speed_mbps, 25000);
	assert_int_equal(in.nics[1].speed_mbps, 0);
	inspect_to_facts(&in, &f);
	assert_int_equal(f.ndisks, 4);		/* no loop, no zram */
	assert_int_equal(f.nnics, 2);
	assert_int_equal(f.ngpus, 0);
	free(f.disks);
	free(f.nics);
	free(f.gpus);
}

static void
t_parse_bad(void **st)
{
	struct inspect	 in;
	const char	*trunc = "castiron-inspect 1\ncpu_cores=4\ndisk=sda\n";
	const char	*nohdr = "cpu_cores=4\nend\n";
	(void)st;
	assert_int_equal(inspect_parse(trunc, strlen(trunc), &in, &err),
	    ERR_FAIL);
	assert_non_null(strstr(err.msg, "truncated"));
	assert_int_equal(inspect_parse(nohdr, strlen(nohdr), &in, &err),
	    ERR_FAIL);
	assert_int_equal(inspect_parse("", 0, &in, &err), ERR_FAIL);
}

static void
t_parse_hostile(void **st)
{
	struct inspect	 in;
	char		*big;
	size_t		 i, n = 0;
	const char	*evil = "castiron-inspect 1\n"
	    "cpu_model=\x1b[2Jevil\x07\n"
	    "cpu_cores=99999999999999999999\n"
	    "disk=../../etc\nsize=1\n"
	    "disk=sda\ndev=8:0x\nsize=-5\npart=sda1 a:b\n"
	    "mount=not-a-devno /\n"
	    "=novalue\nkeywithoutvalue\n"
	    "end\n";
	(void)st;
	assert_int_equal(inspect_parse(evil, strlen(evil), &in, &err), ERR_OK);
	assert_string_equal(in.cpu_model, "?[2Jevil?");
	assert_int_equal(in.cpu_cores, 0);
	assert_int_equal(in.ndisks, 1);		/* the '/' name is dropped */
	assert_string_equal(in.disks[0].dev, "");
	assert_int_equal(in.disks[0].nparts, 0);
	assert_string_equal(in.rootdev, "");
	/* More disks than the limit: bounded, not overflowing. */
	big = malloc(302 * 64 + 64);
	n += (size_t)snprintf(big, 64, "castiron-inspect 1\n");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(big + n, 64, "disk=loop%zu\nsize=8\n", i);
	n += (size_t)snprintf(big + n, 64, "disk=sda\nsize=8\n");
	n += (size_t)snprintf(big + n, 64, "end\n");
	assert_int_equal(inspect_parse(big, n, &in, &err), ERR_OK);
	assert_int_equal(in.ndisks, INSPECT_MAXDISKS);
	/* the real disk is kept although the table was full of loops */
	assert_string_equal(in.disks[INSPECT_MAXDISKS - 1].d.name, "sda");
	free(big);
}

static void
t_enrolled(void **st)
{
	struct inspect	 in;
	struct inv_host	 h;
	(void)st;
	assert_int_equal(inspect_parse(DUMP, strlen(DUMP), &in, &err), ERR_OK);
	memset(&h, 0, sizeof(h));
	strcpy(h.hostname, "web1");
	strcpy(h.macs[0], "3c:ec:ef:00:11:23");
	h.nmacs = 1;
	assert_int_equal(inspect_check_enrolled(&in, &h, &err), ERR_OK);
	strcpy(h.macs[1], "3c:ec:ef:00:11:99");
	h.nmacs = 2;
	assert_int_equal(inspect_check_enrolled(&in, &h, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "3c:ec:ef:00:11:99"));
	assert_non_null(strstr(err.msg, "3c:ec:ef:00:11:22"));
	h.nmacs = 1;
	strcpy(h.serial, "OTHER");
	assert_int_equal(inspect_check_enrolled(&in, &h, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "S123456X9"));
	strcpy(h.serial, "S123456X9");
	assert_int_equal(inspect_check_enrolled(&in, &h, &err), ERR_OK);
}

static void
t_pick(void **st)
{
	struct inspect	 in;
	char		 out[64];
	(void)st;
	assert_int_equal(inspect_parse(DUMP, strlen(DUMP), &in, &err), ERR_OK);
	/* auto: sdc is biggest but mounted; sda is root; sdb removable. */
	assert_int_equal(inspect_pick_disk(&in, "auto", 1 << 30, out,
	    sizeof(out), &err), ERR_OK);
	assert_string_equal(out, "/dev/nvme0n1");
	assert_int_equal(inspect_pick_disk(&in, NULL, 1 << 30, out,
	    sizeof(out), &err), ERR_OK);
	assert_string_equal(out, "/dev/nvme0n1");
	/* auto, too small */
	assert_int_equal(inspect_pick_disk(&in, "auto", 4ULL << 40, out,
	    sizeof(out), &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "too small"));
	/* explicit */
	assert_int_equal(inspect_pick_disk(&in, "/dev/sdc", 1, out,
	    sizeof(out), &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "in use"));
	assert_int_equal(inspect_pick_disk(&in, "/dev/sda", 1, out,
	    sizeof(out), &err), ERR_FAIL);
	assert_int_equal(inspect_pick_disk(&in, "/dev/sdz", 1, out,
	    sizeof(out), &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "not found"));
	assert_int_equal(inspect_pick_disk(&in, "/dev/loop0", 1024, out,
	    sizeof(out), &err), ERR_OK);
	assert_string_equal(out, "/dev/loop0");
	assert_int_equal(inspect_pick_disk(&in, "/dev/loop0", 1 << 30, out,
	    sizeof(out), &err), ERR_FAIL);
	/* udev links: resolved to the kernel name, then the same rules */
	assert_int_equal(in.naliases, 4);	/* not /etc/passwd, not ../ */
	assert_int_equal(inspect_pick_disk(&in, "/dev/disk/by-id/nvme-SAMSUNG_"
	    "MZQL21T9HCJR-00A07_S64GNE0R000001", 1 << 30, out, sizeof(out),
	    &err), ERR_OK);
	assert_string_equal(out, "/dev/nvme0n1");
	assert_int_equal(inspect_pick_disk(&in, "/dev/disk/by-path/"
	    "pci-0000:3b:00.0-ata-1", 1, out, sizeof(out), &err), ERR_FAIL);
	/* the root disk */
	assert_non_null(strstr(err.msg, "/dev/sda is in use"));
	assert_int_equal(inspect_pick_disk(&in,
	    "/dev/disk/by-id/ata-SAMSUNG_MZ7LH480_S45PNA0M123456-part2", 1, out,
	    sizeof(out), &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "not found"));	/* a partition */
	assert_int_equal(inspect_pick_disk(&in, "/dev/disk/by-id/wwn-0x5000",
	    1, out, sizeof(out), &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "no such link"));
}

/* Swap is attributed to its own disk only: nvme0n10p1 is not nvme0n1's,
 * sda10 is sda's. */
static void
t_swap_owner(void **st)
{
	static const char dump[] =
	"castiron-inspect 1\n"
	"disk=nvme0n1\ndev=259:0\nsize=1000\nremovable=0\nrotational=0\nro=0\n"
	"disk=nvme0n10\ndev=259:9\nsize=1000\nremovable=0\nrotational=0\nro=0\n"
	"disk=sda\ndev=8:0\nsize=1000\nremovable=0\nrotational=0\nro=0\n"
	"disk=sdb\ndev=8:16\nsize=1000\nremovable=0\nrotational=0\nro=0\n"
	"swap=/dev/nvme0n10p1\n"
	"swap=/dev/sda10\n"
	"swap=/dev/sdbx\n"
	"end\n";
	struct inspect	 in;

	(void)st;
	assert_int_equal(inspect_parse(dump, strlen(dump), &in, &err), ERR_OK);
	assert_int_equal(in.ndisks, 4);
	assert_false(in.disks[0].in_use);	/* nvme0n1 */
	assert_true(in.disks[1].in_use);	/* nvme0n10 */
	assert_true(in.disks[2].in_use);	/* sda */
	assert_false(in.disks[3].in_use);	/* sdb: sdbx is no partition */
}

/* Accelerators: display (0x03) and processing-accelerator (0x12) PCI
 * devices as the script prints them from /sys/bus/pci/devices; memory
 * from the driver's VRAM size, else the largest prefetchable BAR. */
static const char GPUDUMP[] =
"castiron-inspect 1\n"
"disk=sda\ndev=8:0\nsize=1000\n"
"pci=0000:03:00.0\nclass=0x030000\nvendor=0x1a03\ndevice=0x2000\n"
"bar=0x00000000f0000000 0x00000000f0ffffff 0x0000000000040200\n"
"bar=0x00000000f1000000 0x00000000f101ffff 0x0000000000040200\n"
"pci=0000:17:00.0\nclass=0x030200\nvendor=0x10de\ndevice=0x20b0\n"
"bar=0x00000000e0000000 0x00000000e0ffffff 0x0000000000040200\n"
"bar=0x0000200000000000 0x0000200fffffffff 0x000000000014220c\n"
"bar=0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
"bar=0x0000201000000000 0x0000201001ffffff 0x000000000014220c\n"
"pci=0000:c1:00.0\nclass=0x038000\nvendor=0x1002\ndevice=0x740f\n"
"vram=68702699520\n"
"bar=0x0000300000000000 0x00003007ffffffff 0x000000000014220c\n"
"pci=0000:d1:00.0\nclass=0x120000\nvendor=0x1e52\ndevice=0x0001\n"
"pci=0000:e1:00.0\nclass=0x020000\nvendor=0x8086\ndevice=0x1572\n"
"pci=../../etc\nclass=0x030000\nvendor=0x10de\ndevice=0x20b0\n"
"pci=0000:f1:00.0\nclass=0x030200\nvendor=0x10dez\ndevice=0x20b0\n"
"pci=0000:f2:00.0\nclass=0x030200\nvendor=0x10de\ndevice=0x20b0\n"
"bar=0x0000400000000000 0xzz 0x000000000014220c\n"
"mount=8:0 /\n"
"end\n";

static const char PCI_IDS[] =
"# a pci.ids of a few lines\n"
"1002  Advanced Micro Devices, Inc. [AMD/ATI]\n"
"\t740f  Aldebaran/MI200 [Instinct MI210]\n"
"\t\t1002 0c34  Instinct MI210\n"
"10de  NVIDIA Corporation\n"
"\t20b0  GA100 [A100 SXM4 40GB]\n"
"1a03  ASPEED Technology, Inc.\n"
"\t2000  ASPEED Graphics Family\n"
"C 03  Display controller\n"
"1e52  not a vendor: after the classes\n";

static void
t_gpus(void **st)
{
	struct inspect		 in;
	struct inv_facts	 f;
	char			 ids[] = "/tmp/castiron-pciids.XXXXXX";
	FILE			*fp;
	int			 fd;

	(void)st;
	assert_int_equal(inspect_parse(GPUDUMP, strlen(GPUDUMP), &in, &err),
	    ERR_OK);
	assert_true(in.disks[0].in_use);	/* the records after it still
						   parsed */
	/* the NIC, the '/' slot and the bad vendor id are not kept */
	assert_int_equal(in.ngpus, 5);
	assert_string_equal(in.gpus[0].g.pci_slot, "0000:03:00.0");
	assert_string_equal(in.gpus[0].g.class, "0300");
	assert_string_equal(in.gpus[0].g.vendor, "1a03");	/* no names yet */
	assert_string_equal(in.gpus[0].g.model, "2000");
	assert_int_equal(in.gpus[0].g.memory_mb, -1);	/* not prefetchable */
	assert_string_equal(in.gpus[1].g.class, "0302");
	assert_int_equal(in.gpus[1].g.memory_mb, 65536);	/* 64 GiB BAR */
	assert_int_equal(in.gpus[2].g.memory_mb, 65520);	/* vram wins */
	assert_string_equal(in.gpus[3].g.class, "1200");
	assert_int_equal(in.gpus[3].g.memory_mb, -1);
	assert_int_equal(in.gpus[4].g.memory_mb, -1);	/* a bad BAR line */

	/* without pci.ids, the hex ids stay */
	inspect_pci_names(&in, "/nonexistent/pci.ids");
	assert_string_equal(in.gpus[1].g.vendor, "10de");
	assert_true((fd = mkstemp(ids)) != -1);
	assert_non_null(fp = fdopen(fd, "w"));
	fputs(PCI_IDS, fp);
	fclose(fp);
	inspect_pci_names(&in, ids);
	unlink(ids);
	assert_string_equal(in.gpus[0].g.vendor, "ASPEED Technology, Inc.");
	assert_string_equal(in.gpus[0].g.model, "ASPEED Graphics Family");
	assert_string_equal(in.gpus[1].g.vendor, "NVIDIA Corporation");
	assert_string_equal(in.gpus[1].g.model, "GA100 [A100 SXM4 40GB]");
	assert_string_equal(in.gpus[2].g.model,
	    "Aldebaran/MI200 [Instinct MI210]");
	/* a vendor pci.ids does not list keeps its ids */
	assert_string_equal(in.gpus[3].g.vendor, "1e52");
	assert_string_equal(in.gpus[3].g.model, "0001");
	inspect_to_facts(&in, &f);
	assert_int_equal(f.ngpus, 5);
	assert_string_equal(f.gpus[2].pci_slot, "0000:c1:00.0");
	free(f.disks);
	free(f.nics);
	free(f.gpus);
}

/* Item 20: the disk written is found again by its serial or by-id link,
 * whatever the kernel calls it after a reboot. */
static void
t_written(void **st)
{
	struct inspect	*in = calloc(1, sizeof(*in));
	char		 serial[64], byid[128], out[256];
	struct err	 e;

	(void)st;
	assert_non_null(in);
	snprintf(in->disks[0].d.name, sizeof(in->disks[0].d.name), "sda");
	snprintf(in->disks[0].d.serial, sizeof(in->disks[0].d.serial),
	    "WD 1234");
	snprintf(in->disks[1].d.name, sizeof(in->disks[1].d.name), "sdb");
	snprintf(in->disks[1].d.serial, sizeof(in->disks[1].d.serial), "S2");
	snprintf(in->disks[2].d.name, sizeof(in->disks[2].d.name), "loop0");
	in->ndisks = 3;
	snprintf(in->aliases[0].path, sizeof(in->aliases[0].path),
	    "/dev/disk/by-path/pci-0000:00:1f.2-ata-1");
	snprintf(in->aliases[0].name, sizeof(in->aliases[0].name), "sda");
	snprintf(in->aliases[1].path, sizeof(in->aliases[1].path),
	    "/dev/disk/by-id/ata-WD_1234");
	snprintf(in->aliases[1].name, sizeof(in->aliases[1].name), "sda");
	in->naliases = 2;

	inspect_disk_identity(in, "/dev/sda", serial, sizeof(serial), byid,
	    sizeof(byid));
	assert_string_equal(serial, "WD_1234");
	assert_string_equal(byid, "/dev/disk/by-id/ata-WD_1234");
	inspect_disk_identity(in, "/dev/loop0", serial, sizeof(serial), byid,
	    sizeof(byid));
	assert_string_equal(serial, "");
	assert_string_equal(byid, "");

	/* The kernel renamed the disks: sda is now sdb, and back. */
	snprintf(in->disks[0].d.name, sizeof(in->disks[0].d.name), "sdb");
	snprintf(in->disks[1].d.name, sizeof(in->disks[1].d.name), "sda");
	assert_int_equal(inspect_find_written(in, "/dev/sda serial=WD_1234 "
	    "by-id=/dev/disk/by-id/ata-WD_1234", out, sizeof(out), &e), ERR_OK);
	assert_string_equal(out, "/dev/sdb");
	/* Only a link recorded: found by it. */
	assert_int_equal(inspect_find_written(in, "/dev/sdx "
	    "by-id=/dev/disk/by-id/ata-WD_1234", out, sizeof(out), &e), ERR_OK);
	assert_string_equal(out, "/dev/sda");
	/* The disk is gone: refused, naming it. */
	assert_int_equal(inspect_find_written(in, "/dev/sdc serial=GONE", out,
	    sizeof(out), &e), ERR_FAIL);
	assert_non_null(strstr(e.msg, "serial GONE"));
	assert_int_equal(inspect_find_written(in, "/dev/sdc "
	    "by-id=/dev/disk/by-id/nothing", out, sizeof(out), &e), ERR_FAIL);
	/* Nothing identifies a loop device: its name. */
	assert_int_equal(inspect_find_written(in, "/dev/loop0", out,
	    sizeof(out), &e), ERR_OK);
	assert_string_equal(out, "/dev/loop0");
	assert_int_equal(inspect_find_written(in, "", out, sizeof(out), &e),
	    ERR_FAIL);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse_facts),
		cmocka_unit_test(t_swap_owner),
		cmocka_unit_test(t_parse_bad),
		cmocka_unit_test(t_parse_hostile),
		cmocka_unit_test(t_enrolled),
		cmocka_unit_test(t_pick),
		cmocka_unit_test(t_gpus),
		cmocka_unit_test(t_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
