/*
 * What an enlistment check-in says about the machine beyond its MACs: its
 * serial and its inspection (docs/netboot.md, "Enlistment").  Read here,
 * apart from the HTTP service, so that a hostile body is a unit test's
 * input: the serial is refused unless it is printable ASCII of at most 64
 * bytes, the dump unless provision's parser reads it (which bounds every
 * value and makes control bytes '?').  The check-in's serial is DMI's
 * product_serial; the dump's is taken when the check-in has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/parse.h"
#include "lib/xmalloc.h"
#include "provision/boot/boot.h"
#include "provision/inspect.h"

enum err_code
boot_enlist_read(const struct json_t *jc, struct boot_enlist *en,
    struct err *e)
{
	json_t		*j = (json_t *)(uintptr_t)jc;
	json_t		*js = json_object_get(j, "serial");
	json_t		*ji = json_object_get(j, "inspect");
	struct err	 se;

	memset(en, 0, sizeof(*en));
	if (!json_is_object(j))
		return err_set(e, ERR_INVAL, "not a JSON object");
	if (js != NULL && !json_is_null(js)) {
		if (!json_is_string(js))
			return err_set(e, ERR_INVAL, "a serial that is not a "
			    "string");
		if (valid_dmi_serial(json_string_value(js), e) != ERR_OK)
			return ERR_INVAL;
		snprintf(en->serial, sizeof(en->serial), "%s",
		    json_string_value(js));
	}
	if (ji == NULL || json_is_null(ji))
		return ERR_OK;
	if (!json_is_string(ji))
		return err_set(e, ERR_INVAL, "an inspection that is not a "
		    "string");
	en->insp = xcalloc(1, sizeof(*en->insp));
	if (inspect_parse(json_string_value(ji), json_string_length(ji),
	    en->insp, &se) != ERR_OK) {
		boot_enlist_free(en);
		return err_set(e, ERR_INVAL, "%s", se.msg);
	}
	if (*en->serial == '\0' && valid_dmi_serial(en->insp->sys_serial,
	    &se) == ERR_OK)
		snprintf(en->serial, sizeof(en->serial), "%.*s",
		    DMI_SERIAL_MAX, en->insp->sys_serial);
	return ERR_OK;
}

void
boot_enlist_free(struct boot_enlist *en)
{
	free(en->insp);
	en->insp = NULL;
}
