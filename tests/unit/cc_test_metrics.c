/*
 * Unit tests of command-center/metrics.c: the histograms of GET /metrics
 * as Prometheus requires them (buckets cumulative, in order, +Inf equal to
 * _count), also while other threads record observations during a scrape,
 * and each counter family printed once with its samples together.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cc_testlib.h"
#include "log.h"

#define DISPATCH "vaultmesh_dispatch_delay_seconds"
#define STORE "vaultmesh_store_write_seconds"
#define NBUCKETS 9 /* finite buckets of each histogram */

/* metrics_render() reads the fleet and the store through app. */
static int
setup(void **state)
{
	struct cct_fx *f;

	if (cct_setup_fleet(state) == -1)
		return -1;
	f = *state;
	app.store = f->st;
	app.fleet = f->fl;
	return 0;
}

static int
teardown(void **state)
{
	app.fleet = NULL;
	app.store = NULL;
	return cct_teardown(state);
}

static size_t
count_lines(const char *s, const char *prefix)
{
	size_t n = 0;

	for (const char *p = s; p != NULL && *p != '\0';
	     p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* One histogram as rendered. */
struct hist {
	double		   le[NBUCKETS];
	unsigned long long bucket[NBUCKETS];
	unsigned long long inf, count;
	double		   sum;
};

static char *
render(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b, 1800000000LL), 0);
	return tl_take(&b);
}

/* The value after "<name><suffix>" at the start of a line. */
static const char *
line_of(const char *text, const char *name, const char *suffix)
{
	char	    key[128];
	const char *p = text;

	snprintf(key, sizeof(key), "%s%s", name, suffix);
	while ((p = strstr(p, key)) != NULL) {
		if (p == text || p[-1] == '\n')
			return p + strlen(key);
		p++;
	}
	fail_msg("no line %s in:\n%s", key, text);
	return NULL;
}

/*
 * Parses name's histogram and checks its shape: NBUCKETS finite buckets
 * with rising bounds, then +Inf, _sum and _count, in that order.
 */
static void
parse_hist(const char *text, const char *name, struct hist *h)
{
	const char *p = line_of(text, name, "_bucket{le=\"");
	char	   *end;

	for (int i = 0; i < NBUCKETS; i++) {
		h->le[i] = strtod(p, &end);
		assert_true(end != p);
		assert_memory_equal(end, "\"} ", 3);
		h->bucket[i] = strtoull(end + 3, &end, 10);
		assert_int_equal(*end, '\n');
		if (i > 0)
			assert_true(h->le[i] > h->le[i - 1]);
		p = end + 1;
		assert_int_equal(strncmp(p, name, strlen(name)), 0);
		p += strlen(name);
		assert_memory_equal(p, "_bucket{le=\"", 12);
		p += 12;
	}
	assert_memory_equal(p, "+Inf\"} ", 7);
	h->inf = strtoull(p + 7, &end, 10);
	assert_int_equal(*end, '\n');
	p = end + 1;
	assert_int_equal(strncmp(p, name, strlen(name)), 0);
	assert_memory_equal(p + strlen(name), "_sum ", 5);
	h->sum = strtod(p + strlen(name) + 5, &end);
	assert_int_equal(*end, '\n');
	p = end + 1;
	assert_int_equal(strncmp(p, name, strlen(name)), 0);
	assert_memory_equal(p + strlen(name), "_count ", 7);
	h->count = strtoull(p + strlen(name) + 7, &end, 10);
	assert_int_equal(*end, '\n');
}

/* What Prometheus requires of every scrape. */
static void
assert_consistent(const struct hist *h)
{
	for (int i = 1; i < NBUCKETS; i++)
		if (h->bucket[i] < h->bucket[i - 1])
			fail_msg("bucket le=%g is %llu, below le=%g's %llu",
			    h->le[i], h->bucket[i], h->le[i - 1],
			    h->bucket[i - 1]);
	if (h->inf < h->bucket[NBUCKETS - 1])
		fail_msg("+Inf %llu below le=%g's %llu", h->inf,
		    h->le[NBUCKETS - 1], h->bucket[NBUCKETS - 1]);
	if (h->inf != h->count)
		fail_msg("+Inf %llu but _count %llu", h->inf, h->count);
}

