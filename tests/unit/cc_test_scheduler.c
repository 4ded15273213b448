/* Unit tests of the scheduler's decisions (scheduler_decide), any clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cc_all.h"

#define NOW	 1800000000LL
#define DAY	 86400LL

static void
never_scanned_approved_node_is_due(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, 0, 1, 0, NOW, DAY),
	    SCHED_DUE);
}

static void
scan_older_than_interval_is_due(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW - DAY - 1, 1, 0,
	    NOW, DAY), SCHED_DUE);
}

static void
scan_exactly_interval_old_is_due(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW - DAY, 1, 0, NOW,
	    DAY), SCHED_DUE);
}

static void
recent_scan_is_not_due(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW - DAY + 1, 1, 0,
	    NOW, DAY), SCHED_NOT_DUE);
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW, 1, 0, NOW, DAY),
	    SCHED_NOT_DUE);
}

static void
policy_forbidding_scans_is_never_queued(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, 0, 0, 0, NOW, DAY),
	    SCHED_FORBIDDEN);
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW - 10 * DAY, 0, 0,
	    NOW, DAY), SCHED_FORBIDDEN);
}

static void
scan_already_queued_or_delivered_is_pending(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_APPROVED, 0, 1, 1, NOW, DAY),
	    SCHED_PENDING);
	assert_int_equal(scheduler_decide(NODE_APPROVED, NOW - 2 * DAY, 1, 1,
	    NOW, DAY), SCHED_PENDING);
}

static void
pending_and_revoked_nodes_are_not_scanned(void **state)
{
	(void)state;
	assert_int_equal(scheduler_decide(NODE_PENDING, 0, 1, 0, NOW, DAY),
	    SCHED_NOT_APPROVED);
	assert_int_equal(scheduler_decide(NODE_REVOKED, 0, 1, 0, NOW, DAY),
	    SCHED_NOT_APPROVED);
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
		cmocka_unit_test(never_scanned_approved_node_is_due),
		cmocka_unit_test(scan_older_than_interval_is_due),
		cmocka_unit_test(scan_exactly_interval_old_is_due),
		cmocka_unit_test(recent_scan_is_not_due),
		cmocka_unit_test(policy_forbidding_scans_is_never_queued),
		cmocka_unit_test(scan_already_queued_or_delivered_is_pending),
		cmocka_unit_test(pending_and_revoked_nodes_are_not_scanned),
		cmocka_unit_test(budget_spreads_a_large_fleet_over_the_interval),
		cmocka_unit_test(heartbeat_sampling_slows_down_for_big_fleets),
		cmocka_unit_test(decisions_have_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
