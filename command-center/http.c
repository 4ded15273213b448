/*
 * http: the libmicrohttpd boundary. No other file includes microhttpd.h.
 *
 * Per-request state (struct req) is allocated on the first callback and
 * freed in the completion callback. Routes come from a table: method,
 * pattern ("*" matches one segment), body limit, gate, handler. The gate
 * runs when the headers are in, before any body is read; the body is then
 * read into a capped buffer whose size was reserved from one budget shared
 * by every connection (a request past it is answered 503 with Retry-After,
 * unread). Handlers answer through the resp_* functions, which add the
 * headers every answer carries.
 *
 * Slow clients: every connection has a deadline while it owes us bytes.
 * Its request's headers must be complete HEADER_SECS after it connects
 * (KEEPALIVE_SECS after its previous answer), and its body must keep a
 * minimum rate. A sweeper cuts the connections past their deadline; when
 * the connection limit is near, the connection that has waited longest
 * for its headers is cut to make room, so trickling clients can never
 * hold every slot against a complete request.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define FORM_FIELDS_MAX 16
#define FORM_VALUE_MAX 4096
#define DISCARD_MAX \
	(16u << 20) /* past this, an oversized body closes the connection */
#define PATH_MAX_LEN 1024
#define HEADER_SECS 10	   /* a new connection's first request headers */
#define KEEPALIVE_SECS 90  /* an open connection's next request headers */
#define BODY_SECS 10	   /* a body's first bytes, and its slack */
#define BODY_MIN_RATE 1024 /* bytes a second a body keeps, on average */
#define EVICT_SLACK 16	   /* connections past the limit while cuts settle */
#define SWEEP_MS 250
#define BODY_BUDGET_DEFAULT (64u << 20)
/*
 * A refused request whose declared body is at most this is answered after
 * its body was read and dropped (nothing kept): closing with unread bytes
 * would reset the connection, and the client would see a network error
 * instead of its 401 or 503. A larger body is refused at once.
 */
#define DRAIN_MAX (64u * 1024)
/* Routes without a gate (enrollment) take at most this share of bodies. */
#define UNGATED_SHARE 8

struct form_field {
	char	  *key;
	struct buf val;
};

struct req {
	struct MHD_Connection *conn;
	const char	      *method;
	const char	      *url;
	const struct route    *route;
	unsigned early_status; /* an error decided before the handler */
	size_t	 received;
	size_t	 nform;
	int	 form_bad;
	int	 form_done;
	int	 answered;
	int	 suspended;
	int	 parked_once; /* counted in parked_live */
	unsigned resumes;
	void (*done)(struct req *, void *, int);
	void		    *done_arg;
	enum MHD_Result	     queue_ret;
	size_t		     reserved; /* of the body budget */
	int		     ungated;  /* reserved from the strangers' share */
	int		     defer;    /* answers wait for the body's end */
	struct MHD_Response *deferred; /* the answer, once it is read */
	unsigned	     deferred_status;
	error_page_fn	     error_page;    /* errors for browsers, or NULL */
	int		     body_expected; /* declared, or chunked */
	struct conn	    *cs;	    /* the connection's state */
	int		     has_auth;
	unsigned char	     auth[32];
	/* Past here, not zeroed for each request (req_alloc()). */
	struct buf	  body; /* kept with its room */
	char		  param[PATH_MAX_LEN + 1];
	char		  peer[INET6_ADDRSTRLEN];
	char		  who[256];		 /* verified operator, or "" */
	int		  role;			 /* what the gate granted */
	struct form_field form[FORM_FIELDS_MAX]; /* nform used */
};
#define REQ_ZEROED offsetof(struct req, body)
#define REQ_BODY_KEEP (16u * 1024) /* body room kept for the next */

/*
 * Each MHD thread keeps its last request's struct (and body room) for the
 * next: no 2 KiB calloc and no body malloc per request. The key's
 * destructor frees it when the thread ends.
 */
static pthread_key_t  spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void
spare_free(void *p)
{
	struct req *r = p;

	buf_free(&r->body);
	free(r);
}

static void
spare_init(void)
{
	if (pthread_key_create(&spare_key, spare_free) != 0)
		abort();
}

static struct req *
req_alloc(void)
{
	struct req *r;

	pthread_once(&spare_once, spare_init);
	if ((r = pthread_getspecific(spare_key)) != NULL)
		pthread_setspecific(spare_key, NULL);
	else if ((r = malloc(sizeof(*r))) != NULL)
		memset(&r->body, 0, sizeof(r->body));
	if (r == NULL)
		return NULL;
	memset(r, 0, REQ_ZEROED);
	buf_reset(&r->body);
	r->body.max = 0;
	r->param[0] = '\0';
	r->peer[0] = '\0'; /* found when first asked for: req_peer() */
	r->who[0] = '\0';
	r->role = 0;
	return r;
}

static void
req_release(struct req *r)
{
	if (r->body.cap > REQ_BODY_KEEP)
		buf_free(&r->body);
	if (pthread_getspecific(spare_key) != NULL ||
	    pthread_setspecific(spare_key, r) != 0)
		spare_free(r);
}

