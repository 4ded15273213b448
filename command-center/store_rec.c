/*
 * store_rec: freeing what the store hands out (the same for every
 * backend).
 */
#include <stdlib.h>
#include <string.h>

#include "store_rec.h"

void
node_rec_free(struct node_rec *r)
{
	if (r == NULL)
		return;
	free(r->hostname);
	free(r->os_profile);
	free(r->agent_version);
	free(r->heartbeat);
	free(r->labels);
	memset(r, 0, sizeof(*r));
}

void
cmd_wire_free(struct cmd_wire *w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(w[i].payload);
		free(w[i].signature);
	}
	free(w);
}

int
finding_severity(const char *sev)
{
	static const char *const names[FINDING_SEVERITIES] = { "critical",
		"high", "medium", "low", "info" };

	for (int i = 0; i < FINDING_SEVERITIES; i++)
		if (strcmp(sev, names[i]) == 0)
			return i;
	return -1;
}
