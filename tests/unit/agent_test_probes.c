/*
 * Host fact parsers over /proc-style text, backoff bounds, UTF-8 clean-up
 * of command output and the result JSON.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../node-agent/agent.h"

static void
meminfo_uses_memavailable(void **state)
{
	double pct = -1;

	(void)state;
	assert_int_equal(probe_parse_meminfo(
	    "MemTotal:        8000000 kB\n"
	    "MemFree:          100000 kB\n"
	    "MemAvailable:    6000000 kB\n"
	    "Buffers:          200000 kB\n", &pct), 0);
	assert_float_equal(pct, 25.0, 0.001);
}

static void
meminfo_falls_back_without_memavailable(void **state)
{
	double pct = -1;

	(void)state;
	assert_int_equal(probe_parse_meminfo(
	    "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\n"
	    "Cached: 300 kB\nSwapCached: 999 kB\n", &pct), 0);
	assert_float_equal(pct, 50.0, 0.001);
}

static void
meminfo_rejects_garbage(void **state)
{
	double pct;

	(void)state;
	assert_int_equal(probe_parse_meminfo("", &pct), -1);
	assert_int_equal(probe_parse_meminfo("MemTotal: 0 kB\n", &pct), -1);
	assert_int_equal(probe_parse_meminfo("MemTotal: x kB\n", &pct), -1);
	assert_int_equal(probe_parse_meminfo("MemTotalX: 5 kB\nMemAvailable: "
	    "1 kB\n", &pct), -1);
	/* Available above total (racy reads) clamps to 0 %. */
	assert_int_equal(probe_parse_meminfo("MemTotal: 5 kB\nMemAvailable: "
	    "9 kB\n", &pct), 0);
	assert_float_equal(pct, 0.0, 0.001);
}

static void
uptime_and_loadavg(void **state)
{
	int64_t	up = -1;
	double	l = -1;

	(void)state;
	assert_int_equal(probe_parse_uptime("12345.67 54321.00\n", &up), 0);
	assert_int_equal(up, 12345);
	assert_int_equal(probe_parse_uptime("abc", &up), -1);
	assert_int_equal(probe_parse_uptime("-5 1", &up), -1);
	assert_int_equal(probe_parse_uptime("12x 1", &up), -1);
	assert_int_equal(probe_parse_loadavg("0.42 0.30 0.20 1/123 4567\n", &l),
	    0);
	assert_float_equal(l, 0.42, 1e-9);
	assert_int_equal(probe_parse_loadavg("", &l), -1);
	assert_int_equal(probe_parse_loadavg("nan 1 1", &l), -1);
}

static void
disk_used_pct_is_a_percentage(void **state)
{
	double pct = -1;

	(void)state;
	assert_int_equal(probe_disk_used_pct("/", &pct), 0);
	assert_true(pct >= 0 && pct <= 100);
	assert_int_equal(probe_disk_used_pct("/nonexistent/x/y", &pct), -1);
}

static void
backoff_doubles_with_jitter_up_to_cap(void **state)
{
	struct backoff	b;
	int64_t		d;

	(void)state;
	backoff_init(&b, 8);
	for (int round = 0; round < 200; round++) {
		int64_t want[] = { 1000, 2000, 4000, 8000, 8000, 8000 };

		backoff_reset(&b);
		for (size_t i = 0; i < 6; i++) {
			d = backoff_next(&b);
			assert_true(d >= want[i] / 2 && d <= want[i]);
		}
	}
	backoff_init(&b, 1);
	for (int i = 0; i < 5; i++) {
		d = backoff_next(&b);
		assert_true(d >= 500 && d <= 1000);
	}
}

static void
utf8_sanitize_keeps_valid_text_only(void **state)
{
	char *s;

	(void)state;
	s = utf8_sanitize("h\xc3\xa9llo\n\tok \xe2\x82\xac \xf0\x9f\x98\x80", 19);
	assert_string_equal(s, "h\xc3\xa9llo\n\tok \xe2\x82\xac \xf0\x9f\x98\x80");
	free(s);
	/* Bad lead, lone continuation, overlong, surrogate, NUL, cut end. */
	s = utf8_sanitize("a\xff" "b\x80" "c\xc0\xaf" "d\xed\xa0\x80" "e\0f"
	    "\xe2\x82", 16);
	assert_string_equal(s, "a?b?c??d???e?f??");
	free(s);
	s = utf8_sanitize("", 0);
	assert_string_equal(s, "");
	free(s);
}

