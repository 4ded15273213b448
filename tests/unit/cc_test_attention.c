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

#define NOW	((int64_t)1795773600)	/* 2026-11-27T10:00:00Z */
#define HB_STALE	(10 * 60)	/* the default 10 minutes */
#define SCAN_STALE	(48 * 3600)	/* the default 48 hours */

static const struct thresholds thr = { HB_STALE, SCAN_STALE };

/* The contract's reasons, in the contract's order. */
static const char *const contract_order[REASON_COUNT] = {
	"heartbeat_stale", "cloudflare_down", "services_down",
	"never_scanned", "scan_stale", "critical_findings", "high_findings",
};

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

/* ---- each reason alone ------------------------------------------------ */

static void
healthy_node_has_no_reasons_and_is_green(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	assert_int_equal(reasons_at(&in, NOW), 0);
	assert_int_equal(attention_level(0), LEVEL_GREEN);
}

static void
cloudflare_unknown_or_up_is_not_a_reason(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.cloudflare = CF_UNKNOWN;
	assert_int_equal(reasons_at(&in, NOW), 0);
	in.cloudflare = CF_UP;
	assert_int_equal(reasons_at(&in, NOW), 0);
}

static void
reason_heartbeat_stale_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW - HB_STALE - 1;
	assert_int_equal(reasons_at(&in, NOW), R_HEARTBEAT_STALE);
}

static void
reason_cloudflare_down_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.cloudflare = CF_DOWN;
	assert_int_equal(reasons_at(&in, NOW), R_CLOUDFLARE_DOWN);
}

static void
reason_services_down_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.services_down = 1;
	assert_int_equal(reasons_at(&in, NOW), R_SERVICES_DOWN);
	in.services_down = 3;
	assert_int_equal(reasons_at(&in, NOW), R_SERVICES_DOWN);
}

static void
reason_never_scanned_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_scan_at = 0;
	assert_int_equal(reasons_at(&in, NOW), R_NEVER_SCANNED);
}

static void
reason_scan_stale_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_scan_at = NOW - SCAN_STALE - 1;
	assert_int_equal(reasons_at(&in, NOW), R_SCAN_STALE);
}

static void
reason_critical_findings_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.critical = 1;
	assert_int_equal(reasons_at(&in, NOW), R_CRITICAL_FINDINGS);
	in.critical = 250;
	assert_int_equal(reasons_at(&in, NOW), R_CRITICAL_FINDINGS);
}

static void
reason_high_findings_alone(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.high = 1;
	assert_int_equal(reasons_at(&in, NOW), R_HIGH_FINDINGS);
}

/* ---- all together, in order -------------------------------------------- */

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

static void
all_reasons_together_with_never_scanned(void **state)
{
	struct attn_input	 in;
	unsigned		 r;
	char			 names[256];

	(void)state;
	memset(&in, 0, sizeof(in));
	in.last_heartbeat_at = NOW - HB_STALE * 5;
	in.last_scan_at = 0;
	in.cloudflare = CF_DOWN;
	in.services_down = 1;
	in.critical = 2;
	in.high = 5;
	r = reasons_at(&in, NOW);
	assert_int_equal(r, R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN |
	    R_SERVICES_DOWN | R_NEVER_SCANNED | R_CRITICAL_FINDINGS |
	    R_HIGH_FINDINGS);
	names_of(r, names, sizeof(names));
	assert_string_equal(names, "heartbeat_stale,cloudflare_down,"
	    "services_down,never_scanned,critical_findings,high_findings");
	assert_int_equal(attention_level(r), LEVEL_RED);
}

static void
all_reasons_together_with_scan_stale(void **state)
{
	struct attn_input	 in;
	unsigned		 r;
	char			 names[256];

	(void)state;
	memset(&in, 0, sizeof(in));
	in.last_heartbeat_at = 0;
	in.last_scan_at = NOW - SCAN_STALE * 3;
	in.cloudflare = CF_DOWN;
	in.services_down = 2;
	in.critical = 1;
	in.high = 1;
	r = reasons_at(&in, NOW);
	assert_int_equal(r, R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN |
	    R_SERVICES_DOWN | R_SCAN_STALE | R_CRITICAL_FINDINGS |
	    R_HIGH_FINDINGS);
	names_of(r, names, sizeof(names));
	assert_string_equal(names, "heartbeat_stale,cloudflare_down,"
	    "services_down,scan_stale,critical_findings,high_findings");
	assert_int_equal(attention_level(r), LEVEL_RED);
}

