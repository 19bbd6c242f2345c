/*
 * Unit tests for [role NAME] (lib/config.c) and its rendering into a
 * host's installed system (provision/role.c): the role's keys and its
 * services file checked with their places, the host's castiron.ini that
 * loads as the host will load it, line for line with the services file,
 * its bird.conf from the host's address and gateway, the plan of files,
 * and each refusal, one line naming the host and the role, with nothing
 * planned.
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

#include "lib/config.h"
#include "provision/role.h"
#include "tests/unit/cfgtest.h"

static char	dir[] = "/tmp/castiron-role.XXXXXX";

static const char WEB[] =
"; the web role's services\n"
"[service web]\n"
"check    = tcp\n"
"address  = 127.0.0.1:80\n"
"prefixes = 192.0.2.10/32, 2001:db8::10/128\n"
"\n"
"[service dns]\n"
"check    = exec\n"
"command  = /bin/true\n"
"prefixes = 192.0.2.53/32, 192.0.2.10/32\n";

static char *
path_of(const char *name)
{
	static char	 p[4][256];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
write_file(const char *name, const char *text)
{
	write_text(path_of(name), text);
}

/* The appliance's file: [castiron] and roles after it. */
static struct config *
load_appliance(const char *roles, struct cfg_errors *errs)
{
	char	*text;

	text = NULL;
	assert_true(asprintf(&text, "[castiron]\nsite = ams1\n\n%s", roles) > 0);
	write_file("c.ini", text);
	free(text);
	return config_load(path_of("c.ini"), errs);
}

static char *
web_role(const char *extra)
{
	char	*s = NULL;

	assert_true(asprintf(&s, "[role web]\nservices = %s\n"
	    "allowed_prefixes = 192.0.2.0/24, 2001:db8::/32\n%s",
	    path_of("web.ini"), extra) > 0);
	return s;
}

/* The web role's services file holds services; its [role web] the
 * allowed prefixes and extra. */
static struct config *
load_web(const char *services, const char *extra, struct cfg_errors *errs)
{
	struct config	*c;
	char		*roles;

	write_file("web.ini", services);
	roles = web_role(extra);
	c = load_appliance(roles, errs);
	free(roles);
	return c;
}

static void
print_errors(const struct cfg_errors *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		print_message("# %s\n", e->msg[i]);
}

static struct inv_host
host(const char *name, const char *role, const char *addr, const char *gw)
{
	struct inv_host	 h;

	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "%s", name);
	snprintf(h.site, sizeof(h.site), "ams1");
	snprintf(h.role, sizeof(h.role), "%s", role);
	snprintf(h.address, sizeof(h.address), "%s", addr);
	snprintf(h.gateway, sizeof(h.gateway), "%s", gw);
	h.prefixlen = gw[0] ? 30 : 0;
	return h;
}

static void
t_role_loads(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	const struct cfg_role	*r;

	(void)st;
	c = load_web(WEB, "local_as = 65101\npeer_as = 65000\n"
	    "peers = gateway, 2001:db8:ffff::1\n", &e);
	print_errors(&e);
	assert_non_null(c);
	assert_int_equal(c->nrole, 1);
	assert_int_equal(c->nservice, 0);	/* the appliance's own: none */
	r = config_role(c, "web");
	assert_non_null(r);
	assert_null(config_role(c, "db"));
	assert_int_equal(r->nallowed_prefixes, 2);
	assert_int_equal(r->local_as, 65101);
	assert_int_equal(r->peer_as, 65000);
	assert_int_equal(r->npeers, 2);
	assert_string_equal(r->peer[0], "gateway");
	assert_string_equal(r->peer[1], "2001:db8:ffff::1");
	/* The services file, loaded with the role's prefixes as [bgp]'s. */
	assert_non_null(r->svc);
	assert_int_equal(r->svc->nservice, 2);
	assert_int_equal(r->svc->bgp.nallowed_prefixes, 2);
	config_free(c);

	/* peers defaults to the host's gateway. */
	c = load_web(WEB, "local_as = 65101\npeer_as = 65000\n", &e);
	assert_non_null(c);
	assert_int_equal(c->role[0].npeers, 1);
	assert_string_equal(c->role[0].peer[0], "gateway");
	config_free(c);
	cfg_errors_clear(&e);
}

