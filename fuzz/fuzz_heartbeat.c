/*
 * POST /api/agent/heartbeat bodies: the bytes as http.c hands them to
 * agent_api.c (json_loadb, duplicates refused), then validate_heartbeat().
 * A body it accepts must yield the canonical JSON the store keeps, and that
 * JSON must parse and validate again (what the dashboard later reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cc.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct heartbeat	 hb, hb2;
	json_error_t		 jerr;
	json_t			*root, *again;
	char			 err[160];

	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (root == NULL)
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
