/*
 * The inspect step: the host's hardware read over its session (the dump
 * of provision/inspect.h), cross-checked against its enrollment (MAC,
 * serial), its accelerators named from this server's pci.ids, and
 * recorded as facts in the inventory.
 */
#include "provision/prov_int.h"

int
step_inspect(struct prov_host *h)
{
	struct inv_facts	 f;
	struct err		 e;
	int			 rc;

	if (phost_inspect(h) == -1 || phost_cross_check(h) == -1)
		return -1;
	inspect_pci_names(h->insp, NULL);
	inspect_to_facts(h->insp, &f);
	rc = inv_facts_set(h->inv, h->h.hostname, h->ctx->o.actor, &f, &e);
	inv_facts_free(&f);
	if (rc != ERR_OK) {
		phost_err(h, "inventory: %s", e.msg);
		return -1;
	}
	return 0;
}
