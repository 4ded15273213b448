/* Unit tests of the scheduler's decisions (scheduler_decide), any clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cc_all.h"
#include "testlib.h"

#define NOW 1800000000LL
#define DAY 86400LL

/*
 * Each rule of scheduler_decide(), at a daily interval: a node's status,
 * its last scan (0: never), whether policy allows scans and whether one is
 * already queued or delivered, and the decision.
 */
static const struct decide_case {
	const char	   *name;
	enum node_status    st;
	int64_t		    last_scan_at;
	int		    allowed, open;
	enum sched_decision want;
} decide_cases[] = {
	{ "never scanned approved node is due", NODE_APPROVED, 0, 1, 0,
	    SCHED_DUE },
	{ "scan older than the interval is due", NODE_APPROVED, NOW - DAY - 1,
	    1, 0, SCHED_DUE },
	{ "scan exactly the interval old is due", NODE_APPROVED, NOW - DAY, 1,
	    0, SCHED_DUE },
	{ "scan a second younger than the interval is not due", NODE_APPROVED,
	    NOW - DAY + 1, 1, 0, SCHED_NOT_DUE },
	{ "scan of just now is not due", NODE_APPROVED, NOW, 1, 0,
	    SCHED_NOT_DUE },
	{ "policy forbidding scans, never scanned", NODE_APPROVED, 0, 0, 0,
	    SCHED_FORBIDDEN },
	{ "policy forbidding scans, long overdue", NODE_APPROVED,
	    NOW - 10 * DAY, 0, 0, SCHED_FORBIDDEN },
	{ "scan already queued, never scanned", NODE_APPROVED, 0, 1, 1,
	    SCHED_PENDING },
	{ "scan already delivered, overdue", NODE_APPROVED, NOW - 2 * DAY, 1, 1,
	    SCHED_PENDING },
	{ "pending node is not scanned", NODE_PENDING, 0, 1, 0,
	    SCHED_NOT_APPROVED },
	{ "revoked node is not scanned", NODE_REVOKED, 0, 1, 0,
	    SCHED_NOT_APPROVED },
};

static void
scheduler_decides_by_status_age_policy_and_queue(void **state)
{
	const struct decide_case *c;

	(void)state;
	TL_FOREACH(c, decide_cases)
	{
		enum sched_decision got;

		got = scheduler_decide(c->st, c->last_scan_at, c->allowed,
		    c->open, NOW, DAY);
		if (got != c->want)
			fail_msg("%s: %s, want %s", c->name,
			    sched_decision_name(got),
			    sched_decision_name(c->want));
	}
}

static void
budget_spreads_a_large_fleet_over_the_interval(void **state)
{
	(void)state;
	/* 100,000 nodes, 300 s tick, 24 h interval: 695 a tick, all in 12 h. */
	assert_int_equal(scheduler_budget(100000, 300, DAY), 695);
	/* Small fleets are never held back. */
	assert_int_equal(scheduler_budget(10, 300, DAY), SCHED_MIN_BUDGET);
	assert_int_equal(scheduler_budget(0, 1, 3600), SCHED_MIN_BUDGET);
	/* A short tick with a short interval: the whole fleet fits. */
	assert_true(scheduler_budget(5000, 3600, 3600) >= 5000);
}

static void
heartbeat_sampling_slows_down_for_big_fleets(void **state)
{
	(void)state;
	assert_int_equal(hb_sample_secs(1), HB_SAMPLE_SECS);
	assert_int_equal(hb_sample_secs(5000), HB_SAMPLE_SECS);
	assert_int_equal(hb_sample_secs(10000), 600);
	/* 100,000 nodes: one sample every 100 min, 1.44 M rows a day. */
	assert_int_equal(hb_sample_secs(100000), 6000);
	assert_int_equal(100000 * (86400 / hb_sample_secs(100000)), 1400000);
}

static void
decisions_have_names(void **state)
{
	(void)state;
	assert_string_equal(sched_decision_name(SCHED_DUE), "due");
	assert_string_equal(sched_decision_name(SCHED_FORBIDDEN),
	    "forbidden_by_policy");
	assert_string_equal(sched_decision_name(SCHED_PENDING),
	    "already_pending");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    scheduler_decides_by_status_age_policy_and_queue),
		cmocka_unit_test(
		    budget_spreads_a_large_fleet_over_the_interval),
		cmocka_unit_test(heartbeat_sampling_slows_down_for_big_fleets),
		cmocka_unit_test(decisions_have_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