static void
result_json_has_the_contract_fields(void **state)
{
	struct run_result	 r = { .status = "rejected", .exit_code = -1,
				    .started = 1800000000, .finished = 1800000001 };
	json_t			*o, *f;
	char			*s;
	size_t			 len;

	(void)state;
	r.output = strdup("why");
	s = result_json("6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e",
	    "11111111-2222-4333-8444-555555555555", &r, &len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	o = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")),
	    "rejected");
	assert_int_equal(json_integer_value(json_object_get(o, "exit_code")),
	    -1);
	assert_string_equal(json_string_value(json_object_get(o,
	    "started_at")), "2027-01-15T08:00:00Z");
	assert_string_equal(json_string_value(json_object_get(o,
	    "finished_at")), "2027-01-15T08:00:01Z");
	assert_null(json_object_get(o, "findings"));
	json_decref(o);
	free(s);
	r.findings = f = json_array();
	s = result_json("6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e",
	    "11111111-2222-4333-8444-555555555555", &r, &len);
	o = json_loads(s, 0, NULL);
	assert_true(json_is_array(json_object_get(o, "findings")));
	json_decref(o);
	free(s);
	run_result_free(&r);
	run_result_free(NULL);
}

struct wd_fx {
	struct agent	*a;
	int64_t		 ms;
};

/* A watched thread that announces ms, as a worker does before blocking. */
static void *
wd_worker(void *arg)
{
	struct wd_fx *w = arg;

	agent_watch_thread(w->a, AGENT_WD_POLL);
	agent_expect(w->ms);
	return NULL;
}

static void
watchdog_follows_what_each_thread_announced(void **state)
{
	struct agent		 a;
	struct wd_fx		 w = { &a, 5000 };
	enum agent_wd_slot	 late = AGENT_WD_SLOTS;
	pthread_t		 t;
	int64_t			 t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	/* Nothing registered: alive; unwatched threads change nothing. */
	agent_expect(1000);
	assert_int_equal(agent_threads_alive(&a, INT64_MAX, &late), 1);
	t0 = mono_ms();
	assert_int_equal(pthread_create(&t, NULL, wd_worker, &w), 0);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&a.wd_deadline[AGENT_WD_HEARTBEAT]), 0);
	/* Within 5 s + the grace: alive; past it: late, and which one. */
	assert_int_equal(agent_threads_alive(&a, t0 + 5000 +
	    AGENT_WD_GRACE_MS - 1, &late), 1);
	assert_int_equal(agent_threads_alive(&a, mono_ms() + 5000 +
	    AGENT_WD_GRACE_MS + 1, &late), 0);
	assert_int_equal(late, AGENT_WD_POLL);
	/* "Forever" (a revoked agent idles until SIGHUP) does not overflow. */
	w.ms = INT64_MAX;
	assert_int_equal(pthread_create(&t, NULL, wd_worker, &w), 0);
	pthread_join(t, NULL);
	assert_true(atomic_load(&a.wd_deadline[AGENT_WD_POLL]) > mono_ms());
	assert_int_equal(agent_threads_alive(&a, INT64_MAX / 8, &late), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(meminfo_uses_memavailable),
		cmocka_unit_test(meminfo_falls_back_without_memavailable),
		cmocka_unit_test(meminfo_rejects_garbage),
		cmocka_unit_test(uptime_and_loadavg),
		cmocka_unit_test(disk_used_pct_is_a_percentage),
		cmocka_unit_test(backoff_doubles_with_jitter_up_to_cap),
		cmocka_unit_test(watchdog_follows_what_each_thread_announced),
		cmocka_unit_test(utf8_sanitize_keeps_valid_text_only),
		cmocka_unit_test(result_json_has_the_contract_fields),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
