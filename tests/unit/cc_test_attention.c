/*
 * Unit tests of command-center/attention.c with a controllable clock:
 * attention_reasons() takes `now`, so every case below is exact.
 * Reasons, order and levels are those of CONTRACT.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cc_all.h"
#include "testlib.h"

#define NOW ((int64_t)1795773600) /* 2026-11-27T10:00:00Z */
#define HB_STALE (10 * 60)	  /* the default 10 minutes */
#define SCAN_STALE (48 * 3600)	  /* the default 48 hours */

static const struct thresholds thr = { HB_STALE, SCAN_STALE };

/* The contract's reasons, in the contract's order. */
static const char *const contract_order[REASON_COUNT] = { "heartbeat_stale",
	"cloudflare_down", "services_down", "never_scanned", "scan_stale",
	"critical_findings", "high_findings" };

/* A node with nothing to report: fresh heartbeat, fresh clean scan. */
static struct attn_input
healthy(void)
{
	struct attn_input in;

	memset(&in, 0, sizeof(in));
	in.last_heartbeat_at = NOW - 30;
	in.last_scan_at = NOW - 3600;
	in.cloudflare = CF_UP;
	in.services_down = 0;
	in.critical = 0;
	in.high = 0;
	return in;
}

static unsigned
reasons_at(const struct attn_input *in, int64_t now)
{
	return attention_reasons(in, now, &thr);
}

/* Names of the bits of r, lowest bit first, joined by ",". */
static void
names_of(unsigned r, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = 0; i < REASON_COUNT; i++)
		if (r & (1u << i)) {
			if (out[0] != '\0')
				strncat(out, ",", n - strlen(out) - 1);
			strncat(out, reason_name(1u << i), n - strlen(out) - 1);
		}
}

/* ---- one input changed on a healthy node ------------------------------- */

enum field {
	F_NONE,
	F_HEARTBEAT,
	F_SCAN,
	F_CLOUDFLARE,
	F_SERVICES,
	F_CRITICAL,
	F_HIGH
};

#define ALL (~0u)

/*
 * A healthy node with field set to value, judged at now: its reasons
 * within mask, and the level of all its reasons (NULL: not checked).
 */
static const struct one_input {
	const char *name;
	enum field  field;
	int64_t	    value;
	int64_t	    now;
	unsigned    mask;
	unsigned    want;
	const char *level;
} one_inputs[] = {
	{ "healthy node", F_NONE, 0, NOW, ALL, 0, "green" },
	{ "cloudflare unknown is no reason", F_CLOUDFLARE, CF_UNKNOWN, NOW, ALL,
	    0, NULL },
	{ "cloudflare up is no reason", F_CLOUDFLARE, CF_UP, NOW, ALL, 0,
	    NULL },
	{ "heartbeat stale alone", F_HEARTBEAT, NOW - HB_STALE - 1, NOW, ALL,
	    R_HEARTBEAT_STALE, NULL },
	{ "cloudflare down alone", F_CLOUDFLARE, CF_DOWN, NOW, ALL,
	    R_CLOUDFLARE_DOWN, "red" },
	{ "one service down alone", F_SERVICES, 1, NOW, ALL, R_SERVICES_DOWN,
	    "red" },
	{ "three services down alone", F_SERVICES, 3, NOW, ALL, R_SERVICES_DOWN,
	    NULL },
	{ "never scanned alone", F_SCAN, 0, NOW, ALL, R_NEVER_SCANNED,
	    "yellow" },
	{ "scan stale alone", F_SCAN, NOW - SCAN_STALE - 1, NOW, ALL,
	    R_SCAN_STALE, NULL },
	{ "one critical finding alone", F_CRITICAL, 1, NOW, ALL,
	    R_CRITICAL_FINDINGS, "red" },
	{ "250 critical findings alone", F_CRITICAL, 250, NOW, ALL,
	    R_CRITICAL_FINDINGS, NULL },
	{ "high findings alone", F_HIGH, 1, NOW, ALL, R_HIGH_FINDINGS,
	    "yellow" },
	/* The thresholds: stale from exactly the limit on. */
	{ "heartbeat just under the threshold is fresh", F_HEARTBEAT,
	    NOW - (HB_STALE - 1), NOW, R_HEARTBEAT_STALE, 0, NULL },
	{ "heartbeat of now is fresh", F_HEARTBEAT, NOW, NOW, R_HEARTBEAT_STALE,
	    0, NULL },
	{ "heartbeat exactly at the threshold is stale", F_HEARTBEAT,
	    NOW - HB_STALE, NOW, ALL, R_HEARTBEAT_STALE, "red" },
	{ "heartbeat just over the threshold is stale", F_HEARTBEAT,
	    NOW - (HB_STALE + 1), NOW, ALL, R_HEARTBEAT_STALE, NULL },
	{ "scan just under the threshold is fresh", F_SCAN,
	    NOW - (SCAN_STALE - 1), NOW, ALL, 0, NULL },
	{ "scan exactly at the threshold is stale", F_SCAN, NOW - SCAN_STALE,
	    NOW, ALL, R_SCAN_STALE, "yellow" },
	{ "scan just over the threshold is stale", F_SCAN,
	    NOW - (SCAN_STALE + 1), NOW, ALL, R_SCAN_STALE, NULL },
	/* No heartbeat yet: stale, even if the clock itself is near zero. */
	{ "node without heartbeat", F_HEARTBEAT, 0, NOW, ALL, R_HEARTBEAT_STALE,
	    NULL },
	{ "node without heartbeat, clock near zero", F_HEARTBEAT, 0, 1,
	    R_HEARTBEAT_STALE, R_HEARTBEAT_STALE, NULL },
};

