/*
 * Host fact parsers over /proc-style text, backoff bounds, UTF-8 clean-up
 * of command output and the result JSON, and the cloudflared probe over a
 * fake /proc tree and systemd stand-in with real /ready servers.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
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
#include <sodium.h>

#include "agent.h"
#include "client.h"
#include "config.h"
#include "probes.h"
#include "runner.h"
#include "testlib.h"
#include "util.h"
#include "watchdog.h"

/* text parses, to want percent of the memory used. */
static void
expect_meminfo(const char *text, double want)
{
	double pct = -1;

	assert_int_equal(probe_parse_meminfo(text, &pct), 0);
	assert_float_equal(pct, want, 0.001);
}

static void
meminfo_uses_memavailable(void **state)
{
	(void)state;
	expect_meminfo("MemTotal:        8000000 kB\n"
		       "MemFree:          100000 kB\n"
		       "MemAvailable:    6000000 kB\n"
		       "Buffers:          200000 kB\n",
	    25.0);
}

static void
meminfo_falls_back_without_memavailable(void **state)
{
	(void)state;
	expect_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\n"
		       "Cached: 300 kB\nSwapCached: 999 kB\n",
	    50.0);
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
					     "1 kB\n",
			     &pct),
	    -1);
	/* Available above total (racy reads) clamps to 0 %. */
	expect_meminfo("MemTotal: 5 kB\nMemAvailable: 9 kB\n", 0.0);
}

static void
uptime_and_loadavg(void **state)
{
	int64_t up = -1;
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
	struct backoff b;
	int64_t	       d;

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
	s = str_utf8_sanitize(
	    "h\xc3\xa9llo\n\tok \xe2\x82\xac \xf0\x9f\x98\x80", 19);
	assert_string_equal(s,
	    "h\xc3\xa9llo\n\tok \xe2\x82\xac \xf0\x9f\x98\x80");
	free(s);
	/* Bad lead, lone continuation, overlong, surrogate, NUL, cut end. */
	s = str_utf8_sanitize("a\xff"
			      "b\x80"
			      "c\xc0\xaf"
			      "d\xed\xa0\x80"
			      "e\0f"
			      "\xe2\x82",
	    16);
	assert_string_equal(s, "a?b?c??d???e?f??");
	free(s);
	s = str_utf8_sanitize("", 0);
	assert_string_equal(s, "");
	free(s);
}

static void
result_json_has_the_contract_fields(void **state)
{
	struct run_result r = { .status = "rejected",
		.exit_code = -1,
		.started = 1800000000,
		.finished = 1800000001 };
	json_t		 *o, *f;
	char		 *s;
	size_t		  len;

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
	assert_string_equal(json_string_value(json_object_get(o, "started_at")),
	    "2027-01-15T08:00:00Z");
	assert_string_equal(
	    json_string_value(json_object_get(o, "finished_at")),
	    "2027-01-15T08:00:01Z");
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
	struct agent *a;
	int64_t	      ms;
};

/* A watched thread that announces ms, as a worker does before blocking. */
static void *
wd_worker(void *arg)
{
	struct wd_fx *w = arg;

	watchdog_watch(&w->a->wd, AGENT_WD_POLL);
	watchdog_expect(w->ms);
	return NULL;
}