/* Where a connection is, for its deadline. */
enum conn_phase {
	C_HEADERS, /* waiting for a request's headers: cut when late */
	C_BODY,	   /* reading a body: cut below the minimum rate */
	C_BUSY,	   /* in a handler, parked, or answering: ours to finish */
};

struct conn {
	int		fd;
	enum conn_phase phase;
	int64_t		since_ms;    /* when it entered the phase */
	int64_t		deadline_ms; /* C_HEADERS, C_BODY: cut after */
	int		cut;	     /* shut down already */
	struct req     *req;	     /* its request now, or NULL */
	struct conn    *prev, *next; /* in the server's wait list */
};

struct server {
	struct MHD_Daemon  *d;
	const struct route *routes;
	unsigned	    serve; /* ROUTE_* flags, 0: all */
	unsigned short	    port;
	char		    host[INET6_ADDRSTRLEN];
	int		    fd;
	long		    limit;   /* connections before eviction */
	long		    threads; /* 0: one per core */
	char		    name[16];
	/*
	 * Connections that owe bytes (C_HEADERS and C_BODY), in the order
	 * they entered that phase: the head has waited longest.
	 */
	pthread_mutex_t cmu;
	struct conn    *head, *tail;
	long		nconn;
	pthread_t	sweeper;
	pthread_cond_t	sweep_cv;
	int		sweeper_started;
	int		stopping;
};

/* One budget of body bytes held across every listener. */
static _Atomic size_t	body_held, ungated_held;
static size_t		body_budget = BODY_BUDGET_DEFAULT;
static _Atomic uint64_t slow_cut, evicted;
static _Atomic size_t	parked_live; /* parked once, not finished yet */

void
http_set_body_budget(size_t bytes)
{
	body_budget = bytes;
}

size_t
http_body_held(void)
{
	return atomic_load(&body_held);
}

uint64_t
http_slow_cut(void)
{
	return atomic_load(&slow_cut);
}

uint64_t
http_evicted(void)
{
	return atomic_load(&evicted);
}

/* Reserves n of what counter may hold up to cap: 0, or -1 when full. */
static int
reserve(_Atomic size_t *counter, size_t cap, size_t n)
{
	size_t held = atomic_load(counter);

	do {
		if (n > cap || held > cap - n)
			return -1;
	} while (!atomic_compare_exchange_weak(counter, &held, held + n));
	return 0;
}

/*
 * Reserves n body bytes: 0, or -1 when the budget has no room. A route
 * without a gate (anyone may post to it) takes from a share of the budget,
 * so strangers cannot crowd out the bodies of token holders.
 */
static int
body_reserve(size_t n, int ungated)
{
	if (ungated &&
	    reserve(&ungated_held, body_budget / UNGATED_SHARE, n) == -1)
		return -1;
	if (reserve(&body_held, body_budget, n) == -1) {
		if (ungated)
			atomic_fetch_sub(&ungated_held, n);
		return -1;
	}
	return 0;
}

static void
body_release(size_t n, int ungated)
{
	atomic_fetch_sub(&body_held, n);
	if (ungated)
		atomic_fetch_sub(&ungated_held, n);
}

/* ---- connections and their deadlines (s->cmu held) ---------------- */

static void
wait_unlink(struct server *s, struct conn *c)
{
	if (c->phase == C_BUSY)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Moves c to phase ph from now, with the deadline that phase has. */
static void
conn_enter(struct server *s, struct conn *c, enum conn_phase ph,
    int64_t deadline_ms)
{
	wait_unlink(s, c);
	c->phase = ph;
	c->since_ms = mono_ms();
	c->deadline_ms = deadline_ms;
	if (ph == C_BUSY)
		return;
	c->prev = s->tail;
	c->next = NULL;
	if (s->tail != NULL)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
}

/*
 * Cuts c: libmicrohttpd sees the end of the stream on its next read and
 * closes the connection on its own thread. Its CLOSED notice takes cmu
 * before the descriptor is closed, so c->fd is still c's here.
 */
static void
conn_cut(struct conn *c)
{
	if (c->cut)
		return;
	c->cut = 1;
	(void)shutdown(c->fd, SHUT_RDWR);
}

static void req_finish(struct req *r, int ok);

static void
on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct server		       *s = cls;
	struct conn		       *c = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c == NULL)
			return;
		/*
		 * libmicrohttpd ends a few connections (out of memory, epoll
		 * failing) without its completion notice: the request is
		 * finished here, so its body reservation is not lost.
		 */
		if (c->req != NULL) {
			c->req->cs = NULL;
			req_finish(c->req, 0);
			c->req = NULL;
		}
		pthread_mutex_lock(&s->cmu);
		wait_unlink(s, c);
		s->nconn--;
		pthread_mutex_unlock(&s->cmu);
		free(c);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return; /* untracked: only the idle timeout applies */
	c->fd = ci->connect_fd;
	c->phase = C_BUSY;
	pthread_mutex_lock(&s->cmu);
	s->nconn++;
	/*
	 * Near the limit: the connection that has waited longest for its
	 * headers makes room (never one that is in a request).
	 */
	if (s->nconn >= s->limit) {
		struct conn *old;

		for (old = s->head; old != NULL; old = old->next)
			if (old->phase == C_HEADERS && !old->cut)
				break;
		if (old != NULL) {
			conn_cut(old);
			atomic_fetch_add(&evicted, 1);
		}
	}
	conn_enter(s, c, C_HEADERS, mono_ms() + HEADER_SECS * 1000);
	pthread_mutex_unlock(&s->cmu);
	*socket_context = c;
}

