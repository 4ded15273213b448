/*
 * sovereign-scan's declarative rules (scan_rules.c) over fixture trees:
 * every check type once where it fires and once where it does not, broken
 * rule files reported as findings (never a crash), untrusted files
 * refused, limits, and the shipped example file staying valid.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_testlib.h"
#include "buf.h"
#include "util.h"

/* A rule file in the rules folder. */
static void
rules(const char *name, const char *json)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "etc/vaultmesh/scan.d/%s", name);
	put(rel, json);
}

static int
no_systemd(void *arg, const char *unit, const char *prop, char *out, size_t n,
    char *err, size_t errlen)
{
	(void)arg;
	(void)unit;
	(void)prop;
	(void)out;
	(void)n;
	(void)err;
	(void)errlen;
	return SCAN_NO_SYSTEMD;
}

/* An empty tree and the rules' default options before each test. */
static int
fresh(void **state)
{
	(void)state;
	scan_fx_fresh();
	opts.rules_dir = "/etc/vaultmesh/scan.d";
	opts.unit_prop = no_systemd;
	return 0;
}

/* The finding with id whose detail contains text, or NULL. */
static json_t *
find_detail(json_t *findings, const char *id, const char *text)
{
	size_t	i;
	json_t *f;

	json_array_foreach(findings, i,
	    f) if (strcmp(json_string_value(json_object_get(f, "id")), id) ==
		0 &&
	    strstr(detail(f), text) != NULL) return f;
	return NULL;
}

static void
dump_on_failure(json_t *f)
{
	char *s = json_dumps(f, JSON_INDENT(1));

	print_message("%s\n", s != NULL ? s : "(null)");
	free(s);
}

/* One rule of every type; {cmd} is replaced by the command's path. */
static void
write_every_type(const char *cmd)
{
	char json[4096];

	snprintf(json, sizeof(json),
	    "{\"description\": \"every type\", \"rules\": [\n"
	    "{\"id\": \"equiv\", \"severity\": \"high\", \"title\": \"hosts.equiv\","
	    " \"remediation\": \"rm it\", \"check\": {\"type\": \"file_exists\","
	    " \"path\": \"/etc/hosts.equiv\"}},\n"
	    "{\"id\": \"sysctl\", \"severity\": \"low\", \"title\": \"no sysctl\","
	    " \"check\": {\"type\": \"file_absent\", \"path\": "
	    "\"/etc/sysctl.d/90-vm.conf\"}},\n"
	    "{\"id\": \"shadow\", \"severity\": \"critical\", \"title\": \"shadow\","
	    " \"check\": {\"type\": \"file_mode\", \"path\": \"/etc/shadow\","
	    " \"max_mode\": \"0640\"}},\n"
	    "{\"id\": \"owner\", \"severity\": \"medium\", \"title\": \"owner\","
	    " \"check\": {\"type\": \"file_owner\", \"path\": \"/etc/owned\","
	    " \"owner\": \"keeper\"}},\n"
	    "{\"id\": \"x11\", \"severity\": \"low\", \"title\": \"x11\","
	    " \"check\": {\"type\": \"line_matches\", \"path\": "
	    "\"/etc/ssh/sshd_config\", \"pattern\": "
	    "\"^[[:space:]]*X11Forwarding[[:space:]]+yes\"}},\n"
	    "{\"id\": \"cookies\", \"severity\": \"info\", \"title\": \"cookies\","
	    " \"check\": {\"type\": \"line_absent\", \"path\": "
	    "\"/etc/sysctl.d/90-vm.conf\", \"pattern\": "
	    "\"^net\\\\.ipv4\\\\.tcp_syncookies *= *1$\"}},\n"
	    "{\"id\": \"fw\", \"severity\": \"high\", \"title\": \"firewall\","
	    " \"check\": {\"type\": \"command_exit\", \"argv\": [\"%s\", \"a b\"],"
	    " \"expected_exit\": 0, \"timeout_secs\": 5}}\n"
	    "]}\n",
	    cmd);
	rules("10-every.json", json);
}

static void
passwd_with_keeper(unsigned uid)
{
	char text[300];

	snprintf(text, sizeof(text),
	    "root:x:0:0:root:/root:/bin/sh\n"
	    "keeper:x:%u:%u::/home/keeper:/bin/sh\n",
	    uid, uid);
	put("etc/passwd", text);
}