/* Each bad role, one line naming the file, line and key. */
static void
t_role_errors(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	char			 want[512];

	(void)st;
	c = load_web(WEB, "local_as = 65101\npeers = 10.0.0.1, nope, 10.0.0.1\n", &e);
	assert_null(c);
	print_errors(&e);
	snprintf(want, sizeof(want), "%s:4: [role web] peer_as: required with "
	    "local_as", path_of("c.ini"));
	assert_true(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:8: [role web] peers: 'nope' is "
	    "neither 'gateway' nor an IP address", path_of("c.ini"));
	assert_true(has_error(&e, want));
	assert_true(has_error(&e, "[role web] peers: 10.0.0.1 is listed twice"));
	assert_int_equal(e.n, 3);
	cfg_errors_clear(&e);

	c = load_web(WEB, "peer_as = 65000\nbogus = 1\n", &e);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:7: [role web] peer_as: applies with "
	    "local_as only", path_of("c.ini"));
	assert_true(has_error(&e, want));
	assert_true(has_error(&e, ":8: [role web] bogus: unknown key"));
	cfg_errors_clear(&e);

	c = load_appliance("[role db]\nlocal_as = 0\n", &e);
	assert_null(c);
	print_errors(&e);
	assert_true(has_error(&e, ":4: [role db] services: required key is "
	    "missing"));
	assert_true(has_error(&e, ":4: [role db] allowed_prefixes: required "
	    "key is missing"));
	assert_true(has_error(&e, ":5: [role db] local_as: 0 is out of range"));
	cfg_errors_clear(&e);

	/* The services file's own errors name its file and line. */
	c = load_web("[service web]\ncheck = tcp\naddress = "
	    "127.0.0.1:80\nprefixes = 198.51.100.1/32\n\n[provision]\n"
	    "ssh_key = /etc/castiron/id_ed25519\n\n[role x]\n", "", &e);
	assert_null(c);
	print_errors(&e);
	snprintf(want, sizeof(want), "%s:4: [service web] prefixes: "
	    "198.51.100.1/32 is outside allowed_prefixes of [role web]",
	    path_of("web.ini"));
	assert_true(has_error(&e, want));
	snprintf(want, sizeof(want), "%s:6: [provision]: not in a role's "
	    "services file", path_of("web.ini"));
	assert_true(has_error(&e, want));
	assert_true(has_error(&e, ":9: [role x]: not in a role's services "
	    "file"));
	assert_int_equal(e.n, 3);
	cfg_errors_clear(&e);

	c = load_web("; nothing yet\n", "", &e);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: no [service NAME] section: a host "
	    "of role web would announce nothing", path_of("web.ini"));
	assert_true(has_error(&e, want));
	assert_int_equal(e.n, 1);
	cfg_errors_clear(&e);
}

/* The host's castiron.ini: the services file line for line, then the
 * role's [bgp]; it loads as the host loads it. */
static void
t_castiron_ini(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c, *hc;
	struct inv_host		 h = host("web1", "web", "10.0.0.2", "10.0.0.1");
	char			*ini;
	size_t			 n;

	(void)st;
	c = load_web(WEB, "", &e);
	assert_non_null(c);
	ini = role_castiron_ini(&c->role[0], &h, WEB);
	n = strlen(WEB);
	assert_memory_equal(ini, WEB, n);
	assert_non_null(strstr(ini + n, "\n[castiron]\nsite = ams1\n"));
	assert_non_null(strstr(ini + n, "\n[bgp]\ninclude_dir      = "
	    "/run/castiron/bird\nallowed_prefixes = 192.0.2.0/24, "
	    "2001:db8::/32\n"));
	write_file("host.ini", ini);
	hc = config_load(path_of("host.ini"), &e);
	print_errors(&e);
	assert_non_null(hc);
	assert_int_equal(hc->nservice, 2);
	assert_string_equal(hc->castiron.site, "ams1");
	assert_string_equal(hc->bgp.include_dir, "/run/castiron/bird");
	assert_int_equal(hc->bgp.nallowed_prefixes, 2);
	config_free(hc);
	free(ini);

	/* A services file without its last newline, a prefix outside: the
	 * host's own check names the services file's line. */
	ini = role_castiron_ini(&c->role[0], &h, "[service x]\ncheck = tcp\n"
	    "address = 127.0.0.1:1\nprefixes = 203.0.113.1/32");
	write_file("host.ini", ini);
	hc = config_load(path_of("host.ini"), &e);
	assert_null(hc);
	assert_true(has_error(&e, "host.ini:4: [service x] prefixes: "
	    "203.0.113.1/32 is outside allowed_prefixes in [bgp]"));
	assert_int_equal(e.n, 1);
	cfg_errors_clear(&e);
	free(ini);
	config_free(c);
}

