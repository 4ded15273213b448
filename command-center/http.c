/*
 * http: the libmicrohttpd boundary. No other file includes microhttpd.h.
 *
 * Per-request state (struct req) is allocated on the first callback and
 * freed in the completion callback. Routes come from a table: method,
 * pattern ("*" matches one segment), body limit, handler. The body is read
 * into a capped buffer; a body over the route's limit is answered 413
 * without being kept. Handlers answer through the resp_* functions, which
 * add the headers every answer carries.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
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

#include "cc.h"
#include "log.h"
#include "util.h"

#define FORM_FIELDS_MAX	16
#define FORM_VALUE_MAX	4096
#define DISCARD_MAX	(16u << 20)	/* past this, an oversized body closes the connection */
#define PATH_MAX_LEN	1024

struct form_field {
	char		*key;
	struct buf	 val;
};

struct req {
	struct MHD_Connection	*conn;
	const char		*method;
	const char		*url;
	const struct route	*route;
	unsigned		 early_status;	/* an error decided before the handler */
	size_t			 received;
	size_t			 nform;
	int			 form_bad;
	int			 form_done;
	int			 answered;
	int			 suspended;
	unsigned		 resumes;
	void			(*done)(struct req *, void *, int);
	void			*done_arg;
	enum MHD_Result		 queue_ret;
	/* Past here, not zeroed for each request (req_alloc()). */
	struct buf		 body;		/* kept with its room */
	char			 param[PATH_MAX_LEN + 1];
	char			 peer[INET6_ADDRSTRLEN];
	char			 who[256];	/* verified operator, or "" */
	struct form_field	 form[FORM_FIELDS_MAX];	/* nform used */
};
#define REQ_ZEROED	offsetof(struct req, body)
#define REQ_BODY_KEEP	(16u * 1024)	/* body room kept for the next */

/*
 * Each MHD thread keeps its last request's struct (and body room) for the
 * next: no 2 KiB calloc and no body malloc per request. The key's
 * destructor frees it when the thread ends.
 */
static pthread_key_t	spare_key;
static pthread_once_t	spare_once = PTHREAD_ONCE_INIT;

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
	r->peer[0] = '\0';	/* found when first asked for: req_peer() */
	r->who[0] = '\0';
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

struct server {
	struct MHD_Daemon	*d;
	const struct route	*routes;
	unsigned short		 port;
	char			 host[INET6_ADDRSTRLEN];
	int			 fd;
};

static const char *const common_headers[][2] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "no-referrer" },
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
			const char	*end = strchr(path, '/');
			size_t		 n = end ? (size_t)(end - path) : strlen(path);

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
	for (size_t i = 0; i < sizeof(common_headers) / sizeof(common_headers[0]);
	    i++)
		MHD_add_response_header(resp, common_headers[i][0],
		    common_headers[i][1]);
}

/* The headers of an answer of type ctype (NULL: none) and location. */
static void
add_headers(struct MHD_Response *resp, const char *ctype,
    const char *location)
{
	add_common_headers(resp);
	/* Only the stylesheet may be cached; every answer about state not. */
	MHD_add_response_header(resp, "Cache-Control", ctype != NULL &&
	    strncmp(ctype, "text/css", 8) == 0 ? "public, max-age=3600" :
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
	struct MHD_Response	*resp;
	size_t			 len = 0;
	char			*data = NULL;

	if (r->answered) {
		log_err("http_double_answer", "path=%s", r->url);
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
	resp = MHD_create_response_from_buffer(len, data ? data : (void *)(uintptr_t)"",
	    data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(data);
		r->queue_ret = MHD_NO;
		return;
	}
	add_headers(resp, ctype, location);
	r->queue_ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	log_debug("http", "method=%s path=%s status=%u bytes=%zu", r->method,
	    r->url, status, len);
}

/* Responses built once for constant bodies (resp_json_const). */
#define SHARED_MAX	16
static struct {
	const char		*body;
	struct MHD_Response	*resp;
} shared[SHARED_MAX];
static size_t		shared_n;
static pthread_mutex_t	shared_mu = PTHREAD_MUTEX_INITIALIZER;

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
		struct buf b;	/* the table is full: an answer of its own */

		buf_init(&b, strlen(body) + 1);
		buf_puts(&b, body);
		resp_json(r, 200, &b);
		return;
	}
	r->answered = 1;
	/* MHD counts the response's uses: one per queue, ours stays. */
	r->queue_ret = MHD_queue_response(r->conn, 200, resp);
	log_debug("http", "method=%s path=%s status=200 bytes=%zu", r->method,
	    r->url, strlen(body));
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
resp_static(struct req *r, const char *ctype, const void *data, size_t len)
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
	r->queue_ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
}