static void
one_changed_input_gives_its_reasons_and_level(void **state)
{
	const struct one_input *c;

	(void)state;
	TL_FOREACH(c, one_inputs)
	{
		struct attn_input in = healthy();
		const char	 *level;
		char		  got[256], want[256];
		unsigned	  r;

		switch (c->field) {
		case F_NONE:
			break;
		case F_HEARTBEAT:
			in.last_heartbeat_at = c->value;
			break;
		case F_SCAN:
			in.last_scan_at = c->value;
			break;
		case F_CLOUDFLARE:
			in.cloudflare = (enum cf_state)c->value;
			break;
		case F_SERVICES:
			in.services_down = (int)c->value;
			break;
		case F_CRITICAL:
			in.critical = (int)c->value;
			break;
		case F_HIGH:
			in.high = (int)c->value;
			break;
		}
		r = reasons_at(&in, c->now);
		names_of(r & c->mask, got, sizeof(got));
		names_of(c->want, want, sizeof(want));
		if ((r & c->mask) != c->want)
			fail_msg("%s: reasons \"%s\", want \"%s\"", c->name,
			    got, want);
		level = level_name(attention_level(r));
		if (c->level != NULL && strcmp(level, c->level) != 0)
			fail_msg("%s: level %s, want %s", c->name, level,
			    c->level);
	}
}

/* ---- all together, in order -------------------------------------------- */

static void
reason_bits_follow_the_contract_order(void **state)
{
	(void)state;
	for (int i = 0; i < REASON_COUNT; i++)
		assert_string_equal(reason_name(1u << i), contract_order[i]);
	assert_int_equal(R_HEARTBEAT_STALE, 1u << 0);
	assert_int_equal(R_HIGH_FINDINGS, 1u << (REASON_COUNT - 1));
}

static void
reason_name_of_non_single_bit_is_unknown(void **state)
{
	(void)state;
	assert_string_equal(reason_name(0), "unknown");
	assert_string_equal(reason_name(R_HEARTBEAT_STALE | R_SCAN_STALE),
	    "unknown");
	assert_string_equal(reason_name(1u << REASON_COUNT), "unknown");
	assert_string_equal(reason_name(~0u), "unknown");
}

/* Nodes with many reasons at once: all of them, named in contract order. */
static const struct whole_input {
	const char	 *name;
	struct attn_input in;
	unsigned	  want;
	const char	 *names;
} whole_inputs[] = {
	{ "every reason, never scanned",
	    { .last_heartbeat_at = NOW - HB_STALE * 5,
		.last_scan_at = 0,
		.cloudflare = CF_DOWN,
		.services_down = 1,
		.critical = 2,
		.high = 5 },
	    R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN | R_SERVICES_DOWN |
		R_NEVER_SCANNED | R_CRITICAL_FINDINGS | R_HIGH_FINDINGS,
	    "heartbeat_stale,cloudflare_down,services_down,never_scanned,"
	    "critical_findings,high_findings" },
	{ "every reason, scan stale",
	    { .last_scan_at = NOW - SCAN_STALE * 3,
		.critical = 1,
		.high = 1,
		.services_down = 2,
		.cloudflare = CF_DOWN,
		.last_heartbeat_at = 0 },
	    R_SCAN_STALE | R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN |
		R_SERVICES_DOWN | R_CRITICAL_FINDINGS | R_HIGH_FINDINGS,
	    "heartbeat_stale,cloudflare_down,services_down,scan_stale,"
	    "critical_findings,high_findings" },
	/* What a just-enrolled node has: nothing. */
	{ "fresh enrolled node", { .last_heartbeat_at = 0 },
	    R_HEARTBEAT_STALE | R_NEVER_SCANNED,
	    "heartbeat_stale,never_scanned" },
};