/* The sweeper: cuts the connections whose deadline has passed. */
static void *
sweeper_main(void *arg)
{
	struct server  *s = arg;
	struct timespec ts;
	uint64_t	n;

	pthread_mutex_lock(&s->cmu);
	while (!s->stopping) {
		int64_t now = mono_ms();

		n = 0;
		for (struct conn *c = s->head; c != NULL; c = c->next)
			if (!c->cut && c->deadline_ms <= now) {
				conn_cut(c);
				n++;
			}
		if (n > 0) {
			/* Logged without the lock every request takes. */
			atomic_fetch_add(&slow_cut, n);
			pthread_mutex_unlock(&s->cmu);
			log_info("slow_clients_cut", "listener=%s count=%llu",
			    s->name, (unsigned long long)n);
			pthread_mutex_lock(&s->cmu);
		}
		time_after(&ts, CLOCK_REALTIME, SWEEP_MS);
		while (!s->stopping &&
		    pthread_cond_timedwait(&s->sweep_cv, &s->cmu, &ts) !=
			ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->cmu);
	return NULL;
}

static struct conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static const char *const common_headers[][2] = {
	{ "X-Content-Type-Options", "nosniff" },
	/*
	 * same-origin, not no-referrer: under no-referrer a browser sends
	 * "Origin: null" with a plain form post, which the CSRF check cannot
	 * tell from a sandboxed page's. Other sites still get no Referer.
	 */
	{ "Referrer-Policy", "same-origin" },
};

static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

/* 1 if path matches pattern; the first "*" segment is copied to param. */
static int
path_match(const char *pattern, const char *path, char *param, size_t plen)
{
	while (*pattern != '\0' || *path != '\0') {
		if (*pattern == '*') {
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);

			if (n == 0)
				return 0;
			if (param[0] == '\0') {
				if (n >= plen)
					return 0;
				memcpy(param, path, n);
				param[n] = '\0';
			}
			pattern++;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return 1;
}

/* Finds the route; *path_known tells whether another method would match. */
static const struct route *
route_find(const struct route *table, const char *method, const char *path,
    char *param, size_t plen, int *path_known)
{
	*path_known = 0;
	for (const struct route *rt = table; rt->method != NULL; rt++) {
		param[0] = '\0';
		if (!path_match(rt->pattern, path, param, plen))
			continue;
		*path_known = 1;
		if (strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
			strcmp(rt->method, "GET") == 0))
			return rt;
	}
	param[0] = '\0';
	return NULL;
}

static void
add_common_headers(struct MHD_Response *resp)
{
	for (size_t i = 0;
	     i < sizeof(common_headers) / sizeof(common_headers[0]); i++)
		MHD_add_response_header(resp, common_headers[i][0],
		    common_headers[i][1]);
}

/* The headers of an answer of type ctype (NULL: none) and location. */
static void
add_headers(struct MHD_Response *resp, const char *ctype, const char *location)
{
	add_common_headers(resp);
	/* Only the stylesheet may be cached; every answer about state not. */
	MHD_add_response_header(resp, "Cache-Control",
	    ctype != NULL && strncmp(ctype, "text/css", 8) == 0 ?
		"public, max-age=3600" :
		"no-store");
	if (ctype != NULL)
		MHD_add_response_header(resp, "Content-Type", ctype);
	if (ctype != NULL && strncmp(ctype, "text/html", 9) == 0)
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
	if (location != NULL)
		MHD_add_response_header(resp, "Location", location);
}

/* Queues body (consumed) with status and content type. */
static void
respond(struct req *r, unsigned status, const char *ctype, struct buf *body,
    const char *location)
{
	struct MHD_Response *resp;
	size_t		     len = 0;
	char		    *data = NULL;

	if (r->answered) {
		char q[PATH_MAX_LEN + 8];

		log_err("http_double_answer", "path=%s",
		    log_quote(q, sizeof(q), r->url));
		buf_free(body);
		return;
	}
	r->answered = 1;
	if (body != NULL && (data = buf_take(body, &len)) == NULL) {
		/* The renderer ran out of room or memory. */
		static const char oom[] = "{\"error\":\"internal\",\"message\":"
					  "\"answer too large\"}";

		status = 500;
		ctype = "application/json";
		data = strdup(oom);
		len = data ? strlen(data) : 0;
	}
	resp = MHD_create_response_from_buffer(len,
	    data ? data : (void *)(uintptr_t) "",
	    data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(data);
		r->queue_ret = MHD_NO;
		return;
	}
	add_headers(resp, ctype, location);
	/* Every 503 and 429 is a "not now": say when to come back. */
	if (status == 503 || status == 429)
		MHD_add_response_header(resp, "Retry-After", "5");
	if (r->defer) { /* sent once the (small) body is drained */
		r->deferred = resp;
		r->deferred_status = status;
		r->queue_ret = MHD_YES;
	} else {
		r->queue_ret = MHD_queue_response(r->conn, status, resp);
		MHD_destroy_response(resp);
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		char q[PATH_MAX_LEN + 8];

		log_debug("http", "method=%s path=%s status=%u bytes=%zu",
		    r->method, log_quote(q, sizeof(q), r->url), status, len);
	}
}

/* Responses built once for constant bodies (resp_json_const). */
#define SHARED_MAX 16
static struct {
	const char	    *body;
	struct MHD_Response *resp;
} shared[SHARED_MAX];
static size_t	       shared_n;
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;

static struct MHD_Response *
shared_response(const char *body)
{
	struct MHD_Response *resp = NULL;

	pthread_mutex_lock(&shared_mu);
	for (size_t i = 0; i < shared_n && resp == NULL; i++)
		if (shared[i].body == body)
			resp = shared[i].resp;
	if (resp == NULL && shared_n < SHARED_MAX &&
	    (resp = MHD_create_response_from_buffer(strlen(body),
		 (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT)) != NULL) {
		add_headers(resp, "application/json", NULL);
		shared[shared_n].body = body;
		shared[shared_n++].resp = resp;
	}
	pthread_mutex_unlock(&shared_mu);
	return resp;
}

void
resp_json_const(struct req *r, const char *body)
{
	struct MHD_Response *resp;

	if (r->answered || (resp = shared_response(body)) == NULL) {
		struct buf b; /* the table is full: an answer of its own */

		buf_init(&b, strlen(body) + 1);
		buf_puts(&b, body);
		resp_json(r, 200, &b);
		return;
	}
	r->answered = 1;
	/* MHD counts the response's uses: one per queue, ours stays. */
	r->queue_ret = MHD_queue_response(r->conn, 200, resp);
	if (log_enabled(LOG_LVL_DEBUG)) {
		char q[PATH_MAX_LEN + 8];

		log_debug("http", "method=%s path=%s status=200 bytes=%zu",
		    r->method, log_quote(q, sizeof(q), r->url), strlen(body));
	}
}

/* Drops the shared responses (at exit, after the daemon stopped). */
static void
shared_free(void)
{
	pthread_mutex_lock(&shared_mu);
	for (size_t i = 0; i < shared_n; i++)
		MHD_destroy_response(shared[i].resp);
	shared_n = 0;
	pthread_mutex_unlock(&shared_mu);
}

void
resp_json(struct req *r, unsigned status, struct buf *body)
{
	respond(r, status, "application/json", body, NULL);
}

void
resp_html(struct req *r, unsigned status, struct buf *body)
{
	respond(r, status, "text/html; charset=utf-8", body, NULL);
}

void
resp_static(struct req *r, const char *ctype, const void *data, size_t len,
    const char *encoding)
{
	struct MHD_Response *resp;

	if (r->answered)
		return;
	r->answered = 1;
	/* The bytes live as long as the program: no copy. */
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		r->queue_ret = MHD_NO;
		return;
	}
	add_common_headers(resp);
	MHD_add_response_header(resp, "Cache-Control",
	    "public, max-age=31536000, immutable");
	MHD_add_response_header(resp, "Content-Type", ctype);
	/* Each encoding of the same path: caches keep them apart. */
	MHD_add_response_header(resp, "Vary", "Accept-Encoding");
	if (encoding != NULL)
		MHD_add_response_header(resp, "Content-Encoding", encoding);
	r->queue_ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
}

struct stream {
	stream_fn fn;
	void	 *arg;
	void (*free_arg)(void *);
	struct buf part;
	size_t	   off;
	int	   last; /* fn said this part is the last */
};

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	size_t	       n;
	int	       rc;

	(void)pos;
	while (st->off == st->part.len) {
		if (st->last)
			return MHD_CONTENT_READER_END_OF_STREAM;
		buf_reset(&st->part);
		st->off = 0;
		if ((rc = st->fn(st->arg, &st->part)) == -1 ||
		    buf_failed(&st->part))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		st->last = rc == 0;
	}
	n = st->part.len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->part.p + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *st = cls;

	if (st->free_arg != NULL)
		st->free_arg(st->arg);
	buf_free(&st->part);
	free(st);
}

