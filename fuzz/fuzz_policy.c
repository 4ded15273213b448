/*
 * The operator's policy file (VAULTMESH_POLICY_PATH): policy_check_text()
 * is the whole parser policy_init() and policy_reload() run on the file's
 * bytes. A refusal must say why.
 */
#include <stdlib.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	err[0] = '\0';
	if (policy_check_text("fuzz.json", (const char *)data, size, err,
		sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();
	return 0;
}
