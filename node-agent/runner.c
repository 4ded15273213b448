/*
 * Runs one verified command in a forked child, in its own session and so
 * its own process group. No shell, ever: journal-tail exec's journalctl
 * with an argument vector and a minimal environment; the other commands
 * are C code in the child. The parent reads the child's output through a
 * pipe up to the catalog's output cap and kills the whole group with
 * SIGKILL at the catalog's time limit (status "timeout") or when the agent
 * stops. Doing even in-process work in the child means every command gets
 * the same time limit, cap and crash isolation.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "config.h"
#include "defs.h"
#include "log.h"
#include "probes.h"
#include "runner.h"
#include "scan.h"

#define TRUNC_MARK "\n[output truncated]\n"

static const char *const journalctl_paths[] = {
	"/usr/bin/journalctl",
	"/bin/journalctl",
	NULL,
};

static void
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void
write_str(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

char *
agent_info_text(const struct agent_config *cfg, const char *node_id,
    int64_t last_seq)
{
	json_t *o = NULL, *svcs = NULL, *mets = NULL, *ports = NULL;
	char   *s = NULL;

	if ((svcs = json_array()) == NULL || (mets = json_array()) == NULL ||
	    (ports = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < cfg->nscan_ports; i++)
		json_array_append_new(ports, json_integer(cfg->scan_ports[i]));
	for (size_t i = 0; i < cfg->nservices; i++)
		json_array_append_new(svcs, json_string(cfg->services[i]));
	for (size_t i = 0; i < cfg->nmetrics; i++)
		json_array_append_new(mets, json_string(cfg->metrics[i]));
	/* Never the token or the enroll secret: only whether one is set. */
	o = json_pack("{s:s,s:s,s:I,s:{s:s,s:s,s:s,s:I,s:O,s:s,s:I,s:O,s:b,"
		      "s:b,s:s}}",
	    "agent_version", VM_VERSION, "node_id", node_id, "last_seq",
	    (json_int_t)last_seq, "config", "cc_url", cfg->cc_url, "os_profile",
	    cfg->os_profile, "root", cfg->root, "heartbeat_secs",
	    (json_int_t)cfg->heartbeat_secs, "services", svcs, "log",
	    cfg->log_level, "backoff_max_secs",
	    (json_int_t)cfg->backoff_max_secs, "cloudflared_metrics", mets,
	    "enroll_secret_set", cfg->enroll_secret != NULL,
	    "cc_pubkey_override", cfg->have_cc_pubkey, "scan_root",
	    cfg->scan_root);
	if (o != NULL &&
	    json_object_update_new(json_object_get(o, "config"),
		json_pack("{s:b,s:s,s:O,s:s,s:s,s:s,s:s}", "insecure_http_lab",
		    cfg->insecure_http, "scan_forwarding",
		    cfg->scan_forwarding_allowed ? "allowed" : "forbidden",
		    "scan_allowed_ports", ports, "scan_rules_dir",
		    cfg->scan_rules_dir, "scan_packages", cfg->scan_packages,
		    "scan_apt", cfg->scan_apt, "scan_pacman",
		    cfg->scan_pacman)) == 0)
		s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
out:
	json_decref(o);
	json_decref(svcs);
	json_decref(mets);
	json_decref(ports);
	return s;
}