static void
watchdog_follows_what_each_thread_announced(void **state)
{
	struct agent	   a;
	struct wd_fx	   w = { &a, 5000 };
	enum agent_wd_slot late = AGENT_WD_SLOTS;
	pthread_t	   t;
	int64_t		   t0;

	(void)state;
	memset(&a, 0, sizeof(a));
	/* Nothing registered: alive; unwatched threads change nothing. */
	watchdog_expect(1000);
	assert_int_equal(watchdog_alive(&a.wd, INT64_MAX, &late), 1);
	t0 = mono_ms();
	assert_int_equal(pthread_create(&t, NULL, wd_worker, &w), 0);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&a.wd.deadline[AGENT_WD_HEARTBEAT]), 0);
	/* Within 5 s + the grace: alive; past it: late, and which one. */
	assert_int_equal(
	    watchdog_alive(&a.wd, t0 + 5000 + AGENT_WD_GRACE_MS - 1, &late), 1);
	assert_int_equal(watchdog_alive(&a.wd,
			     mono_ms() + 5000 + AGENT_WD_GRACE_MS + 1, &late),
	    0);
	assert_int_equal(late, AGENT_WD_POLL);
	/* "Forever" (a revoked agent idles until SIGHUP) does not overflow. */
	w.ms = INT64_MAX;
	assert_int_equal(pthread_create(&t, NULL, wd_worker, &w), 0);
	pthread_join(t, NULL);
	assert_true(atomic_load(&a.wd.deadline[AGENT_WD_POLL]) > mono_ms());
	assert_int_equal(watchdog_alive(&a.wd, INT64_MAX / 8, &late), 1);
}

/* ---- the cloudflared probe ------------------------------------------ */

static void
tcp_lines_give_listeners_only(void **state)
{
	static const struct {
		const char *line;
		unsigned    port, uid, inode;
	} listeners[] = {
		{ "   3: 0100007F:4F21 00000000:0000 0A 00000000:00000000 "
		  "00:00000000 00000000   998        0 41234 1 "
		  "0000000000000000 100 0 0 10 0\n",
		    20257, 998, 41234 },
		{ "   0: 00000000000000000000000001000000:4F21 "
		  "00000000000000000000000000000000:0000 0A 00000000:00000000 "
		  "00:00000000 00000000  1000        0 777 1 0000000000000000 "
		  "100 0 0 10 0\n",
		    20257, 1000, 777 },
	};
	static const char *const others[] = {
		"  sl  local_address rem_address   st tx_queue rx_queue tr "
		"tm->when retrnsmt   uid  timeout inode\n",
		/* Established (01), no inode, short or garbled lines. */
		"   4: 0100007F:4F21 0100007F:D2F0 01 00000000:00000000 "
		"00:00000000 00000000   998        0 41235 1\n",
		"   3: 0100007F:4F21 00000000:0000 0A 00000000:00000000 "
		"00:00000000 00000000   998        0 0 1\n",
		"   3: 0100007F:4F21 00000000:0000 0A 00000000:00000000\n",
		"   3: 0100007:4F21 00000000:0000 0A 00000000:00000000 "
		"00:00000000 00000000   998        0 41234 1\n",
		"",
	};
	struct tcp_listener l;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(listeners); i++) {
		memset(&l, 0, sizeof(l));
		assert_int_equal(probe_parse_tcp_line(listeners[i].line, &l),
		    1);
		assert_int_equal(l.port, listeners[i].port);
		assert_int_equal(l.uid, listeners[i].uid);
		assert_int_equal(l.inode, listeners[i].inode);
	}
	for (size_t i = 0; i < TL_NITEMS(others); i++)
		if (probe_parse_tcp_line(others[i], &l) != 0)
			fail_msg("a listener in \"%s\"", others[i]);
}

/* A /ready server: answers every request with status, counts requests. */
struct ready_srv {
	int	   fd;
	unsigned   port;
	int	   status;
	atomic_int hits;
	atomic_int stop;
	pthread_t  thread;
	void (*on_request)(void *); /* before answering */
	void *arg;
};

static void *
ready_main(void *arg)
{
	struct ready_srv *s = arg;
	char		  buf[4096], out[128];
	int		  c;

	while (!atomic_load(&s->stop)) {
		struct pollfd pf = { .fd = s->fd, .events = POLLIN };
		size_t	      have = 0;
		ssize_t	      n;

		if (poll(&pf, 1, 50) <= 0 ||
		    (c = accept(s->fd, NULL, NULL)) == -1)
			continue;
		while (have < sizeof(buf) - 1 &&
		    (n = read(c, buf + have, sizeof(buf) - 1 - have)) > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		atomic_fetch_add(&s->hits, 1);
		if (s->on_request != NULL)
			s->on_request(s->arg);
		snprintf(out, sizeof(out),
		    "HTTP/1.1 %d X\r\nContent-Length: 0"
		    "\r\nConnection: close\r\n\r\n",
		    s->status);
		/* A client that gave up already is not this test's concern. */
		n = write(c, out, strlen(out));
		(void)n;
		close(c);
	}
	return NULL;
}

static void
ready_start(struct ready_srv *s, int status)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t	   len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->status = status;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(
	    (s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, ready_main, s), 0);
}

