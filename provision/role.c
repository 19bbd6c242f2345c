/*
 * A host's role, rendered into what its installed system needs to run
 * `castiron bgp` from its first boot.  The appliance's [role NAME] says
 * which services file a host of the role runs, which prefixes it may
 * announce and, with local_as, how its BIRD peers; the host's own
 * address (the inventory's) is BIRD's router id and BGP source, and its
 * gateway the default peer.  Everything is rendered here, in memory,
 * and the host's castiron.ini is loaded exactly as the host's own
 * `castiron config check` will load it before the configure step writes
 * any file: a file that would not load, or a prefix outside the role's
 * allowed_prefixes, refuses the host with one line.  No secret is in
 * any of it: the services file and the role's keys go to every host of
 * the role as they are.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/file.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/role.h"

/* A services file larger than this is not a list of health checks. */
#define ROLE_SERVICES_MAX	(1024 * 1024)

/* The castiron user and its run directories, as etc/castiron-bgp.service
 * and etc/castiron-tmpfiles.conf expect them: an image that installs
 * castiron does not make the user castiron-bgp.service runs as. */
static const char SYSUSERS[] =
"# Written by castiron's configure step: castiron bgp runs as castiron\n"
"# (castiron-bgp.service), BIRD's group added for its control socket.\n"
"u castiron - \"castiron bgp\" /var/lib/castiron /usr/sbin/nologin\n";
static const char TMPFILES[] =
"# Written by castiron's configure step (etc/castiron-tmpfiles.conf):\n"
"# castiron's include directory exists, empty, before BIRD starts.\n"
"d /run/castiron       0755 castiron castiron -\n"
"d " ROLE_INCLUDE_DIR "  0755 castiron bird     -\n";

/* "P, P, ..." of a prefix list. */
static void
put_prefixes(FILE *f, const struct prefix *p, size_t n)
{
	char	 b[64];
	size_t	 i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", prefix_str(&p[i], b,
		    sizeof(b)));
}

