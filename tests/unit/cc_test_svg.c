/*
 * Unit tests of the pictures and live pages (issue 7): the inline SVG
 * charts of html.c (escaping, geometry inside the view box, no style
 * attribute), the page parts htmx swaps, and the samples they are drawn
 * from (store.c, history.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cc_testlib.h"

#define NOW 1800000000LL
#define ID_A "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define EVIL "<script>alert(1)</script>&\"'"

/* Nothing a CSP without 'unsafe-inline' would block, no raw markup. */
static void
assert_clean(const char *s)
{
	static const char *const inline_code[] = {
		"style=",
		"<script>",
		"<style",
	};

	TL_EXPECT_NONE(s, inline_code);
	/* No event handler attribute (" onload=", " onclick=", ...). */
	for (const char *p = s; (p = strstr(p, " on")) != NULL; p++) {
		const char *q = p + 3;

		while (*q >= 'a' && *q <= 'z')
			q++;
		assert_false(q > p + 3 && *q == '=');
	}
}

/*
 * s draws n polygons, and every number in every points="..." lies within
 * [0, w] x [0, h].
 */
static void
assert_polygons_inside(const char *s, size_t n, double w, double h)
{
	const char *p = s;

	assert_int_equal(tl_count(s, "<polygon"), n);
	while ((p = strstr(p, "points=\"")) != NULL) {
		p += 8;
		while (*p != '"') {
			char  *end;
			double x = strtod(p, &end), y;

			assert_true(end != p && *end == ',');
			y = strtod(end + 1, &end);
			assert_true(x >= 0 && x <= w);
			assert_true(y >= 0 && y <= h);
			p = end;
			while (*p == ' ')
				p++;
		}
	}
}

/* A sparkline of the n values y at t, over the last day, y in [0, ymax]. */
static char *
sparkline(const char *title, const int64_t *t, const double *y, size_t n,
    double ymax)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	svg_sparkline(&b, title, t, y, n, NOW - 86400, NOW, ymax);
	return tl_take(&b);
}

/* Expects s to draw lines polylines and dots circles, and no NaN. */
static void
expect_drawn(const char *s, size_t lines, size_t dots)
{
	if (tl_count(s, "<polyline") != lines || tl_count(s, "<circle") != dots)
		fail_msg("not %zu lines and %zu dots: %s", lines, dots, s);
	assert_null(strstr(s, "nan"));
	assert_non_null(strstr(s, "</svg>"));
}

static void
sparkline_title_is_escaped(void **state)
{
	int64_t t[2] = { NOW - 600, NOW };
	double	y[2] = { 0.5, 1.5 };
	char   *s = sparkline("load of " EVIL, t, y, 2, 2);

	(void)state;
	assert_non_null(strstr(s,
	    "&lt;script&gt;alert(1)&lt;/script&gt;"
	    "&amp;&quot;&#39;"));
	assert_clean(s);
	assert_int_equal(strncmp(s, "<svg ", 5), 0);
	assert_non_null(strstr(s, "</svg>"));
	free(s);
}

static void
sparkline_draws_line_area_and_latest_dot_inside_the_box(void **state)
{
	int64_t t[4] = { NOW - 86400, NOW - 3600, NOW - 600, NOW };
	double	y[4] = { 0.2, 9.0, -3.0, 1.0 }; /* clamped to [0, 2] */
	char   *s = sparkline("load", t, y, 4, 2);

	(void)state;
	expect_drawn(s, 1, 1);
	assert_polygons_inside(s, 1, 300, 40);
	/* The dot is the newest value, at the right end. */
	assert_non_null(strstr(s, "cx=\"297.0\""));
	free(s);
}

static void
sparkline_skips_missing_values_and_draws_nothing_below_three(void **state)
{
	int64_t t[4] = { NOW - 900, NOW - 600, NOW - 300, NOW - 100 };
	double	y[4] = { NAN, 42.0, NAN, 40.0 };
	char   *s;

	(void)state;
	/* One or two values: no line and no lone dot (the page says so). */
	s = sparkline("mem", t, y, 4, 100);
	expect_drawn(s, 0, 0);
	free(s);
	/* Three: a line, and the dot at its end. */
	y[0] = 41.0;
	s = sparkline("mem", t, y, 4, 100);
	expect_drawn(s, 1, 1);
	free(s);
	s = sparkline("mem", t, y, 0, 100);
	expect_drawn(s, 0, 0);
	free(s);
}

/* The fleet's history of the n samples s since since. */
static char *
fleet_history(const struct fleet_sample *s, size_t n, int64_t since)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	svg_fleet_history(&b, s, n, since, NOW);
	return tl_take(&b);
}