static int
child_service(struct agent *a, const struct cmd_payload *p, int restart)
{
	struct probes *pr = NULL;
	const char *unit = json_string_value(json_object_get(p->args, "unit"));
	char	    v1[AGENT_STATE_LEN], v2[AGENT_STATE_LEN], err[256];
	char	    job[256], line[512];
	int	    rc = 1;

	if ((pr = probes_new()) == NULL) {
		write_str(2, "error: out of memory\n");
		goto out;
	}
	if (restart) {
		/* Checked before too; this is the place it matters. */
		if (!config_has_service(a->cfg, unit)) {
			write_str(2,
			    "error: unit is not in VAULTMESH_SERVICES\n");
			goto out;
		}
		if (probes_unit_restart(pr, unit, job, sizeof(job), err,
			sizeof(err)) == -1)
			goto fail;
		snprintf(line, sizeof(line), "restart queued: job %s\n", job);
	} else {
		if (probes_unit_prop(pr, unit, "ActiveState", v1, sizeof(v1),
			err, sizeof(err)) == -1 ||
		    probes_unit_prop(pr, unit, "SubState", v2, sizeof(v2), err,
			sizeof(err)) == -1)
			goto fail;
		snprintf(line, sizeof(line), "ActiveState=%s\nSubState=%s\n",
		    v1, v2);
	}
	write_str(1, line);
	rc = 0;
	goto out;
fail:
	snprintf(line, sizeof(line), "error: %s\n", err);
	write_str(2, line);
out:
	probes_free(pr);
	return rc;
}

static int
child_journal(const struct cmd_payload *p)
{
	const char *unit = json_string_value(json_object_get(p->args, "unit"));
	json_t	   *jl = json_object_get(p->args, "lines");
	char	    n[16];
	char *const envp[] = { (char *)(uintptr_t) "PATH=/usr/bin:/bin",
		(char *)(uintptr_t) "LC_ALL=C.UTF-8", NULL };

	snprintf(n, sizeof(n), "%lld",
	    jl != NULL ? (long long)json_integer_value(jl) : 50LL);
	for (const char *const *path = journalctl_paths; *path != NULL;
	     path++) {
		const char *argv[] = { "journalctl", "-u", unit, "-n", n,
			"--no-pager", "-o", "short-iso", NULL };

		if (access(*path, X_OK) != 0)
			continue;
		execve(*path, (char *const *)(uintptr_t)argv, envp);
		write_str(2, "error: cannot execute journalctl: ");
		write_str(2, strerror(errno));
		write_str(2, "\n");
		return 126;
	}
	write_str(2, "error: journalctl not found in /usr/bin or /bin\n");
	return 127;
}

static int
child_scan(struct agent *a)
{
	struct scan_opts so;
	json_t		*f, *o;
	char		 err[256];
	char		*s;

	scan_opts_from_config(&so, a->cfg);
	if ((f = scan_run(&so, err, sizeof(err))) == NULL) {
		write_str(2, "error: ");
		write_str(2, err);
		write_str(2, "\n");
		return 1;
	}
	o = json_pack("{s:o}", "findings", f);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		write_str(2, "error: out of memory\n");
		return 1;
	}
	write_str(1, s);
	free(s);
	json_decref(o);
	return 0;
}

/* The catalog's commands, in the child: returns the exit status. */
static int
dispatch(struct agent *a, const struct cmd_payload *p)
{
	char *s;
	int   code = 1;

	if (strcmp(p->command, "agent-info") == 0) {
		if ((s = agent_info_text(a->cfg, a->node_id, a->last_seq)) !=
		    NULL) {
			write_str(1, s);
			write_str(1, "\n");
			free(s);
			code = 0;
		}
	} else if (strcmp(p->command, "service-status") == 0)
		code = child_service(a, p, 0);
	else if (strcmp(p->command, "service-restart") == 0)
		code = child_service(a, p, 1);
	else if (strcmp(p->command, "journal-tail") == 0)
		code = child_journal(p);
	else if (strcmp(p->command, "sovereign-scan") == 0)
		code = child_scan(a);
	else
		write_str(2, "error: command has no runner\n");
	return code;
}

