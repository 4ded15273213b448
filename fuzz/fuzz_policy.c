/*
 * The operator's policy file (VAULTMESH_POLICY_PATH): policy_check_text()
 * is the whole parser policy_init() and policy_reload() run on the file's
 * bytes, its approval rules ("require_approval", "job_approval_over")
 * included. A refusal must say why; a file accepted is installed (through a
 * memfd, as a file) and asked, for every command of the catalog and a
 * profile cut from the input, what it allows and what waits for approval:
 * the same answer twice, and a job threshold within its bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../tests/unit/cc_all.h"
#include "command.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], path[64], profile[40];
	long over;
	int  fd;

	err[0] = '\0';
	if (policy_check_text("fuzz.json", (const char *)data, size, err,
		sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if ((fd = memfd_create("policy", 0)) == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (policy_init(path, err, sizeof(err)) == -1)
		abort(); /* checked above: the same bytes must load */
	close(fd);
	snprintf(profile, sizeof(profile), "%.*s", (int)(size < 39 ? size : 39),
	    (const char *)data);
	for (int i = 0; cmd_catalog[i].name != NULL; i++) {
		const char *c = cmd_catalog[i].name;

		if (policy_allows(profile, c) != policy_allows(profile, c) ||
		    policy_needs_approval(profile, c) !=
			policy_needs_approval(profile, c))
			abort();
	}
	if (policy_needs_approval(profile, "no-such-command"))
		abort();
	over = policy_job_approval_over();
	if (over < -1 || over > 1000000)
		abort();
	policy_shutdown();
	return 0;
}