static void
every_reason_bit_can_be_produced(void **state)
{
	struct attn_input	 a, b;
	unsigned		 seen;

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

static void
level_green_with_no_reasons(void **state)
{
	(void)state;
	assert_int_equal(attention_level(0), LEVEL_GREEN);
	assert_string_equal(level_name(LEVEL_GREEN), "green");
}

static void
level_red_for_each_red_reason(void **state)
{
	static const unsigned red[] = {
		R_HEARTBEAT_STALE, R_CLOUDFLARE_DOWN, R_SERVICES_DOWN,
		R_CRITICAL_FINDINGS,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(red) / sizeof(red[0]); i++) {
		assert_int_equal(attention_level(red[i]), LEVEL_RED);
		/* A yellow reason beside it does not soften it. */
		assert_int_equal(attention_level(red[i] | R_HIGH_FINDINGS |
		    R_NEVER_SCANNED), LEVEL_RED);
	}
	assert_string_equal(level_name(LEVEL_RED), "red");
}

static void
level_yellow_for_each_yellow_reason_alone(void **state)
{
	(void)state;
	assert_int_equal(attention_level(R_NEVER_SCANNED), LEVEL_YELLOW);
	assert_int_equal(attention_level(R_SCAN_STALE), LEVEL_YELLOW);
	assert_int_equal(attention_level(R_HIGH_FINDINGS), LEVEL_YELLOW);
	assert_int_equal(attention_level(R_NEVER_SCANNED | R_HIGH_FINDINGS),
	    LEVEL_YELLOW);
	assert_int_equal(attention_level(R_SCAN_STALE | R_HIGH_FINDINGS),
	    LEVEL_YELLOW);
	assert_string_equal(level_name(LEVEL_YELLOW), "yellow");
}

static void
level_of_every_reason_subset_matches_the_contract_rule(void **state)
{
	const unsigned red = R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN |
	    R_SERVICES_DOWN | R_CRITICAL_FINDINGS;

	(void)state;
	for (unsigned r = 0; r < (1u << REASON_COUNT); r++) {
		enum level want = r == 0 ? LEVEL_GREEN :
		    (r & red) ? LEVEL_RED : LEVEL_YELLOW;

		assert_int_equal(attention_level(r), want);
	}
}

static void
levels_from_inputs_end_to_end(void **state)
{
	struct attn_input in;

	(void)state;
	in = healthy();
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_GREEN);
	in = healthy();
	in.last_heartbeat_at = NOW - HB_STALE;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_RED);
	in = healthy();
	in.cloudflare = CF_DOWN;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_RED);
	in = healthy();
	in.services_down = 1;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_RED);
	in = healthy();
	in.critical = 1;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_RED);
	in = healthy();
	in.last_scan_at = 0;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_YELLOW);
	in = healthy();
	in.last_scan_at = NOW - SCAN_STALE;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_YELLOW);
	in = healthy();
	in.high = 1;
	assert_int_equal(attention_level(reasons_at(&in, NOW)), LEVEL_YELLOW);
}

/* ---- thresholds ---------------------------------------------------------- */

static void
heartbeat_just_under_threshold_is_fresh(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW - (HB_STALE - 1);
	assert_int_equal(reasons_at(&in, NOW) & R_HEARTBEAT_STALE, 0);
	in.last_heartbeat_at = NOW;
	assert_int_equal(reasons_at(&in, NOW) & R_HEARTBEAT_STALE, 0);
}

static void
heartbeat_exactly_at_threshold_is_stale(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW - HB_STALE;
	assert_int_equal(reasons_at(&in, NOW), R_HEARTBEAT_STALE);
}

static void
heartbeat_just_over_threshold_is_stale(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = NOW - (HB_STALE + 1);
	assert_int_equal(reasons_at(&in, NOW), R_HEARTBEAT_STALE);
}

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
scan_just_under_threshold_is_fresh(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_scan_at = NOW - (SCAN_STALE - 1);
	assert_int_equal(reasons_at(&in, NOW), 0);
}

static void
scan_exactly_at_threshold_is_stale(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_scan_at = NOW - SCAN_STALE;
	assert_int_equal(reasons_at(&in, NOW), R_SCAN_STALE);
}