/* The child: its own session, output into the pipe; never returns. */
static void __attribute__((noreturn))
child(struct agent *a, const struct cmd_payload *p, int out, runner_fn fn)
{
	sigset_t none;
	int	 devnull, logfd;

	(void)setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if ((devnull = open("/dev/null", O_RDONLY)) != -1) {
		dup2(devnull, 0);
		if (devnull > 2)
			close(devnull);
	}
	/*
	 * The agent's own log lines keep going to its stderr (the journal),
	 * not into the command's output; close-on-exec, so programs the
	 * command runs do not inherit it.
	 */
	if ((logfd = fcntl(2, F_DUPFD_CLOEXEC, 3)) != -1)
		log_set_fd(logfd);
	if (dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(125);
	if (out > 2)
		close(out);
	_exit(fn(a, p));
}

void
run_result_free(struct run_result *r)
{
	if (r == NULL)
		return;
	free(r->output);
	r->output = NULL;
	json_decref(r->findings);
	r->findings = NULL;
}

char *
result_json(const char *node_id, const char *command_id,
    const struct run_result *r, size_t *len)
{
	char	st[32], fin[32];
	json_t *o;
	char   *s = NULL;

	time_rfc3339(r->started, st);
	time_rfc3339(r->finished, fin);
	o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "node_id", node_id,
	    "command_id", command_id, "status", r->status, "exit_code",
	    r->exit_code, "output", r->output != NULL ? r->output : "",
	    "started_at", st, "finished_at", fin);
	if (o != NULL && r->findings != NULL &&
	    json_object_set(o, "findings", r->findings) == -1)
		goto out;
	if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL)
		*len = strlen(s);
out:
	json_decref(o);
	return s;
}

/* Turns the scan child's JSON into findings and a human summary. */
static void
scan_result(struct run_result *r)
{
	static const char *const sev[] = { "critical", "high", "medium", "low",
		"info" };
	struct buf		 b;
	json_t			*root, *f, *e;
	size_t			 i;
	int			 count[5] = { 0 };

	root = json_loads(r->output, 0, NULL);
	if (!json_is_array(f = json_object_get(root, "findings"))) {
		r->status = "error";
		json_decref(root);
		return;
	}
	buf_init(&b, 64 * 1024);
	json_array_foreach(f, i, e)
	{
		const char *s =
		    json_string_value(json_object_get(e, "severity"));

		for (size_t k = 0; k < 5; k++)
			if (s != NULL && strcmp(s, sev[k]) == 0)
				count[k]++;
	}
	buf_printf(&b,
	    "sovereign-scan: %zu findings (critical %d, high %d, "
	    "medium %d, low %d, info %d)\n",
	    json_array_size(f), count[0], count[1], count[2], count[3],
	    count[4]);
	json_array_foreach(f, i, e) buf_printf(&b, "%s %s: %s\n",
	    json_string_value(json_object_get(e, "severity")),
	    json_string_value(json_object_get(e, "id")),
	    json_string_value(json_object_get(e, "title")));
	if (!buf_failed(&b)) {
		free(r->output);
		r->output = buf_take(&b, NULL);
	}
	buf_free(&b);
	r->findings = json_incref(f);
	json_decref(root);
}

/* Waits for the child to exit until deadline (monotonic ms); 1 if it did. */
static int
wait_exit(struct agent *a, pid_t pid, int64_t deadline_ms)
{
	siginfo_t     si;
	struct pollfd pf = { .fd = a->stop_pipe[0], .events = POLLIN };

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
			WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return 1;
		if (mono_ms() >= deadline_ms || atomic_load(&a->stop))
			return 0;
		(void)poll(&pf, 1, 10);
	}
}

/*
 * The reported output: the command's bytes as valid UTF-8, then our
 * truncation mark and note, all within cap bytes.
 */
static char *
compose(const struct buf *out, int truncated, const char *note, size_t cap)
{
	struct buf b;
	char	  *data, *s = NULL;
	size_t	   keep = buf_failed(out) ? 0 : out->len;
	size_t	   extra = strlen(note) + 1;

	if (buf_failed(out))
		truncated = 1;
	if (truncated)
		extra += strlen(TRUNC_MARK);
	if (keep + extra > cap) {
		truncated = 1;
		extra = strlen(note) + 1 + strlen(TRUNC_MARK);
		keep = cap > extra ? cap - extra : 0;
	}
	if ((data = str_utf8_sanitize(out->p != NULL ? out->p : "", keep)) ==
	    NULL)
		return NULL;
	buf_init(&b, cap + extra + 1);
	buf_puts(&b, data);
	if (truncated)
		buf_puts(&b, TRUNC_MARK);
	else if (note[0] != '\0' && keep > 0 && data[strlen(data) - 1] != '\n')
		buf_putc(&b, '\n');
	buf_puts(&b, note);
	s = buf_take(&b, NULL);
	buf_free(&b);
	free(data);
	return s;
}

