/*
 * Unit tests of command-center/webhooks.c's file: the shape CONTRACT.md
 * pins (a list of {"url", "secret", "events"}), and refusals that say why.
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
#include "webhooks.h"

#define S "\"0123456789abcdef\""

static void
contract_shape_is_accepted(void **state)
{
	static const char *const good[] = {
		"[]",
		"[{\"url\": \"https://hooks.example.com/x?y=1\", \"secret\": " S
		", \"events\": [\"node.attention_changed\", \"node.pending\", "
		"\"job.finished\", \"approval.requested\"]}]",
		"[{\"url\": \"http://127.0.0.1:9/a\", \"secret\": " S
		", \"events\": [\"job.finished\"]}, {\"url\": "
		"\"http://127.0.0.1:9/b\", \"secret\": " S
		", \"events\": [\"node.pending\"]}]",
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (webhooks_check_text("t", good[i], strlen(good[i]), err,
			sizeof(err)) != 0)
			fail_msg("%s: %s", good[i], err);
}

static void
bad_files_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{}", "must be a list" },
		{ "[5]", "must be an object" },
		{ "[{\"url\": \"ftp://x\", \"secret\": " S
		  ", \"events\": [\"node.pending\"]}]",
		    "url" },
		{ "[{\"url\": \"http://a b\", \"secret\": " S
		  ", \"events\": [\"node.pending\"]}]",
		    "url" },
		{ "[{\"url\": \"https://\", \"secret\": " S
		  ", \"events\": [\"node.pending\"]}]",
		    "url" },
		{ "[{\"url\": \"https://x\", \"secret\": \"short\", "
		  "\"events\": [\"node.pending\"]}]",
		    "secret" },
		{ "[{\"url\": \"https://x\", \"secret\": \"0123456789abcde\\u0000f\","
		  " \"events\": [\"node.pending\"]}]",
		    "JSON_ALLOW_NUL" },
		{ "[{\"url\": \"https://x\", \"secret\": " S
		  ", \"events\": []}]",
		    "events" },
		{ "[{\"url\": \"https://x\", \"secret\": " S
		  ", \"events\": [\"node.deleted\"]}]",
		    "events[0]" },
		{ "[{\"url\": \"https://x\", \"secret\": " S
		  ", \"events\": [\"node.pending\"], \"x\": 1}]",
		    "unknown key" },
		{ "[{\"url\": \"https://x\", \"secret\": " S
		  ", \"events\": [\"node.pending\"]}, {\"url\": \"https://x\", "
		  "\"secret\": " S ", \"events\": [\"node.pending\"]}]",
		    "listed twice" },
		{ "[{", "t:1" },
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(webhooks_check_text("t", bad[i].text,
				     strlen(bad[i].text), err, sizeof(err)),
		    -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].text, err,
			    bad[i].why);
	}
	/* More than WEBHOOKS_MAX endpoints. */
	{
		char  *big = malloc(128 * (WEBHOOKS_MAX + 2));
		size_t len = 0;

		assert_non_null(big);
		big[len++] = '[';
		for (int i = 0; i <= WEBHOOKS_MAX; i++)
			len += (size_t)sprintf(big + len,
			    "%s{\"url\":\"https://x/%d\",\"secret\":" S
			    ",\"events\":[\"node.pending\"]}",
			    i ? "," : "", i);
		big[len++] = ']';
		assert_int_equal(
		    webhooks_check_text("t", big, len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "at most"));
		free(big);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(contract_shape_is_accepted),
		cmocka_unit_test(bad_files_are_refused_with_a_reason),
	};

	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
