/*
 * Unit tests of command-center/config.c: defaults and variables of
 * CONTRACT.md ("Configuration names"). Each test starts from an
 * environment without any VAULTMESH_* variable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cc_all.h"
#include "log.h"
#include "testlib.h"

/* Removes every VAULTMESH_* variable from the environment. */
static int
clean_env(void **state)
{
	(void)state;
	tl_unsetenv_prefix("VAULTMESH_");
	return 0;
}

static int
restore(void **state)
{
	clean_env(state);
	log_set_level("error");
	return 0;
}

static int
load(struct config *c, char *err, size_t errlen)
{
	err[0] = '\0';
	return config_load(c, err, errlen);
}

/*
 * Expects config_load to fail with an error line that starts with name;
 * the line.
 */
static const char *
expect_error(const char *name, const char *value)
{
	static char   err[512];
	struct config c;
	size_t	      n = strlen(name);

	setenv(name, value, 1);
	if (load(&c, err, sizeof(err)) != -1)
		fail_msg("%s=\"%s\" accepted", name, value);
	if (strncmp(err, name, n) != 0 || err[n] != ':')
		fail_msg("%s=\"%s\": error is \"%s\"", name, value, err);
	assert_null(strchr(err, '\n'));
	unsetenv(name);
	return err;
}

/* ---- defaults ------------------------------------------------------- */

/* What CONTRACT.md promises with no variable set. */
static void
expect_defaults(const struct config *c)
{
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_int_equal(c->listen_port, 8088);
	assert_string_equal(c->db_path, "vaultmesh.db");
	assert_string_equal(c->key_path, "cc-ed25519.key");
	assert_null(c->enroll_secret);
	assert_null(c->policy_path);
	assert_int_equal(c->scan_interval_hours, 24);
	assert_int_equal(c->scan_stale_hours, 48);
	assert_int_equal(c->heartbeat_stale_minutes, 10);
	assert_int_equal(c->scheduler_tick_seconds, 300);
	assert_string_equal(c->log_level, "info");
}

static void
config_defaults_match_the_contract(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	expect_defaults(&c);
}

static void
config_empty_variables_mean_defaults(void **state)
{
	static const char *const names[] = {
		"VAULTMESH_LISTEN",
		"VAULTMESH_DB",
		"VAULTMESH_CC_KEY_PATH",
		"VAULTMESH_ENROLL_SECRET",
		"VAULTMESH_POLICY_PATH",
		"VAULTMESH_SCAN_INTERVAL_HOURS",
		"VAULTMESH_SCAN_STALE_HOURS",
		"VAULTMESH_HEARTBEAT_STALE_MINUTES",
		"VAULTMESH_SCHEDULER_TICK_SECONDS",
		"VAULTMESH_LOG",
	};
	struct config c;
	char	      err[512];

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(names); i++)
		setenv(names[i], "", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	expect_defaults(&c);
}

static void
config_reads_paths_secret_and_numbers(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	tl_setenvs("VAULTMESH_DB=/var/lib/vaultmesh/cc.db",
	    "VAULTMESH_CC_KEY_PATH=/etc/vaultmesh/key",
	    "VAULTMESH_ENROLL_SECRET=s3cret",
	    "VAULTMESH_POLICY_PATH=/etc/vaultmesh/policy.json",
	    "VAULTMESH_HEARTBEAT_STALE_MINUTES=3",
	    "VAULTMESH_SCAN_STALE_HOURS=72", "VAULTMESH_SCAN_INTERVAL_HOURS=12",
	    "VAULTMESH_SCHEDULER_TICK_SECONDS=5", NULL);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.db_path, "/var/lib/vaultmesh/cc.db");
	assert_string_equal(c.key_path, "/etc/vaultmesh/key");
	assert_string_equal(c.enroll_secret, "s3cret");
	assert_string_equal(c.policy_path, "/etc/vaultmesh/policy.json");
	assert_int_equal(c.nsecrets, 1);
	assert_string_equal(c.secrets[0], "s3cret");
	assert_int_equal(c.heartbeat_stale_minutes, 3);
	assert_int_equal(c.scan_stale_hours, 72);
	assert_int_equal(c.scan_interval_hours, 12);
	assert_int_equal(c.scheduler_tick_seconds, 5);
	config_free(&c);
}

/*
 * The variable holds one secret, whole (commas and blanks included); a
 * file holds several, one a line, so a new one can be added before the
 * old one goes.
 */