void
resp_stream(struct req *r, unsigned status, const char *ctype, stream_fn fn,
    void *arg, void (*free_arg)(void *))
{
	struct MHD_Response *resp = NULL;
	struct stream	    *st;

	if (r->answered) {
		if (free_arg != NULL)
			free_arg(arg);
		return;
	}
	r->answered = 1;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		if (free_arg != NULL)
			free_arg(arg);
		r->queue_ret = MHD_NO;
		return;
	}
	st->fn = fn;
	st->arg = arg;
	st->free_arg = free_arg;
	buf_init(&st->part, STREAM_PART_MAX);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
	    stream_read, st, stream_free);
	if (resp == NULL) {
		stream_free(st);
		r->queue_ret = MHD_NO;
		return;
	}
	add_common_headers(resp);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Content-Type", ctype);
	r->queue_ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
}

void
resp_metrics(struct req *r, struct buf *body)
{
	respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, NULL);
}

void
resp_css(struct req *r, struct buf *body)
{
	respond(r, 200, "text/css; charset=utf-8", body, NULL);
}

void
req_set_error_page(struct req *r, error_page_fn fn)
{
	r->error_page = fn;
}

/* A browser navigating (not a script, not htmx) reads errors as pages. */
static int
wants_page(struct req *r)
{
	const char *acc = req_header(r, "Accept");

	return acc != NULL && strstr(acc, "text/html") != NULL &&
	    !req_wants_json(r) && req_header(r, "HX-Request") == NULL;
}