static void
nodes_with_many_reasons_are_red_with_all_in_order(void **state)
{
	const struct whole_input *c;

	(void)state;
	TL_FOREACH(c, whole_inputs)
	{
		unsigned r = reasons_at(&c->in, NOW);
		char	 names[256];

		names_of(r, names, sizeof(names));
		if (r != c->want || strcmp(names, c->names) != 0)
			fail_msg("%s: reasons \"%s\", want \"%s\"", c->name,
			    names, c->names);
		if (attention_level(r) != LEVEL_RED)
			fail_msg("%s: not red", c->name);
	}
}

static void
every_reason_bit_can_be_produced(void **state)
{
	struct attn_input a, b;
	unsigned	  seen;

	(void)state;
	a = healthy();
	a.last_heartbeat_at = 0;
	a.cloudflare = CF_DOWN;
	a.services_down = 1;
	a.last_scan_at = 0;
	a.critical = 1;
	a.high = 1;
	b = a;
	b.last_scan_at = NOW - SCAN_STALE;
	seen = reasons_at(&a, NOW) | reasons_at(&b, NOW);
	assert_int_equal(seen, (1u << REASON_COUNT) - 1);
}

/* ---- levels ------------------------------------------------------------ */

/* The level of each reason alone, and of some yellow pairs. */
static const struct level_case {
	const char *name;
	unsigned    reasons;
	enum level  want;
	const char *want_name;
} level_cases[] = {
	{ "no reasons", 0, LEVEL_GREEN, "green" },
	{ "heartbeat_stale", R_HEARTBEAT_STALE, LEVEL_RED, "red" },
	{ "cloudflare_down", R_CLOUDFLARE_DOWN, LEVEL_RED, "red" },
	{ "services_down", R_SERVICES_DOWN, LEVEL_RED, "red" },
	{ "critical_findings", R_CRITICAL_FINDINGS, LEVEL_RED, "red" },
	{ "never_scanned", R_NEVER_SCANNED, LEVEL_YELLOW, "yellow" },
	{ "scan_stale", R_SCAN_STALE, LEVEL_YELLOW, "yellow" },
	{ "high_findings", R_HIGH_FINDINGS, LEVEL_YELLOW, "yellow" },
	{ "never_scanned and high_findings", R_NEVER_SCANNED | R_HIGH_FINDINGS,
	    LEVEL_YELLOW, "yellow" },
	{ "scan_stale and high_findings", R_SCAN_STALE | R_HIGH_FINDINGS,
	    LEVEL_YELLOW, "yellow" },
};

static void
level_of_each_red_and_yellow_reason(void **state)
{
	const struct level_case *c;

	(void)state;
	TL_FOREACH(c, level_cases)
	{
		if (attention_level(c->reasons) != c->want)
			fail_msg("%s: level %s, want %s", c->name,
			    level_name(attention_level(c->reasons)),
			    c->want_name);
		/* Red wins: yellow reasons beside a red one do not soften it. */
		if (c->want == LEVEL_RED &&
		    attention_level(c->reasons | R_HIGH_FINDINGS |
			R_NEVER_SCANNED) != LEVEL_RED)
			fail_msg("%s beside yellow ones: not red", c->name);
		if (strcmp(level_name(c->want), c->want_name) != 0)
			fail_msg("%s: %s is named %s", c->name, c->want_name,
			    level_name(c->want));
	}
}

static void
level_of_every_reason_subset_matches_the_contract_rule(void **state)
{
	const unsigned red = R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN |
	    R_SERVICES_DOWN | R_CRITICAL_FINDINGS;

	(void)state;
	for (unsigned r = 0; r < (1u << REASON_COUNT); r++) {
		enum level want = r == 0 ? LEVEL_GREEN :
		    (r & red)		 ? LEVEL_RED :
					   LEVEL_YELLOW;

		assert_int_equal(attention_level(r), want);
	}
}