static void
observations_land_in_cumulative_buckets_and_inf_is_count(void **state)
{
	struct hist a, b;
	char	   *s;

	(void)state;
	s = render();
	parse_hist(s, DISPATCH, &a);
	assert_consistent(&a);
	free(s);

	/* 0.5 ms, 3 ms and 7 s: the last is above every finite bucket. */
	metrics_dispatch_delay(500);
	metrics_dispatch_delay(3000);
	metrics_dispatch_delay(7000000);
	/* A negative delay (clock step) counts as 0. */
	metrics_dispatch_delay(-5);
	s = render();
	parse_hist(s, DISPATCH, &b);
	assert_consistent(&b);
	free(s);

	assert_true(a.le[0] == 0.001 && a.le[NBUCKETS - 1] == 5);
	assert_int_equal(b.bucket[0] - a.bucket[0], 2); /* 0, 0.5 ms */
	assert_int_equal(b.bucket[1] - a.bucket[1], 3); /* + 3 ms */
	assert_int_equal(b.bucket[NBUCKETS - 1] - a.bucket[NBUCKETS - 1], 3);
	assert_int_equal(b.inf - a.inf, 4); /* + 7 s */
	assert_int_equal(b.count - a.count, 4);
	assert_true(fabs(b.sum - a.sum - 7.0035) < 1e-6);
}

/*
 * Each family once (Prometheus refuses a repeated TYPE) and its samples
 * right after it: the enrollment outcomes stay one family.
 */
static void
every_family_is_printed_once_with_its_samples_together(void **state)
{
	char	   *s = render();
	const char *p, *fam;
	size_t	    n = 0;

	(void)state;
	for (p = s; (p = strstr(p, "# TYPE ")) != NULL; p++) {
		const char *end = strchr(p + 7, ' ');
		char	    name[128], type[160];

		assert_non_null(end);
		assert_true((size_t)(end - p - 7) < sizeof(name));
		memcpy(name, p + 7, (size_t)(end - p - 7));
		name[end - p - 7] = '\0';
		snprintf(type, sizeof(type), "# TYPE %s ", name);
		assert_ptr_equal(strstr(s, type), p);
		assert_ptr_equal(strstr(p + 1, type), NULL);
	}
	fam = strstr(s, "# TYPE vaultmesh_enrollments_total counter\n");
	assert_non_null(fam);
	/* Every outcome line follows the TYPE line, one after another. */
	for (p = strchr(fam, '\n') + 1;
	     strncmp(p, "vaultmesh_enrollments_total{outcome=\"", 37) == 0;
	     p = strchr(p, '\n') + 1)
		n++;
	assert_int_equal(n, count_lines(s, "vaultmesh_enrollments_total{"));
	assert_true(n >= 6);
	free(s);
}

struct writer {
	atomic_int   stop;
	atomic_ulong done;
};

/*
 * Records observations across every bucket (and above the last) until told
 * to stop, or a bound is reached so a stuck reader cannot hang the test.
 */
static void *
write_observations(void *arg)
{
	static const int64_t us[] = { 50, 300, 800, 3000, 7000, 20000, 40000,
		70000, 200000, 800000, 3000000, 9000000 };
	struct writer	    *w = arg;

	for (unsigned long i = 0; i < 200000000UL && !atomic_load(&w->stop);
	     i++) {
		metrics_dispatch_delay(us[i % 12]);
		metrics_store_write(us[(i + 5) % 12]);
		atomic_store_explicit(&w->done, i + 1, memory_order_relaxed);
	}
	return NULL;
}

static void
scrapes_stay_consistent_while_observations_race(void **state)
{
	struct writer w;
	pthread_t     t;
	unsigned long seen;
	int	      scrapes = 0;

	(void)state;
	atomic_init(&w.stop, 0);
	atomic_init(&w.done, 0);
	assert_int_equal(pthread_create(&t, NULL, write_observations, &w), 0);
	/* Scrape only once the writer runs: the race must be on. */
	while (atomic_load(&w.done) == 0)
		;
	for (; scrapes < 3000; scrapes++) {
		struct hist d, s;
		char	   *text = render();

		parse_hist(text, DISPATCH, &d);
		parse_hist(text, STORE, &s);
		free(text);
		assert_consistent(&d);
		assert_consistent(&s);
	}
	atomic_store(&w.stop, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	seen = atomic_load(&w.done);
	/* The writer recorded during the scrapes, not only before them. */
	assert_true(seen > (unsigned long)scrapes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(observations_land_in_cumulative_buckets_and_inf_is_count),
		T(scrapes_stay_consistent_while_observations_race),
		T(every_family_is_printed_once_with_its_samples_together),
#undef T
	};

	/* The store's migration lines are not under test. */
	log_set_level("error");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
