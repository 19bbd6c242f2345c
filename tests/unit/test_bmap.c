/*
 * Unit tests for images/bmap.c: a file exactly as `bmaptool create`
 * (bmap-tools 3.6) wrote it, castiron's own output read back, and hostile
 * variants (every truncation, wrong checksums, ranges out of order, past
 * the end, absurd counts) that must fail with a message, never crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/bmap.h"

static struct err	err;

/* bmaptool create of a 10001000-byte file with blocks 0-2 and 100. */
static const char tool_bmap[] =
"<?xml version=\"1.0\" ?>\n"
"<!-- This file contains the block map for an image file, which is basically\n"
"     a list of useful (mapped) block numbers in the image file. In other words,\n"
"     it lists only those blocks which contain data (boot sector, partition\n"
"     table, file-system metadata, files, directories, extents, etc). These\n"
"     blocks have to be copied to the target device. The other blocks do not\n"
"     contain any useful data and do not have to be copied to the target\n"
"     device.\n"
"\n"
"     The block map an optimization which allows to copy or flash the image to\n"
"     the image quicker than copying of flashing the entire image. This is\n"
"     because with bmap less data is copied: <MappedBlocksCount> blocks instead\n"
"     of <BlocksCount> blocks.\n"
"\n"
"     Besides the machine-readable data, this file contains useful commentaries\n"
"     which contain human-readable information like image size, percentage of\n"
"     mapped data, etc.\n"
"\n"
"     The 'version' attribute is the block map file format version in the\n"
"     'major.minor' format. The version major number is increased whenever an\n"
"     incompatible block map format change is made. The minor number changes\n"
"     in case of minor backward-compatible changes. -->\n"
"\n"
"<bmap version=\"2.0\">\n"
"    <!-- Image size in bytes: 9.5 MiB -->\n"
"    <ImageSize> 10001000 </ImageSize>\n"
"\n"
"    <!-- Size of a block in bytes -->\n"
"    <BlockSize> 4096 </BlockSize>\n"
"\n"
"    <!-- Count of blocks in the image file -->\n"
"    <BlocksCount> 2442 </BlocksCount>\n"
"\n"
"    <!-- Count of mapped blocks: 16.0 KiB or 0.2%    -->\n"
"    <MappedBlocksCount> 4    </MappedBlocksCount>\n"
"\n"
"    <!-- Type of checksum used in this file -->\n"
"    <ChecksumType> sha256 </ChecksumType>\n"
"\n"
"    <!-- The checksum of this bmap file. When it is calculated, the value of\n"
"         the checksum has be zero (all ASCII \"0\" symbols).  -->\n"
"    <BmapFileChecksum> 68131fa5e0758739521a620e671793a4f41c61952b343d761bc7d348c9eaa3c1 </BmapFileChecksum>\n"
"\n"
"    <!-- The block map which consists of elements which may either be a\n"
"         range of blocks or a single block. The 'chksum' attribute\n"
"         (if present) is the checksum of this blocks range. -->\n"
"    <BlockMap>\n"
"        <Range chksum=\"7d44945a52a2ab56977f6d30669ccb204461c94276979bad5bbda196e15b55f6\"> 0-2 </Range>\n"
"        <Range chksum=\"a5b1f209837435ae573848d01fb199d55ca1d93dbcc7104d1f902bc00074bfae\"> 100 </Range>\n"
"    </BlockMap>\n"
"</bmap>\n"
;

static void
t_bmaptool_file(void **st)
{
	struct bmap	*b;
	uint64_t	 off, len;
	char		 hex[65];

	(void)st;
	b = bmap_parse(tool_bmap, strlen(tool_bmap), "t.bmap", &err);
	assert_non_null(b);
	assert_int_equal(b->image_size, 10001000);
	assert_int_equal(b->block_size, 4096);
	assert_int_equal(b->blocks, 2442);
	assert_int_equal(b->mapped, 4);
	assert_int_equal(b->n, 2);
	assert_int_equal(b->r[0].first, 0);
	assert_int_equal(b->r[0].last, 2);
	assert_int_equal(b->r[1].first, 100);
	img_hex(b->r[1].sha256, hex);
	assert_string_equal(hex,
	    "a5b1f209837435ae573848d01fb199d55ca1d93dbcc7104d1f902bc00074bfae");
	bmap_range_bytes(b, 1, &off, &len);
	assert_int_equal(off, 409600);
	assert_int_equal(len, 4096);
	assert_int_equal(bmap_mapped_bytes(b), 16384);
	bmap_free(b);
}

static void
t_every_truncation_fails(void **st)
{
	struct bmap	*b;
	size_t		 n, len = strlen(tool_bmap);

	(void)st;
	/* Cutting anywhere before "</bmap>" must fail. */
	for (n = 0; n < len - 8; n++) {
		b = bmap_parse(tool_bmap, n, "t.bmap", &err);
		assert_null(b);
		assert_non_null(strstr(err.msg, "t.bmap"));
	}
}

