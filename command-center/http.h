/*
 * http: the libmicrohttpd boundary (http.c). It knows routes, gates and
 * answers, nothing of operators, agents or the store.
 */
#ifndef VM_CC_HTTP_H
#define VM_CC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct req;
struct server;

typedef void (*handler_fn)(struct req *r);

/*
 * A gate runs when a request's headers have arrived, before any of its
 * body is read: 0 lets it in, -1 when it has answered (401, 403, ...), so
 * a refused stranger never has a body held for it.
 */
typedef int (*gate_fn)(struct req *r);

/* Route flags: which listener serves the route. */
#define ROUTE_AGENT 0x1	   /* node-token routes: on the agent listener too */
#define ROUTE_OPERATOR 0x2 /* operator routes: the main listener only */
#define ROUTE_HEALTH 0x4   /* /healthz: on every listener */

struct route {
	const char *method;
	const char *pattern; /* "*" matches one path segment */
	size_t	    body_max;
	handler_fn  handler;
	unsigned    flags;
	gate_fn	    gate; /* NULL: anyone */
};

/* One listening socket and what it serves. */
struct listen_opts {
	const char    *host;	   /* numeric address */
	unsigned short port;	   /* 0: any free port */
	int	       activation; /* take the socket systemd passes, if any */
	unsigned       serve;	   /* ROUTE_* flags served; 0: every route */
	long	       max_connections;
	long	       threads; /* 0: one per core */
	const char    *name;	/* for logs: "main", "agent" */
};

/*
 * Starts a listener with the route table: NULL with err on failure.
 * Every listener shares one budget of body bytes held at once (set by
 * http_set_body_budget()); past it a request is answered 503 with
 * Retry-After before its body is read.
 */
struct server *server_start(const struct listen_opts *lo,
    const struct route *table, char *err, size_t errlen);
/*
 * The same in two steps: server_listen() binds (so a bad address stops
 * the program before it creates anything), server_run() serves.
 */
struct server *server_listen(const struct listen_opts *lo,
    const struct route *table, char *err, size_t errlen);
int	       server_run(struct server *s, char *err, size_t errlen);
void	       http_set_body_budget(size_t bytes);
/* Body bytes reserved by requests now (for /metrics and tests). */
size_t http_body_held(void);
/* Connections cut for being slow (headers or body), and evicted. */
uint64_t       http_slow_cut(void);
uint64_t       http_evicted(void);
unsigned short server_port(const struct server *s);
const char    *server_host(const struct server *s);
void	       server_stop(struct server *s);
/* After every listener stopped: drops the answers they shared. */
void http_shutdown(void);

const char *req_method(const struct req *r);
const char *req_path(const struct req *r);
/* The path segment the route's "*" matched (first one), or NULL. */
const char *req_param(const struct req *r);
const char *req_header(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);
/* A field of a urlencoded form body, or NULL. */
const char *req_form(struct req *r, const char *name);
int	    req_is_form(const struct req *r);
/* 1 if the client asked for JSON (JSON body or Accept: application/json). */
int req_wants_json(struct req *r);
/* 1 if the client reads HTML: a browser's Accept, or htmx. */
int	     req_wants_html(struct req *r);
struct bytes req_body(const struct req *r);
const char  *req_peer(struct req *r);
const char  *req_cookie(struct req *r, const char *name);
/* The verified operator identity (Cloudflare Access), or NULL. */
const char *req_who(const struct req *r);
void	    req_set_who(struct req *r, const char *who);
/* What the operator gate granted (the role; 0 until a gate sets it). */
int  req_role(const struct req *r);
void req_set_role(struct req *r, int role);
/*
 * Renders an error as a page for a browser (resp_error() calls it for
 * a client that asks for text/html; everyone else gets JSON).
 */
typedef void (*error_page_fn)(struct req *r, struct buf *b, unsigned status,
    const char *code, const char *msg);
void req_set_error_page(struct req *r, error_page_fn fn);
/* What a gate proved (a token's hash): at most 32 bytes, or NULL. */
void req_set_auth(struct req *r, const unsigned char *p, size_t n);
const unsigned char *req_auth(const struct req *r);

/*
 * Long polls. req_suspend() parks the request without an answer (call it
 * from the handler, with the lock that req_resume() callers take held, so
 * no wake-up is lost); after req_resume() (any thread) the handler runs
 * again, req_resumes() telling how often. req_on_done() registers a
 * function called once when the request ends, ok when the whole answer
 * was handed to the socket.
 */
void req_suspend(struct req *r);
void req_resume(struct req *r);
/* 1 if the client of a suspended request has hung up. */
int	 req_peer_gone(struct req *r);
unsigned req_resumes(const struct req *r);
void	 req_on_done(struct req *r, void (*done)(struct req *, void *, int ok),
	void			*arg);
void	*req_done_arg(const struct req *r);

/* Each queues the one answer of a request; body bufs are consumed. */
void resp_json(struct req *r, unsigned status, struct buf *body);
/*
 * A 200 JSON answer whose body is a string constant (it outlives every
 * request): the response is built once, with its headers, and shared by
 * every request that gives the same constant (at most 16 of them).
 */
void resp_json_const(struct req *r, const char *body);
void resp_html(struct req *r, unsigned status, struct buf *body);
void resp_error(struct req *r, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with one more member, key: value, in the JSON answer. */
void resp_error_field(struct req *r, unsigned status, const char *code,
    const char *key, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void resp_redirect(struct req *r, const char *location);
/* 200 with HX-Redirect: htmx loads location as a whole page. */
void resp_hx_redirect(struct req *r, const char *location);
/*
 * A static asset compiled into the program (data outlives every request),
 * cached for a year: serve it at a path that changes with its content.
 */
void resp_static(struct req *r, const char *ctype, const void *data, size_t len,
    const char *encoding);
/*
 * A streamed answer (chunked): fn appends the next part to out and returns
 * 1 when more follows, 0 for the last part, -1 on failure (the connection
 * is then cut). free_arg(arg) runs when the answer is over, sent or not.
 */
#define STREAM_PART_MAX (4u << 20)
typedef int (*stream_fn)(void *arg, struct buf *out);
void resp_stream(struct req *r, unsigned status, const char *ctype,
    stream_fn fn, void *arg, void (*free_arg)(void *));
/* Prometheus text exposition. */
void resp_metrics(struct req *r, struct buf *body);
/* Static stylesheet, cacheable. */
void resp_css(struct req *r, struct buf *body);

/*
 * Waits, at most max_ms, until every request that was ever parked has
 * finished (its answer sent): at a stop, after the parked polls were
 * woken and before the servers close their connections.
 */
void http_drain_parked(int64_t max_ms);

#endif