void
resp_error(struct req *r, unsigned status, const char *code, const char *fmt,
    ...)
{
	char	msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp_error_field(r, status, code, NULL, NULL, "%s", msg);
}

void
resp_error_field(struct req *r, unsigned status, const char *code,
    const char *key, const char *value, const char *fmt, ...)
{
	struct buf b;
	char	   msg[512];
	va_list	   ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->error_page != NULL && !r->answered && wants_page(r)) {
		buf_init(&b, 64 * 1024);
		r->error_page(r, &b, status, code, msg);
		respond(r, status, "text/html; charset=utf-8", &b, NULL);
		return;
	}
	buf_init(&b, 4096);
	buf_putc(&b, '{');
	buf_json_field(&b, "error", code);
	if (key != NULL)
		buf_json_field(&b, key, value);
	buf_json_field(&b, "message", msg);
	buf_putc(&b, '}');
	respond(r, status, "application/json", &b, NULL);
}

void
resp_redirect(struct req *r, const char *location)
{
	struct buf b;

	buf_init(&b, 16);
	respond(r, 303, "text/plain", &b, location);
}

void
resp_hx_redirect(struct req *r, const char *location)
{
	struct MHD_Response *resp;

	if (r->answered)
		return;
	r->answered = 1;
	if ((resp = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "",
		 MHD_RESPMEM_PERSISTENT)) == NULL) {
		r->queue_ret = MHD_NO;
		return;
	}
	add_headers(resp, NULL, NULL);
	MHD_add_response_header(resp, "HX-Redirect", location);
	r->queue_ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
}

void
req_suspend(struct req *r)
{
	if (!r->parked_once) {
		r->parked_once = 1;
		atomic_fetch_add(&parked_live, 1);
	}
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
}

void
req_resume(struct req *r)
{
	MHD_resume_connection(r->conn);
}

int
req_peer_gone(struct req *r)
{
	const union MHD_ConnectionInfo *ci;
	struct pollfd			pfd;

	ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return 0;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1)
		return 0;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

unsigned
req_resumes(const struct req *r)
{
	return r->resumes;
}

void
req_on_done(struct req *r, void (*done)(struct req *, void *, int ok),
    void	       *arg)
{
	r->done = done;
	r->done_arg = arg;
}

void *
req_done_arg(const struct req *r)
{
	return r->done_arg;
}

const char *
req_method(const struct req *r)
{
	return r->method;
}

const char *
req_path(const struct req *r)
{
	return r->url;
}

const char *
req_param(const struct req *r)
{
	return r->param[0] ? r->param : NULL;
}

const char *
req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
req_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

struct bytes
req_body(const struct req *r)
{
	struct bytes b = { r->body.p ? r->body.p : "", r->body.len };

	return b;
}

/* The client's address, looked up once and only for requests that log it. */
const char *
req_peer(struct req *r)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr	       *sa = NULL;
	const void		       *addr = NULL;

	if (r->peer[0] != '\0')
		return r->peer;
	ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			addr = &((const struct sockaddr_in *)(const void *)sa)
				    ->sin_addr;
		else if (sa->sa_family == AF_INET6)
			addr = &((const struct sockaddr_in6 *)(const void *)sa)
				    ->sin6_addr;
	}
	if (addr == NULL ||
	    inet_ntop(sa->sa_family, addr, r->peer, sizeof(r->peer)) == NULL)
		snprintf(r->peer, sizeof(r->peer), "?");
	return r->peer;
}

const char *
req_cookie(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

int
req_wants_html(struct req *r)
{
	const char *acc = req_header(r, "Accept");

	return req_header(r, "HX-Request") != NULL ||
	    (acc != NULL && strstr(acc, "text/html") != NULL);
}

int
req_role(const struct req *r)
{
	return r->role;
}

void
req_set_role(struct req *r, int role)
{
	r->role = role;
}

const char *
req_who(const struct req *r)
{
	return r->who[0] ? r->who : NULL;
}

void
req_set_who(struct req *r, const char *who)
{
	snprintf(r->who, sizeof(r->who), "%s", who);
}

void
req_set_auth(struct req *r, const unsigned char *p, size_t n)
{
	if (n > sizeof(r->auth))
		n = sizeof(r->auth);
	memcpy(r->auth, p, n);
	r->has_auth = 1;
}

const unsigned char *
req_auth(const struct req *r)
{
	return r->has_auth ? r->auth : NULL;
}

static int form_decode(struct req *r);

static int
ctype_is(struct req *r, const char *want)
{
	const char *ct = req_header(r, "Content-Type");

	return ct != NULL && strncasecmp(ct, want, strlen(want)) == 0;
}

int
req_is_form(const struct req *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
		   "Content-Type") != NULL &&
	    strncasecmp(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
			    "Content-Type"),
		"application/x-www-form-urlencoded", 33) == 0;
}

