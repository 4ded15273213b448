/*
 * POST /api/agent/heartbeat bodies: the bytes as http.c hands them to
 * agent_api.c (json_loadb, duplicates refused), then validate_heartbeat().
 * A body it accepts must yield the canonical JSON the store keeps, and that
 * JSON must parse and validate again (what the dashboard later reads).
 * Differential: whatever the fast path (yajl, no tree) accepts, the full
 * validator must accept too, with the same fields and the same JSON kept.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"

static int
same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* The fast path's verdict against the full validator's. */
static void
differential(const uint8_t *data, size_t size)
{
	struct heartbeat  fast, full;
	struct hb_strings hs;
	json_t		 *root;
	char		  err[160];
	int		  rc;

	rc = validate_heartbeat_fast((const char *)data, size, &fast, &hs);
	if (rc == -1)
		abort();
	if (rc == 0) {
		if (fast.json != NULL || fast.node_id != NULL)
			abort();
		return;
	}
	root = fuzz_json_body(data, size);
	if (root == NULL ||
	    validate_heartbeat_raw(root, (const char *)data, size, &full, err,
		sizeof(err)) != 0)
		abort(); /* the fast path took what the validator refuses */
	if (strcmp(fast.node_id, full.node_id) != 0 ||
	    strcmp(fast.hostname, full.hostname) != 0 ||
	    strcmp(fast.os_profile, full.os_profile) != 0 ||
	    strcmp(fast.agent_version, full.agent_version) != 0 ||
	    fast.cloudflare != full.cloudflare ||
	    fast.services_down != full.services_down ||
	    !same_num(fast.load1, full.load1) ||
	    !same_num(fast.mem_used_pct, full.mem_used_pct) ||
	    strcmp(fast.json, full.json) != 0)
		abort();
	free(fast.json);
	free(full.json);
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct heartbeat hb, hb2;
	json_error_t	 jerr;
	json_t		*root, *again;
	char		 err[160];

	differential(data, size);
	if ((root = fuzz_json_body(data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if (validate_heartbeat(root, &hb, err, sizeof(err)) == 0) {
		if (hb.json == NULL || hb.node_id == NULL ||
		    hb.hostname == NULL || hb.os_profile == NULL ||
		    hb.agent_version == NULL)
			abort();
		/* What the store keeps must be a heartbeat too. */
		if ((again = json_loads(hb.json, 0, &jerr)) == NULL ||
		    validate_heartbeat(again, &hb2, err, sizeof(err)) != 0)
			abort();
		free(hb2.json);
		json_decref(again);
		free(hb.json);
	} else if (hb.json != NULL || err[0] == '\0')
		abort();
	json_decref(root);
	return 0;
}