void
runner_exec(struct agent *a, const struct cmd_payload *p, int timeout_secs,
    size_t cap, runner_fn fn, struct run_result *r)
{
	struct pollfd pf[2];
	struct buf    out;
	int64_t	      deadline_ms;
	pid_t	      pid = -1;
	int	      fds[2] = { -1, -1 }, st, eof = 0, timed_out = 0;
	int	      stopped = 0, truncated = 0;
	char	      note[96] = "";

	memset(r, 0, sizeof(*r));
	r->status = "error";
	r->exit_code = -1;
	r->started = time(NULL);
	buf_init(&out, cap);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(note, sizeof(note), "error: pipe: %s\n",
		    strerror(errno));
		goto out;
	}
	deadline_ms = mono_ms() + (int64_t)timeout_secs * 1000;
	watchdog_expect((int64_t)timeout_secs * 1000); /* then it is killed */
	if ((pid = fork()) == -1) {
		snprintf(note, sizeof(note), "error: fork: %s\n",
		    strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(a, p, fds[1], fn);
	close(fds[1]);
	fds[1] = -1;

	while (!eof) {
		int64_t left = deadline_ms - mono_ms();
		ssize_t n;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		pf[0].fd = fds[0];
		pf[0].events = POLLIN;
		pf[1].fd = a->stop_pipe[0];
		pf[1].events = POLLIN;
		if (poll(pf, 2, left > 1000 ? 1000 : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents != 0 || atomic_load(&a->stop)) {
			stopped = 1;
			break;
		}
		if (pf[0].revents == 0)
			continue;
		/* Keep the first output_cap bytes; drain the rest. */
		if ((n = buf_read_capped(&out, fds[0], cap, &truncated)) ==
		    -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
	}
	if (eof && !wait_exit(a, pid, deadline_ms)) {
		if (atomic_load(&a->stop))
			stopped = 1;
		else
			timed_out = 1;
	}
	/*
	 * The group (stragglers too) is ours until the leader is reaped;
	 * kill() covers a child stopped before its setsid().
	 */
	(void)kill(pid, SIGKILL);
	(void)killpg(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (timed_out) {
		r->status = "timeout";
		snprintf(note, sizeof(note), "[killed after %d s]\n",
		    timeout_secs);
	} else if (stopped) {
		snprintf(note, sizeof(note),
		    "[killed: the agent stopped while the command ran]\n");
	} else if (WIFEXITED(st)) {
		r->exit_code = WEXITSTATUS(st);
		r->status = r->exit_code == 0 ? "ok" : "error";
	} else if (WIFSIGNALED(st))
		r->exit_code = 128 + WTERMSIG(st);
out:
	r->finished = time(NULL);
	r->output = compose(&out, truncated, note, cap);
	if (r->output == NULL)
		r->status = "error"; /* out of memory: reported with "" */
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	buf_free(&out);
}

void
runner_run(struct agent *a, const struct cmd_payload *p, struct run_result *r)
{
	const struct cmd_spec *spec = cmd_lookup(p->command);

	if (spec == NULL) {
		memset(r, 0, sizeof(*r));
		r->status = "error";
		r->exit_code = -1;
		r->started = r->finished = time(NULL);
		r->output = strdup("error: command has no runner");
		return;
	}
	runner_exec(a, p, spec->timeout_secs, spec->output_cap, dispatch, r);
	/* A scan that ran but whose findings cannot be read is an error. */
	if (strcmp(p->command, "sovereign-scan") == 0 &&
	    strcmp(r->status, "ok") == 0)
		scan_result(r);
}