int
req_wants_json(struct req *r)
{
	const char *acc = req_header(r, "Accept");

	if (ctype_is(r, "application/json"))
		return 1;
	return acc != NULL && strstr(acc, "application/json") != NULL &&
	    strstr(acc, "text/html") == NULL;
}

const char *
req_form(struct req *r, const char *name)
{
	if (!r->form_done) {
		r->form_done = 1;
		if (req_is_form(r) && form_decode(r) == -1)
			r->form_bad = 1;
	}
	if (r->form_bad)
		return NULL;
	for (size_t i = 0; i < r->nform; i++)
		if (strcmp(r->form[i].key, name) == 0)
			return r->form[i].val.p ? r->form[i].val.p : "";
	return NULL;
}

static enum MHD_Result
form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	struct req	  *r = cls;
	struct form_field *f = NULL;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	(void)off;
	if (key == NULL || strlen(key) > 64)
		goto bad;
	for (size_t i = 0; i < r->nform; i++)
		if (strcmp(r->form[i].key, key) == 0)
			f = &r->form[i];
	if (f == NULL) {
		if (r->nform == FORM_FIELDS_MAX)
			goto bad;
		f = &r->form[r->nform];
		if ((f->key = strdup(key)) == NULL)
			goto bad;
		buf_init(&f->val, FORM_VALUE_MAX);
		r->nform++;
	}
	if (buf_add(&f->val, data, size) == -1)
		goto bad;
	return MHD_YES;
bad:
	r->form_bad = 1;
	return MHD_NO;
}

/* Decodes a urlencoded body with libmicrohttpd's post processor. */
static int
form_decode(struct req *r)
{
	struct MHD_PostProcessor *pp;
	int			  rc = 0;

	if ((pp = MHD_create_post_processor(r->conn, 4096, form_iter, r)) ==
	    NULL)
		return -1;
	if (r->body.len > 0 &&
	    MHD_post_process(pp, r->body.p, r->body.len) != MHD_YES)
		rc = -1;
	if (MHD_destroy_post_processor(pp) != MHD_YES)
		rc = -1;
	if (r->form_bad)
		rc = -1;
	/* Fields without a value still count as present and empty. */
	for (size_t i = 0; i < r->nform; i++)
		if (r->form[i].val.p == NULL &&
		    buf_add(&r->form[i].val, "", 0) == -1)
			rc = -1;
	return rc;
}

/* Which routes a listener serves: all, or those with one of its flags. */
static const struct route *
route_find_served(const struct server *s, const char *method, const char *path,
    char *param, size_t plen, int *path_known)
{
	const struct route *rt;

	rt = route_find(s->routes, method, path, param, plen, path_known);
	if (rt != NULL && s->serve != 0 && (rt->flags & s->serve) == 0) {
		*path_known = 0;
		param[0] = '\0';
		rt = NULL;
	}
	return rt;
}

/*
 * The body a request says it brings: 0 with *len, -1 when its length is
 * unknown (chunked: libmicrohttpd reads by Transfer-Encoding whatever
 * Content-Length says), -2 for a bad Content-Length, -3 for both headers
 * (refused, as RFC 9112 allows: two lengths are how requests are smuggled).
 */
static int
declared_body(struct MHD_Connection *c, unsigned long long *len)
{
	const char *cl, *te;
	char	   *end;

	*len = 0;
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Transfer-Encoding");
	if (cl != NULL && te != NULL)
		return -3;
	if (te != NULL)
		return -1;
	if (cl != NULL) {
		errno = 0;
		*len = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			return -2;
	}
	return 0;
}

/* 1 if the client waits for "100 Continue" before it sends its body. */
static int
expects_continue(struct MHD_Connection *c)
{
	const char *e =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");

	return e != NULL && strcasecmp(e, "100-continue") == 0;
}

/*
 * First callback, when the headers are in: route, limits, the route's
 * gate, then the body's room from the shared budget. Anything refused
 * here is answered before a byte of the body is read.
 */
static struct req *
req_new(struct server *s, struct MHD_Connection *c, const char *url,
    const char *method)
{
	struct req	  *r;
	unsigned long long n;
	int		   known, decl;

	if ((r = req_alloc()) == NULL)
		return NULL;
	r->conn = c;
	r->url = url;
	r->method = method;
	r->queue_ret = MHD_YES;
	if ((r->cs = conn_of(c)) != NULL)
		r->cs->req = r;
	decl = declared_body(c, &n);
	r->body_expected = decl != 0 || n > 0;
	/*
	 * A refusal of a small body is answered once the body is read and
	 * dropped; of a large or unknown one, at once (the client may see
	 * the connection reset rather than the answer, but holds nothing).
	 */
	r->defer = r->body_expected && decl == 0 && n <= DRAIN_MAX &&
	    !expects_continue(c);
	if (decl == -3) {
		r->early_status = 400;
		return r;
	}
	if (strlen(url) > PATH_MAX_LEN) {
		r->early_status = 414;
		return r;
	}
	r->route = route_find_served(s, method, url, r->param, sizeof(r->param),
	    &known);
	if (r->route == NULL) {
		r->early_status = known ? 405 : 404;
		return r;
	}
	r->body.max = r->route->body_max;
	if (decl == -2 || n > r->route->body_max) {
		r->early_status = 413;
		return r;
	}
	if (r->route->gate != NULL && r->route->gate(r) == -1)
		return r; /* answered (or deferred) */
	/* A chunked body may be as large as the route allows. */
	if (decl == -1)
		n = r->route->body_max;
	if (n > 0) {
		r->ungated = r->route->gate == NULL;
		if (body_reserve((size_t)n, r->ungated) == -1) {
			r->early_status = 503;
			return r;
		}
		r->reserved = (size_t)n;
	}
	return r;
}

