/*
 * Node agent configuration: defaults, good values, and each bad value
 * giving one error that names its variable.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "testlib.h"

/* Removes every VAULTMESH_* variable: each test starts from none. */
static int
clear_env(void **state)
{
	(void)state;
	tl_unsetenv_prefix("VAULTMESH_");
	return 0;
}

static void
defaults_apply_when_unset(void **state)
{
	struct agent_config c;
	char		    err[256] = "";

	(void)state;
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.cc_url, "http://127.0.0.1:8088");
	assert_string_equal(c.os_profile, "generic");
	assert_string_equal(c.root, "/var/lib/vaultmesh");
	assert_int_equal(c.heartbeat_secs, 30);
	assert_int_equal(c.backoff_max_secs, 60);
	assert_null(c.enroll_secret);
	assert_int_equal(c.nservices, 0);
	assert_int_equal(c.nmetrics, 5);
	assert_string_equal(c.metrics[0], "127.0.0.1:20241");
	assert_string_equal(c.metrics[4], "127.0.0.1:20245");
	assert_int_equal(c.have_cc_pubkey, 0);
	assert_string_equal(c.scan_root, "/");
	assert_string_equal(c.log_level, "info");
	config_free(&c);
}

static void
good_values_are_parsed(void **state)
{
	struct agent_config c;
	char		    err[256] = "";

	(void)state;
	tl_setenvs("VAULTMESH_CC_URL=https://cc.example.org/",
	    "VAULTMESH_OS_PROFILE=Arch_Vault-1.0",
	    "VAULTMESH_ROOT=/tmp/vm-root", "VAULTMESH_HEARTBEAT_SECS=5",
	    "VAULTMESH_ENROLL_SECRET=abc",
	    "VAULTMESH_SERVICES= nginx.service, sshd.service ,,"
	    "getty@tty1.service,nginx.service",
	    "VAULTMESH_LOG=debug", "VAULTMESH_BACKOFF_MAX_SECS=3600",
	    "VAULTMESH_CLOUDFLARED_METRICS=localhost:2000,[::1]:2001",
	    "VAULTMESH_CC_PUBKEY=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	    NULL);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.cc_url, "https://cc.example.org");
	assert_string_equal(c.os_profile, "Arch_Vault-1.0");
	assert_int_equal(c.heartbeat_secs, 5);
	assert_string_equal(c.enroll_secret, "abc");
	assert_int_equal(c.nservices, 3); /* blanks skipped, deduplicated */
	assert_string_equal(c.services[1], "sshd.service");
	assert_true(config_has_service(&c, "getty@tty1.service"));
	assert_false(config_has_service(&c, "ssh.service"));
	assert_int_equal(c.nmetrics, 2);
	assert_string_equal(c.metrics[1], "[::1]:2001");
	assert_int_equal(c.have_cc_pubkey, 1);
	assert_int_equal(c.cc_pubkey[0], 0xd7);
	config_free(&c);
	clear_env(NULL);
	setenv("VAULTMESH_LOG", "info", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	config_free(&c);
}

static void
each_bad_value_names_its_variable(void **state)
{
	static const struct {
		const char *var;
		const char *values[5]; /* up to a NULL */
	} bad[] = {
		{ "VAULTMESH_CC_URL",
		    { "ftp://x", "http://", "http://a b", "https://cc/?x=1" } },
		{ "VAULTMESH_OS_PROFILE",
		    { "a b", "p/q",
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			"xxxxxxxxxxxxxxxxxxxxxxxxx" } },
		{ "VAULTMESH_ROOT", { "/tmp/a\tb" } },
		{ "VAULTMESH_HEARTBEAT_SECS", { "0", "86401", "1x" } },
		{ "VAULTMESH_SERVICES",
		    { "nginx", "a.service,../b.service", "a.service;rm" } },
		{ "VAULTMESH_LOG", { "trace" } },
		{ "VAULTMESH_BACKOFF_MAX_SECS", { "0", "3601" } },
		{ "VAULTMESH_CLOUDFLARED_METRICS",
		    { "127.0.0.1", "127.0.0.1:0", "a b:80", "[::1:80" } },
		{ "VAULTMESH_CC_PUBKEY", { "!!!", "AAAA" } },
	};
	struct agent_config c;
	char		    err[256];

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(bad); i++) {
		/* The list ends with a NULL. */
		assert_null(bad[i].values[TL_NITEMS(bad[i].values) - 1]);
		for (const char *const *v = bad[i].values; *v != NULL; v++) {
			clear_env(NULL);
			setenv(bad[i].var, *v, 1);
			err[0] = '\0';
			assert_int_equal(config_load(&c, err, sizeof(err)), -1);
			if (strncmp(err, bad[i].var, strlen(bad[i].var)) != 0 ||
			    strchr(err, '\n') != NULL)
				fail_msg("%s=%s gave \"%s\"", bad[i].var, *v,
				    err);
		}
	}
	clear_env(NULL);
}

/*
 * VAULTMESH_CC_URL through libcurl's URL parser: each malformed value and
 * each plain http:// to a host other than the loopback is one error line
 * naming the variable (the README promises exit 2 for them).
 */
static void
cc_url_is_parsed_not_guessed(void **state)
{
	static const struct {
		const char *url, *why; /* why: in the error line */
	} bad[] = {
		{ "http://:8088", "No host part" },
		{ "http://127.0.0.1:99999", "Port number" },
		{ "https://cc.example.com:99999", "Port number" },
		{ "http://[::1", "Bad IPv6" },
		{ "http://[::1]]:8088", "not a valid URL" },
		{ "http://[12345::1]:8088", "not a valid URL" },
		{ "http://127.0.0.1:0", "port from 1 to 65535" },
		{ "http://127.0.0.1:", "port from 1 to 65535" },
		{ "http://127.0.0.1:80x", "not a valid URL" },
		{ "http://user:pw@127.0.0.1:8088", "user name or password" },
		{ "https://user@cc.example.com", "user name or password" },
		{ "http://@127.0.0.1:8088", "user name or password" },
		{ "http://127.0.0.1\\@cc.example.com", "backslash" },
		{ "gopher://127.0.0.1", "http:// or https://" },
		{ "ftp://127.0.0.1", "http:// or https://" },
		{ "http:127.0.0.1:8088", "not a valid URL" },
		{ "127.0.0.1:8088", "not a valid URL" },
		{ "https://cc.example.com/?x=1", "query or fragment" },
		{ "https://cc.example.com/#top", "query or fragment" },
		{ "https://cc.example.com/a b", "without spaces" },
		/* Plain http:// off the loopback: secrets in clear text. */
		{ "http://192.0.2.10:8088", "https://" },
		{ "http://cc.example.com", "VAULTMESH_INSECURE_HTTP_LAB" },
		{ "HTTP://cc.example.com", "only to the loopback" },
		{ "http://[2001:db8::1]:8088", "only to the loopback" },
		{ "http://128.0.0.1:8088", "only to the loopback" },
		{ "http://localhost.example.com", "only to the loopback" },
		{ "http://127.0.0.1.nip.io", "only to the loopback" },
		{ "http://[::2]:8088", "only to the loopback" },
	};
	static const struct {
		const char *url, *stored;
	} good[] = {
		{ "http://127.0.0.1:8088", "http://127.0.0.1:8088" },
		{ "https://cc.example.com", "https://cc.example.com" },
		{ "http://[::1]:8088", "http://[::1]:8088" },
		{ "http://localhost:8088", "http://localhost:8088" },
		{ "http://LOCALHOST:8088/", "http://LOCALHOST:8088" },
		{ "http://127.8.9.10", "http://127.8.9.10" },
		/* libcurl's spelling of the same loopback address is stored. */
		{ "http://127.1:8088", "http://127.0.0.1:8088" },
		{ "http://[::ffff:127.0.0.1]:1",
		    "http://[::ffff:127.0.0.1]:1" },
		{ "https://cc.example.com:8443/vm/",
		    "https://cc.example.com:8443/vm" },
		{ "https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443" },
	};
	struct agent_config c;
	char		    err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env(NULL);
		setenv("VAULTMESH_CC_URL", bad[i].url, 1);
		err[0] = '\0';
		if (config_load(&c, err, sizeof(err)) != -1)
			fail_msg("%s was taken", bad[i].url);
		if (strncmp(err, "VAULTMESH_CC_URL: ", 18) != 0 ||
		    strstr(err, bad[i].why) == NULL ||
		    strchr(err, '\n') != NULL)
			fail_msg("%s gave \"%s\"", bad[i].url, err);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		clear_env(NULL);
		setenv("VAULTMESH_CC_URL", good[i].url, 1);
		err[0] = '\0';
		if (config_load(&c, err, sizeof(err)) != 0)
			fail_msg("%s refused: %s", good[i].url, err);
		assert_string_equal(c.cc_url, good[i].stored);
		assert_int_equal(c.insecure_http, 0);
		config_free(&c);
	}
	clear_env(NULL);
}