static void
every_type_fires_when_its_condition_holds(void **state)
{
	char	args[900], body[1000], *seen;
	json_t *f;

	(void)state;
	put("etc/hosts.equiv", "+\n");
	put_mode("etc/shadow", "root:*:1::::::\n", 0644);
	put("etc/owned", "x\n");
	passwd_with_keeper((unsigned)geteuid() + 1);
	put("etc/ssh/sshd_config",
	    "Port 22\n  X11Forwarding yes\n"
	    "X11Forwarding yes\n");
	snprintf(args, sizeof(args), "%s/fw-args", fx.base);
	snprintf(body, sizeof(body), "printf '%%s|' \"$@\" > '%s'\nexit 3\n",
	    args);
	write_every_type(script("fw", body));
	f = scan_fx_count("rules", 7);
	assert_non_null(strstr(detail(find(f, "rule.equiv", "high")),
	    "/etc/hosts.equiv exists (mode 0644, uid "));
	assert_non_null(strstr(detail(find(f, "rule.equiv", "high")),
	    "(rule equiv in /etc/vaultmesh/scan.d/10-every.json)"));
	assert_string_equal(json_string_value(json_object_get(
				find(f, "rule.equiv", NULL), "remediation")),
	    "rm it");
	assert_non_null(strstr(detail(find(f, "rule.sysctl", "low")),
	    "/etc/sysctl.d/90-vm.conf does not exist"));
	assert_non_null(strstr(detail(find(f, "rule.shadow", "critical")),
	    "/etc/shadow has mode 0644; at most 0640 is allowed (extra bits "
	    "0004)"));
	assert_non_null(strstr(detail(find(f, "rule.owner", "medium")),
	    "expected keeper (uid"));
	assert_non_null(strstr(detail(find(f, "rule.x11", "low")),
	    "/etc/ssh/sshd_config:2:   X11Forwarding yes (and 1 more matching "
	    "lines)"));
	assert_non_null(strstr(detail(find(f, "rule.cookies", "info")),
	    "does not exist, so no line matches"));
	assert_non_null(strstr(detail(find(f, "rule.fw", "high")),
	    "exited with status 3; expected 0"));
	json_decref(f);
	/* argv went through as given: one argument with a space, no shell. */
	seen = file_read(args, 100, NULL);
	assert_non_null(seen);
	assert_string_equal(seen, "a b|");
	free(seen);
}

static void
every_type_stays_quiet_on_a_fine_host(void **state)
{
	json_t *f;

	(void)state;
	put_mode("etc/shadow", "root:*:1::::::\n", 0640);
	put("etc/owned", "x\n");
	passwd_with_keeper((unsigned)geteuid());
	put("etc/ssh/sshd_config", "X11Forwarding no\n# X11Forwarding yes\n");
	put("etc/sysctl.d/90-vm.conf", "net.ipv4.tcp_syncookies = 1\n");
	write_every_type(script("fw", "exit 0\n"));
	scan_fx_expect("rules", 0);

	/* line_absent on an existing file without the line fires. */
	put("etc/sysctl.d/90-vm.conf", "net.ipv4.tcp_syncookies = 0\n");
	f = scan_fx_run("rules");
	assert_string_equal(detail(find(f, "rule.cookies", "info")),
	    "no line of /etc/sysctl.d/90-vm.conf matches "
	    "/^net\\.ipv4\\.tcp_syncookies *= *1$/ (rule cookies in "
	    "/etc/vaultmesh/scan.d/10-every.json)");
	assert_int_equal(json_array_size(f), 1);
	json_decref(f);
}

#define RULE_OK                                                      \
	"{\"id\": \"ok\", \"severity\": \"low\", \"title\": \"t\", " \
	"\"check\": {\"type\": \"file_absent\", \"path\": \"/nope\"}}"