struct stream {
	stream_fn	 fn;
	void		*arg;
	void		(*free_arg)(void *);
	struct buf	 part;
	size_t		 off;
	int		 last;	/* fn said this part is the last */
};

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream	*st = cls;
	size_t		 n;
	int		 rc;

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
	struct MHD_Response	*resp = NULL;
	struct stream		*st;

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
resp_error(struct req *r, unsigned status, const char *code,
    const char *fmt, ...)
{
	struct buf	 b;
	char		 msg[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_init(&b, 4096);
	buf_puts(&b, "{\"error\":");
	buf_json_str(&b, code);
	buf_puts(&b, ",\"message\":");
	buf_json_str(&b, msg);
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
req_suspend(struct req *r)
{
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
	const union MHD_ConnectionInfo	*ci;
	struct pollfd			 pfd;

	ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD);
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
    void *arg)
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
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
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
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa = NULL;
	const void			*addr = NULL;

	if (r->peer[0] != '\0')
		return r->peer;
	ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			addr = &((const struct sockaddr_in *)(const void *)sa)->
			    sin_addr;
		else if (sa->sa_family == AF_INET6)
			addr = &((const struct sockaddr_in6 *)(const void *)sa)->
			    sin6_addr;
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

static int	form_decode(struct req *r);

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
	    "Content-Type"), "application/x-www-form-urlencoded", 33) == 0;
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
	struct req		*r = cls;
	struct form_field	*f = NULL;

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
	struct MHD_PostProcessor	*pp;
	int				 rc = 0;

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

/* First callback: route, limits. */
static struct req *
req_new(struct server *s, struct MHD_Connection *c, const char *url,
    const char *method)
{
	struct req	*r;
	const char	*cl;
	int		 known;

	if ((r = req_alloc()) == NULL)
		return NULL;
	r->conn = c;
	r->url = url;
	r->method = method;
	r->queue_ret = MHD_YES;
	if (strlen(url) > PATH_MAX_LEN) {
		r->early_status = 414;
		return r;
	}
	r->route = route_find(s->routes, method, url, r->param,
	    sizeof(r->param), &known);
	if (r->route == NULL) {
		r->early_status = known ? 405 : 404;
		return r;
	}
	r->body.max = r->route->body_max;
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (cl != NULL) {
		char			*end;
		unsigned long long	 n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0' ||
		    n > r->route->body_max)
			r->early_status = 413;
	}
	return r;
}

/*
 * Cross-site request forgery: a browser says where a request comes from
 * (Sec-Fetch-Site; Origin on every POST). A state-changing operator
 * request is refused when either says another site; API clients that send
 * neither (curl, scripts) are not browsers and cannot be forged this way.
 */
static int
cross_site(struct req *r)
{
	const char	*sfs = req_header(r, "Sec-Fetch-Site");
	const char	*origin = req_header(r, "Origin");
	const char	*host = req_header(r, "Host");
	const char	*p;

	if (sfs != NULL && strcmp(sfs, "same-origin") != 0 &&
	    strcmp(sfs, "none") != 0)
		return 1;
	if (origin == NULL)
		return 0;
	if ((p = strstr(origin, "://")) == NULL || host == NULL)
		return 1;
	return strcmp(p + 3, host) != 0;
}