static void
fleet_history_stacks_three_levels_inside_the_box(void **state)
{
	static const char *const drawn[] = {
		"class=\"a-red\"",
		"class=\"a-yellow\"",
		"class=\"a-green\"",
		"now 0 red, 0 yellow, 6 green",
	};
	struct fleet_sample s[3] = {
		{ NOW - 7200, { 1, 2, 3 } },
		{ NOW - 3600, { 4, 0, 1 } },
		{ NOW, { 6, 0, 0 } },
	};
	char *out = fleet_history(s, 3, NOW - 86400);

	(void)state;
	assert_polygons_inside(out, 3, 600, 120);
	for (size_t i = 0; i < TL_NITEMS(drawn); i++)
		assert_non_null(strstr(out, drawn[i]));
	assert_clean(out);
	free(out);
}

static void
fleet_history_without_samples_says_so(void **state)
{
	char *out = fleet_history(NULL, 0, NOW - 86400);

	(void)state;
	assert_non_null(strstr(out, "No fleet samples yet"));
	assert_int_equal(tl_count(out, "<polygon"), 0);
	free(out);
}

static void
fleet_history_of_one_sample_is_a_visible_column(void **state)
{
	struct fleet_sample s = { NOW, { 0, 0, 2 } };
	char		   *out = fleet_history(&s, 1, NOW - 60);

	(void)state;
	assert_polygons_inside(out, 3, 600, 120);
	/* The red band reaches the top: all nodes are red. */
	assert_non_null(strstr(out, ",4.0"));
	free(out);
}

static void
scan_bars_stack_severities_and_mark_clean_scans(void **state)
{
	static const struct {
		const char *class;
		size_t n;
	} bars[] = { { "class=\"s-critical\"", 1 }, { "class=\"s-high\"", 1 },
		{ "class=\"s-low\"", 1 }, { "class=\"s-medium\"", 0 },
		{ "class=\"s-none\"", 1 } };
	struct scan_point s[2] = {
		{ "a", NOW - 7200, { 1, 2, 0, 3, 0 } },
		{ "b", NOW - 60, { 0, 0, 0, 0, 0 } },
	};
	struct buf b;
	char	  *out;

	(void)state;
	buf_init(&b, 1 << 16);
	svg_scan_bars(&b, "scans of " EVIL, s, 2, NOW);
	out = tl_take(&b);
	for (size_t i = 0; i < TL_NITEMS(bars); i++)
		if (tl_count(out, bars[i].class) != bars[i].n)
			fail_msg("not %zu %s", bars[i].n, bars[i].class);
	assert_non_null(strstr(out,
	    "2h ago: 1 critical, 2 high, 0 medium, "
	    "3 low, 0 info"));
	assert_non_null(strstr(out, "&lt;script&gt;"));
	assert_clean(out);
	free(out);
}

static void
make_view(struct node_view *v, const char *host)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->node_id, sizeof(v->node_id), "%s", ID_A);
	snprintf(v->hostname, sizeof(v->hostname), "%s", host);
	snprintf(v->os_profile, sizeof(v->os_profile), "ArchVault");
	snprintf(v->agent_version, sizeof(v->agent_version), "1.0");
	v->status = NODE_APPROVED;
	v->enrolled_at = NOW - 86400;
	v->last_heartbeat_at = NOW - 5;
	v->level = LEVEL_YELLOW;
	v->reasons = R_NEVER_SCANNED;
}

/* The part of the page of a node named host, showing error. */
static char *
node_html(const char *host, enum page_part part, const char *error)
{
	struct node_view  v;
	struct node_parts p;
	struct hb_sample  hs[2];
	struct buf	  b;

	make_view(&v, host);
	memset(hs, 0, sizeof(hs));
	hs[0].at = NOW - 900;
	hs[0].load1 = 0.5;
	hs[0].mem_used_pct = 40;
	hs[1].at = NOW - 600;
	hs[1].load1 = 0.7;
	hs[1].mem_used_pct = NAN;
	memset(&p, 0, sizeof(p));
	p.v = &v;
	p.hb_json = "{\"load1\":0.25,\"mem_used_pct\":42.5,\"services\":[]}";
	p.now = NOW;
	p.error = error;
	p.role = ROLE_ADMIN; /* every form shown */
	p.allowed = ~0u;
	p.samples = hs;
	p.nsamples = 2;
	buf_init(&b, 1 << 20);
	assert_int_equal(html_node(&b, &p, part), 0);
	return tl_take(&b);
}

/*
 * Expects the part of the page of a node named host, showing error, to
 * hold every string of want[] and none of never[], and no inline code.
 */
