/*
 * runner_run() in a child process (agent-info, sovereign-scan, no-bus
 * service-status) and the scan table over temporary file trees.
 */
#include <sys/stat.h>

#include <signal.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"
#include "config.h"
#include "runner.h"
#include "scan.h"
#include "state.h"

static char		   base[] = "/tmp/agent_test_runner.XXXXXX";
static char		   vmroot[600], tree[600];
static struct agent_config cfg;
static struct agent	   ag;

static void
put(const char *rel, const char *text)
{
	char p[900], cmd[1000];

	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s/%s')\"", tree,
	    rel);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	assert_int_equal(file_write_atomic(p, text, strlen(text), 0644), 0);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	assert_true(sodium_init() >= 0);
	assert_non_null(mkdtemp(base));
	snprintf(vmroot, sizeof(vmroot), "%s/vm", base);
	snprintf(tree, sizeof(tree), "%s/tree", base);
	unsetenv("VAULTMESH_ENROLL_SECRET");
	setenv("VAULTMESH_ROOT", vmroot, 1);
	setenv("VAULTMESH_SCAN_ROOT", tree, 1);
	setenv("VAULTMESH_LOG", "error", 1);
	assert_int_equal(config_load(&cfg, err, sizeof(err)), 0);
	assert_int_equal(agent_init(&ag, &cfg, err, sizeof(err)), 0);
	ag.last_seq = 42;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	agent_free(&ag);
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void
run(const char *command, const char *args, struct run_result *r)
{
	struct cmd_payload p;

	memset(&p, 0, sizeof(p));
	snprintf(p.command, sizeof(p.command), "%s", command);
	p.args = json_loads(args, 0, NULL);
	runner_run(&ag, &p, r);
	cmd_payload_free(&p);
}

static void
agent_info_runs_in_a_child(void **state)
{
	struct run_result r;
	json_t		 *o;

	(void)state;
	run("agent-info", "{}", &r);
	assert_string_equal(r.status, "ok");
	assert_int_equal(r.exit_code, 0);
	o = json_loads(r.output, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "last_seq")),
	    42);
	assert_string_equal(json_string_value(json_object_get(o, "node_id")),
	    ag.node_id);
	assert_true(json_is_false(json_object_get(json_object_get(o, "config"),
	    "enroll_secret_set")));
	json_decref(o);
	assert_null(r.findings);
	run_result_free(&r);
}

static void
service_status_without_bus_is_an_error(void **state)
{
	struct run_result r;

	(void)state;
	if (access("/run/dbus/system_bus_socket", F_OK) == 0)
		skip();
	run("service-status", "{\"unit\":\"ssh.service\"}", &r);
	assert_string_equal(r.status, "error");
	assert_int_equal(r.exit_code, 1);
	assert_non_null(strstr(r.output, "no system bus"));
	run_result_free(&r);
}

static int
has(json_t *findings, const char *id, const char *severity)
{
	size_t	i;
	json_t *f;

	json_array_foreach(findings, i,
	    f) if (strcmp(json_string_value(json_object_get(f, "id")), id) ==
	    0) return severity == NULL ||
	    strcmp(json_string_value(json_object_get(f, "severity")),
		severity) == 0;
	return 0;
}

/* The scan as the agent configures it (tree and vmroot from setup()). */
static json_t *
scan_tree(void)
{
	struct scan_opts so;
	char		 err[256];

	scan_opts_from_config(&so, &cfg);
	return scan_run(&so, err, sizeof(err));
}

/* Findings above "info" (info ones say what could not be checked here). */
static size_t
above_info(json_t *findings)
{
	size_t	i, n = 0;
	json_t *f;

	json_array_foreach(findings, i,
	    f) if (strcmp(json_string_value(json_object_get(f, "severity")),
		       "info") != 0) n++;
	return n;
}

static void
scan_finds_sshd_and_state_problems(void **state)
{
	char	p[700];
	json_t *f;

	(void)state;
	/* No sshd_config at all: nothing about ssh. */
	f = scan_tree();
	assert_non_null(f);
	assert_int_equal(above_info(f), 0);
	json_decref(f);

	put("etc/ssh/sshd_config",
	    "# x\nInclude sshd_config.d/*.conf\n"
	    "PermitRootLogin no\n");
	put("etc/ssh/sshd_config.d/50-a.conf", "PermitEmptyPasswords yes\n");
	put("etc/ssh/sshd_config.d/40-b.conf", "PermitRootLogin=\"yes\"\n");
	/* A FIFO planted in the tree must not block the scan. */
	snprintf(p, sizeof(p), "%s/etc/ssh/sshd_config.d/30-fifo.conf", tree);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_int_equal(state_save_token(vmroot, "t"), 0);
	snprintf(p, sizeof(p), "%s/node_token", vmroot);
	chmod(p, 0604);
	f = scan_tree();
	assert_non_null(f);
	assert_true(has(f, "ssh.permit_root_login", "critical"));
	assert_true(has(f, "ssh.permit_empty_passwords", "critical"));
	assert_true(
	    has(f, "ssh.password_authentication", "high")); /* default */
	assert_true(has(f, "agent.token_exposed", "high"));
	assert_false(has(f, "agent.root_exposed", NULL));
	json_decref(f);
	chmod(p, 0600);
}