/* VAULTMESH_INSECURE_HTTP_LAB=1, and only 1, lets plain http:// out. */
static void
insecure_http_needs_the_lab_variable(void **state)
{
	static const char *const junk[] = { "yes", "true", "on", "2", " 1" };
	struct agent_config	 c;
	char			 err[256];

	(void)state;
	setenv("VAULTMESH_CC_URL", "http://192.0.2.10:8088", 1);
	setenv("VAULTMESH_INSECURE_HTTP_LAB", "1", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.cc_url, "http://192.0.2.10:8088");
	assert_int_equal(c.insecure_http, 1);
	config_free(&c);
	/* Not needed, not used: no warning for https or the loopback. */
	setenv("VAULTMESH_CC_URL", "https://cc.example.com", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.insecure_http, 0);
	config_free(&c);
	setenv("VAULTMESH_CC_URL", "http://127.0.0.1:8088", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.insecure_http, 0);
	config_free(&c);
	/* 0 and empty are off; anything else is an error. */
	setenv("VAULTMESH_CC_URL", "http://192.0.2.10:8088", 1);
	setenv("VAULTMESH_INSECURE_HTTP_LAB", "0", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_CC_URL"));
	setenv("VAULTMESH_INSECURE_HTTP_LAB", "", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_CC_URL"));
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		setenv("VAULTMESH_INSECURE_HTTP_LAB", junk[i], 1);
		assert_int_equal(config_load(&c, err, sizeof(err)), -1);
		if (strncmp(err, "VAULTMESH_INSECURE_HTTP_LAB: ", 29) != 0)
			fail_msg("%s gave \"%s\"", junk[i], err);
	}
	clear_env(NULL);
}

static void
loopback_hosts(void **state)
{
	static const char *const yes[] = { "localhost", "LocalHost",
		"127.0.0.1", "127.255.255.254", "::1", "[::1]",
		"[::ffff:127.0.0.1]", "::ffff:127.1.2.3" };
	static const char *const no[] = { "", "[]", "[::1", "::1]",
		"localhost.", "localhost.example.com", "128.0.0.1", "0.0.0.0",
		"10.0.0.1", "::", "[::2]", "::ffff:10.0.0.1",
		"127.0.0.1.nip.io", "[fe80::1]" };

	(void)state;
	TL_EXPECT_SPLIT(host_is_loopback, yes, no);
}

static void
too_many_services_is_an_error(void **state)
{
	struct agent_config c;
	char		    list[2048] = "", err[256];
	size_t		    n = 0;

	(void)state;
	for (int i = 0; i < AGENT_SERVICES_MAX + 1; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n,
		    "%su%d.service", i ? "," : "", i);
	setenv("VAULTMESH_SERVICES", list, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_SERVICES"));
	assert_non_null(strstr(err, "32"));
	list[strlen(list) - strlen(",u32.service")] = '\0';
	setenv("VAULTMESH_SERVICES", list, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.nservices, AGENT_SERVICES_MAX);
	config_free(&c);
}

/*
 * The CAs: a readable file, or a directory hashed by `openssl rehash`
 * (a name like 1a2b3c4d.0 in it), never both; unset, the system's
 * /etc/ssl/certs when it is hashed, else NULL (libcurl's default).
 */
static void
ca_settings_file_or_hashed_directory(void **state)
{
	struct agent_config c;
	char		    dir[] = "/tmp/vm-ca-XXXXXX", p[64], err[256];
	FILE		   *f;
	struct stat	    sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_null(c.ca_file);
	if (stat("/etc/ssl/certs/ca-certificates.crt", &sb) == 0)
		assert_string_equal(c.ca_path, "/etc/ssl/certs");
	config_free(&c);

	/* An unhashed directory is refused, then taken once hashed. */
	setenv("VAULTMESH_CA_PATH", dir, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VAULTMESH_CA_PATH"));
	assert_non_null(strstr(err, "rehash"));
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	assert_non_null(f = fopen(p, "w"));
	fputs("not checked here\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/1a2b3c4d.0", dir);
	assert_int_equal(symlink("ca.pem", p), 0);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.ca_path, dir);
	assert_null(c.ca_file);
	config_free(&c);

	/* Both set: which one was meant? */
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	setenv("VAULTMESH_CA_FILE", p, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not both"));
	unsetenv("VAULTMESH_CA_PATH");
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_string_equal(c.ca_file, p);
	assert_null(c.ca_path);
	config_free(&c);

	unlink(p);
	snprintf(p, sizeof(p), "%s/1a2b3c4d.0", dir);
	unlink(p);
	rmdir(dir);
	clear_env(NULL);
}

static void
scrub_env_removes_the_secret(void **state)
{
	(void)state;
	setenv("VAULTMESH_ENROLL_SECRET", "topsecret", 1);
	config_scrub_env();
	assert_null(getenv("VAULTMESH_ENROLL_SECRET"));
	config_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(defaults_apply_when_unset, clear_env),
		cmocka_unit_test_setup(good_values_are_parsed, clear_env),
		cmocka_unit_test_setup(each_bad_value_names_its_variable,
		    clear_env),
		cmocka_unit_test_setup(cc_url_is_parsed_not_guessed, clear_env),
		cmocka_unit_test_setup(insecure_http_needs_the_lab_variable,
		    clear_env),
		cmocka_unit_test(loopback_hosts),
		cmocka_unit_test_setup(too_many_services_is_an_error,
		    clear_env),
		cmocka_unit_test_setup(ca_settings_file_or_hashed_directory,
		    clear_env),
		cmocka_unit_test_setup(scrub_env_removes_the_secret, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