static const char BIRD_V4[] =
"# /etc/bird/bird.conf of web1, written by castiron's configure step from\n"
"# [role web] on the appliance: BGP to the role's peers, announcing\n"
"# castiron bgp's prefixes only (/etc/castiron/castiron.ini).\n"
"log syslog all;\n"
"router id 10.0.0.2;\n"
"\n"
"protocol device {\n"
"}\n"
"\n"
"# castiron bgp's static protocols, castiron_p_*, one per prefix.\n"
"include \"/run/castiron/bird/*.conf\";\n"
"\n"
"protocol bgp uplink1 {\n"
"\tlocal 10.0.0.2 as 65101;\n"
"\tneighbor 10.0.0.1 as 65000;\n"
"\tipv4 {\n"
"\t\timport none;\n"
"\t\texport where proto ~ \"castiron_*\";\n"
"\t};\n"
"}\n"
"\n"
"protocol bgp uplink2 {\n"
"\tlocal as 65101;\n"
"\tneighbor 2001:db8:ffff::1 as 65000;\n"
"\tipv6 {\n"
"\t\timport none;\n"
"\t\texport where proto ~ \"castiron_*\";\n"
"\t};\n"
"}\n";

static void
t_bird_conf(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	struct inv_host		 h = host("web1", "web", "10.0.0.2", "10.0.0.1");
	struct err		 err;
	char			*b;

	(void)st;
	/* The gateway named twice (by name and by address): one session. */
	c = load_web(WEB, "local_as = 65101\npeer_as = 65000\n"
	    "peers = gateway, 10.0.0.1, 2001:db8:ffff::1\n", &e);
	assert_non_null(c);
	b = role_bird_conf(&c->role[0], &h, &err);
	assert_non_null(b);
	assert_string_equal(b, BIRD_V4);
	free(b);

	/* An IPv6 host: its address as the source towards the IPv6 peer,
	 * no router id of its own. */
	h = host("web6", "web", "2001:db8:1::2", "2001:db8:1::1");
	b = role_bird_conf(&c->role[0], &h, &err);
	assert_non_null(b);
	assert_null(strstr(b, "router id"));
	assert_non_null(strstr(b, "protocol bgp uplink1 {\n\tlocal "
	    "2001:db8:1::2 as 65101;\n\tneighbor 2001:db8:1::1 as 65000;\n"
	    "\tipv6 {"));
	assert_non_null(strstr(b, "protocol bgp uplink2 {\n\tlocal as 65101;\n"
	    "\tneighbor 10.0.0.1 as 65000;\n\tipv4 {"));
	assert_non_null(strstr(b, "protocol bgp uplink3 {\n\tlocal "
	    "2001:db8:1::2 as 65101;\n\tneighbor 2001:db8:ffff::1 as 65000;"));
	free(b);

	/* No gateway for peers = gateway; no address at all. */
	h = host("web2", "web", "10.0.0.6", "");
	assert_null(role_bird_conf(&c->role[0], &h, &err));
	assert_int_equal(err.code, ERR_INVAL);
	assert_string_equal(err.msg, "web2 (role web): peers = gateway, but "
	    "the inventory has no gateway for the host (enrol it as "
	    "ADDRESS/PREFIXLEN with a gateway, or name the peers)");
	h = host("web3", "web", "", "");
	assert_null(role_bird_conf(&c->role[0], &h, &err));
	assert_non_null(strstr(err.msg, "web3 (role web): no address in the "
	    "inventory"));
	config_free(c);
}

