/*
 * POST /api/agent/enroll bodies: json_loadb as agent_api.c calls it, then
 * validate_enroll(). Accepted fields must hold what the store and the
 * dashboard rely on (lowercase UUID, printable bounded strings).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enroll_req er;
	json_t		 *root;
	char		  err[160];

	if ((root = fuzz_json_body(data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if (validate_enroll(root, &er, err, sizeof(err)) == 0) {
		if (!uuid_valid(er.node_id) ||
		    !validate_hostname(er.hostname) ||
		    !validate_profile(er.os_profile) ||
		    !str_printable(er.agent_version, VERSION_MAX) ||
		    (er.enroll_secret != NULL &&
			(er.enroll_secret[0] == '\0' ||
			    strlen(er.enroll_secret) > 256)) ||
		    (er.enroll_key != NULL &&
			(strlen(er.enroll_key) != 43 ||
			    strspn(er.enroll_key,
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_") !=
				43)))
			abort();
	} else if (err[0] == '\0')
		abort();
	json_decref(root);
	return 0;
}