/* ---- the clock ----------------------------------------------------- */

static void
heartbeat_turns_stale_as_the_clock_advances(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW;
	for (int64_t dt = 0; dt < HB_STALE; dt++)
		assert_int_equal(reasons_at(&in, NOW + dt), 0);
	for (int64_t dt = HB_STALE; dt < HB_STALE + 10; dt++)
		assert_int_equal(reasons_at(&in, NOW + dt), R_HEARTBEAT_STALE);
}

static void
thresholds_come_from_the_argument(void **state)
{
	struct thresholds tight = { 1, 60 };
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW;
	in.last_scan_at = NOW - 59;
	assert_int_equal(attention_reasons(&in, NOW, &tight), 0);
	assert_int_equal(attention_reasons(&in, NOW + 1, &tight),
	    R_HEARTBEAT_STALE | R_SCAN_STALE);
}

static void
clock_is_only_the_now_argument(void **state)
{
	struct attn_input in;

	(void)state;
	/* A clock far in the past: with the real time, all would be stale. */
	memset(&in, 0, sizeof(in));
	in.last_heartbeat_at = 1000;
	in.last_scan_at = 900;
	in.cloudflare = CF_UP;
	assert_int_equal(reasons_at(&in, 1000 + HB_STALE - 1), 0);
	assert_int_equal(reasons_at(&in, 1000 + HB_STALE), R_HEARTBEAT_STALE);
}

/* ---- never scanned and stale scans ------------------------------------ */

static void
never_scanned_and_scan_stale_are_exclusive(void **state)
{
	struct attn_input    in = healthy();
	static const int64_t ages[] = {
		0,
		1,
		SCAN_STALE - 1,
		SCAN_STALE,
		SCAN_STALE + 1,
		SCAN_STALE * 100,
	};

	(void)state;
	in.last_scan_at = 0;
	assert_int_equal(reasons_at(&in, NOW) &
		(R_NEVER_SCANNED | R_SCAN_STALE),
	    R_NEVER_SCANNED);
	for (size_t i = 0; i < TL_NITEMS(ages); i++) {
		unsigned r;

		in.last_scan_at = NOW - ages[i];
		r = reasons_at(&in, NOW);
		assert_false((r & R_NEVER_SCANNED) && (r & R_SCAN_STALE));
		assert_int_equal(r & R_NEVER_SCANNED, 0);
	}
}

/* ---- names ------------------------------------------------------------------ */

static void
status_names_parse_back(void **state)
{
	static const enum node_status all[] = {
		NODE_PENDING,
		NODE_APPROVED,
		NODE_REVOKED,
		NODE_DELETED,
	};
	enum node_status st;

	(void)state;
	assert_string_equal(status_name(NODE_PENDING), "pending");
	assert_string_equal(status_name(NODE_APPROVED), "approved");
	assert_string_equal(status_name(NODE_REVOKED), "revoked");
	assert_string_equal(status_name(NODE_DELETED), "deleted");
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(status_parse(status_name(all[i]), &st), 0);
		assert_int_equal(st, all[i]);
	}
	assert_int_equal(status_parse("Approved", &st), -1);
	assert_int_equal(status_parse("", &st), -1);
	assert_int_equal(status_parse("removed", &st), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_changed_input_gives_its_reasons_and_level),
		cmocka_unit_test(reason_bits_follow_the_contract_order),
		cmocka_unit_test(reason_name_of_non_single_bit_is_unknown),
		cmocka_unit_test(
		    nodes_with_many_reasons_are_red_with_all_in_order),
		cmocka_unit_test(every_reason_bit_can_be_produced),
		cmocka_unit_test(level_of_each_red_and_yellow_reason),
		cmocka_unit_test(
		    level_of_every_reason_subset_matches_the_contract_rule),
		cmocka_unit_test(heartbeat_turns_stale_as_the_clock_advances),
		cmocka_unit_test(thresholds_come_from_the_argument),
		cmocka_unit_test(clock_is_only_the_now_argument),
		cmocka_unit_test(never_scanned_and_scan_stale_are_exclusive),
		cmocka_unit_test(status_names_parse_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