static void
t_plan(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	struct inv_host		 h = host("web1", "web", "10.0.0.2", "10.0.0.1");
	struct role_plan	 p;
	struct err		 err;

	(void)st;
	c = load_web(WEB, "local_as = 65101\npeer_as = 65000\n", &e);
	assert_non_null(c);

	assert_int_equal(role_plan(c, &h, &p, &err), ERR_OK);
	assert_int_equal(p.n, 5);
	assert_string_equal(p.f[0].path, "/etc/castiron/castiron.ini");
	assert_int_equal(p.f[0].mode, 0644);
	assert_memory_equal(p.f[0].content, WEB, strlen(WEB));
	assert_string_equal(p.f[1].path, "/etc/bird/bird.conf");
	assert_non_null(strstr(p.f[1].content, "router id 10.0.0.2;\n"));
	assert_string_equal(p.f[2].path, "/etc/sysusers.d/castiron.conf");
	assert_non_null(strstr(p.f[2].content, "\nu castiron - "));
	assert_string_equal(p.f[3].path, "/etc/tmpfiles.d/castiron.conf");
	assert_non_null(strstr(p.f[3].content,
	    "\nd /run/castiron/bird  0755 castiron bird     -\n"));
	assert_string_equal(p.f[4].path, "/etc/systemd/system/"
	    "multi-user.target.wants/castiron-bgp.service");
	assert_int_equal(p.f[4].unit, 1);
	assert_string_equal(p.f[4].content, "");
	assert_string_equal(p.note, "role web: castiron bgp with 2 services "
	    "announcing 3 prefixes, BIRD peering from the host's address, "
	    "castiron-bgp.service enabled");
	role_plan_clear(&p);
	config_free(c);

	/* Without local_as, the image's own BIRD configuration stays. */
	c = load_web(WEB, "", &e);
	assert_non_null(c);
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_OK);
	assert_int_equal(p.n, 4);
	assert_string_equal(p.f[1].path, "/etc/sysusers.d/castiron.conf");
	assert_non_null(strstr(p.note, "(the image's BIRD configuration kept)"));
	role_plan_clear(&p);

	/* No role: nothing, not even a note; a role without a section: a
	 * note and nothing written. */
	h = host("plain1", "", "10.0.0.2", "10.0.0.1");
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_OK);
	assert_int_equal(p.n, 0);
	assert_string_equal(p.note, "");
	h = host("cache1", "cache", "10.0.0.2", "10.0.0.1");
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_OK);
	assert_int_equal(p.n, 0);
	assert_non_null(strstr(p.note, "role cache has no [role cache] in "));
	assert_non_null(strstr(p.note, ": no castiron bgp configuration "
	    "written"));
	config_free(c);
}

/* The services file changed since the run began, or the host lacks what
 * its BIRD configuration needs: one line, nothing planned. */
static void
t_plan_refusals(void **st)
{
	struct cfg_errors	 e = { 0 };
	struct config		*c;
	struct inv_host		 h = host("web1", "web", "10.0.0.2", "10.0.0.1");
	struct role_plan	 p;
	struct err		 err;
	char			 want[512];

	(void)st;
	c = load_web(WEB, "local_as = 65101\npeer_as = 65000\n", &e);
	assert_non_null(c);

	write_file("web.ini", "[service web]\ncheck = tcp\n"
	    "address = 127.0.0.1:80\nprefixes = 192.0.2.10/32, 203.0.113.7/32\n");
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_INVAL);
	snprintf(want, sizeof(want), "web1 (role web): %s:4: [service web] "
	    "prefixes: 203.0.113.7/32 is outside allowed_prefixes of "
	    "[role web]", path_of("web.ini"));
	assert_string_equal(err.msg, want);
	assert_int_equal(p.n, 0);

	write_file("web.ini", "[bgp]\nallowed_prefixes = 0.0.0.0/0\n"
	    "[service web]\ncheck = tcp\naddress = 127.0.0.1:80\n"
	    "prefixes = 203.0.113.7/32\n");
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web1 (role web): "));
	assert_non_null(strstr(err.msg, ":1: [bgp]: not in a role's services "
	    "file"));
	assert_non_null(strstr(err.msg, "(and 1 more)"));
	assert_int_equal(p.n, 0);

	unlink(path_of("web.ini"));
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web1 (role web): "));
	assert_non_null(strstr(err.msg, "web.ini"));
	assert_int_equal(p.n, 0);

	write_file("web.ini", WEB);
	h = host("web2", "web", "10.0.0.6", "");
	assert_int_equal(role_plan(c, &h, &p, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web2 (role web): peers = gateway"));
	assert_int_equal(p.n, 0);
	/* What a run checks before it starts on a host: the same. */
	assert_int_equal(role_check(c, &h, &err), ERR_INVAL);
	assert_non_null(strstr(err.msg, "web2 (role web): peers = gateway"));
	h = host("web1", "web", "10.0.0.2", "10.0.0.1");
	assert_int_equal(role_check(c, &h, &err), ERR_OK);
	config_free(c);
}

static int
setup(void **st)
{
	(void)st;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **st)
{
	static const char *const names[] = { "c.ini", "web.ini", "host.ini",
	    NULL };
	size_t	 i;

	(void)st;
	for (i = 0; names[i]; i++)
		unlink(path_of(names[i]));
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_role_loads),
		cmocka_unit_test(t_role_errors),
		cmocka_unit_test(t_castiron_ini),
		cmocka_unit_test(t_bird_conf),
		cmocka_unit_test(t_plan),
		cmocka_unit_test(t_plan_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