static void
ready_stop(struct ready_srv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* systemd's answers about cloudflared.service; NULL load: no systemd. */
struct fake_unit {
	const char *load;
	const char *active;
	const char *main_pid;
};

static int
fake_unit_prop(void *arg, const char *prop, char *out, size_t n)
{
	const struct fake_unit *u = arg;
	const char	       *v = NULL;

	if (u->load == NULL)
		return -1;
	if (strcmp(prop, "LoadState") == 0)
		v = u->load;
	else if (strcmp(prop, "ActiveState") == 0)
		v = u->active;
	else if (strcmp(prop, "MainPID") == 0)
		v = u->main_pid;
	if (v == NULL)
		return -1;
	snprintf(out, n, "%s", v);
	return 0;
}

static char fake_proc[256];

#define put_file(rel, text) tl_write(fake_proc, rel, text, 0644)

/* /proc/net/tcp with one 127.0.0.1 listener per (port, uid, inode). */
static void
put_tcp(const char *file, const unsigned *ports, const unsigned *uids,
    const unsigned *inodes, size_t n)
{
	char   text[4096];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text),
	    "  sl  local_address "
	    "rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "%4zu: "
		    "0100007F:%04X 00000000:0000 0A 00000000:00000000 "
		    "00:00000000 00000000 %5u        0 %u 1 0000000000000000 "
		    "100 0 0 10 0\n",
		    i, ports[i], uids[i], inodes[i]);
	/* Another port's listener and a connection on ours: ignored. */
	snprintf(text + o, sizeof(text) - o,
	    "  90: 0100007F:0016 00000000:0000 "
	    "0A 00000000:00000000 00:00000000 00000000  1000        0 5 1 0 "
	    "100 0 0 10 0\n  91: 0100007F:%04X 0100007F:C000 01 "
	    "00000000:00000000 00:00000000 00000000  1000        0 6 1 0 100 "
	    "0 0 10 0\n",
	    n > 0 ? ports[0] : 1);
	put_file(file, text);
}

struct cf_fixture {
	struct probes	   *p;
	struct client	   *c;
	atomic_int	    stop;
	struct fake_unit    unit;
	struct agent_config cfg;
	char		    metric[2][32];
	struct ready_srv    srv[2]; /* stopped in the teardown */
	size_t		    nsrv;
};

static int
cf_setup(void **state)
{
	struct cf_fixture *f = tl_state_new(state, sizeof(*f));

	assert_int_equal(
	    tl_mkdtemp(fake_proc, sizeof(fake_proc), NULL, "agent_test_probes"),
	    0);
	/* cloudflared's main process runs as uid 998 (fsuid, 4th field). */
	put_file("4242/status",
	    "Name:\tcloudflared\nUmask:\t0022\n"
	    "State:\tS (sleeping)\nPid:\t4242\nUid:\t998\t998\t998\t998\n"
	    "Gid:\t998\t998\t998\t998\n");
	f->unit = (struct fake_unit) { "loaded", "active", "4242" };
	assert_non_null(f->p = probes_new());
	probes_set_cf_source(f->p, fake_unit_prop, &f->unit, fake_proc);
	assert_non_null(f->c = client_new(&f->stop));
	f->cfg.metrics[0] = f->metric[0];
	f->cfg.metrics[1] = f->metric[1];
	return 0;
}