static void
expect_node_html(const char *host, enum page_part part, const char *error,
    const char *const *want, size_t nwant, const char *const *never,
    size_t nnever)
{
	char *s = node_html(host, part, error);

	tl_expect_all(s, want, nwant);
	tl_expect_none(s, never, nnever);
	assert_clean(s);
	free(s);
}

#define EXPECT_NODE_HTML(host, part, error, want, never)                  \
	expect_node_html(host, part, error, want, TL_NITEMS(want), never, \
	    TL_NITEMS(never))

static void
node_page_escapes_the_hostname_in_its_pictures(void **state)
{
	static const char *const want[] = {
		"<title>Load of &lt;script&gt;",
		"Refused: &lt;script&gt;",
	};
	static const char *const never[] = { "<script>alert" };

	(void)state;
	EXPECT_NODE_HTML(EVIL, PART_PAGE, EVIL, want, never);
}

static void
node_page_loads_htmx_and_polls_its_live_sections(void **state)
{
	static const char *const want[] = {
		"<script src=\"/static/htmx-",
		"hx-get=\"/nodes/" ID_A "?fragment=live\"",
		/* Forms work without JavaScript: method and action. */
		"method=\"post\" action=\"/nodes/" ID_A "/commands\" "
		"hx-post=\"/nodes/" ID_A "/commands\"",
		"action=\"/nodes/" ID_A "/revoke\"",
		/* Two stored samples and the latest heartbeat. */
		"3 samples, one per 5 min",
	};
	static const char *const never[] = { "hx-swap-oob" };

	(void)state;
	EXPECT_NODE_HTML("web-1", PART_PAGE, NULL, want, never);
}

static void
live_part_has_no_page_and_keeps_typed_input(void **state)
{
	static const char *const live[] = {
		"<section id=\"commands\" hx-swap-oob=\"true\">",
		"<section id=\"node-head\" hx-swap-oob=\"true\">",
	};
	/* The forms are not polled. */
	static const char *const not_live[] = {
		"<html",
		"id=\"run\"",
		"id=\"notice\"",
	};
	static const char *const all[] = {
		"<section id=\"run\" hx-swap-oob=\"true\">",
		"<div id=\"notice\" role=\"status\" hx-swap-oob=\"true\">"
		"<p class=\"error\"",
	};
	static const char *const not_all[] = { "<html" };

	(void)state;
	EXPECT_NODE_HTML("web-1", PART_LIVE, NULL, live, not_live);
	EXPECT_NODE_HTML("web-1", PART_ALL, "bad args", all, not_all);
}

static char *
dash_html(struct dash_view *d, enum page_part part)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(html_dash(&b, d, part), 0);
	return tl_take(&b);
}

static void
dashboard_poll_keeps_filter_page_and_range(void **state)
{
	struct node_view   v[2];
	struct dash_filter f = { LEVEL_RED, "a&b <c>", 2, NULL, NULL, NULL };
	struct dash_view   d;
	char		  *s;

	(void)state;
	make_view(&v[0], "web-1");
	make_view(&v[1], "web-2");
	memset(&d, 0, sizeof(d));
	d.v = v;
	d.n = 2;
	d.c.total = 2;
	d.c.matched = 2;
	d.c.by_level[v[0].level]++;
	d.c.by_level[v[1].level]++;
	d.now = NOW;
	d.f = &f;
	d.range = "7d";
	d.range_secs = 7 * 86400;
	s = dash_html(&d, PART_PAGE);
	assert_non_null(strstr(s,
	    "hx-get=\"/?fragment=live&amp;"
	    "attention=red&amp;q=a%26b%20%3Cc%3E&amp;range=7d&amp;page=2\""));
	assert_non_null(strstr(s, "value=\"a&amp;b &lt;c&gt;\""));
	assert_non_null(strstr(s, "<figure id=\"history\""));
	assert_clean(s);
	free(s);

	s = dash_html(&d, PART_LIVE);
	assert_null(strstr(s, "<html"));
	assert_null(strstr(s, "id=\"filter\""));
	assert_non_null(strstr(s,
	    "<section id=\"summary\" class=\"summary\" "
	    "aria-live=\"polite\" hx-swap-oob=\"true\">"));
	assert_non_null(
	    strstr(s, "<section id=\"fleet\" hx-swap-oob=\"true\">"));
	free(s);
}

/* ---- samples in the store ------------------------------------------- */

/* What a walk of the history gave: fleet or heartbeat samples. */
struct got {
	union {
		struct fleet_sample fs[16];
		struct hb_sample    hs[16];
	};
	size_t n;
};