static void
scan_ignores_match_blocks(void **state)
{
	char	p[700];
	json_t *f;

	(void)state;
	snprintf(p, sizeof(p), "rm -rf '%s/etc'", tree);
	assert_int_equal(system(p), 0);
	put("etc/ssh/sshd_config",
	    "PasswordAuthentication no\n"
	    "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n");
	f = scan_tree();
	assert_int_equal(above_info(f), 0);
	json_decref(f);
}

static void
sovereign_scan_command_reports_findings(void **state)
{
	struct run_result r;

	(void)state;
	put("etc/ssh/sshd_config",
	    "PermitRootLogin yes\n"
	    "PasswordAuthentication no\n");
	run("sovereign-scan", "{}", &r);
	assert_string_equal(r.status, "ok");
	assert_true(json_is_array(r.findings));
	assert_true(has(r.findings, "ssh.permit_root_login", "critical"));
	assert_non_null(strstr(r.output, "critical 1"));
	run_result_free(&r);
}

static int
gone_or_zombie(int pid)
{
	char path[64], *st;
	int  rc;

	if (kill(pid, 0) == -1)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((st = file_read(path, 4096, NULL)) == NULL)
		return 1;
	rc = strstr(st, ") Z ") != NULL;
	free(st);
	return rc;
}

/* Floods the pipe, leaves a grandchild holding it, then hangs. */
static int
flood_and_hang(struct agent *a, const struct cmd_payload *p)
{
	char  line[100];
	pid_t gc;

	(void)a;
	(void)p;
	if ((gc = fork()) == 0) {
		for (;;)
			pause();
	}
	snprintf(line, sizeof(line), "grandchild=%d\n", (int)gc);
	if (write(1, line, strlen(line)) == -1)
		return 1;
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 1000; i++)
		if (write(1, line, sizeof(line)) == -1)
			break;
	for (;;)
		pause();
	return 0;
}

static int
exit_3(struct agent *a, const struct cmd_payload *p)
{
	(void)a;
	(void)p;
	return write(2, "bad\xff\n", 5) == 5 ? 3 : 4;
}

static void
time_limit_kills_the_whole_group_and_caps_output(void **state)
{
	struct cmd_payload p;
	struct run_result  r;
	int64_t		   t0 = mono_ms();
	int		   gc;
	char		  *eq;

	(void)state;
	memset(&p, 0, sizeof(p));
	runner_exec(&ag, &p, 1, 200, flood_and_hang, &r);
	assert_true(mono_ms() - t0 >= 1000 && mono_ms() - t0 < 3000);
	assert_string_equal(r.status, "timeout");
	assert_int_equal(r.exit_code, -1);
	assert_true(strlen(r.output) <= 200);
	assert_non_null(strstr(r.output, "[output truncated]"));
	assert_non_null(strstr(r.output, "[killed after 1 s]"));
	assert_non_null(eq = strstr(r.output, "grandchild="));
	gc = atoi(eq + strlen("grandchild="));
	assert_true(gc > 0);
	/* killpg reached the grandchild too (it may linger as a zombie). */
	for (int i = 0; i < 300 && !gone_or_zombie(gc); i++)
		usleep(10000);
	assert_true(gone_or_zombie(gc));
	run_result_free(&r);
}

static void
exit_status_and_stderr_are_reported(void **state)
{
	struct cmd_payload p;
	struct run_result  r;

	(void)state;
	memset(&p, 0, sizeof(p));
	runner_exec(&ag, &p, 5, 4096, exit_3, &r);
	assert_string_equal(r.status, "error");
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(r.output, "bad?\n");
	run_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(agent_info_runs_in_a_child),
		cmocka_unit_test(service_status_without_bus_is_an_error),
		cmocka_unit_test(scan_finds_sshd_and_state_problems),
		cmocka_unit_test(scan_ignores_match_blocks),
		cmocka_unit_test(sovereign_scan_command_reports_findings),
		cmocka_unit_test(
		    time_limit_kills_the_whole_group_and_caps_output),
		cmocka_unit_test(exit_status_and_stderr_are_reported),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