static void
config_enroll_secrets_from_the_variable_and_a_file(void **state)
{
	struct config c;
	char	      err[512], path[] = "/tmp/vm-secrets-XXXXXX";
	FILE	     *f;
	int	      fd;

	(void)state;
	setenv("VAULTMESH_ENROLL_SECRET", " old,secret ", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nsecrets, 1);
	assert_string_equal(c.secrets[0], " old,secret ");
	config_free(&c);
	assert_int_equal(c.nsecrets, 0);
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("# rotated in December\nnew-one \n\nnewer-one\n", f);
	fclose(f);
	setenv("VAULTMESH_ENROLL_SECRET_FILE", path, 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nsecrets, 3);
	assert_string_equal(c.secrets[1], "new-one");
	assert_string_equal(c.secrets[2], "newer-one");
	config_free(&c);
	assert_non_null(f = fopen(path, "w"));
	for (int i = 0; i < 8; i++)
		fprintf(f, "s%d\n", i);
	fclose(f);
	expect_error("VAULTMESH_ENROLL_SECRET_FILE", path); /* nine */
	unsetenv("VAULTMESH_ENROLL_SECRET");
	unlink(path);
	expect_error("VAULTMESH_ENROLL_SECRET_FILE", path); /* missing */
}

/* systemd's credential file: one secret a line, comments skipped. */
static void
config_enroll_secret_credential_holds_lines(void **state)
{
	struct config c;
	char	      err[512], dir[] = "/tmp/vm-cred-XXXXXX", path[128];
	FILE	     *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/enroll-secret", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("# rotated 2026-12\nfirst-one\n\n  second-one \n", f);
	fclose(f);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(c.nsecrets, 2);
	assert_string_equal(c.secrets[0], "first-one");
	assert_string_equal(c.secrets[1], "  second-one");
	config_free(&c);
	unlink(path);
	rmdir(dir);
}

static void
config_agent_listen_and_public_host(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.agent_host, "");
	assert_null(c.public_host);
	assert_int_equal(c.unsafe_open, 0);
	setenv("VAULTMESH_AGENT_LISTEN", "0.0.0.0:8443", 1);
	setenv("VAULTMESH_PUBLIC_HOST", "cc.example.com", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.agent_host, "0.0.0.0");
	assert_int_equal(c.agent_port, 8443);
	assert_string_equal(c.public_host, "cc.example.com");
	expect_error("VAULTMESH_AGENT_LISTEN", "0.0.0.0");
	setenv("VAULTMESH_AGENT_LISTEN", "0.0.0.0:8443", 1);
	expect_error("VAULTMESH_PUBLIC_HOST", "https://cc.example.com/");
	expect_error("VAULTMESH_UNSAFE_OPEN_OPERATOR_API", "yes");
}

