/*
 * floor-mhd: the HTTP floor of the heartbeat exchange with libmicrohttpd
 * (`make bench` only; not installed). It starts the daemon with the
 * command center's flags and options (command-center/http.c), reads each
 * POST /api/agent/heartbeat body into its own buffer as the command center
 * does, and answers with one prebuilt response carrying the same headers
 * as the command center's answer to a heartbeat. No token check, no
 * parsing, no storage: what is left is what the library and the kernel
 * cost per heartbeat.
 *
 *   floor-mhd PORT [THREADS]
 */
#include <microhttpd.h>

#include "floor.h"

#define BODY_MAX (16 * 1024)

struct body {
	size_t len;
	int    too_big;
	char   buf[BODY_MAX];
};

static struct MHD_Response *answer;

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **ptr)
{
	struct body *b = *ptr;

	(void)cls;
	(void)version;
	if (b == NULL) {
		if (strcmp(method, "POST") != 0 ||
		    strcmp(url, "/api/agent/heartbeat") != 0)
			return MHD_NO;
		if ((b = malloc(sizeof(*b))) == NULL)
			return MHD_NO;
		b->len = 0;
		b->too_big = 0;
		*ptr = b;
		return MHD_YES;
	}
	if (*size > 0) {
		if (b->len + *size > sizeof(b->buf))
			b->too_big = 1;
		else {
			memcpy(b->buf + b->len, data, *size);
			b->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (b->too_big || b->len == 0 || b->buf[0] != '{')
		return MHD_NO;
	return MHD_queue_response(c, 200, answer);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **ptr,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*ptr);
	*ptr = NULL;
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	long		   threads;

	if (floor_init(argc, argv, "floor-mhd", &sa, &threads) == -1)
		return 2;
	answer = MHD_create_response_from_buffer(sizeof(floor_json) - 1,
	    (void *)floor_json, MHD_RESPMEM_PERSISTENT);
	if (answer == NULL ||
	    MHD_add_response_header(answer, "X-Content-Type-Options",
		"nosniff") == MHD_NO ||
	    MHD_add_response_header(answer, "Referrer-Policy", "no-referrer") ==
		MHD_NO ||
	    MHD_add_response_header(answer, "Cache-Control", "no-store") ==
		MHD_NO ||
	    MHD_add_response_header(answer, "Content-Type",
		"application/json") == MHD_NO)
		return 1;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO,
	    0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)16384, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)90, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(16 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "floor-mhd: cannot listen on %s\n", argv[1]);
		return 1;
	}
	for (;;)
		pause();
}