char *
role_castiron_ini(const struct cfg_role *r, const struct inv_host *h,
    const char *text)
{
	FILE	*f;
	char	*s = NULL;
	size_t	 len = 0, tl = strlen(text);

	if ((f = open_memstream(&s, &len)) == NULL)
		fatal("open_memstream");
	/* The services file first and as it is, so that a line the host's
	 * castiron names is the same line of the role's file. */
	fputs(text, f);
	if (tl > 0 && text[tl - 1] != '\n')
		fputc('\n', f);
	fprintf(f, "\n; Written by castiron's configure step for %s (role %s):"
	    "\n; the sections above are the role's services file, %s,\n"
	    "; line for line; these come from [role %s] on the appliance.\n",
	    h->hostname, r->name, r->services, r->name);
	if (h->site[0] != '\0')
		fprintf(f, "[castiron]\nsite = %s\n\n", h->site);
	fprintf(f, "[bgp]\ninclude_dir      = %s\nallowed_prefixes = ",
	    ROLE_INCLUDE_DIR);
	put_prefixes(f, r->allowed_prefixes, r->nallowed_prefixes);
	fputc('\n', f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return s;
}

char *
role_bird_conf(const struct cfg_role *r, const struct inv_host *h,
    struct err *err)
{
	FILE		*f;
	char		*s = NULL, done[CFG_MAXPEERS][64];
	const char	*peer;
	size_t		 len = 0, i, j, ndone = 0;
	uint8_t		 a[16];
	int		 fam, pfam;

	if (h->address[0] == '\0' || parse_ip(h->address, &fam, a, NULL) !=
	    ERR_OK) {
		err_set(err, ERR_INVAL, "%s (role %s): no address in the "
		    "inventory, and BIRD's router id and BGP source are the "
		    "host's address (inventory add --address)", h->hostname,
		    r->name);
		return NULL;
	}
	if ((f = open_memstream(&s, &len)) == NULL)
		fatal("open_memstream");
	fprintf(f, "# %s of %s, written by castiron's configure step from\n"
	    "# [role %s] on the appliance: BGP to the role's peers, announcing\n"
	    "# castiron bgp's prefixes only (" ROLE_CASTIRON_INI ").\n"
	    "log syslog all;\n", ROLE_BIRD_CONF, h->hostname, r->name);
	/* An IPv6-only host has no 32-bit id of its own: BIRD then takes
	 * the lowest IPv4 address of its interfaces. */
	if (fam == AF_INET)
		fprintf(f, "router id %s;\n", h->address);
	fprintf(f, "\nprotocol device {\n}\n\n"
	    "# castiron bgp's static protocols, castiron_p_*, one per prefix.\n"
	    "include \"%s/*.conf\";\n", ROLE_INCLUDE_DIR);
	for (i = 0; i < r->npeers; i++) {
		peer = r->peer[i];
		if (strcmp(peer, "gateway") == 0) {
			if (h->gateway[0] == '\0') {
				err_set(err, ERR_INVAL, "%s (role %s): peers = "
				    "gateway, but the inventory has no gateway "
				    "for the host (enrol it as ADDRESS/PREFIXLEN "
				    "with a gateway, or name the peers)",
				    h->hostname, r->name);
				fclose(f);
				free(s);
				return NULL;
			}
			peer = h->gateway;
		}
		if (parse_ip(peer, &pfam, a, err) != ERR_OK) {
			err_prefix(err, "%s (role %s): peer %s", h->hostname,
			    r->name, peer);
			fclose(f);
			free(s);
			return NULL;
		}
		for (j = 0; j < ndone; j++)
			if (strcmp(done[j], peer) == 0)
				break;
		if (j < ndone)
			continue;	/* the gateway, named twice */
		snprintf(done[ndone++], sizeof(done[0]), "%s", peer);
		fprintf(f, "\nprotocol bgp uplink%zu {\n", ndone);
		if (pfam == fam)
			fprintf(f, "\tlocal %s as %llu;\n", h->address,
			    (unsigned long long)r->local_as);
		else
			fprintf(f, "\tlocal as %llu;\n",
			    (unsigned long long)r->local_as);
		fprintf(f, "\tneighbor %s as %llu;\n\t%s {\n"
		    "\t\timport none;\n"
		    "\t\texport where proto ~ \"castiron_*\";\n\t};\n}\n", peer,
		    (unsigned long long)r->peer_as,
		    pfam == AF_INET ? "ipv4" : "ipv6");
	}
	if (fclose(f) != 0)
		fatal("open_memstream");
	return s;
}

/* text loaded as a configuration file named name (a role's services file
 * when role is set); NULL with the first error in err. */
static struct config *
load_text(const char *text, const char *name, const struct cfg_role *role,
    struct err *err)
{
	struct cfg_errors	 errs = { 0 };
	struct config		*c;
	FILE			*f;
	char			 path[64];

	if ((f = tmpfile()) == NULL) {
		err_errno(err, ERR_FAIL, "a temporary file for %s", name);
		return NULL;
	}
	if (fputs(text, f) == EOF || fflush(f) == EOF) {
		err_errno(err, ERR_FAIL, "a temporary file for %s", name);
		fclose(f);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fileno(f));
	c = role ? config_load_role(path, name, role, &errs) :
	    config_load_as(path, name, &errs);
	fclose(f);
	if (c == NULL && errs.n > 1)
		err_set(err, ERR_INVAL, "%s (and %zu more)", errs.msg[0],
		    errs.n - 1);
	else if (c == NULL)
		err_set(err, ERR_INVAL, "%s", errs.n ? errs.msg[0] :
		    "cannot be loaded");
	cfg_errors_clear(&errs);
	return c;
}

static void
plan_add(struct role_plan *p, const char *path, int mode, char *content,
    int unit)
{
	if (p->n == ROLE_MAXFILES)
		fatalx("role_plan: more than %d files", ROLE_MAXFILES);
	p->f[p->n].path = path;
	p->f[p->n].mode = mode;
	p->f[p->n].content = content;
	p->f[p->n].unit = unit;
	p->n++;
}

/* Distinct prefixes of every service. */
static size_t
count_prefixes(const struct config *c)
{
	size_t	 i, j, k, l, n = 0;

	for (i = 0; i < c->nservice; i++)
		for (j = 0; j < c->service[i].nprefixes; j++) {
			int seen = 0;
			for (k = 0; k <= i && !seen; k++)
				for (l = 0; l < (k == i ? j :
				    c->service[k].nprefixes) && !seen; l++)
					seen = prefix_equal(
					    &c->service[k].prefixes[l],
					    &c->service[i].prefixes[j]);
			n += !seen;
		}
	return n;
}

enum err_code
role_plan(const struct config *cfg, const struct inv_host *h,
    struct role_plan *plan, struct err *err)
{
	const struct cfg_role	*r;
	struct config		*svc = NULL, *ini = NULL;
	struct err		 e;
	char			*text, *conf = NULL, *bird = NULL, name[320];

	memset(plan, 0, sizeof(*plan));
	if (h->role[0] == '\0')
		return ERR_OK;
	if ((r = config_role(cfg, h->role)) == NULL) {
		snprintf(plan->note, sizeof(plan->note), "role %s has no "
		    "[role %s] in %s: no castiron bgp configuration written",
		    h->role, h->role, cfg->path);
		return ERR_OK;
	}
	/* Read again: what goes to the host is the file as it is now, and
	 * it must still load as it did when the run began. */
	if ((text = file_read_small(r->services, ROLE_SERVICES_MAX, NULL,
	    &e)) == NULL) {
		err_set(err, ERR_INVAL, "%s (role %s): %s", h->hostname,
		    r->name, e.msg);
		return ERR_INVAL;
	}
	if ((svc = load_text(text, r->services, r, &e)) == NULL)
		goto refuse;
	conf = role_castiron_ini(r, h, text);
	snprintf(name, sizeof(name), "%s:%s", h->hostname, ROLE_CASTIRON_INI);
	if ((ini = load_text(conf, name, NULL, &e)) == NULL)
		goto refuse;
	if (r->local_as != 0 && (bird = role_bird_conf(r, h, err)) == NULL)
		goto fail;
	plan_add(plan, ROLE_CASTIRON_INI, 0644, conf, 0);
	if (bird)
		plan_add(plan, ROLE_BIRD_CONF, 0644, bird, 0);
	plan_add(plan, "/etc/sysusers.d/castiron.conf", 0644,
	    xstrdup(SYSUSERS), 0);
	plan_add(plan, "/etc/tmpfiles.d/castiron.conf", 0644,
	    xstrdup(TMPFILES), 0);
	plan_add(plan, ROLE_UNIT_LINK, 0, xstrdup(""), 1);
	snprintf(plan->note, sizeof(plan->note), "role %s: castiron bgp with "
	    "%zu service%s announcing %zu prefix%s%s, castiron-bgp.service "
	    "enabled", r->name, ini->nservice, ini->nservice == 1 ? "" : "s",
	    count_prefixes(ini), count_prefixes(ini) == 1 ? "" : "es",
	    bird ? ", BIRD peering from the host's address" :
	    " (the image's BIRD configuration kept)");
	free(text);
	config_free(svc);
	config_free(ini);
	return ERR_OK;
refuse:
	err_set(err, ERR_INVAL, "%s (role %s): %s", h->hostname, r->name,
	    e.msg);
fail:
	free(text);
	free(conf);
	config_free(svc);
	config_free(ini);
	return ERR_INVAL;
}

void
role_plan_clear(struct role_plan *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		free(p->f[i].content);
	memset(p, 0, sizeof(*p));
}

enum err_code
role_check(const struct config *cfg, const struct inv_host *h,
    struct err *err)
{
	struct role_plan	 p;
	enum err_code		 rc;

	rc = role_plan(cfg, h, &p, err);
	role_plan_clear(&p);
	return rc;
}
