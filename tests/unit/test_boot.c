/*
 * Unit tests for the network boot's hand-over files (provision/boot/
 * state.c) and its iPXE scripts (ipxe.c): a token armed, checked in once
 * and burnt; a replay, an unknown, an expired and a malformed token
 * refused; the status list; what each script says; an enlistment
 * check-in's serial and dump, read or refused (enlist.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "lib/config.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"
#include "provision/inspect.h"

static char		 dir[] = "/tmp/castiron-boot.XXXXXX";
static struct config	 cfg;

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	cfg.castiron.state_dir = dir;
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd = xsprintf("rm -rf %s", dir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
	return 0;
}

static struct boot_checkin
sample(void)
{
	struct boot_checkin	c;

	memset(&c, 0, sizeof(c));
	snprintf(c.addr, sizeof(c.addr), "10.20.0.101");
	snprintf(c.macs, sizeof(c.macs), "52:54:00:00:00:01");
	snprintf(c.hostkey, sizeof(c.hostkey), "ssh-ed25519 AAAAx");
	snprintf(c.fp, sizeof(c.fp), "SHA256:abc");
	return c;
}

static void
t_token(void **state)
{
	struct boot_checkin	 in = sample(), out;
	struct err		 e;
	struct stat		 st;
	char			 tok[BOOT_TOKEN_HEX + 1], armed[BOOT_TOKEN_HEX + 1];
	char			 host[254], *p;
	int			 replay, found;

	(void)state;
	assert_int_equal(boot_arm(&cfg, "web1", 60, tok, &e), ERR_OK);
	assert_int_equal(strlen(tok), BOOT_TOKEN_HEX);
	p = xsprintf("%s/boot/web1.boot", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	free(p);
	boot_armed(&cfg, "web1", time(NULL), armed);
	assert_string_equal(armed, tok);
	boot_armed(&cfg, "web1", time(NULL) + 61, armed);
	assert_string_equal(armed, "");		/* expired by then */
	boot_armed(&cfg, "web2", time(NULL), armed);
	assert_string_equal(armed, "");
	assert_int_equal(boot_token_host(&cfg, tok, host, sizeof(host)), 1);
	assert_string_equal(host, "web1");

	assert_int_equal(boot_checkin_read(&cfg, "web1", &out, &found, &e),
	    ERR_OK);
	assert_int_equal(found, 0);
	assert_int_equal(boot_checkin(&cfg, "0123456789abcdef0123456789abcdef",
	    &in, host, sizeof(host), &replay, &e), ERR_AUTH);
	assert_int_equal(replay, 0);
	assert_int_equal(boot_checkin(&cfg, "x; rm -rf /", &in, host,
	    sizeof(host), &replay, &e), ERR_INVAL);
	assert_int_equal(boot_checkin(&cfg, tok, &in, host, sizeof(host),
	    &replay, &e), ERR_OK);
	assert_string_equal(host, "web1");
	assert_int_equal(boot_checkin_read(&cfg, "web1", &out, &found, &e),
	    ERR_OK);
	assert_int_equal(found, 1);
	assert_string_equal(out.fp, "SHA256:abc");
	assert_string_equal(out.addr, "10.20.0.101");
	/* Burnt: the same token again is a replay, and no longer armed. */
	assert_int_equal(boot_checkin(&cfg, tok, &in, host, sizeof(host),
	    &replay, &e), ERR_AUTH);
	assert_int_equal(replay, 1);
	assert_non_null(strstr(e.msg, "presented again"));
	boot_armed(&cfg, "web1", time(NULL), armed);
	assert_string_equal(armed, "");
	/* Arming again forgets the old check-in. */
	assert_int_equal(boot_arm(&cfg, "web1", 60, tok, &e), ERR_OK);
	assert_int_equal(boot_checkin_read(&cfg, "web1", &out, &found, &e),
	    ERR_OK);
	assert_int_equal(found, 0);
}

static void
t_expired(void **state)
{
	struct boot_checkin	 in = sample();
	struct err		 e;
	char			 tok[BOOT_TOKEN_HEX + 1], host[254];
	int			 replay;

	(void)state;
	assert_int_equal(boot_arm(&cfg, "web3", 0, tok, &e), ERR_OK);
	sleep(1);
	assert_int_equal(boot_checkin(&cfg, tok, &in, host, sizeof(host),
	    &replay, &e), ERR_AUTH);
	assert_non_null(strstr(e.msg, "expired"));
}