static void
answer_early(struct req *r)
{
	switch (r->early_status) {
	case 404:
		resp_error(r, 404, "not_found", "no such path");
		break;
	case 405:
		resp_error(r, 405, "method_not_allowed",
		    "method %s is not allowed here", r->method);
		break;
	case 413:
		resp_error(r, 413, "body_too_large",
		    "the body is larger than %zu bytes",
		    r->route ? r->route->body_max : 0);
		break;
	case 414:
		resp_error(r, 414, "uri_too_long", "the path is too long");
		break;
	case 503:
		resp_error(r, 503, "busy",
		    "too many request bodies are being "
		    "received at once; try again");
		break;
	case 400:
		resp_error(r, 400, "bad_request",
		    "a request may not carry both "
		    "Content-Length and Transfer-Encoding");
		break;
	default:
		resp_error(r, 400, "bad_request", "bad request");
	}
}

/* Moves the connection's deadline as its request goes on. */
static void
conn_phase(struct server *s, struct req *r, enum conn_phase ph,
    int64_t deadline_ms)
{
	/* Only this connection's thread changes its phase: no lock to look. */
	if (r->cs == NULL || (ph == C_BUSY && r->cs->phase == C_BUSY))
		return;
	pthread_mutex_lock(&s->cmu);
	conn_enter(s, r->cs, ph, deadline_ms);
	pthread_mutex_unlock(&s->cmu);
}

/* A body's bytes arrived: its deadline moves by what they are worth. */
static void
conn_body_progress(struct server *s, struct req *r, size_t n)
{
	if (r->cs == NULL)
		return;
	pthread_mutex_lock(&s->cmu);
	if (r->cs->phase == C_BODY)
		r->cs->deadline_ms += (int64_t)(n * 1000 / BODY_MIN_RATE);
	pthread_mutex_unlock(&s->cmu);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct req    *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = req_new(s, c, url, method)) == NULL)
			return MHD_NO;
		*con_cls = r;
		if (!r->answered && r->early_status != 0 &&
		    r->early_status != 404 && r->early_status != 405)
			answer_early(r);
		r->defer = 0;
		/* Refused before the body is read: nothing of it is kept. */
		if (r->answered && r->deferred == NULL)
			return r->queue_ret;
		/* A body owes bytes at the minimum rate, whatever its fate. */
		conn_phase(s, r, r->body_expected ? C_BODY : C_BUSY,
		    mono_ms() + BODY_SECS * 1000);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		r->received += *upload_size;
		if (r->received > DISCARD_MAX)
			return MHD_NO;
		conn_body_progress(s, r, *upload_size);
		/* Kept only for a request that will be served. */
		if (!r->answered && r->early_status == 0 &&
		    (r->received > r->reserved ||
			buf_add(&r->body, upload_data, *upload_size) == -1))
			r->early_status = 413;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->deferred != NULL) { /* the body is drained: the refusal */
		conn_phase(s, r, C_BUSY, 0);
		r->queue_ret = MHD_queue_response(r->conn, r->deferred_status,
		    r->deferred);
		MHD_destroy_response(r->deferred);
		r->deferred = NULL;
		return r->queue_ret;
	}
	if (r->answered)
		return MHD_YES;
	if (r->suspended) { /* resumed: run the handler again */
		r->suspended = 0;
		r->resumes++;
	} else
		conn_phase(s, r, C_BUSY, 0);
	if (r->early_status != 0) {
		answer_early(r);
		return r->queue_ret;
	}
	r->route->handler(r);
	if (!r->answered && !r->suspended)
		resp_error(r, 500, "internal", "no answer");
	/* Answered: its body was read; its room goes back now, not later. */
	if (r->answered && r->reserved > 0) {
		body_release(r->reserved, r->ungated);
		r->reserved = 0;
	}
	return r->queue_ret;
}

/* The request is over (ok: its whole answer was handed to the socket). */
static void
req_finish(struct req *r, int ok)
{
	if (r->done != NULL)
		r->done(r, r->done_arg, ok);
	for (size_t i = 0; i < r->nform; i++) {
		free(r->form[i].key);
		buf_free(&r->form[i].val);
	}
	if (r->reserved > 0)
		body_release(r->reserved, r->ungated);
	if (r->deferred != NULL)
		MHD_destroy_response(r->deferred);
	if (r->cs != NULL)
		r->cs->req = NULL;
	if (r->parked_once)
		atomic_fetch_sub(&parked_live, 1);
	req_release(r);
}