static int
cf_teardown(void **state)
{
	struct cf_fixture *f = *state;

	unsetenv("http_proxy");
	for (size_t i = 0; i < f->nsrv; i++)
		ready_stop(&f->srv[i]);
	client_free(f->c);
	probes_free(f->p);
	free(f);
	return tl_rmtree(fake_proc);
}

/* Points the probe at the loopback port a (and b unless 0). */
static void
cf_metrics(struct cf_fixture *f, unsigned a, unsigned b)
{
	snprintf(f->metric[0], sizeof(f->metric[0]), "127.0.0.1:%u", a);
	f->cfg.nmetrics = 1;
	if (b != 0) {
		snprintf(f->metric[1], sizeof(f->metric[1]), "127.0.0.1:%u", b);
		f->cfg.nmetrics = 2;
	}
}

/* What the probe says of Cloudflare now. */
static const char *
cf_says(struct cf_fixture *f)
{
	return probe_cloudflare(f->p, f->c, &f->cfg);
}

/* Expects the probe to say want, having asked srv hits times in all. */
static void
expect_cf(struct cf_fixture *f, const char *want, struct ready_srv *srv,
    int hits)
{
	const char *got = cf_says(f);

	if (strcmp(got, want) != 0 || atomic_load(&srv->hits) != hits)
		fail_msg("cloudflare %s after %d requests, want %s after %d",
		    got, atomic_load(&srv->hits), want, hits);
}

/* A /ready server answering status, until the teardown. */
static struct ready_srv *
start(struct cf_fixture *f, int status)
{
	struct ready_srv *s;

	assert_true(f->nsrv < TL_NITEMS(f->srv));
	s = &f->srv[f->nsrv];
	ready_start(s, status);
	f->nsrv++;
	return s;
}

/*
 * A /ready server answering status, the probe's one metrics port, listed
 * in net/tcp as a listener of uid (socket inode 5001).
 */
static struct ready_srv *
serve(struct cf_fixture *f, int status, unsigned uid)
{
	struct ready_srv *s = start(f, status);
	unsigned	  inode = 5001;

	cf_metrics(f, s->port, 0);
	put_tcp("net/tcp", &s->port, &uid, &inode, 1);
	return s;
}

/*
 * The forgery of the security review: any local user answers /ready 200 on
 * a free metrics port. Its socket's uid is not cloudflared's: "unknown",
 * and it is not even asked. From cloudflared's user the same answer is
 * "up".
 */
static void
cloudflare_believes_only_cloudflareds_socket(void **state)
{
	struct cf_fixture *f = *state;
	struct ready_srv  *srv = serve(f, 200, 1000);
	unsigned	   uid = 998, inode = 5001;

	expect_cf(f, "unknown", srv, 0);
	put_tcp("net/tcp", &srv->port, &uid, &inode, 1);
	expect_cf(f, "up", srv, 1);
	/* A second listener on the port (tcp6) from another user: unknown. */
	uid = 1000;
	inode = 5002;
	put_tcp("net/tcp6", &srv->port, &uid, &inode, 1);
	expect_cf(f, "unknown", srv, 1);
}

/*
 * Without systemd (or without the unit) nobody vouches: unknown; a unit
 * not running is down, without asking; only its main process's listener
 * is asked.
 */
static void
cloudflare_needs_systemds_word(void **state)
{
	static const struct fake_unit units[] = {
		{ NULL, "active", "4242" }, /* no systemd */
		{ "not-found", "active", "4242" },
		{ "loaded", "inactive", "4242" },
		{ "loaded", "failed", "4242" },
		{ "loaded", "activating", "4242" },
		{ "loaded", "active", "0" },	/* no main process */
		{ "loaded", "active", "4243" }, /* gone from /proc */
		{ "loaded", "active", "4242" },
	};
	static const char *const want[] = { "unknown", "unknown", "down",
		"down", "unknown", "unknown", "unknown", "up" };
	struct cf_fixture	*f = *state;
	struct ready_srv	*srv = serve(f, 200, 998);

	for (size_t i = 0; i < TL_NITEMS(units); i++) {
		const char *got;

		f->unit = units[i];
		if (strcmp(got = cf_says(f), want[i]) != 0)
			fail_msg("unit %s %s, main pid %s: %s, want %s",
			    units[i].load ? units[i].load : "(no systemd)",
			    units[i].active, units[i].main_pid, got, want[i]);
	}
	/* Only the last, with cloudflared's main process, was asked. */
	assert_int_equal(atomic_load(&srv->hits), 1);
}

