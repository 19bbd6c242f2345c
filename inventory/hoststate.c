/*
 * The transition table of a host's life, exactly as docs/architecture.md
 * ("The life of a host") draws it:
 * which states the operator may set by hand and which the provisioner
 * may.  Kept apart from the database so that it stays a table anyone can
 * read and test.
 */
#include <string.h>

#include "inventory/hoststate.h"

static const char *const state_names[HS_COUNT] = {
	"enrolled", "provisioning", "active", "failed", "maintenance", "retired"
};

static const char *const step_names[STEP_COUNT] = {
	NULL, "power", "boot", "inspect", "image", "configure", "reboot",
	"verify"
};

#define B(s)	(1u << (s))

/* By `inventory set-state`: from -> allowed targets. */
static const unsigned by_operator[HS_COUNT] = {
	[HS_ENROLLED]	  = B(HS_MAINTENANCE) | B(HS_RETIRED),
	/* only when its run died; the CLI requires --reason */
	[HS_PROVISIONING] = B(HS_FAILED),
	[HS_ACTIVE]	  = B(HS_MAINTENANCE) | B(HS_RETIRED),
	[HS_FAILED]	  = B(HS_ENROLLED) | B(HS_MAINTENANCE) | B(HS_RETIRED),
	[HS_MAINTENANCE]  = B(HS_ACTIVE) | B(HS_ENROLLED) | B(HS_RETIRED),
	[HS_RETIRED]	  = B(HS_ENROLLED),
};

/* By `provision`; HS_ACTIVE -> provisioning needs --force (below). */
static const unsigned by_provision[HS_COUNT] = {
	[HS_ENROLLED]	  = B(HS_PROVISIONING),
	[HS_PROVISIONING] = B(HS_ACTIVE) | B(HS_FAILED),
	[HS_ACTIVE]	  = 0,
	[HS_FAILED]	  = B(HS_PROVISIONING),
	[HS_MAINTENANCE]  = B(HS_PROVISIONING),
	[HS_RETIRED]	  = 0,
};

const char *
host_state_name(int s)
{
	if (s < 0 || s >= HS_COUNT)
		return NULL;
	return state_names[s];
}

int
host_state_parse(const char *s)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < HS_COUNT; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

const char *
prov_step_name(int s)
{
	if (s <= STEP_NONE || s >= STEP_COUNT)
		return NULL;
	return step_names[s];
}

int
prov_step_resume(int done)
{
	if (done <= STEP_NONE || done >= STEP_COUNT || done == STEP_POWER)
		return STEP_POWER;
	return done + 1 < STEP_COUNT ? done + 1 : STEP_VERIFY;
}

int
prov_step_parse(const char *s)
{
	int	 i;

	if (s == NULL || *s == '\0')
		return STEP_NONE;
	for (i = STEP_NONE + 1; i < STEP_COUNT; i++)
		if (strcmp(s, step_names[i]) == 0)
			return i;
	return -1;
}

static unsigned
allowed_mask(enum hs_actor by, int from, int force)
{
	unsigned	 m;

	if (from < 0 || from >= HS_COUNT)
		return 0;
	if (by == HS_BY_OPERATOR)
		return by_operator[from];
	m = by_provision[from];
	if (from == HS_ACTIVE && force)
		m |= B(HS_PROVISIONING);
	return m;
}

int
host_state_allowed(enum hs_actor by, int from, int to, int force)
{
	if (to < 0 || to >= HS_COUNT || to == from)
		return 0;
	return (allowed_mask(by, from, force) & B(to)) != 0;
}

char *
host_state_legal(enum hs_actor by, int from, int force, char *buf, size_t len)
{
	unsigned	 m = allowed_mask(by, from, force);
	size_t		 off = 0;
	int		 i;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < HS_COUNT; i++) {
		size_t	 n = strlen(state_names[i]);

		if (!(m & B(i)))
			continue;
		if (off > 0) {
			if (off + 2 >= len)
				break;
			memcpy(buf + off, ", ", 2);
			off += 2;
		}
		if (off + n >= len)
			break;
		memcpy(buf + off, state_names[i], n);
		off += n;
		buf[off] = '\0';
	}
	if (off == 0 && len > 4)
		memcpy(buf, "none", 5);
	return buf;
}