void
http_drain_parked(int64_t max_ms)
{
	int64_t		end = mono_ms() + max_ms;
	struct timespec ts = { 0, 10 * 1000000L };

	while (atomic_load(&parked_live) > 0 && mono_ms() < end)
		nanosleep(&ts, NULL);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct req    *r = *con_cls;

	(void)c;
	if (r == NULL)
		return;
	/* Kept open: its next request's headers are due in KEEPALIVE_SECS. */
	conn_phase(s, r, C_HEADERS, mono_ms() + KEEPALIVE_SECS * 1000);
	req_finish(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], q[560];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	str_rtrim(msg);
	log_warn("httpd", "msg=%s", log_quote(q, sizeof(q), msg));
}

/* Binds the listening socket ourselves so port 0 can be reported. */
static int
listen_socket(const struct listen_opts *lo, char host[INET6_ADDRSTRLEN],
    unsigned short *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t		sl;
	int			fd, one = 1, family, n;

	/* Socket activation: systemd hands over one listening TCP socket. */
	if (lo->activation && (n = sd_listen_fds(1)) > 0) {
		fd = SD_LISTEN_FDS_START;
		if (n != 1 ||
		    sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0) <= 0) {
			snprintf(err, errlen,
			    "LISTEN_FDS: expected one listening "
			    "TCP socket from systemd, got %d",
			    n);
			return -1;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
			snprintf(err, errlen, "LISTEN_FDS: %s",
			    strerror(errno));
			return -1;
		}
		*port = ntohs(ss.ss_family == AF_INET ?
			((struct sockaddr_in *)&ss)->sin_port :
			((struct sockaddr_in6 *)&ss)->sin6_port);
		inet_ntop(ss.ss_family,
		    ss.ss_family == AF_INET ?
			(void *)&((struct sockaddr_in *)&ss)->sin_addr :
			(void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, INET6_ADDRSTRLEN);
		log_info("socket_activated", "fd=%d", fd);
		return fd;
	}

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, lo->host,
		&((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(lo->port);
		sl = sizeof(struct sockaddr_in);
	} else {
		family = AF_INET6;
		inet_pton(AF_INET6, lo->host,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(lo->port);
		sl = sizeof(struct sockaddr_in6);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 4096) == -1) {
		snprintf(err, errlen, "%s: cannot listen on %s:%u: %s",
		    strcmp(lo->name, "agent") == 0 ? "VAULTMESH_AGENT_LISTEN" :
						     "VAULTMESH_LISTEN",
		    lo->host, lo->port, strerror(errno));
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	snprintf(host, INET6_ADDRSTRLEN, "%.45s", lo->host);
	*port =
	    ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
				      ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void
server_free(struct server *s)
{
	if (s->sweeper_started) {
		pthread_mutex_lock(&s->cmu);
		s->stopping = 1;
		pthread_cond_signal(&s->sweep_cv);
		pthread_mutex_unlock(&s->cmu);
		pthread_join(s->sweeper, NULL);
	}
	if (s->fd != -1)
		close(s->fd);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->sweep_cv);
	free(s);
}

struct server *
server_listen(const struct listen_opts *lo, const struct route *table,
    char *err, size_t errlen)
{
	struct server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->routes = table;
	s->serve = lo->serve;
	s->limit = lo->max_connections;
	s->threads = lo->threads;
	s->fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", lo->name);
	pthread_mutex_init(&s->cmu, NULL);
	pthread_cond_init(&s->sweep_cv, NULL);
	if ((s->fd = listen_socket(lo, s->host, &s->port, err, errlen)) == -1) {
		server_free(s);
		return NULL;
	}
	return s;
}

struct server *
server_start(const struct listen_opts *lo, const struct route *table, char *err,
    size_t errlen)
{
	struct server *s;

	if ((s = server_listen(lo, table, err, errlen)) != NULL &&
	    server_run(s, err, errlen) == -1) {
		server_stop(s);
		s = NULL;
	}
	return s;
}

int
server_run(struct server *s, char *err, size_t errlen)
{
	unsigned int threads;

	if (pthread_create(&s->sweeper, NULL, sweeper_main, s) != 0) {
		snprintf(err, errlen, "cannot start the connection sweeper");
		return -1;
	}
	s->sweeper_started = 1;
	threads = s->threads > 0 ? (unsigned int)s->threads :
				   (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
		MHD_USE_TURBO,
	    0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    s, MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_THREAD_POOL_SIZE,
	    threads,
	    /* The slack lets new connections in while evictions settle. */
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(s->limit + EVICT_SLACK),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)KEEPALIVE_SECS,
	    /*
	     * Bodies go to the request's own buffer, so the pool holds only
	     * headers and the read buffer; libmicrohttpd clears it between
	     * keep-alive requests and each parked poll keeps one.
	     */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start on %s:%u",
		    s->host, s->port);
		return -1;
	}
	/* libmicrohttpd closes the listening socket when it stops. */
	s->fd = -1;
	return 0;
}

const char *
server_host(const struct server *s)
{
	return s->host;
}

unsigned short
server_port(const struct server *s)
{
	return s->port;
}

void
server_stop(struct server *s)
{
	if (s == NULL)
		return;
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	server_free(s);
}

void
http_shutdown(void)
{
	shared_free();
}