static void
t_wrong_checksum(void **st)
{
	char	*s = strdup(tool_bmap), *p;

	(void)st;
	p = strstr(s, "> 100 <");
	assert_non_null(p);
	p[2] = '2';	/* block 200: valid, but the checksum no longer is */
	assert_null(bmap_parse(s, strlen(s), "t.bmap", &err));
	assert_non_null(strstr(err.msg, "BmapFileChecksum mismatch"));
	free(s);
}

static struct bmap *
mk(uint64_t size, size_t n, const uint64_t *fl)
{
	struct bmap	*b = calloc(1, sizeof(*b));
	size_t		 i;

	b->image_size = size;
	b->block_size = 4096;
	b->blocks = (size + 4095) / 4096;
	b->r = calloc(n ? n : 1, sizeof(*b->r));
	b->n = n;
	for (i = 0; i < n; i++) {
		b->r[i].first = fl[2 * i];
		b->r[i].last = fl[2 * i + 1];
		b->mapped += fl[2 * i + 1] - fl[2 * i] + 1;
		memset(b->r[i].sha256, (int)i + 1, SHA256_LEN);
	}
	return b;
}

/* Formats b (with a valid file checksum) and parses it back. */
static struct bmap *
roundtrip(struct bmap *b)
{
	struct bmap	*r;
	char		*xml;
	size_t		 len;

	xml = bmap_format(b, &len);
	r = bmap_parse(xml, len, "rt.bmap", &err);
	free(xml);
	bmap_free(b);
	return r;
}

static void
t_roundtrip(void **st)
{
	static const uint64_t fl[] = { 0, 0, 5, 9, 2441, 2441 };
	struct bmap	*b;

	(void)st;
	b = roundtrip(mk(10001000, 3, fl));
	assert_non_null(b);
	assert_int_equal(b->n, 3);
	assert_int_equal(b->r[1].first, 5);
	assert_int_equal(b->r[1].last, 9);
	assert_int_equal(b->r[2].sha256[0], 3);
	bmap_free(b);
}

static void
t_hostile_ranges(void **st)
{
	static const uint64_t past[] = { 0, 0, 2441, 2442 };
	static const uint64_t overlap[] = { 0, 5, 5, 9 };
	static const uint64_t unsorted[] = { 10, 11, 0, 1 };
	static const uint64_t reversed[] = { 9, 5 };
	static const uint64_t huge[] = { 0, UINT64_MAX - 1 };
	struct bmap	*b;

	(void)st;
	assert_null(roundtrip(mk(10001000, 2, past)));
	assert_non_null(strstr(err.msg, "ends past the image"));
	assert_null(roundtrip(mk(10001000, 2, overlap)));
	assert_non_null(strstr(err.msg, "overlaps"));
	assert_null(roundtrip(mk(10001000, 2, unsorted)));
	assert_non_null(strstr(err.msg, "overlaps or precedes"));
	b = mk(10001000, 1, reversed);
	b->mapped = 5;
	assert_null(roundtrip(b));
	assert_non_null(strstr(err.msg, "first block after the last"));
	assert_null(roundtrip(mk(10001000, 1, huge)));
	b = mk(10001000, 0, NULL);
	b->mapped = 7;
	assert_null(roundtrip(b));
	assert_non_null(strstr(err.msg, "MappedBlocksCount"));
	b = mk(10001000, 0, NULL);
	b->blocks = 1;
	assert_null(roundtrip(b));
	assert_non_null(strstr(err.msg, "BlocksCount"));
	b = mk(10001000, 0, NULL);
	b->block_size = 3000;
	assert_null(roundtrip(b));
	assert_non_null(strstr(err.msg, "BlockSize"));
	b = mk(10001000, 0, NULL);	/* nothing mapped: valid */
	b = roundtrip(b);
	assert_non_null(b);
	bmap_free(b);
}

static void
t_garbage(void **st)
{
	static const char *const bad[] = {
		"",
		"<",
		"<bmap version=\"2.0\">",
		"<bmap version=\"2.0\"/>",
		"<?xml version=\"1.0\" ?><!-- unterminated",
		"<!DOCTYPE bmap [ <!ENTITY x \"y\"> ]><bmap version=\"2.0\"></bmap>",
		"<bmap version=\"3.0\"></bmap>",
		"<bmap version=\"2.0\"></bmap>",
		"<bmap version=\"2.0\"><ImageSize>1&amp;</ImageSize></bmap>",
		"<notbmap></notbmap>",
		"<bmap version=\"2.0\" a=\"1\" b=\"2\" c=\"3\" d=\"4\" e=\"5\"></bmap>",
	};
	size_t	 i;

	(void)st;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(bmap_parse(bad[i], strlen(bad[i]), "g.bmap", &err));
	/* A NUL inside. */
	assert_null(bmap_parse("<bmap\0>", 7, "g.bmap", &err));
	assert_non_null(strstr(err.msg, "NUL"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_bmaptool_file),
		cmocka_unit_test(t_every_truncation_fails),
		cmocka_unit_test(t_wrong_checksum),
		cmocka_unit_test(t_roundtrip),
		cmocka_unit_test(t_hostile_ranges),
		cmocka_unit_test(t_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
