/*
 * The webhooks file (VAULTMESH_WEBHOOKS_PATH): webhooks_check_text() is the
 * whole parser webhooks_init() and webhooks_reload() run on the file's
 * bytes. A refusal must say why; the same bytes must give the same answer.
 */
#include <stdlib.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"
#include "webhooks.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int  a, b;

	err[0] = '\0';
	a = webhooks_check_text("fuzz.json", (const char *)data, size, err,
	    sizeof(err));
	if (a == -1 && err[0] == '\0')
		abort();
	b = webhooks_check_text("fuzz.json", (const char *)data, size, err,
	    sizeof(err));
	if (a != b)
		abort();
	return 0;
}
