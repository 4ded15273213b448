/*
 * Unit tests of command-center/roles.c: the roles file's shape as
 * CONTRACT.md pins it, who gets which role, refusals that say why, and a
 * reload that keeps the old roles when the new file is bad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc_all.h"
#include "log.h"
#include "testlib.h"

static int
setup(void **state)
{
	struct tl_dir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(tl_dir_init(t, "roles", "roles.json"), 0);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tl_dir *t = *state;

	roles_shutdown();
	assert_int_equal(tl_dir_fini(t), 0);
	free(t);
	return 0;
}

static void
load(struct tl_dir *t, const char *text)
{
	char err[512];

	tl_write(t->path, NULL, text, 0600);
	if (roles_init(t->path, err, sizeof(err)) == -1)
		fail_msg("roles_init: %s", err);
}

static enum role
role_of(const char *who, const char *group)
{
	const char *g[1] = { group };

	return roles_of(who, g, group ? 1 : 0);
}

static void
contract_example_gives_each_the_highest_role_naming_it(void **state)
{
	load(*state,
	    "{\"admin\": [\"boss@example.com\"], \"approver\": "
	    "[\"@example.org\"], \"operator\": [\"group:ops\"]}");
	assert_int_equal(role_of("boss@example.com", NULL), ROLE_ADMIN);
	/* Emails and domains are compared without case. */
	assert_int_equal(role_of("Boss@Example.COM", NULL), ROLE_ADMIN);
	assert_int_equal(role_of("carol@example.org", NULL), ROLE_APPROVER);
	assert_int_equal(role_of("carol@EXAMPLE.org", "ops"), ROLE_APPROVER);
	assert_int_equal(role_of("dave@elsewhere.net", "ops"), ROLE_OPERATOR);
	/* Groups are compared exactly. */
	assert_int_equal(role_of("dave@elsewhere.net", "Ops"), ROLE_VIEWER);
	/* Anyone unnamed is a viewer; a domain is not a suffix match. */
	assert_int_equal(role_of("eve@evil.example.org.attacker.net", NULL),
	    ROLE_VIEWER);
	assert_int_equal(role_of("eve@notexample.org", NULL), ROLE_VIEWER);
	assert_int_equal(role_of("example.org", NULL), ROLE_VIEWER);
	assert_int_equal(role_of("", NULL), ROLE_VIEWER);
	assert_int_equal(roles_of(NULL, NULL, 0), ROLE_VIEWER);
	/* A service token's Client ID (its common_name) is named as it is. */
	load(*state,
	    "{\"operator\": [\"group:ci\"], \"admin\": "
	    "[\"88bf3b6d86161464f6509f7219099e57.access\"]}");
	assert_int_equal(role_of("88bf3b6d.access", "ci"), ROLE_OPERATOR);
	assert_int_equal(
	    role_of("88bf3b6d86161464f6509f7219099e57.access", NULL),
	    ROLE_ADMIN);
}

static void
highest_role_wins_whatever_the_order(void **state)
{
	load(*state,
	    "{\"admin\": [\"@example.com\"], \"viewer\": "
	    "[\"boss@example.com\"]}");
	assert_int_equal(role_of("boss@example.com", NULL), ROLE_ADMIN);
	load(*state,
	    "{\"viewer\": [\"boss@example.com\"], \"operator\": "
	    "[\"group:a\"], \"approver\": [\"group:b\"]}");
	{
		const char *g[2] = { "a", "b" };

		assert_int_equal(roles_of("boss@example.com", g, 2),
		    ROLE_APPROVER);
	}
}

static void
bad_files_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "[]", "must be an object" },
		{ "{\"root\": [\"a@b.c\"]}", "is not a role" },
		{ "{\"admin\": \"a@b.c\"}", "must be a list" },
		{ "{\"admin\": [5]}", "must be a string" },
		{ "{\"admin\": [\"\"]}", "1 to 254 bytes" },
		{ "{\"admin\": [\"not an email\"]}", "must be an email" },
		{ "{\"admin\": [\"a@\"]}", "must be an email" },
		{ "{\"admin\": [\"88bf3b6d.access\"]}", "Client ID" },
		{ "{\"admin\": [\"88bf3b6d86161464f6509f7219099e5z.access\"]}",
		    "Client ID" },
		{ "{\"admin\": [\"@\"]}", "domain name" },
		{ "{\"admin\": [\"@bad domain\"]}", "domain name" },
		{ "{\"admin\": [\"@a..b\"]}", "domain name" },
		{ "{\"admin\": [\"group:\"]}", "group name" },
		{ "{\"admin\": [\"group:a\\u0001\"]}", "group name" },
		{ "{\"admin\": [\"a\\u0000@b.c\"]}", "JSON_ALLOW_NUL" },
		{ "{\"admin\": [], \"admin\": []}", "duplicate" },
		{ "{\"admin\": [", "fuzz" },
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(roles_check_text("fuzz", bad[i].text,
				     strlen(bad[i].text), err, sizeof(err)),
		    -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].text, err,
			    bad[i].why);
	}
	/* Too many entries. */
	{
		size_t n = ROLES_ENTRIES_MAX + 1, len;
		char  *big = malloc(n * 16 + 32);

		assert_non_null(big);
		len = (size_t)sprintf(big, "{\"viewer\": [");
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(big + len, "%s\"g%06zu@x.y\"",
			    i ? "," : "", i);
		len += (size_t)sprintf(big + len, "]}");
		assert_int_equal(
		    roles_check_text("big", big, len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "more than"));
		free(big);
	}
}

static void
reload_keeps_the_old_roles_when_the_new_file_is_bad(void **state)
{
	struct tl_dir *t = *state;
	char	       err[512];

	load(t, "{\"admin\": [\"boss@example.com\"]}");
	tl_write(t->path, NULL, "{\"admin\": [\"nope\"]}", 0600);
	assert_int_equal(roles_reload(err, sizeof(err)), -1);
	assert_non_null(strstr(err, t->path));
	assert_int_equal(role_of("boss@example.com", NULL), ROLE_ADMIN);
	tl_write(t->path, NULL, "{\"operator\": [\"boss@example.com\"]}", 0600);
	assert_int_equal(roles_reload(err, sizeof(err)), 0);
	assert_int_equal(role_of("boss@example.com", NULL), ROLE_OPERATOR);
	/* A missing file is refused and changes nothing either. */
	assert_int_equal(tl_dir_fini(t), 0);
	assert_int_equal(roles_reload(err, sizeof(err)), -1);
	assert_int_equal(role_of("boss@example.com", NULL), ROLE_OPERATOR);
	assert_int_equal(tl_dir_init(t, "roles", "roles.json"), 0);
}

static void
no_file_makes_everyone_a_viewer(void **state)
{
	char err[64];

	(void)state;
	assert_int_equal(roles_init(NULL, err, sizeof(err)), 0);
	assert_int_equal(role_of("boss@example.com", "admin"), ROLE_VIEWER);
	assert_int_equal(role_by_name("approver"), ROLE_APPROVER);
	assert_int_equal(role_by_name("root"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(contract_example_gives_each_the_highest_role_naming_it),
		T(highest_role_wins_whatever_the_order),
		T(bad_files_are_refused_with_a_reason),
		T(reload_keeps_the_old_roles_when_the_new_file_is_bad),
		T(no_file_makes_everyone_a_viewer),
#undef T
	};

	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