static void
answer_early(struct req *r)
{
	switch (r->early_status) {
	case 404:
		resp_error(r, 404, "not_found", "no such path");
		break;
	case 405:
		resp_error(r, 405, "method_not_allowed", "method %s is not "
		    "allowed here", r->method);
		break;
	case 413:
		resp_error(r, 413, "body_too_large", "the body is larger than "
		    "%zu bytes", r->route ? r->route->body_max : 0);
		break;
	case 414:
		resp_error(r, 414, "uri_too_long", "the path is too long");
		break;
	default:
		resp_error(r, 400, "bad_request", "bad request");
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct server	*s = cls;
	struct req	*r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = req_new(s, c, url, method)) == NULL)
			return MHD_NO;
		*con_cls = r;
		/* A declared oversized body is refused before it is read. */
		if (r->early_status == 413) {
			answer_early(r);
			return r->queue_ret;
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		r->received += *upload_size;
		if (r->received > DISCARD_MAX)
			return MHD_NO;
		if (r->early_status == 0 &&
		    buf_add(&r->body, upload_data, *upload_size) == -1)
			r->early_status = 413;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->suspended) {	/* resumed: run the handler again */
		r->suspended = 0;
		r->resumes++;
	}
	if (r->early_status != 0) {
		answer_early(r);
		return r->queue_ret;
	}
	if ((r->route->flags & ROUTE_OPERATOR) && r->resumes == 0 &&
	    operator_gate(r) == -1)
		return r->queue_ret;
	if ((r->route->flags & ROUTE_OPERATOR) && strcmp(r->method, "POST") == 0 &&
	    r->resumes == 0 && cross_site(r)) {
		log_warn("csrf_refused", "path=%s peer=%s", r->url, req_peer(r));
		resp_error(r, 403, "cross_site_request", "this form was posted "
		    "from another site");
		return r->queue_ret;
	}
	r->route->handler(r);
	if (!r->answered && !r->suspended)
		resp_error(r, 500, "internal", "no answer");
	return r->queue_ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	if (r->done != NULL)
		r->done(r, r->done_arg, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	for (size_t i = 0; i < r->nform; i++) {
		free(r->form[i].key);
		buf_free(&r->form[i].val);
	}
	req_release(r);
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
listen_socket(const struct config *c, char host[INET6_ADDRSTRLEN],
    unsigned short *port, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 fd, one = 1, family, n;

	/* Socket activation: systemd hands over one listening TCP socket. */
	if ((n = sd_listen_fds(1)) > 0) {
		fd = SD_LISTEN_FDS_START;
		if (n != 1 || sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0) <= 0) {
			snprintf(err, errlen, "LISTEN_FDS: expected one listening "
			    "TCP socket from systemd, got %d", n);
			return -1;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
			snprintf(err, errlen, "LISTEN_FDS: %s", strerror(errno));
			return -1;
		}
		*port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
		    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, INET6_ADDRSTRLEN);
		log_info("socket_activated", "fd=%d", fd);
		return fd;
	}

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, c->listen_host,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(c->listen_port);
		sl = sizeof(struct sockaddr_in);
	} else {
		family = AF_INET6;
		inet_pton(AF_INET6, c->listen_host,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->listen_port);
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
		snprintf(err, errlen, "VAULTMESH_LISTEN: cannot listen on "
		    "%s:%u: %s", c->listen_host, c->listen_port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	snprintf(host, INET6_ADDRSTRLEN, "%.45s", c->listen_host);
	*port = ntohs(family == AF_INET ?
	    ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

struct server *
server_start(const struct config *c, const struct route *table, char *err,
    size_t errlen)
{
	struct server	*s;
	unsigned int	 threads;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->routes = table;
	if ((s->fd = listen_socket(c, s->host, &s->port, err, errlen)) == -1) {
		free(s);
		return NULL;
	}
	threads = c->threads > 0 ? (unsigned int)c->threads :
	    (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    MHD_USE_TURBO, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_LISTEN_SOCKET, s->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)90,
	    /*
	     * Bodies go to the request's own buffer, so the pool holds only
	     * headers and the read buffer; libmicrohttpd clears it between
	     * keep-alive requests and each parked poll keeps one.
	     */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		snprintf(err, errlen, "libmicrohttpd failed to start on %s:%u",
		    c->listen_host, s->port);
		close(s->fd);
		free(s);
		return NULL;
	}
	return s;
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
	MHD_stop_daemon(s->d);
	shared_free();
	close(s->fd);
	free(s);
}