static void
scan_just_over_threshold_is_stale(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_scan_at = NOW - (SCAN_STALE + 1);
	assert_int_equal(reasons_at(&in, NOW), R_SCAN_STALE);
}

static void
thresholds_come_from_the_argument(void **state)
{
	struct thresholds	 tight = { 1, 60 };
	struct attn_input	 in = healthy();

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

/* ---- no heartbeat yet, never scanned --------------------------------------- */

static void
node_without_heartbeat_is_heartbeat_stale(void **state)
{
	struct attn_input in = healthy();

	(void)state;
	in.last_heartbeat_at = 0;
	assert_int_equal(reasons_at(&in, NOW), R_HEARTBEAT_STALE);
	/* Even if the clock itself is near zero. */
	assert_int_equal(reasons_at(&in, 1) & R_HEARTBEAT_STALE,
	    R_HEARTBEAT_STALE);
}

static void
fresh_enrolled_node_is_red_with_heartbeat_stale_and_never_scanned(void **state)
{
	struct attn_input	 in;
	unsigned		 r;

	(void)state;
	memset(&in, 0, sizeof(in));	/* what a just-enrolled node has */
	r = reasons_at(&in, NOW);
	assert_int_equal(r, R_HEARTBEAT_STALE | R_NEVER_SCANNED);
	assert_int_equal(attention_level(r), LEVEL_RED);
}

static void
never_scanned_and_scan_stale_are_exclusive(void **state)
{
	struct attn_input	 in = healthy();
	static const int64_t	 ages[] = {
		0, 1, SCAN_STALE - 1, SCAN_STALE, SCAN_STALE + 1,
		SCAN_STALE * 100,
	};

	(void)state;
	in.last_scan_at = 0;
	assert_int_equal(reasons_at(&in, NOW) & (R_NEVER_SCANNED |
	    R_SCAN_STALE), R_NEVER_SCANNED);
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
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
		NODE_PENDING, NODE_APPROVED, NODE_REVOKED, NODE_DELETED,
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
		cmocka_unit_test(healthy_node_has_no_reasons_and_is_green),
		cmocka_unit_test(cloudflare_unknown_or_up_is_not_a_reason),
		cmocka_unit_test(reason_heartbeat_stale_alone),
		cmocka_unit_test(reason_cloudflare_down_alone),
		cmocka_unit_test(reason_services_down_alone),
		cmocka_unit_test(reason_never_scanned_alone),
		cmocka_unit_test(reason_scan_stale_alone),
		cmocka_unit_test(reason_critical_findings_alone),
		cmocka_unit_test(reason_high_findings_alone),
		cmocka_unit_test(reason_bits_follow_the_contract_order),
		cmocka_unit_test(reason_name_of_non_single_bit_is_unknown),
		cmocka_unit_test(all_reasons_together_with_never_scanned),
		cmocka_unit_test(all_reasons_together_with_scan_stale),
		cmocka_unit_test(every_reason_bit_can_be_produced),
		cmocka_unit_test(level_green_with_no_reasons),
		cmocka_unit_test(level_red_for_each_red_reason),
		cmocka_unit_test(level_yellow_for_each_yellow_reason_alone),
		cmocka_unit_test(level_of_every_reason_subset_matches_the_contract_rule),
		cmocka_unit_test(levels_from_inputs_end_to_end),
		cmocka_unit_test(heartbeat_just_under_threshold_is_fresh),
		cmocka_unit_test(heartbeat_exactly_at_threshold_is_stale),
		cmocka_unit_test(heartbeat_just_over_threshold_is_stale),
		cmocka_unit_test(heartbeat_turns_stale_as_the_clock_advances),
		cmocka_unit_test(scan_just_under_threshold_is_fresh),
		cmocka_unit_test(scan_exactly_at_threshold_is_stale),
		cmocka_unit_test(scan_just_over_threshold_is_stale),
		cmocka_unit_test(thresholds_come_from_the_argument),
		cmocka_unit_test(clock_is_only_the_now_argument),
		cmocka_unit_test(node_without_heartbeat_is_heartbeat_stale),
		cmocka_unit_test(fresh_enrolled_node_is_red_with_heartbeat_stale_and_never_scanned),
		cmocka_unit_test(never_scanned_and_scan_stale_are_exclusive),
		cmocka_unit_test(status_names_parse_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
