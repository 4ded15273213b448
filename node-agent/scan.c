/*
 * sovereign-scan, the engine: a table of checks, each adding findings
 * {"id", "severity", "title", "detail", "remediation"} to one array.
 * To add a check, write a scan_check_*() function (scan_host.c) and add a
 * row to checks[]; operators add checks without rebuilding through the
 * declarative rules of scan_rules.c.
 *
 * System files are read under a prefix (VAULTMESH_SCAN_ROOT, "/"
 * normally) so tests scan fixture trees. Everything is bounded: file
 * sizes, line lengths, the number and bytes of findings (they must fit the
 * command center's limits and the catalog's output cap), and the time
 * programs may run (the scan runs in the runner's child, which is killed
 * at the catalog's limit; we want our own, smaller one first).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "defs.h"
#include "probes.h"
#include "scan.h"
#include "util.h"

/* ---- findings --------------------------------------------------------- */

/*
 * A copy of in that the command center accepts as "printable UTF-8":
 * invalid bytes and C0 controls become '?', tab and newlines a space, C1
 * controls (U+0080..U+009F) "??"; at most max bytes, cut on a character
 * boundary with "..." when longer. *jlen gets its JSON-escaped length.
 */
static char *
printable(const char *in, size_t max, size_t *jlen)
{
	char  *s;
	size_t n, i;

	if ((s = str_utf8_sanitize(in, strlen(in))) == NULL)
		return NULL;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' || c == '\n' || c == '\r')
			s[i] = ' ';
		else if (c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			s[i] = '?';
			s[i + 1] = '?';
		}
	}
	if ((n = strlen(s)) > max) {
		n = max - 3;
		/* Back off continuation bytes so no character is split. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(s + n, "...", 4);
	}
	*jlen = 2;
	for (i = 0; s[i] != '\0'; i++)
		*jlen += (s[i] == '"' || s[i] == '\\') ? 2 : 1;
	return s;
}

static void
add(struct scan_ctx *s, const char *id, const char *severity, const char *title,
    const char *remediation, const char *detail, int truncation)
{
	char   *t[4] = { NULL, NULL, NULL, NULL };
	size_t	len[4], total = 64 + strlen(severity);
	json_t *o = NULL;

	if (s->failed || (s->full && !truncation))
		return;
	if ((t[0] = printable(id, SCAN_ID_MAX, &len[0])) == NULL ||
	    (t[1] = printable(title, SCAN_TITLE_MAX, &len[1])) == NULL ||
	    (t[2] = printable(detail, SCAN_DETAIL_MAX, &len[2])) == NULL ||
	    (t[3] = printable(remediation != NULL ? remediation : "",
		 SCAN_REMEDIATION_MAX, &len[3])) == NULL) {
		s->failed = 1;
		goto out;
	}
	for (size_t i = 0; i < 4; i++)
		total += len[i];
	/* Keep one slot and some bytes for the truncation note itself. */
	if (!truncation &&
	    (json_array_size(s->findings) + 1 >= SCAN_FINDINGS_MAX ||
		s->bytes + total > SCAN_JSON_BUDGET)) {
		s->full = 1;
		add(s, "scan.truncated", "medium",
		    "Scan findings were truncated",
		    "Look at the host directly; fix the findings shown first.",
		    "more findings than the command center accepts (1000 "
		    "findings, about 200 KiB); the rest were dropped",
		    1);
		goto out;
	}
	if ((o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", t[0], "severity",
		 severity, "title", t[1], "detail", t[2], "remediation",
		 t[3])) == NULL ||
	    json_array_append_new(s->findings, o) == -1) {
		s->failed = 1;
		goto out;
	}
	s->bytes += total;
out:
	for (size_t i = 0; i < 4; i++)
		free(t[i]);
}

void
scan_finding(struct scan_ctx *s, const char *id, const char *severity,
    const char *title, const char *remediation, const char *fmt, ...)
{
	char	detail[2 * SCAN_DETAIL_MAX]; /* longer: cut with "..." */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	add(s, id, severity, title, remediation, detail, 0);
}

/* ---- files under the prefix -------------------------------------------- */

int
scan_path(const struct scan_ctx *s, const char *path, char *out, size_t n)
{
	int r;

	if (path[0] != '/')
		return -1;
	r = snprintf(out, n, "%s%s", s->prefix, path);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

const char *
scan_shown(const struct scan_ctx *s, const char *full)
{
	size_t n = strlen(s->prefix);

	return n > 0 && strncmp(full, s->prefix, n) == 0 ? full + n : full;
}

char *
scan_read(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char	   *data = NULL;
	int	    fd, saved;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) ==
	    -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	data = file_read_fd(fd, max, len);
out:
	saved = errno;
	close(fd);
	errno = saved;
	return data;
}

