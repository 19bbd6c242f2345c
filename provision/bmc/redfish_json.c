/*
 * Reading Redfish replies (redfish_int.h).  Nothing here trusts the BMC:
 * types are checked member by member, strings are bounded, and a link is
 * followed only when it is a path on the BMC that gave it, so a reply
 * cannot send castiron's credentials elsewhere.
 */
#include <ctype.h>
#include <string.h>

#include "provision/bmc/redfish_int.h"

json_t *
rfj_parse(const char *buf, size_t len, struct err *e)
{
	json_error_t	 je;
	json_t		*j;

	if (len == 0) {
		err_set(e, ERR_FAIL, "empty reply");
		return NULL;
	}
	if (len > RF_MAXBODY) {
		err_set(e, ERR_FAIL, "reply of %zu bytes is too large", len);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		err_set(e, ERR_FAIL, "reply is not JSON (line %d: %.80s)",
		    je.line, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(e, ERR_FAIL, "reply is not a JSON object");
		return NULL;
	}
	return j;
}

/* obj's member key when obj is an object and the member is of type;
 * NULL otherwise. */
static json_t *
member(json_t *obj, const char *key, json_type type)
{
	json_t	*v;

	if (!json_is_object(obj) || (v = json_object_get(obj, key)) == NULL ||
	    json_typeof(v) != type)
		return NULL;
	return v;
}

const char *
rfj_str(json_t *obj, const char *key)
{
	json_t	*v = member(obj, key, JSON_STRING);

	return v ? json_string_value(v) : NULL;
}

int
rfj_path_ok(const char *s)
{
	size_t	 n;
	const char *p;

	if (s == NULL || strncmp(s, "/redfish/", 9) != 0)
		return 0;
	if ((n = strlen(s)) >= RF_MAXLINK || strstr(s, "..") != NULL)
		return 0;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/-._~%:@!$&'()*+,;=",
		    *p) == NULL)
			return 0;
	return 1;
}

/* obj's member key when it is a path on this BMC (rfj_path_ok). */
static const char *
path_member(json_t *obj, const char *key)
{
	const char	*s = rfj_str(obj, key);

	return rfj_path_ok(s) ? s : NULL;
}

static const char *
odata_id(json_t *v)
{
	return path_member(v, "@odata.id");
}

const char *
rfj_link(json_t *obj, const char *key)
{
	return json_is_object(obj) ? odata_id(json_object_get(obj, key)) : NULL;
}

const char *
rfj_link2(json_t *obj, const char *k1, const char *k2)
{
	return json_is_object(obj) ? rfj_link(json_object_get(obj, k1), k2) :
	    NULL;
}

int
rfj_members(json_t *coll, const char **out, size_t max)
{
	json_t		*m, *v;
	size_t		 i, n = 0;
	const char	*s;

	if ((m = member(coll, "Members", JSON_ARRAY)) == NULL)
		return -1;
	json_array_foreach(m, i, v) {
		if (n == max)
			break;
		if ((s = odata_id(v)) != NULL)
			out[n++] = s;
	}
	return (int)n;
}

enum bmc_power
rfj_power(json_t *sys)
{
	const char	*s = rfj_str(sys, "PowerState");

	if (s == NULL)
		return BMC_POWER_UNKNOWN;
	if (strcmp(s, "On") == 0)
		return BMC_POWER_ON;
	if (strcmp(s, "Off") == 0)
		return BMC_POWER_OFF;
	return BMC_POWER_UNKNOWN;	/* PoweringOn, PoweringOff, Paused */
}

int
rfj_allows(json_t *arr, const char *value)
{
	json_t	*v;
	size_t	 i;

	if (!json_is_array(arr))
		return -1;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			return 1;
	return 0;
}

static json_t *
reset_action(json_t *sys)
{
	return member(member(sys, "Actions", JSON_OBJECT),
	    "#ComputerSystem.Reset", JSON_OBJECT);
}

const char *
rfj_reset_target(json_t *sys)
{
	return path_member(reset_action(sys), "target");
}

json_t *
rfj_reset_allowed(json_t *sys)
{
	return member(reset_action(sys), "ResetType@Redfish.AllowableValues",
	    JSON_ARRAY);
}

const char *
rfj_action_info(json_t *sys)
{
	return path_member(reset_action(sys), "@Redfish.ActionInfo");
}

json_t *
rfj_info_allowed(json_t *info, const char *name)
{
	json_t		*ps, *p;
	size_t		 i;
	const char	*n;

	if ((ps = member(info, "Parameters", JSON_ARRAY)) == NULL)
		return NULL;
	json_array_foreach(ps, i, p)
		if ((n = rfj_str(p, "Name")) != NULL && strcmp(n, name) == 0)
			return member(p, "AllowableValues", JSON_ARRAY);
	return NULL;
}

const char *
rfj_settings(json_t *sys)
{
	return rfj_link(member(sys, "@Redfish.Settings", JSON_OBJECT),
	    "SettingsObject");
}

int
rfj_boot(json_t *sys, struct rfj_boot *b)
{
	json_t	*o;

	memset(b, 0, sizeof(*b));
	if ((o = member(sys, "Boot", JSON_OBJECT)) == NULL)
		return -1;
	b->target = rfj_str(o, "BootSourceOverrideTarget");
	b->enabled = rfj_str(o, "BootSourceOverrideEnabled");
	b->mode = rfj_str(o, "BootSourceOverrideMode");
	b->targets = member(o,
	    "BootSourceOverrideTarget@Redfish.AllowableValues", JSON_ARRAY);
	return 0;
}

const char *
rfj_etag(json_t *obj)
{
	const char	*s = rfj_str(obj, "@odata.etag");

	return s && *s && strlen(s) < 128 ? s : NULL;
}

int
rfj_mac(const char *s, char out[18])
{
	size_t	 i, k = 0;
	int	 digits = 0;

	if (s == NULL)
		return -1;
	for (i = 0; s[i]; i++) {
		if (isxdigit((unsigned char)s[i])) {
			if (k >= 17 || digits == 2)
				return -1;
			out[k++] = (char)tolower((unsigned char)s[i]);
			digits++;
		} else if ((s[i] == ':' || s[i] == '-') && digits == 2 &&
		    k < 17) {
			out[k++] = ':';
			digits = 0;
		} else
			return -1;
	}
	if (k != 17 || digits != 2)
		return -1;
	out[17] = '\0';
	return strcmp(out, "00:00:00:00:00:00") == 0 ? -1 : 0;
}

void
rfj_message(json_t *reply, char *buf, size_t len)
{
	json_t		*er, *ext;
	const char	*m = NULL;
	size_t		 i, k = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if ((er = member(reply, "error", JSON_OBJECT)) == NULL)
		return;
	ext = json_object_get(er, "@Message.ExtendedInfo");
	if (json_is_array(ext) && json_array_size(ext) > 0)
		m = rfj_str(json_array_get(ext, 0), "Message");
	if (m == NULL)
		m = rfj_str(er, "message");
	if (m == NULL)
		return;
	for (i = 0; m[i] && k + 1 < len && k < 200; i++)
		buf[k++] = isprint((unsigned char)m[i]) ? m[i] : '?';
	buf[k] = '\0';
}
