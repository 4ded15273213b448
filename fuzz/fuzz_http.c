/*
 * The whole HTTP request path of the command center, end to end: the real
 * server (server_start with the real route table, a temporary SQLite
 * store, the fleet, a generated signing key, an enroll secret) is started
 * once in LLVMFuzzerInitialize on 127.0.0.1:<free port>, and each input is
 * sent as raw bytes over a fresh loopback TCP connection; the answer is read
 * until the server closes (the client half-closes after sending). That
 * covers request parsing in libmicrohttpd, routing, body limits, the form
 * decoder (MHD's post processor in http.c), the CSRF check, and every JSON
 * and HTML handler with the bodies it parses.
 *
 * Inputs can name live secrets through placeholders the driver replaces:
 *   @TOKEN@  the node token of an approved node (NODE below)
 *   @CMD@    the id of a command queued for NODE at start-up
 *   @SECRET@ the enroll secret
 * Cloudflare Access is not configured (operator routes open, as on a
 * loopback-only site); long polls never park (VAULTMESH_MAX_LONGPOLLS=0),
 * so no input waits for a poll's deadline.
 *
 * A handler that answers nothing (http.c's 500 "no answer") or a page
 * that overflows its buffer (500 "answer too large") is a bug: abort.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

#define NODE "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define SECRET "fuzz-enroll-secret"
#define READ_TIMEOUT_MS 50 /* for the first byte of the answer */
#define IDLE_MS 3	   /* after the last byte */

static struct server *srv;
static unsigned short port;
static char	      token[64], cmd_id[37];
static char	      dir[PATH_MAX];

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	server_stop(srv);
	http_shutdown();
	dispatch_shutdown();
	fleet_close(app.fleet);
	store_close(app.store);
	policy_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_http: %s: %s\n", what, err);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	 *tmp = getenv("TMPDIR");
	struct stat	  st;
	char		  err[512], path[PATH_MAX + 32];
	struct enroll_req er = { NODE, "fuzz-node.example.org", "debian-12",
		"0.1.0", SECRET, NULL, NULL };
	struct cmd_new	  c;
	json_t		 *args;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		die("sodium_init", "failed");
	/* The store fsyncs every write: on tmpfs that costs nothing. */
	if (tmp == NULL || *tmp == '\0')
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
			access("/dev/shm", W_OK) == 0 ?
		    "/dev/shm" :
		    "/tmp";
	snprintf(dir, sizeof(dir), "%s/vm-fuzz-http.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	snprintf(path, sizeof(path), "%s/cc.db", dir);
	setenv("VAULTMESH_DB", path, 1);
	snprintf(path, sizeof(path), "%s/cc-ed25519.key", dir);
	setenv("VAULTMESH_CC_KEY_PATH", path, 1);
	setenv("VAULTMESH_LISTEN", "127.0.0.1:0", 1);
	setenv("VAULTMESH_ENROLL_SECRET", SECRET, 1);
	setenv("VAULTMESH_MAX_LONGPOLLS", "0", 1);
	setenv("VAULTMESH_THREADS", "2", 1);
	setenv("VAULTMESH_MAX_CONNECTIONS", "64", 1);
	unsetenv("VAULTMESH_ACCESS_TEAM_DOMAIN");
	unsetenv("VAULTMESH_ACCESS_AUD");
	unsetenv("VAULTMESH_POLICY_PATH");
	unsetenv("CREDENTIALS_DIRECTORY");
	if (config_load(&app.cfg, err, sizeof(err)) == -1)
		die("config_load", err);
	log_set_level(
	    getenv("FUZZ_LOG") != NULL ? getenv("FUZZ_LOG") : "error");
	crypto_generichash(app.secret_hash[0], sizeof(app.secret_hash[0]),
	    (const unsigned char *)SECRET, strlen(SECRET), NULL, 0);
	app.nsecrets = 1;
	app.have_secret = 1;
	config_free(&app.cfg);
	app.cfg.enroll_secret = NULL;
	app.thr.heartbeat_stale_secs = app.cfg.heartbeat_stale_minutes * 60;
	app.thr.scan_stale_secs = app.cfg.scan_stale_hours * 3600;
	if (policy_init(NULL, err, sizeof(err)) == -1)
		die("policy_init", err);
	if ((app.store = store_open(app.cfg.db_path, err, sizeof(err))) == NULL)
		die("store_open", err);
	if (keys_init("VAULTMESH_CC_KEY_PATH", app.cfg.key_path, app.store,
		3600, err, sizeof(err)) == -1)
		die("keys_init", err);
	if ((app.fleet = fleet_open(app.store, &app.thr, err, sizeof(err))) ==
	    NULL)
		die("fleet_open", err);
	if (dispatch_start((size_t)app.cfg.max_longpolls) == -1)
		die("dispatch_start", "failed");
	if (fleet_enroll(app.fleet, &er, 1, token) != ENROLL_APPROVED)
		die("fleet_enroll", "not approved");
	memset(&c, 0, sizeof(c));
	c.node_id = NODE;
	c.command = "agent-info";
	c.queued_by = "fuzz";
	if ((args = json_object()) == NULL || command_queue(&c, args) != 0)
		die("command_queue", "failed");
	json_decref(args);
	memcpy(cmd_id, c.command_id, sizeof(cmd_id));
	{
		struct listen_opts lo = {
			.host = app.cfg.listen_host,
			.port = app.cfg.listen_port,
			.max_connections = app.cfg.max_connections,
			.threads = app.cfg.threads,
			.name = "main",
		};

		http_set_body_budget((size_t)app.cfg.max_body_bytes);
		if ((srv = server_start(&lo, routes, err, sizeof(err))) == NULL)
			die("server_start", err);
	}
	port = server_port(srv);
	atexit(cleanup);
	return 0;
}