static void
broken_rule_files_are_findings_not_crashes(void **state)
{
	static const struct {
		const char *name;
		const char *json;
		const char *expect; /* in the detail */
	} bad[] = {
		{ "a.json", "{\n  \"rules\": [\n    {\"id\": \"x\",,}\n]}",
		    "/etc/vaultmesh/scan.d/a.json:3: " },
		{ "b.json",
		    "{\"rules\": [{\"id\": \"t1\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"file_maybe\", "
		    "\"path\": \"/x\"}}]}",
		    "b.json: rules[0] (id t1): unknown check type \"file_maybe\"" },
		{ "c.json",
		    "{\"rules\": [{\"id\": \"t\", \"severity\": \"low\", "
		    "\"check\": {\"type\": \"file_exists\", \"path\": \"/x\"}}]}",
		    "c.json: rules[0] (id t): missing field \"title\"" },
		{ "d.json",
		    "{\"rules\": [{\"id\": \"re\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"line_matches\", "
		    "\"path\": \"/x\", \"pattern\": \"([\"}}]}",
		    "d.json: rules[0] (id re): \"pattern\" is not a POSIX extended "
		    "regex" },
		{ "e.json", "[]",
		    "e.json: must be an object with a \"rules\" "
		    "array" },
		{ "r1.json",
		    "{\"rules\": [{\"id\": \"re\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"line_matches\", "
		    "\"path\": \"/x\", \"pattern\": \"^ *+++++x\"}}]}",
		    "\"pattern\" repeats too much" },
		{ "r2.json",
		    "{\"rules\": [{\"id\": \"re\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"line_matches\", "
		    "\"path\": \"/x\", \"pattern\": \"(a{100}){100}\"}}]}",
		    "\"pattern\" repeats too much" },
		/* Back-references backtrack for minutes on a long line. */
		{ "r3.json",
		    "{\"rules\": [{\"id\": \"re\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"line_matches\", "
		    "\"path\": \"/x\", \"pattern\": \"(.*)(.*)(.*)(.*)(.*)\\\\5c\"}}]}",
		    "r3.json: rules[0] (id re): \"pattern\" uses a back-reference "
		    "(\\1 to \\9)" },
		{ "r4.json",
		    "{\"rules\": [{\"id\": \"re\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"line_absent\", "
		    "\"path\": \"/x\", \"pattern\": \"^([a-z]+)=[[:space:]]*\\\\1$\"}}]}",
		    "\"pattern\" uses a back-reference" },
		{ "f.json",
		    "{\"rules\": [{\"id\": \"m\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"file_mode\", "
		    "\"path\": \"/x\", \"max_mod\": \"0644\"}}]}",
		    "unknown field \"max_mod\"" },
		{ "g.json",
		    "{\"rules\": [{\"id\": \"p\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"file_exists\", "
		    "\"path\": \"/etc/../../x\"}}]}",
		    "\"path\" must be absolute, without . or .. components" },
		{ "h.json",
		    "{\"rules\": [{\"id\": \"c\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"command_exit\", "
		    "\"argv\": [\"sh\", \"-c\", \"true\"]}}]}",
		    "argv[0] must be an absolute path" },
		{ "i.json",
		    "{\"rules\": [{\"id\": \"m\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"file_mode\", "
		    "\"path\": \"/x\", \"max_mode\": \"0999\"}}]}",
		    "\"max_mode\" must be octal" },
		{ "j.json",
		    "{\"rules\": [{\"id\": \"s\", \"severity\": \"urgent\","
		    " \"title\": \"t\", \"check\": {}}]}",
		    "\"severity\" must be critical, high, medium, low or info" },
		{ "k.json", "{\"rules\": [], \"rules\": []}",
		    "k.json:1: duplicate object key" },
		{ "l.json",
		    "{\"rules\": [{\"id\": \"bad id!\", \"severity\": "
		    "\"low\", \"title\": \"t\", \"check\": {}}]}",
		    "\"id\" must be 1 to 100 of [A-Za-z0-9._-]" },
		{ "m.json",
		    "{\"rules\": [{\"id\": \"t\", \"severity\": \"low\", "
		    "\"title\": \"t\", \"check\": {\"type\": \"command_exit\", "
		    "\"argv\": [\"/bin/true\"], \"timeout_secs\": 600}}]}",
		    "\"timeout_secs\" must be an integer from 1 to 60" },
		/* One bad rule: the good one beside it still runs. */
		{ "n.json",
		    "{\"rules\": [{\"id\": \"nocheck\", \"severity\": "
		    "\"low\", \"title\": \"t\"}, " RULE_OK "]}",
		    "n.json: rules[0] (id nocheck): missing field \"check\"" },
	};
	json_t *f;
	char	msg[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rules(bad[i].name, bad[i].json);
	rules("readme.txt", "not a rule file");
	f = scan_fx_run("rules");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *e = find_detail(f, "scan.rules.invalid", bad[i].expect);

		if (e == NULL) {
			dump_on_failure(f);
			snprintf(msg, sizeof(msg), "%s: no finding with \"%s\"",
			    bad[i].name, bad[i].expect);
			fail_msg("%s", msg);
		}
		assert_string_equal(
		    json_string_value(json_object_get(e, "severity")),
		    "medium");
	}
	assert_int_equal(tl_count_findings(f, "scan.rules.invalid"),
	    sizeof(bad) / sizeof(bad[0]));
	assert_non_null(find(f, "rule.ok", "low"));
	assert_int_equal(json_array_size(f), sizeof(bad) / sizeof(bad[0]) + 1);
	json_decref(f);
}