static void
t_status(void **state)
{
	struct boot_status	*s;
	struct err		 e;
	size_t			 n, i;
	int			 saw = 0;

	(void)state;
	boot_note_fetch(&cfg, "web1", "/ipxe/52-54-00-00-00-01", 200);
	assert_int_equal(boot_status_list(&cfg, &s, &n, &e), ERR_OK);
	for (i = 0; i < n; i++)
		if (strcmp(s[i].host, "web1") == 0) {
			saw = 1;
			assert_string_equal(s[i].state, "armed");
			assert_string_equal(s[i].last,
			    "/ipxe/52-54-00-00-00-01 200");
		}
	assert_true(saw);
	free(s);
}

static void
t_scripts(void **state)
{
	char	*s;

	(void)state;
	s = boot_script_chain("http://10.20.0.1:8080");
	assert_non_null(strstr(s, "chain --autofree "
	    "http://10.20.0.1:8080/ipxe/${netX/mac:hexhyp}"));
	assert_true(strncmp(s, "#!ipxe\n", 7) == 0);
	free(s);
	s = boot_script_deploy("http://b", "web1", "00ff", "console=ttyS0");
	assert_non_null(strstr(s, "kernel --name vmlinuz http://b/deploy/vmlinuz "
	    "initrd=initrd.img console=ttyS0 castiron.mode=deploy "
	    "castiron.host=web1 castiron.checkin=http://b/checkin "
	    "castiron.token=00ff"));
	assert_non_null(strstr(s, "initrd --name initrd.img "
	    "http://b/deploy/initrd.img"));
	assert_non_null(strstr(s, "iseq ${tries} 20 && exit ||"));
	free(s);
	s = boot_script_enlist("http://b", "console=ttyS0");
	assert_non_null(strstr(s, "castiron.mode=enlist"));
	assert_null(strstr(s, "castiron.token"));
	free(s);
	s = boot_script_local();
	assert_string_equal(s, "#!ipxe\nexit\n");
	free(s);
}

/* An enlistment check-in's serial and dump: read, or refused whole. */
static void
t_enlist(void **state)
{
	static const char	*bad[] = {
		"{\"serial\": \"SN\\u001b[2J\"}",
		"{\"serial\": \"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS\"}",
		"{\"serial\": \"SN-\\u00e9\"}",
		"{\"serial\": 7}",
		"{\"serial\": \"SN1\", \"inspect\": 7}",
		"{\"serial\": \"SN1\", \"inspect\": \"rm -rf /\\nend\"}",
		"[1, 2]",
	};
	struct boot_enlist	 en;
	struct err		 e;
	json_t			*j;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		assert_int_equal(boot_enlist_read(j, &en, &e), ERR_INVAL);
		assert_null(en.insp);
		assert_null(strchr(e.msg, 0x1b));
		json_decref(j);
	}
	/* No serial, no dump: nothing to read, and nothing wrong. */
	j = json_loads("{\"mode\": \"enlist\"}", 0, NULL);
	assert_int_equal(boot_enlist_read(j, &en, &e), ERR_OK);
	assert_string_equal(en.serial, "");
	assert_null(en.insp);
	json_decref(j);
	/* The dump's serial when the check-in has none; its facts bounded,
	 * control bytes made '?'. */
	j = json_loads("{\"serial\": \"\", \"inspect\": \"castiron-inspect 1\\n"
	    "cpu_model=Evil\\u001b[31m\\ncpu_cores=8\\nmem_kb=1048576\\n"
	    "dmi_product_serial=SN-DMI\\ndisk=nvme0n1\\nsize=2048\\n"
	    "nic=eth0\\nmac=52:54:00:00:00:01\\nend\"}", 0, NULL);
	assert_non_null(j);
	assert_int_equal(boot_enlist_read(j, &en, &e), ERR_OK);
	assert_string_equal(en.serial, "SN-DMI");
	assert_non_null(en.insp);
	assert_string_equal(en.insp->cpu_model, "Evil?[31m");
	assert_int_equal(en.insp->cpu_cores, 8);
	assert_int_equal(en.insp->ndisks, 1);
	assert_int_equal(en.insp->disks[0].d.size_bytes, 2048 * 512);
	assert_string_equal(en.insp->nics[0].mac, "52:54:00:00:00:01");
	boot_enlist_free(&en);
	assert_null(en.insp);
	json_decref(j);
	/* The check-in's own serial wins over the dump's. */
	j = json_loads("{\"serial\": \"SN-A\", \"inspect\": \"castiron-inspect 1\\n"
	    "dmi_product_serial=SN-B\\nend\"}", 0, NULL);
	assert_int_equal(boot_enlist_read(j, &en, &e), ERR_OK);
	assert_string_equal(en.serial, "SN-A");
	boot_enlist_free(&en);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_token),
		cmocka_unit_test(t_expired),
		cmocka_unit_test(t_status),
		cmocka_unit_test(t_scripts),
		cmocka_unit_test(t_enlist),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