/* data with the placeholders replaced (malloc'd). */
static char *
expand(const uint8_t *data, size_t size, size_t *outlen)
{
	static const struct {
		const char *name;
		const char *value;
	} ph[] = { { "@TOKEN@", token }, { "@CMD@", cmd_id },
		{ "@SECRET@", SECRET } };
	struct buf b;
	size_t	   i = 0, k;

	buf_init(&b, size * 8 + 64);
	while (i < size) {
		for (k = 0; k < sizeof(ph) / sizeof(ph[0]); k++) {
			size_t n = strlen(ph[k].name);

			if (size - i >= n &&
			    memcmp(data + i, ph[k].name, n) == 0) {
				buf_puts(&b, ph[k].value);
				i += n;
				break;
			}
		}
		if (k == sizeof(ph) / sizeof(ph[0]))
			buf_putc(&b, (char)data[i++]);
	}
	buf_putc(&b, '\0'); /* so an empty input still has storage */
	if (buf_failed(&b))
		abort();
	return buf_take(&b, outlen);
}

/*
 * A connect() a signal interrupted (libFuzzer's timer) goes on in the
 * kernel: wait for it to end and take its outcome.
 */
static int
connect_finish(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t     len = sizeof(int);
	int	      err = 0, rc;

	if (errno != EINTR)
		return -1;
	while ((rc = poll(&pfd, 1, 5000)) == -1 && errno == EINTR)
		;
	if (rc != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	errno = err;
	return err == 0 ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	struct pollfd	   pfd;
	char		  *req, resp[65536];
	size_t		   len, off = 0, got = 0;
	ssize_t		   n;
	int		   fd;
	int64_t		   deadline;

	/*
	 * Without the blank line that ends the head, libmicrohttpd only
	 * waits for more and none of our code runs: not worth a round trip.
	 */
	if (size > 256 * 1024 ||
	    (memmem(data, size, "\r\n\r\n", 4) == NULL &&
		memmem(data, size, "\n\n", 2) == NULL))
		return 0;
	req = expand(data, size, &len);
	len--; /* the NUL expand() added */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    connect_finish(fd) == -1) {
		fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
		abort();
	}
	/* The server may answer and close before reading it all (413). */
	while (
	    off < len && (n = send(fd, req + off, len - off, MSG_NOSIGNAL)) > 0)
		off += (size_t)n;
	shutdown(fd, SHUT_WR);
	/*
	 * Until the server closes, or once an answer came and nothing more
	 * follows for IDLE_MS: after a complete GET, libmicrohttpd (epoll,
	 * edge-triggered) may not notice the half-close until its idle
	 * timeout, so waiting for the close alone would cost seconds.
	 */
	deadline = mono_ms() + READ_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - mono_ms();

		/*
		 * No answer: an incomplete request, which libmicrohttpd keeps
		 * waiting for (it does not see the half-close either) until
		 * its 90 s idle timeout. Nothing to learn by waiting longer.
		 */
		if (left <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, got > 0 ? IDLE_MS : (int)left)) == 0 &&
		    got > 0)
			break;
		if (n <= 0)
			continue;
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(resp) - 1) {
			/* Keep the head, drop the rest of a large page. */
			resp[got] = '\0';
			if (strstr(resp, " 500 ") != NULL)
				break;
			got = 4096;
		}
	}
	resp[got] = '\0';
	close(fd);
	free(req);
	/* Every status line of a pipelined exchange. */
	for (const char *p = resp; (p = strstr(p, "HTTP/1.")) != NULL; p += 7)
		if (strncmp(p + 8, " 500 ", 5) == 0) {
			fprintf(stderr, "fuzz_http: a 500 answer:\n%.2000s\n",
			    resp);
			abort();
		}
	return 0;
}