/* cloudflared itself saying 503 (no edge connection): down. */
static void
cloudflare_down_when_cloudflared_says_not_ready(void **state)
{
	struct cf_fixture *f = *state;

	expect_cf(f, "down", serve(f, 503, 998), 1);
}

/*
 * The squatter took the first metrics port, cloudflared the second: the
 * squatter is skipped, cloudflared's answer counts.
 */
static void
cloudflare_skips_a_squatted_port(void **state)
{
	struct cf_fixture *f = *state;
	struct ready_srv  *squat = start(f, 200), *cf = start(f, 200);
	unsigned	   ports[2], uids[2] = { 1000, 998 };
	unsigned	   inodes[2] = { 7001, 7002 };

	cf_metrics(f, squat->port, cf->port);
	ports[0] = squat->port;
	ports[1] = cf->port;
	put_tcp("net/tcp", ports, uids, inodes, 2);
	expect_cf(f, "up", squat, 0);
	assert_int_equal(atomic_load(&cf->hits), 1);
}

/* While the request is in flight the port changes hands: not believed. */
static void
swap_listener(void *arg)
{
	const struct ready_srv *s = arg;
	unsigned		uid = 998, inode = 9999;

	put_tcp("net/tcp", &s->port, &uid, &inode, 1);
}

static void
cloudflare_refuses_a_port_that_changed_hands(void **state)
{
	struct cf_fixture *f = *state;
	struct ready_srv  *srv = serve(f, 200, 998);

	srv->on_request = swap_listener;
	srv->arg = srv;
	expect_cf(f, "unknown", srv, 1);
}

/*
 * The answer must come from the port that was checked: through a proxy
 * (http_proxy in the agent's environment) another socket answers.
 */
static void
cloudflare_refuses_an_answer_from_another_socket(void **state)
{
	struct cf_fixture *f = *state;
	struct ready_srv  *proxy = start(f, 200);
	unsigned	   port = 20241, uid = 998, inode = 5001;
	char		   url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", proxy->port);
	setenv("http_proxy", url, 1);
	cf_metrics(f, port, 0);
	put_tcp("net/tcp", &port, &uid, &inode, 1);
	expect_cf(f, "unknown", proxy, 1);
}

/*
 * The real kernel tables: our own /ready server, "cloudflared's" main
 * process being this test (so the same uid): up.
 */
static void
cloudflare_up_over_the_real_proc(void **state)
{
	struct cf_fixture *f = *state;
	struct ready_srv  *srv = start(f, 200);
	char		   pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	f->unit.main_pid = pid;
	probes_set_cf_source(f->p, fake_unit_prop, &f->unit, NULL);
	cf_metrics(f, srv->port, 0);
	expect_cf(f, "up", srv, 1);
}

#define CF(fn) cmocka_unit_test_setup_teardown(fn, cf_setup, cf_teardown)

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
		cmocka_unit_test(tcp_lines_give_listeners_only),
		CF(cloudflare_believes_only_cloudflareds_socket),
		CF(cloudflare_needs_systemds_word),
		CF(cloudflare_down_when_cloudflared_says_not_ready),
		CF(cloudflare_skips_a_squatted_port),
		CF(cloudflare_refuses_a_port_that_changed_hands),
		CF(cloudflare_refuses_an_answer_from_another_socket),
		CF(cloudflare_up_over_the_real_proc),
	};

	if (sodium_init() < 0 || client_global_init() == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
