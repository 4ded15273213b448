/*
 * The roles file (VAULTMESH_ROLES_PATH): roles_check_text() is the whole
 * parser roles_init() and roles_reload() run on the file's bytes. A refusal
 * must say why; a file accepted is installed (through a memfd, as a file)
 * and asked for the roles of identities built from its own bytes, which must
 * be roles, the same on a second asking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	    err[512], path[64], who[80];
	const char *groups[2];
	enum role   r1, r2;
	int	    fd;

	err[0] = '\0';
	if (roles_check_text("fuzz.json", (const char *)data, size, err,
		sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if ((fd = memfd_create("roles", 0)) == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (roles_init(path, err, sizeof(err)) == -1)
		abort(); /* checked above: the same bytes must load */
	close(fd);
	/* Identities and groups cut from the input itself. */
	snprintf(who, sizeof(who), "%.*s", (int)(size < 79 ? size : 79),
	    (const char *)data);
	groups[0] = who;
	groups[1] = size > 6 ? who + 6 : "";
	r1 = roles_of(who, groups, 2);
	r2 = roles_of(who, groups, 2);
	if (r1 != r2 || (int)r1 < 0 || r1 >= ROLE_N)
		abort();
	if (roles_of(NULL, NULL, 0) != ROLE_VIEWER)
		abort();
	roles_shutdown();
	return 0;
}
