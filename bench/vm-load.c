/*
 * vm-load: load generator for `make bench` (bench only; not installed).
 * Every HTTP exchange goes through libcurl's multi interface driven by
 * epoll (curl_multi_socket_action), so one thread holds 10,000 transfers.
 * Times are CLOCK_MONOTONIC.
 *
 *   vm-load enroll URL N TOKENS [-c CONC] [-s SECRET] [-p PROFILE] [-S SEED]
 *	    [-o OFFSET]
 *	Enrolls N simulated nodes, numbers OFFSET to OFFSET+N-1 (deterministic
 *	pseudo-random v4 UUIDs from SEED and the number, hostnames node-<i>)
 *	and writes "node_id token" lines to TOKENS.
 *   vm-load heartbeat URL TOKENS [-n COUNT] [-c CONC] [-p PROFILE] [-u UPTIME]
 *	Sends one contract-shaped heartbeat per node (the first COUNT nodes)
 *	and prints how many were acknowledged (200). UPTIME marks them.
 *   vm-load dispatch URL TOKENS [-n POLLS] [-m COMMANDS] [-w WAIT] [-g GAP_MS]
 *	Holds one long poll per node (re-polled after every answer, once
 *	each command received is answered with a result, "active
 *	(running)", every 100th node's "failed", as an agent answers before
 *	it polls again) and, once they are all sent, queues COMMANDS
 *	agent-info commands one by one through the operator API to random
 *	waiting nodes. Prints the delay from each 201 answer to the agent's
 *	receipt of that command. With -J, one job instead: once every poll
 *	waits, one POST /jobs of service-status for all of them (node_ids). Prints the time to the 201 (every command signed and queued),
 *	to each receipt and to the last one, and the job's id. Split over
 *	processes: -o OFFSET (this one polls tokens OFFSET.. OFFSET+POLLS),
 *	-T TOTAL (the job targets the first TOTAL tokens), -j FILE (another
 *	process posts the job; this one makes FILE once its polls wait),
 *	-F FILE[,FILE...] (wait for them before posting), -D FILE (each receipt's
 *	CLOCK_MONOTONIC nanoseconds, one a line; post_ns= says the POST's).
 *   vm-load get [-g GAP_MS] URL COUNT
 *	COUNT sequential GETs of URL: median/min/max milliseconds and bytes.
 *
 * Results go to stdout as one "key=value ..." line per figure.
 */
#include <sys/epoll.h>
#include <sys/resource.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#define RESP_MAX (1u << 20)

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vm-load: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			fprintf(stderr, "vm-load: setrlimit: %s\n",
			    strerror(errno));
	}
}

/* ---- the event loop: curl multi + epoll ------------------------------ */

enum kind { K_ENROLL, K_HB, K_POLL, K_QUEUE, K_RESULT };

struct xfer {
	CURL		  *h;
	enum kind	   kind;
	size_t		   idx;
	struct curl_slist *hdrs;
	char		  *body;
	char		  *resp;
	size_t		   rlen, rcap;
	int64_t		   t_start;
	int64_t		   t_sent; /* request handed to the socket */
	int		   busy;
	/* Commands received, still to answer before the next poll. */
	char owe[4][37];
	int  nowe;
};

static struct {
	CURLM *m;
	int    ep;
	long   timeout_ms; /* from libcurl's timer callback; -1 none */
	int    running;
} L;

static size_t
write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t	     len = sz * n;

	if (x->rlen + len + 1 > x->rcap) {
		size_t ncap = x->rcap ? x->rcap * 2 : 1024;
		char  *np;

		while (ncap < x->rlen + len + 1)
			ncap *= 2;
		if (ncap > RESP_MAX)
			return 0;
		if ((np = realloc(x->resp, ncap)) == NULL)
			return 0;
		x->resp = np;
		x->rcap = ncap;
	}
	memcpy(x->resp + x->rlen, p, len);
	x->rlen += len;
	x->resp[x->rlen] = '\0';
	return len;
}