/*
 * What looks like a back-reference but is none passes: a backslash and a
 * digit inside brackets (both literal there, classes included), an escaped
 * backslash before a digit, \0. The long line would stall the scan for
 * seconds if a back-reference slipped through.
 */
static void
backslash_digits_that_are_no_back_references_pass(void **state)
{
	char line[512];

	(void)state;
	memset(line, 'a', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	put("etc/long", line);
	rules("ok.json",
	    "{\"rules\": ["
	    "{\"id\": \"b1\", \"severity\": \"low\", \"title\": \"t\", "
	    "\"check\": {\"type\": \"line_matches\", \"path\": \"/etc/long\", "
	    "\"pattern\": \"[\\\\1]x\"}},"
	    "{\"id\": \"b2\", \"severity\": \"low\", \"title\": \"t\", "
	    "\"check\": {\"type\": \"line_matches\", \"path\": \"/etc/long\", "
	    "\"pattern\": \"[[:space:]\\\\2]x\"}},"
	    "{\"id\": \"b3\", \"severity\": \"low\", \"title\": \"t\", "
	    "\"check\": {\"type\": \"line_matches\", \"path\": \"/etc/long\", "
	    "\"pattern\": \"(a*)x\\\\\\\\1\"}},"
	    "{\"id\": \"b4\", \"severity\": \"low\", \"title\": \"t\", "
	    "\"check\": {\"type\": \"line_matches\", \"path\": \"/etc/long\", "
	    "\"pattern\": \"[]\\\\3]x\"}}]}");
	scan_fx_expect("rules", 0);
}

static void
oversized_and_crowded_rule_files_are_bounded(void **state)
{
	struct buf b;
	char	  *big;
	json_t	  *f;

	(void)state;
	/* A file past 256 KiB is not parsed. */
	big = malloc(300 * 1024);
	assert_non_null(big);
	memset(big, ' ', 300 * 1024 - 1);
	big[300 * 1024 - 1] = '\0';
	rules("big.json", big);
	free(big);
	/* 250 rules, 12 of them bad: 200 read, 10 problems then "more". */
	buf_init(&b, 1024 * 1024);
	buf_puts(&b, "{\"rules\": [");
	for (int i = 0; i < 250; i++)
		buf_printf(&b, "%s%s", i ? "," : "", i < 12 ? "{}" : RULE_OK);
	buf_puts(&b, "]}");
	assert_false(buf_failed(&b));
	rules("many.json", b.p);
	buf_free(&b);
	f = scan_fx_run("rules");
	assert_non_null(find_detail(f, "scan.rules.invalid",
	    "big.json: larger than 256 KiB"));
	assert_non_null(find_detail(f, "scan.rules.invalid",
	    "many.json: more than 200 rules; the rest are ignored"));
	assert_non_null(find_detail(f, "scan.rules.invalid",
	    "many.json: more problems not reported"));
	/* big: 1; many: 10 reported + "more" = 11. */
	assert_int_equal(tl_count_findings(f, "scan.rules.invalid"), 12);
	assert_int_equal(tl_count_findings(f, "rule.ok"), 200 - 12);
	json_decref(f);
}

static void
rules_others_can_write_are_refused(void **state)
{
	char	p[900];
	json_t *f;

	(void)state;
	put_mode("etc/vaultmesh/scan.d/w.json", "{\"rules\": [" RULE_OK "]}",
	    0666);
	f = scan_fx_count("rules", 1);
	assert_non_null(strstr(detail(find(f, "scan.rules.insecure", "high")),
	    "/etc/vaultmesh/scan.d/w.json has mode 0666"));
	json_decref(f);

	/* A folder others can write: nothing in it runs. */
	snprintf(p, sizeof(p), "%s/etc/vaultmesh/scan.d/w.json", fx.tree);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/etc/vaultmesh/scan.d", fx.tree);
	assert_int_equal(chmod(p, 0777), 0);
	scan_fx_expect_one("rules", "scan.rules.insecure", "high");

	/* No folder: no rules, no findings. */
	opts.rules_dir = "/etc/vaultmesh/nothing.d";
	scan_fx_expect("rules", 0);
}

static void
command_rules_time_out_and_missing_programs_are_errors(void **state)
{
	char	json[2048];
	json_t *f;

	(void)state;
	snprintf(json, sizeof(json),
	    "{\"rules\": ["
	    "{\"id\": \"slow\", \"severity\": \"medium\", \"title\": \"slow\", "
	    "\"check\": {\"type\": \"command_exit\", \"argv\": [\"%s\"], "
	    "\"timeout_secs\": 1}},",
	    script("slow", "sleep 30\n"));
	snprintf(json + strlen(json), sizeof(json) - strlen(json),
	    "{\"id\": \"three\", \"severity\": \"medium\", \"title\": \"3\", "
	    "\"check\": {\"type\": \"command_exit\", \"argv\": [\"%s\"], "
	    "\"expected_exit\": 3}},",
	    script("three", "exit 3\n"));
	snprintf(json + strlen(json), sizeof(json) - strlen(json),
	    "{\"id\": \"gone\", \"severity\": \"medium\", \"title\": \"gone\", "
	    "\"check\": {\"type\": \"command_exit\", \"argv\": "
	    "[\"/nonexistent/check\"]}}]}");
	rules("cmd.json", json);
	f = scan_fx_count("rules", 2);
	assert_non_null(strstr(detail(find(f, "rule.slow", "medium")),
	    "killed after 1 s; expected exit status 0"));
	assert_non_null(strstr(detail(find(f, "scan.rules.error", "low")),
	    "rule gone: /nonexistent/check is not an executable file"));
	json_decref(f);
}

static void
owner_names_come_from_the_trees_passwd(void **state)
{
	json_t *f;

	(void)state;
	put("etc/owned", "x\n");
	rules("o.json",
	    "{\"rules\": [{\"id\": \"o\", \"severity\": \"low\", "
	    "\"title\": \"t\", \"check\": {\"type\": \"file_owner\", \"path\": "
	    "\"/etc/owned\", \"owner\": \"ghost\"}}, {\"id\": \"n\", "
	    "\"severity\": \"low\", \"title\": \"t\", \"check\": {\"type\": "
	    "\"file_owner\", \"path\": \"/etc/owned\", \"owner\": 4242}}]}");
	passwd_with_keeper(0);
	f = scan_fx_run("rules");
	assert_non_null(strstr(detail(find(f, "scan.rules.error", "low")),
	    "user ghost is not in /etc/passwd"));
	if (geteuid() != 4242)
		assert_non_null(
		    strstr(detail(find(f, "rule.n", "low")), "expected 4242"));
	json_decref(f);
}

static void
example_file_is_valid(void **state)
{
	char	src[900], *text, *slash;
	json_t *f;

	(void)state;
	/* __FILE__ is tests/unit/...; the example sits in node-agent/. */
	snprintf(src, sizeof(src), "%s", __FILE__);
	if ((slash = strrchr(src, '/')) != NULL)
		*slash = '\0';
	snprintf(src + strlen(src), sizeof(src) - strlen(src),
	    "/../../node-agent/scan-rules.example.json");
	if ((text = file_read(src, 256 * 1024, NULL)) == NULL)
		skip();
	rules("example.json", text);
	free(text);
	f = scan_fx_run("rules");
	if (tl_count_findings(f, "scan.rules.invalid") != 0)
		dump_on_failure(f);
	assert_int_equal(tl_count_findings(f, "scan.rules.invalid"), 0);
	/* An empty tree: hosts.equiv absent, the sysctl file missing. */
	assert_null(find(f, "rule.legacy.hosts_equiv", NULL));
	assert_non_null(find(f, "rule.sysctl.vaultmesh_missing", "low"));
	json_decref(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, fresh)
		T(every_type_fires_when_its_condition_holds),
		T(every_type_stays_quiet_on_a_fine_host),
		T(broken_rule_files_are_findings_not_crashes),
		T(backslash_digits_that_are_no_back_references_pass),
		T(oversized_and_crowded_rule_files_are_bounded),
		T(rules_others_can_write_are_refused),
		T(command_rules_time_out_and_missing_programs_are_errors),
		T(owner_names_come_from_the_trees_passwd),
		T(example_file_is_valid),
#undef T
	};

	return cmocka_run_group_tests(tests, scan_fx_setup, scan_fx_teardown);
}
