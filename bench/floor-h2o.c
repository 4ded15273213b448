/*
 * floor-h2o: the same HTTP floor as floor-mhd, with Debian's h2o library
 * built on its own event loop (libh2o-evloop, h2o 2.2), which issue 5 names
 * as the alternative to measure if libmicrohttpd were the limit (`make
 * bench` only; not installed). One event loop per thread, each with its own
 * listening socket on 127.0.0.1 (SO_REUSEPORT spreads the connections);
 * h2o reads the body; the answer carries the command center's headers.
 *
 *   floor-h2o PORT [THREADS]
 */
#include <pthread.h>

#include <h2o.h>

#include "floor.h"

struct loop {
	pthread_t	 thread;
	h2o_context_t	 ctx;
	h2o_accept_ctx_t accept;
	int		 fd;
};

static h2o_globalconf_t config;

static int
on_heartbeat(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) ||
	    req->entity.base == NULL || req->entity.len == 0 ||
	    req->entity.base[0] != '{')
		return -1;
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = sizeof(floor_json) - 1;
	h2o_add_header_by_str(&req->pool, &req->res.headers,
	    H2O_STRLIT("x-content-type-options"), 0, NULL,
	    H2O_STRLIT("nosniff"));
	h2o_add_header_by_str(&req->pool, &req->res.headers,
	    H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    NULL, H2O_STRLIT("no-store"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, H2O_STRLIT("application/json"));
	h2o_send_inline(req, floor_json, sizeof(floor_json) - 1);
	return 0;
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	h2o_socket_t *sock;

	if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
		return;
	h2o_accept(listener->data, sock);
}

static void *
run(void *arg)
{
	struct loop  *l = arg;
	h2o_socket_t *sock;

	h2o_context_init(&l->ctx, h2o_evloop_create(), &config);
	l->accept.ctx = &l->ctx;
	l->accept.hosts = config.hosts;
	sock = h2o_evloop_socket_create(l->ctx.loop, l->fd,
	    H2O_SOCKET_FLAG_DONT_READ);
	sock->data = &l->accept;
	h2o_socket_read_start(sock, on_accept);
	while (h2o_evloop_run(l->ctx.loop, INT32_MAX) == 0)
		;
	return NULL;
}

static int
listen_on(const struct sockaddr_in *sa)
{
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char *argv[])
{
	h2o_hostconf_t	  *host;
	h2o_handler_t	  *h;
	struct loop	  *loops;
	struct sockaddr_in sa;
	long		   threads;

	if (floor_init(argc, argv, "floor-h2o", &sa, &threads) == -1)
		return 2;
	h2o_config_init(&config);
	host = h2o_config_register_host(&config,
	    h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h = h2o_create_handler(
	    h2o_config_register_path(host, "/api/agent/heartbeat", 0),
	    sizeof(*h));
	h->on_req = on_heartbeat;
	if ((loops = calloc((size_t)threads, sizeof(*loops))) == NULL)
		return 1;
	for (long i = 0; i < threads; i++)
		if ((loops[i].fd = listen_on(&sa)) == -1) {
			fprintf(stderr, "floor-h2o: cannot listen on %s\n",
			    argv[1]);
			return 1;
		}
	for (long i = 0; i < threads; i++)
		if (pthread_create(&loops[i].thread, NULL, run, &loops[i]) != 0)
			return 1;
	for (long i = 0; i < threads; i++)
		pthread_join(loops[i].thread, NULL);
	return 0;
}
