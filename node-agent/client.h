/*
 * client: HTTP through libcurl (client.c, the only file that includes
 * curl.h).
 */
#ifndef VM_AGENT_CLIENT_H
#define VM_AGENT_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "defs.h"

struct client;

struct http_req {
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *bearer; /* NULL: no Authorization */
	const char *body;   /* JSON for POST */
	size_t	    body_len;
	long	    timeout_ms;
};

struct http_resp {
	long   status;
	char  *body; /* NUL-terminated, at most AGENT_BODY_MAX */
	size_t len;
	char   peer_ip[64]; /* the address that answered */
	long   peer_port;
};

/* A command center URL as libcurl parses it. */
struct cc_url {
	char *url;	 /* normalized, no trailing '/'; malloc'd */
	int   https;	 /* else plain http */
	char  host[256]; /* IPv6 in brackets, IPv4 normalized */
};

enum client_rc { CLIENT_OK = 0, CLIENT_FAIL = -1, CLIENT_STOPPED = -2 };

/*
 * Parses url with libcurl's URL API: http or https, a host, a port from 1
 * to 65535 if any, no user name or password, no query or fragment, no
 * spaces, controls or backslashes. 0 with out filled (free out->url), or
 * -1 with the reason in why (without the variable's name).
 */
int
client_url_parse(const char *url, struct cc_url *out, char *why, size_t whylen);
/* Calls curl_global_init once, before any thread starts. 0 or -1. */
int  client_global_init(void);
void client_global_cleanup(void);
/*
 * A client owning one reused easy handle; transfers abort soon after *stop
 * becomes nonzero and client_wakeup() is called. NULL on failure.
 */
struct client *client_new(const atomic_int *stop);
void	       client_free(struct client *c);
/* Interrupts a transfer in progress (thread-safe). */
void client_wakeup(struct client *c);
/*
 * Performs one request. CLIENT_OK when an HTTP answer came (any status; rs
 * filled, free with http_resp_free), CLIENT_FAIL with err on transport
 * failure or an oversized answer, CLIENT_STOPPED when *stop was set.
 */
/*
 * Sends a Cloudflare Access service token with every request from now on
 * (the strings must outlive the clients; NULL sends none).
 */
void client_set_access(const char *id, const char *secret);
/*
 * The CAs https requests verify the CC with: file (PEM) when not NULL,
 * else the hashed directory path when not NULL, else libcurl's defaults
 * (the strings must outlive the clients).
 */
void	       client_set_tls(const char *file, const char *path);
enum client_rc client_request(struct client *c, const struct http_req *rq,
    struct http_resp *rs, char *err, size_t errlen);
void	       http_resp_free(struct http_resp *rs);

#endif