char *
scan_next_line(char **cursor, unsigned *lineno)
{
	char  *line = *cursor, *nl;
	size_t n;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else
		*cursor = line + strlen(line);
	(*lineno)++;
	if ((n = strlen(line)) > SCAN_LINE_MAX)
		line[n = SCAN_LINE_MAX] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[n - 1] = '\0';
	return line;
}

int
scan_read_long(const struct scan_ctx *s, const char *path, long *v)
{
	char p[AGENT_PATH_MAX + 64], *text = NULL, *end;
	int  rc = -1;

	if (scan_path(s, path, p, sizeof(p)) == -1 ||
	    (text = scan_read(p, 4096, NULL)) == NULL)
		goto out;
	errno = 0;
	*v = strtol(text, &end, 10);
	if (errno != 0 || end == text)
		goto out;
	while (*end == ' ' || *end == '\t' || *end == '\n')
		end++;
	if (*end == '\0')
		rc = 0;
out:
	free(text);
	return rc;
}

/* ---- programs -------------------------------------------------------------- */

/* The child: never returns. Only async-signal-safe calls after fork(). */
static void __attribute__((noreturn))
exec_child(const char *const *argv, char *const *envp, int out)
{
	int devnull;

	(void)setpgid(0, 0);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(126);
	if (dup2(devnull, 0) == -1 || dup2(devnull, 2) == -1 ||
	    dup2(out != -1 ? out : devnull, 1) == -1)
		_exit(126);
	execve(argv[0], (char *const *)(uintptr_t)argv, envp);
	_exit(127);
}

enum scan_exec_rc
scan_exec(struct scan_ctx *s, const char *const *argv, int timeout_secs,
    size_t cap, char **out, int *truncated, int *status, char *err,
    size_t errlen)
{
	enum scan_exec_rc rc = SCAN_EXEC_FAILED;
	struct stat	  st;
	struct buf	  b;
	struct pollfd	  pf;
	siginfo_t	  si;
	char		  rootenv[AGENT_PATH_MAX + 32];
	char		 *envp[4];
	int64_t		  deadline, limit, t0;
	pid_t		  pid = -1;
	int		  fds[2] = { -1, -1 }, wst, exited = 0;

	buf_init(&b, cap);
	if (out != NULL)
		*out = NULL;
	if (truncated != NULL)
		*truncated = 0;
	*status = -1;
	if (argv[0] == NULL || argv[0][0] != '/' || stat(argv[0], &st) == -1 ||
	    !S_ISREG(st.st_mode) || access(argv[0], X_OK) == -1) {
		snprintf(err, errlen, "%s is not an executable file",
		    argv[0] != NULL ? argv[0] : "(none)");
		rc = SCAN_EXEC_NOTFOUND;
		goto out;
	}
	t0 = mono_ms();
	limit = t0 + (int64_t)timeout_secs * 1000;
	deadline = limit < s->deadline_ms ? limit : s->deadline_ms;
	if (deadline <= mono_ms()) {
		snprintf(err, errlen,
		    "not run: the scan's %d s budget is used up",
		    SCAN_BUDGET_SECS);
		rc = SCAN_EXEC_TIMEOUT;
		goto out;
	}
	snprintf(rootenv, sizeof(rootenv), "VAULTMESH_SCAN_ROOT=%s",
	    s->o->root);
	envp[0] = (char *)(uintptr_t) "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[1] = (char *)(uintptr_t) "LC_ALL=C";
	envp[2] = rootenv;
	envp[3] = NULL;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		exec_child(argv, envp, fds[1]);
	/* Both sides set the group, so killpg() works whoever runs first. */
	(void)setpgid(pid, pid);
	close(fds[1]);
	fds[1] = -1;

	/* Read stdout until EOF (all holders closed it) or the deadline. */
	while (fds[0] != -1 && mono_ms() < deadline) {
		int64_t left = deadline - mono_ms();
		ssize_t n;

		pf.fd = fds[0];
		pf.events = POLLIN;
		if (poll(&pf, 1, left > 1000 ? 1000 : (int)left) <= 0)
			continue;
		/* Keep the first cap bytes; drain the rest so it can finish. */
		if ((n = buf_read_capped(&b, fds[0], out != NULL ? cap : 0,
			 out != NULL ? truncated : NULL)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (n == 0) {
			close(fds[0]);
			fds[0] = -1;
			break;
		}
	}
	/* Then its exit, without reaping it yet (see below). */
	while (mono_ms() < deadline) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
			WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid) {
			exited = 1;
			break;
		}
		(void)poll(NULL, 0, 10);
	}
	/*
	 * Until the leader is reaped its group id cannot be reused, so this
	 * kills exactly its stragglers (and it, at the deadline).
	 */
	(void)killpg(pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &wst, 0) == -1 && errno == EINTR)
		;
	if (!exited) {
		snprintf(err, errlen, "killed after %lld s%s",
		    (long long)((deadline - t0 + 999) / 1000),
		    deadline < limit ? " (the scan's time budget ran out)" :
				       "");
		rc = SCAN_EXEC_TIMEOUT;
	} else if (WIFEXITED(wst)) {
		*status = WEXITSTATUS(wst);
		rc = SCAN_EXEC_EXITED;
	} else if (WIFSIGNALED(wst)) {
		*status = WTERMSIG(wst);
		snprintf(err, errlen, "killed by signal %d", *status);
		rc = SCAN_EXEC_SIGNALED;
	}
	if (out != NULL && rc == SCAN_EXEC_EXITED) {
		if (buf_failed(&b)) {
			snprintf(err, errlen, "out of memory");
			rc = SCAN_EXEC_FAILED;
		} else if ((*out = buf_take(&b, NULL)) == NULL &&
		    (*out = strdup("")) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = SCAN_EXEC_FAILED;
		}
	}
out:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	buf_free(&b);
	return rc;
}

/* ---- systemd, as the services check asks it ------------------------------ */

/* sd_booted()'s test: systemd runs when this directory exists. */
static int
systemd_unit_prop(void *arg, const char *unit, const char *prop, char *out,
    size_t n, char *err, size_t errlen)
{
	if (access("/run/systemd/system/", F_OK) == -1)
		return SCAN_NO_SYSTEMD;
	return probes_unit_prop(arg, unit, prop, out, n, err, errlen);
}

/* ---- the table ------------------------------------------------------------ */

static const struct scan_check {
	const char *name;
	void (*run)(struct scan_ctx *);
} checks[] = {
	{ "agent", scan_check_agent },
	{ "sshd", scan_check_sshd },
	{ "kernel", scan_check_kernel },
	{ "services", scan_check_services },
	{ "network", scan_check_network },
	{ "updates", scan_check_updates },
	{ "rules", scan_check_rules },
};

void
scan_opts_from_config(struct scan_opts *o, const struct agent_config *c)
{
	memset(o, 0, sizeof(*o));
	o->root = c->scan_root;
	o->vm_root = c->root;
	o->services = c->services;
	o->nservices = c->nservices;
	o->allowed_ports = c->scan_ports;
	o->nallowed_ports = c->nscan_ports;
	o->forwarding_allowed = c->scan_forwarding_allowed;
	o->rules_dir = c->scan_rules_dir;
	o->packages = c->scan_packages;
	o->apt = c->scan_apt;
	o->pacman = c->scan_pacman;
}

json_t *
scan_run(const struct scan_opts *o, char *err, size_t errlen)
{
	struct scan_ctx	 s;
	struct scan_opts oo = *o;
	struct probes	*pr = NULL;
	size_t		 n, ran = 0;
	json_t		*out = NULL;

	memset(&s, 0, sizeof(s));
	n = strlen(o->root);
	while (n > 0 && o->root[n - 1] == '/')
		n--;
	if (n >= sizeof(s.prefix)) {
		snprintf(err, errlen, "scan root too long");
		goto out;
	}
	memcpy(s.prefix, o->root, n);
	s.prefix[n] = '\0';
	if (oo.unit_prop == NULL) {
		if ((pr = probes_new()) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		oo.unit_prop = systemd_unit_prop;
		oo.unit_arg = pr;
	}
	s.o = &oo;
	s.deadline_ms = mono_ms() + SCAN_BUDGET_SECS * 1000LL;
	if ((s.findings = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (o->only == NULL || strcmp(o->only, checks[i].name) == 0) {
			checks[i].run(&s);
			ran++;
		}
	if (ran == 0) {
		snprintf(err, errlen, "no check named %s", o->only);
		goto out;
	}
	if (s.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out = s.findings;
	s.findings = NULL;
out:
	json_decref(s.findings);
	probes_free(pr);
	return out;
}
