/*
 * Private to the Redfish driver: the reading of Redfish's JSON replies
 * (redfish_json.c), kept apart from the HTTP side so that the unit tests
 * and the fuzzer reach it without a network.  Every accessor copes with a
 * hostile or truncated reply: a missing or mistyped member is NULL or -1,
 * never a crash, and links are accepted only as paths on the same BMC.
 */
#ifndef CASTIRON_REDFISH_INT_H
#define CASTIRON_REDFISH_INT_H

#include <jansson.h>

#include "provision/bmc/bmc.h"

#define RF_MAXLINK	512
#define RF_MAXBODY	(4u << 20)	/* a reply larger than this is refused */

/* Parses a reply body that must be a JSON object. */
json_t		*rfj_parse(const char *buf, size_t len, struct err *);

/* A string member, NULL when absent or not a string. */
const char	*rfj_str(json_t *obj, const char *key);
/* obj[key]["@odata.id"] when it is a same-BMC path ("/redfish/..."). */
const char	*rfj_link(json_t *obj, const char *key);
/* obj[k1][k2]["@odata.id"], e.g. Links.Sessions. */
const char	*rfj_link2(json_t *obj, const char *k1, const char *k2);
/* 1 when s is a path castiron follows: starts with "/redfish/", at most
 * RF_MAXLINK-1 bytes, no "..", and only URL-safe characters. */
int		 rfj_path_ok(const char *s);

/* Members[].@odata.id into out[0..max), the number found; -1 when the
 * collection has no Members array. */
int		 rfj_members(json_t *coll, const char **out, size_t max);

enum bmc_power	 rfj_power(json_t *sys);

/* 1 when value is in the array, 0 when not, -1 when arr is not an array
 * (the BMC did not say: anything is allowed). */
int		 rfj_allows(json_t *arr, const char *value);

/* The Reset action of a System: its target, and its AllowableValues
 * array (NULL when not given; then see rfj_action_info). */
const char	*rfj_reset_target(json_t *sys);
json_t		*rfj_reset_allowed(json_t *sys);
const char	*rfj_action_info(json_t *sys);
/* An ActionInfo resource's AllowableValues for parameter name. */
json_t		*rfj_info_allowed(json_t *info, const char *name);

/* The @Redfish.Settings object's path, NULL when the System has none. */
const char	*rfj_settings(json_t *sys);

/* The Boot object's members (NULL when absent). */
struct rfj_boot {
	const char	*target;	/* BootSourceOverrideTarget */
	const char	*enabled;	/* BootSourceOverrideEnabled */
	const char	*mode;		/* BootSourceOverrideMode */
	json_t		*targets;	/* ...Target@Redfish.AllowableValues */
};
int		 rfj_boot(json_t *sys, struct rfj_boot *);

/* "@odata.etag" of a resource, NULL when none. */
const char	*rfj_etag(json_t *obj);

/* A MAC in any of the usual spellings to lower-case colon form; -1 when
 * it is not one. */
int		 rfj_mac(const char *s, char out[18]);

/* The error message a BMC put in a reply (error.message, or the first
 * @Message.ExtendedInfo), printable characters only, bounded; "" when
 * none. */
void		 rfj_message(json_t *reply, char *buf, size_t len);

#endif
