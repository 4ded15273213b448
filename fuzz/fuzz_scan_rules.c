/*
 * sovereign-scan's declarative rule files (node-agent/scan_rules.c): the
 * input is one rule file, read and evaluated by rules_file() (the function
 * scan_check_rules() calls per "*.json" file) over a small fixture tree
 * made once at start-up: /etc/passwd with good and bad lines, an
 * sshd_config, files with different modes, a dangling symlink, a FIFO and
 * a folder. The .c is included to reach the static rules_file().
 *
 * command_exit rules would run programs: scan_exec is replaced here by a
 * stub (the #define below renames the call in scan_rules.c) that runs
 * nothing and answers each outcome the real one can (exit status, signal,
 * timeout, not found, failure), so every evaluation branch is reached and
 * no fuzzed argv is ever executed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define scan_exec fuzz_scan_exec
#include "../node-agent/scan_rules.c"
#undef scan_exec

static char tree[PATH_MAX];
static char rulefile[PATH_MAX + 64];

enum scan_exec_rc
fuzz_scan_exec(struct scan_ctx *s, const char *const *argv, int timeout_secs,
    size_t cap, char **out, int *truncated, int *status, char *err,
    size_t errlen)
{
	size_t n = strlen(argv[0]);

	(void)s;
	(void)cap;
	if (out != NULL)
		*out = NULL;
	if (truncated != NULL)
		*truncated = 0;
	if (timeout_secs < 1 || timeout_secs > RULE_TIMEOUT_MAX)
		abort(); /* the parser let a bad limit through */
	switch (n % 5) {
	case 0:
	case 1:
		*status = (int)(n % 3);
		return SCAN_EXEC_EXITED;
	case 2:
		*status = 9;
		snprintf(err, errlen, "killed by signal 9");
		return SCAN_EXEC_SIGNALED;
	case 3:
		snprintf(err, errlen, "timed out after %d s", timeout_secs);
		return SCAN_EXEC_TIMEOUT;
	default:
		snprintf(err, errlen, "%s: not an executable file", argv[0]);
		return n % 2 ? SCAN_EXEC_NOTFOUND : SCAN_EXEC_FAILED;
	}
}

static void
put(const char *rel, const char *text, mode_t mode)
{
	char p[PATH_MAX + 64];
	int  fd;

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) == -1 || close(fd) == -1)
		abort();
}

static void
dir(const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	if (mkdir(p, 0755) == -1)
		abort();
}

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	/* The tree is ours (mkdtemp): nothing else is under it. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	if (system(cmd) != 0)
		return;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(tree, sizeof(tree), "%s/vm-fuzz-rules.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(tree) == NULL)
		abort();
	atexit(cleanup);
	dir("etc");
	dir("etc/ssh");
	dir("etc/dir");
	dir("etc/vaultmesh");
	dir("etc/vaultmesh/scan.d");
	put("etc/passwd",
	    "root:x:0:0:root:/root:/bin/sh\n"
	    "vaultmesh:x:998:998::/var/lib/vaultmesh:/usr/sbin/nologin\n"
	    "broken:x:notanumber:1::/:/bin/false\n"
	    "huge:x:99999999999999999999:1::/:/bin/false\n"
	    "short\n",
	    0644);
	put("etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
	put("etc/world", "anyone may write this\n", 0666);
	put("etc/hosts.equiv", "+ +\n", 0600);
	put("etc/ssh/sshd_config",
	    "# comment\nPort 22\n"
	    "PermitRootLogin no\nX11Forwarding yes\n"
	    "PasswordAuthentication no\r\n\n\tMatch User x\n",
	    0644);
	put("etc/sysctl.conf",
	    "net.ipv4.tcp_syncookies = 1\n"
	    "net.ipv4.ip_forward=0\nkernel.kptr_restrict = 2",
	    0644);
	put("etc/empty", "", 0644);
	snprintf(rulefile, sizeof(rulefile), "%s/etc/dangling", tree);
	if (symlink("/nonexistent/target", rulefile) == -1)
		abort();
	snprintf(rulefile, sizeof(rulefile), "%s/etc/fifo", tree);
	if (mkfifo(rulefile, 0644) == -1)
		abort();
	snprintf(rulefile, sizeof(rulefile),
	    "%s/etc/vaultmesh/scan.d/fuzz.json", tree);
	return 0;
}

/* Every finding must be within the command center's limits. */
static void
check_findings(json_t *findings)
{
	static const char *const sev[] = { "critical", "high", "medium", "low",
		"info" };
	size_t			 i, k;
	json_t			*f;

	if (json_array_size(findings) > SCAN_FINDINGS_MAX)
		abort();
	json_array_foreach(findings, i, f)
	{
		const char *id = json_string_value(json_object_get(f, "id"));
		const char *s =
		    json_string_value(json_object_get(f, "severity"));
		const char *t = json_string_value(json_object_get(f, "title"));
		const char *d = json_string_value(json_object_get(f, "detail"));
		const char *r =
		    json_string_value(json_object_get(f, "remediation"));

		if (id == NULL || s == NULL || t == NULL || d == NULL ||
		    r == NULL)
			abort();
		for (k = 0; k < 5 && strcmp(s, sev[k]) != 0; k++)
			;
		if (k == 5 || !str_printable(id, SCAN_ID_MAX) ||
		    !str_printable(t, SCAN_TITLE_MAX) ||
		    !str_printable(d, SCAN_DETAIL_MAX) ||
		    !str_printable(r, SCAN_REMEDIATION_MAX) || id[0] == '\0' ||
		    t[0] == '\0')
			abort();
		/* A rule can never pass for a built-in check. */
		if (strncmp(id, "rule.", 5) != 0 &&
		    strncmp(id, "scan.", 5) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_opts o;
	struct scan_ctx	 s;
	size_t		 total = 0;
	int		 fd;

	if (size > RULES_FILE_MAX + 1)
		return 0;
	if ((fd = open(rulefile, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) == -1)
		abort();
	memset(&o, 0, sizeof(o));
	o.root = tree;
	o.vm_root = tree;
	o.rules_dir = "/etc/vaultmesh/scan.d";
	memset(&s, 0, sizeof(s));
	snprintf(s.prefix, sizeof(s.prefix), "%s", tree);
	s.o = &o;
	s.deadline_ms = mono_ms() + 10000;
	if ((s.findings = json_array()) == NULL)
		abort();
	rules_file(&s, rulefile, &total);
	if (!s.failed)
		check_findings(s.findings);
	json_decref(s.findings);
	return 0;
}