/* Keeps the sample p of size bytes. */
static int
keep(struct got *g, const void *p, size_t size)
{
	assert_true(g->n < 16);
	memcpy((char *)g->fs + g->n++ * size, p, size);
	return 0;
}

static int
got_fleet(const struct fleet_sample *fs, void *arg)
{
	return keep(arg, fs, sizeof(*fs));
}

static int
got_hb(const struct hb_sample *hs, void *arg)
{
	return keep(arg, hs, sizeof(*hs));
}

static void
fleet_samples_are_bucketed_newest_first_and_pruned(void **state)
{
	struct cct_fx	   *f = *state;
	struct fleet_sample s;
	struct got	    g;

	for (int i = 0; i < 6; i++) {
		s.at = NOW - 1000 + i * 100; /* 9000 .. 9500 past a bucket */
		s.count[LEVEL_GREEN] = i;
		s.count[LEVEL_YELLOW] = 10 + i;
		s.count[LEVEL_RED] = 20 + i;
		assert_int_equal(store_fleet_sample(f->st, &s, 0), 0);
	}
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_fleet_history(f->st, 0, 1, got_fleet, &g), 0);
	assert_int_equal(g.n, 6);
	assert_true(g.fs[0].at < g.fs[5].at);
	assert_int_equal(g.fs[5].count[LEVEL_RED], 25);

	/* Buckets of 1000 s: each holds its newest sample. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_fleet_history(f->st, 0, 1000, got_fleet, &g), 0);
	assert_true(g.n >= 1 && g.n <= 2);
	assert_int_equal(g.fs[g.n - 1].at, NOW - 500);
	assert_int_equal(g.fs[g.n - 1].count[LEVEL_GREEN], 5);

	/* A new sample drops those older than keep_after. */
	s.at = NOW;
	assert_int_equal(store_fleet_sample(f->st, &s, NOW - 650), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_fleet_history(f->st, 0, 1, got_fleet, &g), 0);
	assert_int_equal(g.n, 3); /* NOW-600, -500 and NOW */
	assert_int_equal(g.fs[0].at, NOW - 600);
}

static void
heartbeat_samples_round_trip_with_missing_values_and_prune(void **state)
{
	struct cct_fx	*f = *state;
	struct hb_sample w[3];
	struct got	 g;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < 3; i++) {
		snprintf(w[i].node_id, sizeof(w[i].node_id), "%s", ID_A);
		w[i].at = NOW - 900 + i * 300;
		w[i].load1 = 0.5 * i;
		w[i].mem_used_pct = i == 1 ? NAN : 10.0 * i;
	}
	assert_int_equal(store_hb_samples_add(f->st, w, 3, 0, 100), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_hb_history(f->st, ID_A, 0, got_hb, &g), 0);
	assert_int_equal(g.n, 3);
	assert_true(isnan(g.hs[1].mem_used_pct));
	assert_true(g.hs[2].load1 == 1.0 && g.hs[2].mem_used_pct == 20.0);
	assert_string_equal(g.hs[0].node_id, ID_A);

	/* Nothing new, but at most one old sample goes per call here. */
	assert_int_equal(store_hb_samples_add(f->st, w, 0, NOW, 1), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_hb_history(f->st, ID_A, 0, got_hb, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.hs[0].at, NOW - 600);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_hb_history(f->st, ID_A, NOW - 400, got_hb, &g),
	    0);
	assert_int_equal(g.n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sparkline_title_is_escaped),
		cmocka_unit_test(
		    sparkline_draws_line_area_and_latest_dot_inside_the_box),
		cmocka_unit_test(
		    sparkline_skips_missing_values_and_draws_nothing_below_three),
		cmocka_unit_test(
		    fleet_history_stacks_three_levels_inside_the_box),
		cmocka_unit_test(fleet_history_without_samples_says_so),
		cmocka_unit_test(
		    fleet_history_of_one_sample_is_a_visible_column),
		cmocka_unit_test(
		    scan_bars_stack_severities_and_mark_clean_scans),
		cmocka_unit_test(
		    node_page_escapes_the_hostname_in_its_pictures),
		cmocka_unit_test(
		    node_page_loads_htmx_and_polls_its_live_sections),
		cmocka_unit_test(live_part_has_no_page_and_keeps_typed_input),
		cmocka_unit_test(dashboard_poll_keeps_filter_page_and_range),
		cmocka_unit_test_setup_teardown(
		    fleet_samples_are_bucketed_newest_first_and_pruned,
		    cct_setup_store, cct_teardown),
		cmocka_unit_test_setup_teardown(
		    heartbeat_samples_round_trip_with_missing_values_and_prune,
		    cct_setup_store, cct_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