static int
prereq_cb(void *arg, char *ip, char *lip, int rport, int lport)
{
	struct xfer *x = arg;

	(void)ip;
	(void)lip;
	(void)rport;
	(void)lport;
	x->t_sent = now_ns();
	return CURL_PREREQFUNC_OK;
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *u, void *sockp)
{
	struct epoll_event ev;

	(void)e;
	(void)u;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(L.ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (sockp == NULL) {
		if (epoll_ctl(L.ep, EPOLL_CTL_ADD, s, &ev) == -1 &&
		    errno == EEXIST)
			epoll_ctl(L.ep, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(L.m, s, (void *)1);
	} else if (epoll_ctl(L.ep, EPOLL_CTL_MOD, s, &ev) == -1 &&
	    errno == ENOENT)
		epoll_ctl(L.ep, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int
timer_cb(CURLM *m, long ms, void *u)
{
	(void)m;
	(void)u;
	L.timeout_ms = ms;
	return 0;
}

static void
loop_init(size_t maxconn)
{
	if ((L.m = curl_multi_init()) == NULL)
		die("curl_multi_init failed");
	if ((L.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	L.timeout_ms = -1;
	curl_multi_setopt(L.m, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(L.m, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(L.m, CURLMOPT_MAXCONNECTS, (long)maxconn);
	curl_multi_setopt(L.m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
}

/* A reusable transfer: headers and body are set per request. */
static struct xfer *
xfer_new(enum kind k)
{
	struct xfer *x = xcalloc(1, sizeof(*x));

	if ((x->h = curl_easy_init()) == NULL)
		die("curl_easy_init failed");
	x->kind = k;
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PREREQFUNCTION, prereq_cb);
	curl_easy_setopt(x->h, CURLOPT_PREREQDATA, x);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, 120000L);
	return x;
}

static void
xfer_start(struct xfer *x, const char *url, const char *bearer, char *body)
{
	char auth[256];

	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	free(x->body);
	x->body = body;
	x->rlen = 0;
	if (x->resp != NULL)
		x->resp[0] = '\0';
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bearer);
		x->hdrs = curl_slist_append(x->hdrs, auth);
	}
	if (body != NULL) {
		x->hdrs = curl_slist_append(x->hdrs,
		    "Content-Type: application/json");
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(body));
	} else
		curl_easy_setopt(x->h, CURLOPT_HTTPGET, 1L);
	/* No "Expect: 100-continue" round trip for small bodies. */
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	x->t_start = now_ns();
	x->t_sent = 0;
	x->busy = 1;
	if (curl_multi_add_handle(L.m, x->h) != CURLM_OK)
		die("curl_multi_add_handle failed");
}

static void
xfer_free(struct xfer *x)
{
	if (x != NULL) {
		curl_easy_cleanup(x->h);
		curl_slist_free_all(x->hdrs);
		free(x->body);
		free(x->resp);
	}
	free(x);
}

/* Tells of a failed transfer of what for node id: the first five only. */
static void
xfer_failed(const struct xfer *x, int *shown, const char *what, const char *id,
    CURLcode rc, long status)
{
	if ((*shown)++ < 5)
		fprintf(stderr, "vm-load: %s %s: %s status %ld %.200s\n", what,
		    id, curl_easy_strerror(rc), status, x->resp ? x->resp : "");
}

/* Called for each finished transfer (already removed from the multi). */
typedef void (*done_fn)(struct xfer *x, CURLcode rc, long status);

/* Runs the loop for at most max_ms (or until something finishes). */
static void
loop_run(int max_ms, done_fn done)
{
	struct epoll_event ev[256];
	int		   n, wait = max_ms;
	CURLMsg		  *msg;
	int		   left;

	if (L.timeout_ms >= 0 && L.timeout_ms < wait)
		wait = (int)L.timeout_ms;
	n = epoll_wait(L.ep, ev, 256, wait);
	if (n == -1 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
		    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
		    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR :
							    0);

		curl_multi_socket_action(L.m, ev[i].data.fd, flags, &L.running);
	}
	if (n <= 0)
		curl_multi_socket_action(L.m, CURL_SOCKET_TIMEOUT, 0,
		    &L.running);
	while ((msg = curl_multi_info_read(L.m, &left)) != NULL) {
		struct xfer *x;
		long	     status = 0;
		CURLcode     rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &status);
		curl_multi_remove_handle(L.m, msg->easy_handle);
		x->busy = 0;
		done(x, rc, status);
	}
}

/*
 * n requests over transfers of kind k, conc (at most n) at a time: next(x)
 * starts the next request on x; done, called as each one finishes, counts
 * it in *finished and starts another while any are left. Returns the
 * seconds all n took; the transfers and the multi handle are freed.
 */
static double
loop_batch(size_t n, size_t conc, enum kind k, void (*next)(struct xfer *),
    done_fn done, const size_t *finished)
{
	struct xfer **xs;
	int64_t	      t0;
	double	      secs;

	if (conc < 1)
		conc = 1;
	if (conc > n)
		conc = n;
	loop_init(conc + 8);
	xs = xcalloc(conc, sizeof(*xs));
	t0 = now_ns();
	for (size_t i = 0; i < conc; i++) {
		xs[i] = xfer_new(k);
		next(xs[i]);
	}
	while (*finished < n)
		loop_run(1000, done);
	secs = (double)(now_ns() - t0) / 1e9;
	for (size_t i = 0; i < conc; i++)
		xfer_free(xs[i]);
	free(xs);
	curl_multi_cleanup(L.m);
	return secs;
}

/* ---- nodes and tokens ------------------------------------------------- */

struct node {
	char id[37];
	char token[96];
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A v4 UUID that depends only on seed and i: spread like random ones. */
static void
uuid_of(uint64_t seed, size_t i, char out[37])
{
	uint64_t      s = seed * 0x100000001b3ULL + i;
	uint64_t      a = splitmix64(&s), b = splitmix64(&s);
	unsigned char r[16];

	memcpy(r, &a, 8);
	memcpy(r + 8, &b, 8);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}

static struct node *
tokens_load(const char *path, size_t *n)
{
	FILE	    *f = fopen(path, "r");
	struct node *v = NULL;
	size_t	     cap = 0;
	char	     line[256];

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char id[64], tok[128];

		if (sscanf(line, "%63s %127s", id, tok) != 2 ||
		    strlen(id) != 36 || strlen(tok) >= 96)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL)
				die("out of memory");
		}
		memcpy(v[*n].id, id, 37);
		snprintf(v[*n].token, sizeof(v[*n].token), "%s", tok);
		(*n)++;
	}
	fclose(f);
	if (*n == 0)
		die("%s: no \"node_id token\" lines", path);
	return v;
}

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char   *p;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xcalloc((size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* The heartbeat of shared/spec/CONTRACT.md, shaped like heartbeat.lua's. */
static char *
heartbeat_body(const struct node *nd, size_t i, const char *profile,
    long long uptime)
{
	return xasprintf(
	    "{\"node_id\":\"%s\",\"hostname\":\"node-%zu\","
	    "\"os_profile\":\"%s\",\"agent_version\":\"1.0.0\","
	    "\"uptime_secs\":%lld,\"load1\":0.42,\"mem_used_pct\":41.5,"
	    "\"root_disk_used_pct\":12.5,\"cloudflare\":\"up\",\"services\":"
	    "[{\"name\":\"cloudflared.service\",\"state\":\"active\"},"
	    "{\"name\":\"vaultmesh-node-agent.service\",\"state\":\"active\"}],"
	    "\"sent_at\":\"2026-11-27T10:00:00Z\"}",
	    nd->id, i, profile, uptime);
}

/* ---- enroll ------------------------------------------------------------ */

static struct {
	const char  *url;
	const char  *secret;
	const char  *profile;
	struct node *nodes;
	size_t	     n, next, done, ok, fail, offset;
	uint64_t     seed;
	int	     shown;
} E;

static void
enroll_next(struct xfer *x)
{
	size_t i = E.next++;
	char   url[512];

	uuid_of(E.seed, E.offset + i, E.nodes[i].id);
	x->idx = i;
	snprintf(url, sizeof(url), "%s/api/agent/enroll", E.url);
	xfer_start(x, url, NULL,
	    xasprintf(
		"{\"node_id\":\"%s\",\"hostname\":"
		"\"node-%zu\",\"os_profile\":\"%s\",\"agent_version\":\"1.0.0\","
		"\"enroll_secret\":\"%s\"}",
		E.nodes[i].id, E.offset + i, E.profile, E.secret));
}

static void
enroll_done(struct xfer *x, CURLcode rc, long status)
{
	json_t *root = NULL;

	E.done++;
	if (rc == CURLE_OK && status == 200 &&
	    (root = json_loads(x->resp ? x->resp : "", 0, NULL)) != NULL &&
	    json_is_string(json_object_get(root, "node_token"))) {
		snprintf(E.nodes[x->idx].token, sizeof(E.nodes[x->idx].token),
		    "%s",
		    json_string_value(json_object_get(root, "node_token")));
		E.ok++;
	} else {
		E.fail++;
		xfer_failed(x, &E.shown, "enroll", E.nodes[x->idx].id, rc,
		    status);
	}
	json_decref(root);
	if (E.next < E.n)
		enroll_next(x);
}

/* The options enroll and heartbeat share, -c CONC and -p PROFILE: 1 if c
 * is one of them (its value stored), else 0. */
static int
conc_or_profile(int c, size_t *conc, const char **profile)
{
	if (c == 'c')
		*conc = strtoul(optarg, NULL, 10);
	else if (c == 'p')
		*profile = optarg;
	return c == 'c' || c == 'p';
}

static int
cmd_enroll(int argc, char **argv)
{
	size_t	    conc = 32;
	const char *out;
	FILE	   *f;
	double	    secs;
	int	    c;

	E.secret = getenv("VAULTMESH_ENROLL_SECRET");
	E.profile = "BenchNode";
	E.seed = 1;
	while ((c = getopt(argc, argv, "c:s:p:S:o:")) != -1)
		switch (c) {
		case 'o':
			E.offset = strtoul(optarg, NULL, 10);
			break;
		case 's':
			E.secret = optarg;
			break;
		case 'S':
			E.seed = strtoull(optarg, NULL, 10);
			break;
		default:
			if (!conc_or_profile(c, &conc, &E.profile))
				return 2;
		}
	if (argc - optind != 3 || E.secret == NULL)
		die("usage: vm-load enroll [-c CONC] [-s SECRET] [-p PROFILE] "
		    "[-S SEED] [-o OFFSET] URL N TOKENS (secret also from "
		    "VAULTMESH_ENROLL_SECRET)");
	E.url = argv[optind];
	E.n = strtoul(argv[optind + 1], NULL, 10);
	out = argv[optind + 2];
	E.nodes = xcalloc(E.n, sizeof(*E.nodes));
	secs =
	    loop_batch(E.n, conc, K_ENROLL, enroll_next, enroll_done, &E.done);
	if ((f = fopen(out, "w")) == NULL)
		die("%s: %s", out, strerror(errno));
	for (size_t i = 0; i < E.n; i++)
		if (E.nodes[i].token[0] != '\0')
			fprintf(f, "%s %s\n", E.nodes[i].id, E.nodes[i].token);
	if (fclose(f) != 0)
		die("%s: write failed", out);
	printf("enroll nodes=%zu ok=%zu failed=%zu secs=%.2f per_sec=%.0f\n",
	    E.n, E.ok, E.fail, secs, (double)E.ok / secs);
	return E.fail == 0 ? 0 : 1;
}

/* ---- heartbeat: one per node ------------------------------------------- */

static struct {
	const char  *url;
	const char  *profile;
	struct node *nodes;
	size_t	     n, next, done, ok, fail;
	long long    uptime;
	int	     shown;
} H;

static void
hb_next(struct xfer *x)
{
	size_t i = H.next++;
	char   url[512];

	x->idx = i;
	snprintf(url, sizeof(url), "%s/api/agent/heartbeat", H.url);
	xfer_start(x, url, H.nodes[i].token,
	    heartbeat_body(&H.nodes[i], i, H.profile, H.uptime));
}

static void
hb_done(struct xfer *x, CURLcode rc, long status)
{
	H.done++;
	if (rc == CURLE_OK && status == 200)
		H.ok++;
	else {
		H.fail++;
		xfer_failed(x, &H.shown, "heartbeat", H.nodes[x->idx].id, rc,
		    status);
	}
	if (H.next < H.n)
		hb_next(x);
}

static int
cmd_heartbeat(int argc, char **argv)
{
	size_t conc = 64, count = 0, total;
	double secs;
	int    c;

	H.profile = "BenchNode";
	H.uptime = 12345;
	while ((c = getopt(argc, argv, "n:c:p:u:")) != -1)
		if (c == 'n')
			count = strtoul(optarg, NULL, 10);
		else if (c == 'u')
			H.uptime = strtoll(optarg, NULL, 10);
		else if (!conc_or_profile(c, &conc, &H.profile))
			return 2;
	if (argc - optind != 2)
		die("usage: vm-load heartbeat [-n COUNT] [-c CONC] [-p PROFILE] "
		    "[-u UPTIME] URL TOKENS");
	H.url = argv[optind];
	H.nodes = tokens_load(argv[optind + 1], &total);
	H.n = count > 0 && count < total ? count : total;
	secs = loop_batch(H.n, conc, K_HB, hb_next, hb_done, &H.done);
	printf("heartbeat nodes=%zu ok=%zu failed=%zu secs=%.2f per_sec=%.0f\n",
	    H.n, H.ok, H.fail, secs, (double)H.ok / secs);
	return H.fail == 0 ? 0 : 1;
}

/* ---- dispatch: long polls and a queue driver --------------------------- */

struct sent_cmd {
	char	id[40];
	size_t	node;
	int64_t t_post; /* POST started */
	int64_t t_ans;	/* 201 received */
};

struct got_cmd {
	char	id[40];
	int64_t t_recv;
};

#define URLS_MAX 8

static struct {
	const char   *url;
	char	     *urls[URLS_MAX]; /* replicas: polls spread, round robin */
	size_t	      nurls;
	size_t	     *home;	 /* poll i's replica (moves on an error) */
	int64_t	      retry_ms;	 /* a failed poll again after [R/2, R] */
	long	      hold_secs; /* keep polling after the commands */
	struct node  *nodes;
	size_t	      n;
	struct xfer **poll;
	int	     *outstanding; /* a queued command not yet received */
	int64_t	     *retry_at;	   /* re-poll after an error, 0 = none */
	struct sent_cmd *sent;
	size_t		 nsent, want;
	struct got_cmd	*got;
	size_t		 ngot, gotcap;
	struct xfer	*q;
	int64_t		 next_queue_at;
	int		 gap_ms;
	long		 wait;
	size_t		 poll_ok, poll_err, poll_answers, queue_err;
	int		 shown;
	/* -J: one job for every waiting poll (-j: its other half). */
	int	     job;
	int	     job_recv_only; /* -j: another process posts the job */
	const char  *sync_file;	    /* -j makes it when parked; -J waits */
	const char  *dump_file;	    /* -D: each receipt's CLOCK_MONOTONIC ns */
	struct node *all;	    /* every token of the file */
	size_t	     nall, job_total; /* -T: the job targets the first T */
	char	     job_id[40];
	int64_t	     t_job_post, t_job_ans, t_job_last;
	size_t	     job_got, results_ok, results_err;
	int64_t	    *job_recv; /* each receipt's delay from the POST */
} D;

#define JOB_COMMAND "service-status"

static void
poll_start(size_t i)
{
	char url[512];

	snprintf(url, sizeof(url), "%s/api/agent/commands?node_id=%s&wait=%ld",
	    D.urls[D.home[i]], D.nodes[i].id, D.wait);
	D.poll[i]->idx = i;
	xfer_start(D.poll[i], url, D.nodes[i].token, NULL);
}

static void
base64_decode_to(const char *in, char *out, size_t outcap)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int	 bits = 0;
	size_t	 n = 0;

	for (; *in != '\0' && *in != '='; in++) {
		const char *p = strchr(tbl, *in);

		if (p == NULL || *in == '\0')
			continue;
		acc = (acc << 6) | (uint32_t)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 < outcap)
				out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
}

static void
got_add(const char *id, int64_t t)
{
	if (D.ngot == D.gotcap) {
		D.gotcap = D.gotcap ? D.gotcap * 2 : 1024;
		if ((D.got = realloc(D.got, D.gotcap * sizeof(*D.got))) == NULL)
			die("out of memory");
	}
	snprintf(D.got[D.ngot].id, sizeof(D.got[D.ngot].id), "%s", id);
	D.got[D.ngot].t_recv = t;
	D.ngot++;
}

/* The node's answer to a command (as an agent's), then its next poll. */
static void
result_post(struct xfer *x, const char *command_id)
{
	char url[512];
	int  fail = x->idx % 100 == 0;

	snprintf(url, sizeof(url), "%s/api/agent/command-result",
	    D.urls[D.home[x->idx]]);
	x->kind = K_RESULT;
	xfer_start(x, url, D.nodes[x->idx].token,
	    xasprintf("{\"node_id\":\"%s\",\"command_id\":\"%s\","
		      "\"status\":\"%s\",\"exit_code\":%d,\"output\":\"%s\","
		      "\"started_at\":\"2026-12-07T00:00:00Z\","
		      "\"finished_at\":\"2026-12-07T00:00:01Z\"}",
		D.nodes[x->idx].id, command_id, fail ? "error" : "ok",
		fail ? 3 : 0, fail ? "failed" : "active (running)"));
}

static void
result_done(struct xfer *x, CURLcode rc, long status)
{
	if (rc == CURLE_OK && status == 200)
		D.results_ok++;
	else {
		D.results_err++;
		xfer_failed(x, &D.shown, "result", D.nodes[x->idx].id, rc,
		    status);
	}
	/* Every command is answered, as an agent does, before it polls. */
	if (x->nowe > 0) {
		char id[37];

		snprintf(id, sizeof(id), "%s", x->owe[--x->nowe]);
		result_post(x, id);
		return;
	}
	x->kind = K_POLL;
	poll_start(x->idx);
}

static void
poll_done(struct xfer *x, CURLcode rc, long status)
{
	int64_t t = now_ns();
	json_t *root, *arr, *e;
	size_t	k;

	if (rc != CURLE_OK || status != 200) {
		D.poll_err++;
		xfer_failed(x, &D.shown, "poll", D.nodes[x->idx].id, rc,
		    status);
		/* Its replica may be gone: the next one, as a balancer would. */
		D.home[x->idx] = (D.home[x->idx] + 1) % D.nurls;
		/* As an agent's first backoff: uniform in [R/2, R]. */
		D.retry_at[x->idx] = t +
		    (D.retry_ms > 0 ? D.retry_ms / 2 +
				random() % (D.retry_ms - D.retry_ms / 2 + 1) :
				      0) *
			1000000LL;
		return;
	}
	D.poll_ok++;
	if ((root = json_loads(x->resp ? x->resp : "", 0, NULL)) != NULL &&
	    (arr = json_object_get(root, "commands")) != NULL &&
	    json_array_size(arr) > 0) {
		D.poll_answers++;
		json_array_foreach(arr, k, e)
		{
			const char *p =
			    json_string_value(json_object_get(e, "payload"));
			char	dec[4096];
			json_t *pl;

			if (p == NULL)
				continue;
			base64_decode_to(p, dec, sizeof(dec));
			if ((pl = json_loads(dec, 0, NULL)) != NULL) {
				const char *id = json_string_value(
				    json_object_get(pl, "command_id"));
				const char *cmd = json_string_value(
				    json_object_get(pl, "command"));

				if (id != NULL)
					got_add(id, t);
				if (D.job && id != NULL && cmd != NULL &&
				    strcmp(cmd, JOB_COMMAND) == 0 &&
				    D.t_job_post != 0 && D.job_got < D.n) {
					D.job_recv[D.job_got++] = t;
					D.t_job_last = t;
				}
				/*
				 * Answered before the next poll: the CC
				 * delivers nothing of a node past a command
				 * still out without a result.
				 */
				if (id != NULL && x->nowe < 4)
					snprintf(x->owe[x->nowe++],
					    sizeof(x->owe[0]), "%s", id);
				json_decref(pl);
			}
		}
		D.outstanding[x->idx] = 0;
	}
	json_decref(root);
	if (x->nowe > 0) {
		char id[37];

		snprintf(id, sizeof(id), "%s", x->owe[--x->nowe]);
		result_post(x, id);
	} else
		poll_start(x->idx);
}

static void
queue_done(struct xfer *x, CURLcode rc, long status)
{
	int64_t		 t = now_ns();
	json_t		*root;
	struct sent_cmd *s = &D.sent[D.nsent];

	if (D.job) {
		const char *id;

		D.t_job_ans = t;
		if (rc == CURLE_OK && status == 201 &&
		    (root = json_loads(x->resp ? x->resp : "", 0, NULL)) !=
			NULL) {
			id = json_string_value(json_object_get(root, "job_id"));
			snprintf(D.job_id, sizeof(D.job_id), "%s",
			    id != NULL ? id : "");
			json_decref(root);
		} else {
			D.queue_err++;
			xfer_failed(x, &D.shown, "job", "-", rc, status);
		}
		return;
	}

	if (rc == CURLE_OK && status == 201 &&
	    (root = json_loads(x->resp ? x->resp : "", 0, NULL)) != NULL) {
		const char *id =
		    json_string_value(json_object_get(root, "command_id"));

		if (id != NULL) {
			snprintf(s->id, sizeof(s->id), "%s", id);
			s->node = x->idx;
			s->t_post = x->t_start;
			s->t_ans = t;
			D.nsent++;
		} else
			D.queue_err++;
		json_decref(root);
	} else {
		D.queue_err++;
		D.outstanding[x->idx] = 0;
		xfer_failed(x, &D.shown, "queue", D.nodes[x->idx].id, rc,
		    status);
	}
	D.next_queue_at = t + (int64_t)D.gap_ms * 1000000;
}

static void
dispatch_done(struct xfer *x, CURLcode rc, long status)
{
	if (x->kind == K_RESULT)
		result_done(x, rc, status);
	else if (x->kind == K_POLL)
		poll_done(x, rc, status);
	else
		queue_done(x, rc, status);
}

/* A random node whose poll has been on the wire for 20 ms and has no command. */
static long
pick_waiting(int64_t now)
{
	for (int tries = 0; tries < 10000; tries++) {
		size_t i = (size_t)(random() % (long)D.n);

		if (!D.outstanding[i] && D.poll[i]->busy &&
		    D.poll[i]->t_sent != 0 &&
		    now - D.poll[i]->t_sent > 20 * 1000000LL)
			return (long)i;
	}
	return -1;
}

static int
cmp_sent(const void *a, const void *b)
{
	return strcmp(((const struct sent_cmd *)a)->id,
	    ((const struct sent_cmd *)b)->id);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const int64_t *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[k] / 1e6;
}

/* Closes every poll and the queue driver (the server sees them go). */
static void
polls_close(void)
{
	for (size_t i = 0; i < D.n; i++) {
		if (D.poll[i]->busy)
			curl_multi_remove_handle(L.m, D.poll[i]->h);
		xfer_free(D.poll[i]);
	}
	if (D.q->busy)
		curl_multi_remove_handle(L.m, D.q->h);
	xfer_free(D.q);
}

/*
 * -J: one job of JOB_COMMAND for every waiting poll; each receipt is
 * answered with a result before the node polls again.
 */
/* 1 when every file of the comma list exists. */
static int
files_exist(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int   all = copy != NULL;

	for (char *f = copy ? strtok_r(copy, ",", &save) : NULL; f != NULL;
	     f = strtok_r(NULL, ",", &save))
		all = all && access(f, F_OK) == 0;
	free(copy);
	return all;
}

static int
job_run(void)
{
	static const char head[] =
	    "{\"command\":\"" JOB_COMMAND "\",\"args\":{\"unit\":"
	    "\"nginx.service\"},\"reason\":\"bench: one job to every "
	    "waiting agent\",\"confirm\":true,\"target\":{\"node_ids\":[";
	size_t	ntarget = D.job_total ? D.job_total : D.n;
	char	url[512], *body, *p;
	int64_t deadline, *rel;
	FILE   *f;

	D.job_recv = xcalloc(D.n + 1, sizeof(int64_t));
	if (D.job_recv_only) {
		/* The other process posts: receipts count from now on. */
		if (D.sync_file != NULL &&
		    (f = fopen(D.sync_file, "w")) != NULL)
			fclose(f);
		D.t_job_post = 1;
	} else {
		if (ntarget > D.nall)
			die("-T %zu: only %zu tokens", ntarget, D.nall);
		deadline = now_ns() + 60 * 1000000000LL;
		while (D.sync_file != NULL && !files_exist(D.sync_file) &&
		    now_ns() < deadline)
			loop_run(20, dispatch_done);
		body = p = xcalloc(sizeof(head) + ntarget * 40 + 8, 1);
		p += sprintf(p, "%s", head);
		for (size_t i = 0; i < ntarget; i++)
			p += sprintf(p, "%s\"%s\"", i > 0 ? "," : "",
			    D.all[i].id);
		sprintf(p, "]}}");
		snprintf(url, sizeof(url), "%s/jobs", D.urls[0]);
		D.t_job_post = now_ns();
		xfer_start(D.q, url, NULL, body);
	}
	deadline = now_ns() + 120 * 1000000000LL;
	while (now_ns() < deadline &&
	    (D.q->busy || D.job_got < D.n ||
		D.results_ok + D.results_err < D.job_got))
		loop_run(5, dispatch_done);
	qsort(D.job_recv, D.job_got, sizeof(int64_t), cmp_i64);
	if (D.dump_file != NULL && (f = fopen(D.dump_file, "w")) != NULL) {
		for (size_t i = 0; i < D.job_got; i++)
			fprintf(f, "%lld\n", (long long)D.job_recv[i]);
		fclose(f);
	}
	rel = xcalloc(D.job_got + 1, sizeof(int64_t));
	for (size_t i = 0; i < D.job_got; i++)
		rel[i] = D.job_recv[i] - D.t_job_post;
	printf("job polls=%zu job_id=%s post_ns=%lld queued_ms=%.2f "
	       "received=%zu missing=%zu p50_ms=%.2f p99_ms=%.2f "
	       "all_ms=%.2f results_ok=%zu results_err=%zu "
	       "poll_errors=%zu\n",
	    D.n, D.job_id, (long long)D.t_job_post,
	    D.job_recv_only ? 0 : (double)(D.t_job_ans - D.t_job_post) / 1e6,
	    D.job_got, D.n - D.job_got, pct(rel, D.job_got, 50),
	    pct(rel, D.job_got, 99),
	    D.job_got ? (double)rel[D.job_got - 1] / 1e6 : 0, D.results_ok,
	    D.results_err, D.poll_err);
	free(rel);
	polls_close();
	return D.job_got == D.n ? 0 : 1;
}

static int
cmd_dispatch(int argc, char **argv)
{
	size_t	total, polls = 10000, ramp = 500, scanned = 0, matched = 0;
	size_t	offset = 0;
	int64_t t0, t_ready = 0, t_end = 0, deadline;
	int	c, seed = 1;
	char	url[512];

	D.want = 1000;
	D.wait = 60;
	D.gap_ms = 5;
	D.retry_ms = 500;
	while ((c = getopt(argc, argv, "n:m:w:g:r:S:R:H:Jj:F:D:o:T:")) != -1)
		switch (c) {
		case 'J':
			D.job = 1;
			break;
		case 'j':
			D.job = D.job_recv_only = 1;
			D.sync_file = optarg;
			break;
		case 'F':
			D.sync_file = optarg;
			break;
		case 'D':
			D.dump_file = optarg;
			break;
		case 'o':
			offset = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			D.job_total = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			D.retry_ms = strtol(optarg, NULL, 10);
			break;
		case 'H':
			D.hold_secs = strtol(optarg, NULL, 10);
			break;
		case 'n':
			polls = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			D.want = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			D.wait = strtol(optarg, NULL, 10);
			break;
		case 'g':
			D.gap_ms = atoi(optarg);
			break;
		case 'r':
			ramp = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			seed = atoi(optarg);
			break;
		default:
			return 2;
		}
	if (argc - optind != 2)
		die("usage: vm-load dispatch [-n POLLS] [-m COMMANDS] [-w WAIT] "
		    "[-g GAP_MS] [-r RAMP_PER_10MS] [-R RETRY_MS] [-H HOLD_S] "
		    "URL[,URL...] TOKENS");
	srandom((unsigned)seed);
	D.url = argv[optind];
	{
		char *list = strdup(D.url);

		if (list == NULL)
			die("out of memory");
		for (char *u = strtok(list, ",");
		     u != NULL && D.nurls < URLS_MAX; u = strtok(NULL, ","))
			D.urls[D.nurls++] = u;
	}
	if (D.nurls == 0)
		die("dispatch: no URL");
	D.all = D.nodes = tokens_load(argv[optind + 1], &total);
	D.nall = total;
	/* -o: this process holds the polls of the tokens from OFFSET on. */
	if (offset >= total)
		die("-o %zu: only %zu tokens", offset, total);
	D.nodes += offset;
	total -= offset;
	D.n = polls < total ? polls : total;
	D.poll = xcalloc(D.n, sizeof(*D.poll));
	D.outstanding = xcalloc(D.n, sizeof(int));
	D.retry_at = xcalloc(D.n, sizeof(int64_t));
	D.home = xcalloc(D.n, sizeof(size_t));
	for (size_t i = 0; i < D.n; i++)
		D.home[i] = i % D.nurls;
	D.sent = xcalloc(D.want, sizeof(*D.sent));
	loop_init(D.n + 64);
	D.q = xfer_new(K_QUEUE);
	for (size_t i = 0; i < D.n; i++)
		D.poll[i] = xfer_new(K_POLL);
	t0 = now_ns();
	/* Ramp up: RAMP new polls every 10 ms, so the listen queue keeps up. */
	for (size_t started = 0; started < D.n;) {
		for (size_t k = 0; k < ramp && started < D.n; k++)
			poll_start(started++);
		loop_run(10, dispatch_done);
	}
	/* Wait until every poll is on the wire, then let them park. */
	deadline = now_ns() + 60 * 1000000000LL;
	while (now_ns() < deadline) {
		size_t on = 0;

		for (size_t i = 0; i < D.n; i++)
			on += D.poll[i]->busy && D.poll[i]->t_sent != 0;
		if (on == D.n) {
			if (t_ready == 0)
				t_ready = now_ns();
			else if (now_ns() - t_ready > 1000000000LL)
				break;
		}
		loop_run(20, dispatch_done);
	}
	fprintf(stderr,
	    "vm-load: %zu polls on the wire after %.2f s (errors "
	    "%zu)\n",
	    D.n, (double)(now_ns() - t0) / 1e9, D.poll_err);
	if (D.job)
		return job_run();
	/* The driver: one command at a time, to a random waiting node. */
	deadline = now_ns() + 300 * 1000000000LL;
	while (now_ns() < deadline) {
		int64_t now = now_ns();

		if (D.nsent + D.queue_err >= D.want && !D.q->busy) {
			if (t_end == 0) {
				t_end = now;
				/* Every command is sent: look them up by id. */
				qsort(D.sent, D.nsent, sizeof(*D.sent),
				    cmp_sent);
			}
			/*
			 * Done when this run's commands have all arrived: a
			 * command of an earlier run, offered again when its
			 * delivery lease ran out (an answer lost), does not
			 * count.
			 */
			for (; scanned < D.ngot; scanned++) {
				struct sent_cmd key;

				snprintf(key.id, sizeof(key.id), "%s",
				    D.got[scanned].id);
				matched +=
				    bsearch(&key, D.sent, D.nsent,
					sizeof(*D.sent), cmp_sent) != NULL;
			}
			if (matched >= D.nsent || now - t_end > 3000000000LL)
				break;
		} else if (!D.q->busy && now >= D.next_queue_at) {
			long i = pick_waiting(now);

			if (i >= 0) {
				D.outstanding[i] = 1;
				D.q->idx = (size_t)i;
				/*
				 * Replicas: queued on another one than the
				 * one that holds the node's poll.
				 */
				snprintf(url, sizeof(url),
				    "%s/nodes/%s/commands",
				    D.urls[(D.home[i] + 1) % D.nurls],
				    D.nodes[i].id);
				xfer_start(D.q, url, NULL,
				    strdup("{\"command\":\"agent-info\"}"));
			}
		}
		for (size_t i = 0; i < D.n; i++)
			if (D.retry_at[i] != 0 && now >= D.retry_at[i] &&
			    !D.poll[i]->busy) {
				D.retry_at[i] = 0;
				poll_start(i);
			}
		loop_run(D.q->busy ? 50 : 1, dispatch_done);
	}
	/*
	 * The answers still on their way are let through (5 s at most): an
	 * agent that quits with a command unanswered leaves it to the lease,
	 * and the node's next commands (the next run's) would wait for it.
	 */
	for (int64_t until = now_ns() + 5000000000LL; now_ns() < until;) {
		int owing = 0;

		for (size_t i = 0; i < D.n && !owing; i++)
			owing = D.poll[i]->kind == K_RESULT &&
			    (D.poll[i]->busy || D.poll[i]->nowe > 0);
		if (!owing)
			break;
		loop_run(50, dispatch_done);
	}
	/* Join receipts to queue answers by command id. */
	{
		int64_t *d_ans = xcalloc(D.nsent, sizeof(int64_t));
		int64_t *d_post = xcalloc(D.nsent, sizeof(int64_t));
		size_t	 m = 0, early = 0;

		qsort(D.sent, D.nsent, sizeof(*D.sent), cmp_sent);
		for (size_t i = 0; i < D.ngot; i++) {
			struct sent_cmd key, *s;

			snprintf(key.id, sizeof(key.id), "%s", D.got[i].id);
			s = bsearch(&key, D.sent, D.nsent, sizeof(*D.sent),
			    cmp_sent);
			if (s == NULL)
				continue;
			d_ans[m] = D.got[i].t_recv - s->t_ans;
			if (d_ans[m] < 0) {
				/* The agent had it before the operator's 201. */
				early++;
				d_ans[m] = 0;
			}
			d_post[m] = D.got[i].t_recv - s->t_post;
			m++;
		}
		qsort(d_ans, m, sizeof(int64_t), cmp_i64);
		qsort(d_post, m, sizeof(int64_t), cmp_i64);
		printf(
		    "dispatch polls=%zu commands=%zu received=%zu missing=%zu "
		    "queue_errors=%zu poll_errors=%zu early=%zu p50_ms=%.2f "
		    "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f from_post_p50_ms=%.2f "
		    "from_post_p99_ms=%.2f\n",
		    D.n, D.nsent, m, D.nsent - m, D.queue_err, D.poll_err,
		    early, pct(d_ans, m, 50), pct(d_ans, m, 90),
		    pct(d_ans, m, 99), m ? (double)d_ans[m - 1] / 1e6 : 0,
		    pct(d_post, m, 50), pct(d_post, m, 99));
		free(d_ans);
		free(d_post);
	}
	/*
	 * Hold: the polls go on (a failed one moves to the next replica
	 * after RETRY_MS) while the caller kills a replica and watches the
	 * others take its polls.
	 */
	if (D.hold_secs > 0) {
		size_t err0 = D.poll_err;

		fprintf(stderr, "vm-load: holding %zu polls for %ld s\n", D.n,
		    D.hold_secs);
		deadline = now_ns() + D.hold_secs * 1000000000LL;
		while (now_ns() < deadline) {
			int64_t now = now_ns();

			for (size_t i = 0; i < D.n; i++)
				if (D.retry_at[i] != 0 &&
				    now >= D.retry_at[i] && !D.poll[i]->busy) {
					D.retry_at[i] = 0;
					poll_start(i);
				}
			loop_run(5, dispatch_done);
		}
		printf("hold polls=%zu poll_errors=%zu\n", D.n,
		    D.poll_err - err0);
	}
	/* Close every poll (the server sees the connections go). */
	polls_close();
	curl_multi_cleanup(L.m);
	return D.nsent > 0 && D.ngot >= D.nsent ? 0 : 1;
}

/* ---- get: sequential timing of one URL --------------------------------- */

static size_t
count_cb(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += sz * n;
	return sz * n;
}

static int
cmd_get(int argc, char **argv)
{
	CURLM	   *m;
	CURL	   *h;
	size_t	    count, bytes = 0, bad = 0;
	int64_t	   *t;
	long	    status = 0;
	int	    c, gap_ms = 0;
	const char *url;

	while ((c = getopt(argc, argv, "g:")) != -1)
		switch (c) {
		case 'g':
			gap_ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	if (argc - optind != 2 || gap_ms < 0 || gap_ms > 60000)
		die("usage: vm-load get [-g GAP_MS] URL COUNT");
	url = argv[optind];
	count = strtoul(argv[optind + 1], NULL, 10);
	if (count < 1)
		count = 1;
	t = xcalloc(count, sizeof(int64_t));
	if ((m = curl_multi_init()) == NULL || (h = curl_easy_init()) == NULL)
		die("curl init failed");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L);
	for (size_t i = 0; i < count; i++) {
		int64_t	 t0;
		int	 running = 1;
		CURLMsg *msg;
		int	 left;

		if (gap_ms > 0 && i > 0) { /* paced: spread over time */
			struct timespec gap = { gap_ms / 1000,
				(long)(gap_ms % 1000) * 1000000L };

			nanosleep(&gap, NULL);
		}
		t0 = now_ns();
		bytes = 0;
		curl_multi_add_handle(m, h);
		while (running) {
			curl_multi_perform(m, &running);
			if (running)
				curl_multi_poll(m, NULL, 0, 1000, NULL);
		}
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE &&
			    msg->data.result != CURLE_OK)
				die("get %s: %s", url,
				    curl_easy_strerror(msg->data.result));
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(m, h);
		t[i] = now_ns() - t0;
		if (status != 200) {
			/* Reported, not fatal: the bench shows it as a miss. */
			fprintf(stderr, "vm-load: get %s: status %ld\n", url,
			    status);
			bad++;
		}
	}
	qsort(t, count, sizeof(int64_t), cmp_i64);
	printf("get count=%zu status=%ld non200=%zu p50_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f min_ms=%.3f max_ms=%.3f bytes=%zu\n",
	    count, status, bad, pct(t, count, 50), pct(t, count, 90),
	    pct(t, count, 99), (double)t[0] / 1e6, (double)t[count - 1] / 1e6,
	    bytes);
	curl_easy_cleanup(h);
	curl_multi_cleanup(m);
	free(t);
	return bad == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		fprintf(stderr,
		    "usage: vm-load enroll|heartbeat|dispatch|get "
		    "...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_nofile();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	optind = 2;
	if (strcmp(argv[1], "enroll") == 0)
		rc = cmd_enroll(argc, argv);
	else if (strcmp(argv[1], "heartbeat") == 0)
		rc = cmd_heartbeat(argc, argv);
	else if (strcmp(argv[1], "dispatch") == 0)
		rc = cmd_dispatch(argc, argv);
	else if (strcmp(argv[1], "get") == 0)
		rc = cmd_get(argc, argv);
	else {
		fprintf(stderr, "vm-load: unknown command %s\n", argv[1]);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
