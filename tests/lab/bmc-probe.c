/*
 * bmc-probe: drives one BMC through provision/bmc/bmc.h, for the lab's
 * tests until `castiron bmc` covers them (and afterwards for what the CLI
 * does not expose: a driver chosen by hand, timeouts, the request count).
 * The password is read from a file, never taken from argv.
 *
 *   bmc-probe [-v] [-5] [-c MS] [-i MS] [-w MS] -d ipmi|redfish -a BMC
 *       -u USER -p PASSWORD_FILE [-n HOST] power status|on|off|cycle|soft-off
 *   ... boot pxe|disk [persistent]
 *   ... identity
 *   ... sleep MS
 * Several verbs run one after the other on one handle ("boot pxe power
 * cycle"); the first failure ends the run.
 *
 * Prints one line per result ("HOST: power on"); on failure the error's
 * one line on stderr; exits 0, 1 (failed) or 2 (usage), as castiron does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/bmc/bmc.h"
#include "lib/log.h"
#include "lib/parse.h"

static void
usage(void)
{
	fprintf(stderr, "usage: bmc-probe [-v] [-5] [-c MS] [-i MS] [-w MS] "
	    "-d ipmi|redfish -a BMC -u USER -p PASSWORD_FILE [-n HOST] "
	    "VERB... (power status|on|off|cycle|soft-off, boot pxe|disk "
	    "[persistent], identity, sleep MS)\n");
	exit(2);
}

static unsigned
ms_arg(const char *s)
{
	uint64_t	v;
	struct err	why;

	if (parse_uint(s, 0, 86400000, &v, &why) != ERR_OK) {
		fprintf(stderr, "bmc-probe: %s\n", why.msg);
		exit(2);
	}
	return (unsigned)v;
}

static char *
read_password(const char *path)
{
	static char	 buf[256];
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "bmc-probe: %s: cannot open\n", path);
		exit(2);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

static int
exit_of(enum err_code c)
{
	switch (c) {
	case ERR_OK:
		return 0;
	case ERR_INVAL:
	case ERR_NOENT:
	case ERR_WRONGSTATE:
	case ERR_EXISTS:
		return 2;
	default:
		return 1;
	}
}

int
main(int argc, char **argv)
{
	struct bmc_target	 t;
	struct bmc_identity	 id;
	struct bmc		*b;
	struct err		 e;
	enum err_code		 rc = ERR_OK;
	enum bmc_power		 pw;
	int			 ch, verbose = 0, persistent = 0;
	size_t			 i, j;

	memset(&t, 0, sizeof(t));
	memset(&e, 0, sizeof(e));
	t.hostname = "host";
	t.tls_verify = 1;
	t.connect_timeout_ms = 3000;
	t.io_timeout_ms = 3000;
	t.power_timeout_ms = 30000;
	while ((ch = getopt(argc, argv, "5a:c:d:i:n:p:u:vw:")) != -1) {
		switch (ch) {
		case '5': t.allow_ipmi15 = 1; break;
		case 'a': t.address = optarg; break;
		case 'c': t.connect_timeout_ms = ms_arg(optarg); break;
		case 'd':
			if (strcmp(optarg, "ipmi") == 0)
				t.driver = BMC_IPMI;
			else if (strcmp(optarg, "redfish") == 0)
				t.driver = BMC_REDFISH;
			else
				usage();
			break;
		case 'i': t.io_timeout_ms = ms_arg(optarg); break;
		case 'n': t.hostname = optarg; break;
		case 'p': t.password = read_password(optarg); break;
		case 'u': t.username = optarg; break;
		case 'v': verbose++; break;
		case 'w': t.power_timeout_ms = ms_arg(optarg); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || t.address == NULL)
		usage();
	log_init("bmc-probe", verbose, 0);

	if ((b = bmc_open(&t, &e)) == NULL) {
		log_warnx("%s", e.msg);
		return exit_of(e.code);
	}
	/* The verbs, one after the other on the one handle. */
	for (i = 0; rc == ERR_OK && i < (size_t)argc; i++) {
		const char	*verb = argv[i];
		const char	*arg = i + 1 < (size_t)argc ? argv[i + 1] : NULL;

		if (strcmp(verb, "sleep") == 0 && arg != NULL) {
			usleep(ms_arg(arg) * 1000U);
			i++;
		} else if (strcmp(verb, "power") == 0 && arg != NULL &&
		    strcmp(arg, "status") == 0) {
			if ((rc = bmc_power_get(b, &pw, &e)) == ERR_OK)
				printf("%s: power %s\n", t.hostname,
				    bmc_power_name(pw));
			i++;
		} else if (strcmp(verb, "power") == 0 && arg != NULL) {
			enum bmc_action	a;

			if (strcmp(arg, "on") == 0)
				a = BMC_ON;
			else if (strcmp(arg, "off") == 0)
				a = BMC_OFF;
			else if (strcmp(arg, "cycle") == 0)
				a = BMC_CYCLE;
			else if (strcmp(arg, "soft-off") == 0)
				a = BMC_SOFT_OFF;
			else {
				bmc_close(b);
				usage();
			}
			if ((rc = bmc_power_set(b, a, &e)) == ERR_OK)
				printf("%s: power %s: done\n", t.hostname,
				    bmc_action_name(a));
			i++;
		} else if (strcmp(verb, "boot") == 0 && arg != NULL &&
		    (strcmp(arg, "pxe") == 0 || strcmp(arg, "disk") == 0)) {
			enum bmc_bootdev d = arg[0] == 'p' ? BMC_BOOT_PXE :
			    BMC_BOOT_DISK;

			i++;
			persistent = i + 1 < (size_t)argc &&
			    strcmp(argv[i + 1], "persistent") == 0;
			if (persistent)
				i++;
			if ((rc = bmc_boot_set(b, d, persistent, &e)) == ERR_OK)
				printf("%s: boot %s%s: done\n", t.hostname,
				    bmc_bootdev_name(d), persistent ?
				    " persistent" : " once");
		} else if (strcmp(verb, "identity") == 0) {
			if ((rc = bmc_identity(b, &id, &e)) != ERR_OK)
				break;
			printf("%s: serial %s\n", t.hostname, id.serial);
			printf("%s: manufacturer %s\n", t.hostname,
			    id.manufacturer);
			printf("%s: model %s\n", t.hostname, id.model);
			if (!id.macs_known)
				printf("%s: macs unknown\n", t.hostname);
			for (j = 0; id.macs_known && j < id.nmacs; j++)
				printf("%s: mac %s\n", t.hostname, id.macs[j]);
		} else {
			bmc_close(b);
			usage();
		}
	}
	if (rc != ERR_OK)
		log_warnx("%s", e.msg);
	if (verbose)
		fprintf(stderr, "bmc-probe: %u requests\n", b->requests);
	bmc_close(b);
	return exit_of(rc);
}