/* Without Access, operator routes must stay on loopback (or opt out). */
static void
config_local_mode_needs_loopback(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	assert_int_equal(addr_is_loopback("127.0.0.1"), 1);
	assert_int_equal(addr_is_loopback("127.8.9.10"), 1);
	assert_int_equal(addr_is_loopback("::1"), 1);
	assert_int_equal(addr_is_loopback("::ffff:127.0.0.1"), 1);
	assert_int_equal(addr_is_loopback("0.0.0.0"), 0);
	assert_int_equal(addr_is_loopback("::"), 0);
	assert_int_equal(addr_is_loopback("10.0.0.1"), 0);
	assert_int_equal(addr_is_loopback("128.0.0.1"), 0);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(config_check_local(&c, 0, err, sizeof(err)), 0);
	setenv("VAULTMESH_LISTEN", "0.0.0.0:8088", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(config_check_local(&c, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_UNSAFE_OPEN_OPERATOR_API"));
	assert_int_equal(strncmp(err, "VAULTMESH_LISTEN:", 17), 0);
	assert_int_equal(config_check_local(&c, 1, err, sizeof(err)), 0);
	setenv("VAULTMESH_UNSAFE_OPEN_OPERATOR_API", "1", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(config_check_local(&c, 0, err, sizeof(err)), 0);
}

static void
config_limits_have_defaults(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.max_body_bytes, 64L << 20);
	assert_int_equal(c.max_pending, 1000);
	assert_int_equal(c.pending_per_minute, 30);
	assert_int_equal(c.delivery_lease_seconds, 30);
}

static void
config_overlong_string_variables_are_named(void **state)
{
	char *big = malloc(5000);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	expect_error("VAULTMESH_DB", big);
	expect_error("VAULTMESH_CC_KEY_PATH", big);
	expect_error("VAULTMESH_POLICY_PATH", big);
	big[257] = '\0';
	expect_error("VAULTMESH_ENROLL_SECRET", big);
	free(big);
}

/* ---- VAULTMESH_LISTEN ------------------------------------------------------- */

static void
config_listen_takes_an_address_and_a_port(void **state)
{
	static const struct listen_case {
		const char    *value, *host;
		unsigned short port;
	} cases[] = {
		{ "0.0.0.0:9000", "0.0.0.0", 9000 },
		{ "10.1.2.3:1", "10.1.2.3", 1 },
		{ "127.0.0.1:65535", "127.0.0.1", 65535 },
		/* IPv6 in brackets. */
		{ "[::1]:8088", "::1", 8088 },
		{ "[::]:443", "::", 443 },
		{ "[fe80::1:2]:10", "fe80::1:2", 10 },
		/* Port 0 means any. */
		{ "127.0.0.1:0", "127.0.0.1", 0 },
		{ "[::1]:0", "::1", 0 },
	};
	const struct listen_case *l;
	struct config		  c;
	char			  err[512];

	(void)state;
	TL_FOREACH(l, cases)
	{
		setenv("VAULTMESH_LISTEN", l->value, 1);
		if (load(&c, err, sizeof(err)) != 0)
			fail_msg("VAULTMESH_LISTEN=\"%s\" rejected: %s",
			    l->value, err);
		if (strcmp(c.listen_host, l->host) != 0 ||
		    c.listen_port != l->port)
			fail_msg("VAULTMESH_LISTEN=\"%s\": %s port %u",
			    l->value, c.listen_host, (unsigned)c.listen_port);
	}
}

/* Each one an error naming its variable, in one line. */
static const struct bad_value {
	const char *name, *value;
} bad_values[] = {
#define LISTEN(v)                     \
	{                             \
		"VAULTMESH_LISTEN", v \
	}
	/* No port. */
	LISTEN("127.0.0.1"),
	LISTEN("127.0.0.1:"),
	LISTEN("[::1]"),
	LISTEN("[::1]:"),
	/* A port out of range or not a number. */
	LISTEN("127.0.0.1:70000"),
	LISTEN("127.0.0.1:65536"),
	LISTEN("127.0.0.1:-1"),
	LISTEN("127.0.0.1:99999999999999999999"),
	LISTEN("127.0.0.1:80x"),
	LISTEN("127.0.0.1:http"),
	/* strtol() skips blanks and takes a sign: " 80" and "+80" are not. */
	LISTEN("127.0.0.1: 80"),
	LISTEN("127.0.0.1:+80"),
	LISTEN("127.0.0.1:\t80"),
	LISTEN("127.0.0.1:-0"),
	/* A host name. */
	LISTEN("localhost:80"),
	LISTEN("example.org:8088"),
	LISTEN("[localhost]:80"),
	/* Garbage. */
	LISTEN("garbage"),
	LISTEN(":8088"),
	LISTEN("[]:8088"),
	LISTEN("[::1:8088"),
	LISTEN("999.0.0.1:80"),
	LISTEN("1.2.3:80"),
	LISTEN("127.0.0.1 :80"),
	LISTEN("http://127.0.0.1:80"),
	LISTEN("1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1:80"),
#undef LISTEN
	/* Limits below their bounds. */
	{ "VAULTMESH_MAX_BODY_BYTES", "1000" },
	{ "VAULTMESH_PENDING_ENROLL_PER_MINUTE", "0" },
	{ "VAULTMESH_DELIVERY_LEASE_SECONDS", "0" },
	{ "VAULTMESH_MAX_PENDING_NODES", "-1" },
	/* Log levels that are not one. */
	{ "VAULTMESH_LOG", "verbose" },
	{ "VAULTMESH_LOG", "INFO" },
	{ "VAULTMESH_LOG", "info " },
	{ "VAULTMESH_LOG", "trace" },
	{ "VAULTMESH_LOG", "a-much-too-long-log-level-name" },
};

static void
config_bad_values_are_named(void **state)
{
	const struct bad_value *b;

	(void)state;
	TL_FOREACH(b, bad_values)
	expect_error(b->name, b->value);
}

/* The error quotes the value exactly as the operator wrote it. */
static void
config_listen_error_echoes_the_value_as_given(void **state)
{
	struct config c;
	char	      err[512];

	(void)state;
	setenv("VAULTMESH_LISTEN", "[::1]:99999", 1);
	assert_int_equal(load(&c, err, sizeof(err)), -1);
	if (strstr(err, "\"[::1]:99999\"") == NULL)
		fail_msg("error does not quote the value: %s", err);
}

/* ---- numbers ------------------------------------------------------------------ */

struct numvar {
	const char *name;
	long	    min, max;
	size_t	    off; /* of the long in struct config */
};

static const struct numvar numvars[] = {
	{ "VAULTMESH_SCAN_INTERVAL_HOURS", 1, 24 * 365,
	    offsetof(struct config, scan_interval_hours) },
	{ "VAULTMESH_SCAN_STALE_HOURS", 1, 24 * 365,
	    offsetof(struct config, scan_stale_hours) },
	{ "VAULTMESH_HEARTBEAT_STALE_MINUTES", 1, 60 * 24 * 30,
	    offsetof(struct config, heartbeat_stale_minutes) },
	{ "VAULTMESH_SCHEDULER_TICK_SECONDS", 1, 86400,
	    offsetof(struct config, scheduler_tick_seconds) },
};
#define NNUM (sizeof(numvars) / sizeof(numvars[0]))

static long
field(const struct config *c, size_t off)
{
	long v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void
config_numeric_variables_accept_their_bounds(void **state)
{
	struct config c;
	char	      err[512], v[32];

	(void)state;
	for (size_t i = 0; i < NNUM; i++) {
		snprintf(v, sizeof(v), "%ld", numvars[i].min);
		setenv(numvars[i].name, v, 1);
		assert_int_equal(load(&c, err, sizeof(err)), 0);
		assert_int_equal(field(&c, numvars[i].off), numvars[i].min);
		snprintf(v, sizeof(v), "%ld", numvars[i].max);
		setenv(numvars[i].name, v, 1);
		assert_int_equal(load(&c, err, sizeof(err)), 0);
		assert_int_equal(field(&c, numvars[i].off), numvars[i].max);
		unsetenv(numvars[i].name);
	}
}

static void
config_numeric_variables_out_of_range_or_not_numbers_are_named(void **state)
{
	static const char *const bad[] = {
		"-5",
		"0",
		"ten",
		"12x",
		"1.5",
		"99999999999999999999999",
	};
	char v[32];

	(void)state;
	for (size_t i = 0; i < NNUM; i++) {
		snprintf(v, sizeof(v), "%ld", numvars[i].min - 1);
		expect_error(numvars[i].name, v);
		snprintf(v, sizeof(v), "%ld", numvars[i].max + 1);
		expect_error(numvars[i].name, v);
		for (size_t j = 0; j < TL_NITEMS(bad); j++)
			expect_error(numvars[i].name, bad[j]);
	}
}

/* ---- VAULTMESH_LOG --------------------------------------------------------------- */

static void
config_log_levels(void **state)
{
	static const char *const ok[] = { "error", "warn", "info", "debug" };
	struct config		 c;
	char			 err[512];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		setenv("VAULTMESH_LOG", ok[i], 1);
		assert_int_equal(load(&c, err, sizeof(err)), 0);
		assert_string_equal(c.log_level, ok[i]);
	}
	setenv("VAULTMESH_LOG", "debug", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_true(log_enabled(LOG_LVL_DEBUG));
	setenv("VAULTMESH_LOG", "error", 1);
	assert_int_equal(load(&c, err, sizeof(err)), 0);
	assert_false(log_enabled(LOG_LVL_WARN));
	assert_true(log_enabled(LOG_LVL_ERR));
}

static void
config_first_error_wins_and_names_one_variable(void **state)
{
	(void)state;
	setenv("VAULTMESH_LOG", "nope", 1);
	assert_null(
	    strstr(expect_error("VAULTMESH_LISTEN", "nope"), "VAULTMESH_LOG"));
}

static void
config_error_fits_small_buffer(void **state)
{
	struct config c;
	char	      err[10];

	(void)state;
	memset(err, 'z', sizeof(err));
	setenv("VAULTMESH_LISTEN", "nope", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, restore)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(config_defaults_match_the_contract),
		T(config_empty_variables_mean_defaults),
		T(config_reads_paths_secret_and_numbers),
		T(config_overlong_string_variables_are_named),
		T(config_enroll_secrets_from_the_variable_and_a_file),
		T(config_enroll_secret_credential_holds_lines),
		T(config_agent_listen_and_public_host),
		T(config_local_mode_needs_loopback),
		T(config_limits_have_defaults),
		T(config_listen_takes_an_address_and_a_port),
		T(config_bad_values_are_named),
		T(config_listen_error_echoes_the_value_as_given),
		T(config_numeric_variables_accept_their_bounds),
		T(config_numeric_variables_out_of_range_or_not_numbers_are_named),
		T(config_log_levels),
		T(config_first_error_wins_and_names_one_variable),
		T(config_error_fits_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
