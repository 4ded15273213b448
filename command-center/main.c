/*
 * vaultmesh-command-center: configuration, start-up, signals, shutdown.
 * Threads: libmicrohttpd's pool (requests), the fleet's writer
 * (heartbeat write-behind), the dispatch timer (long-poll deadlines), and
 * this one (signals, command expiry, the scheduler).
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "app.h"
#include "approvals.h"
#include "http.h"
#include "routes.h"
#include "dispatch.h"
#include "jobs.h"
#include "keys.h"
#include "metrics.h"
#include "policy.h"
#include "roles.h"
#include "webhooks.h"
#include "replica.h"
#include "scheduler.h"
#include "views.h"
#include "command.h"
#include "log.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vaultmesh-command-center [--help] [--version]\n"
	    "       vaultmesh-command-center --generate-key FILE\n"
	    "       vaultmesh-command-center --seal-key FILE\n"
	    "       vaultmesh-command-center --migrate\n\n"
	    "The VaultMesh command center: HTTP API for node agents, HTML\n"
	    "dashboard and JSON views for operators, SQLite or PostgreSQL store.\n"
	    "Configured from the environment:\n"
	    "  VAULTMESH_LISTEN                   IP:PORT to serve (127.0.0.1:8088)\n"
	    "  VAULTMESH_AGENT_LISTEN             IP:PORT for agent routes only (none)\n"
	    "  VAULTMESH_PUBLIC_HOST              host name operators use (loopback only)\n"
	    "  VAULTMESH_UNSAFE_OPEN_OPERATOR_API 1: operator routes off loopback, no Access\n"
	    "  VAULTMESH_DB                       SQLite file or postgresql:// URI (vaultmesh.db)\n"
	    "  VAULTMESH_CC_KEY_PATH              Ed25519 signing key (cc-ed25519.key)\n"
	    "  VAULTMESH_ENROLL_SECRET            secret that approves nodes at once\n"
	    "  VAULTMESH_ENROLL_SECRET_FILE       file of such secrets, one a line\n"
	    "  VAULTMESH_POLICY_PATH              command policy file (built-in)\n"
	    "  VAULTMESH_ROLES_PATH               roles of Access identities (all viewers)\n"
	    "  VAULTMESH_WEBHOOKS_PATH            alert endpoints: url, secret, events (none)\n"
	    "  VAULTMESH_WEBHOOK_FLAP_SECONDS     a node's attention alerts, apart (60)\n"
	    "  VAULTMESH_SCAN_INTERVAL_HOURS      auto-scan interval (24)\n"
	    "  VAULTMESH_SCAN_STALE_HOURS         scan staleness threshold (48)\n"
	    "  VAULTMESH_HEARTBEAT_STALE_MINUTES  heartbeat staleness (10)\n"
	    "  VAULTMESH_SCHEDULER_TICK_SECONDS   scheduler tick (300)\n"
	    "  VAULTMESH_COMMAND_TTL_SECONDS      undelivered command expiry (3600)\n"
	    "  VAULTMESH_MAX_CONNECTIONS          connection limit (16384)\n"
	    "  VAULTMESH_MAX_LONGPOLLS            agents waiting at once (15000)\n"
	    "  VAULTMESH_MAX_BODY_BYTES           request bodies held at once (67108864)\n"
	    "  VAULTMESH_MAX_PENDING_NODES        nodes waiting for approval (1000)\n"
	    "  VAULTMESH_PENDING_ENROLL_PER_MINUTE new pending nodes a minute (30)\n"
	    "  VAULTMESH_DELIVERY_LEASE_SECONDS   re-offer a command without result (30)\n"
	    "  VAULTMESH_APPROVAL_TTL_SECONDS     a request awaiting approval expires (86400)\n"
	    "  VAULTMESH_KEY_OVERLAP_HOURS        a replaced signing key is kept (168)\n"
	    "  VAULTMESH_THREADS                  HTTP threads (0: one per core)\n"
	    "  VAULTMESH_ACCESS_TEAM_DOMAIN       https://<team>.cloudflareaccess.com\n"
	    "  VAULTMESH_ACCESS_AUD               Access application AUD tag\n"
	    "  VAULTMESH_ACCESS_CERTS             local copy of the Access certs (offline)\n"
	    "  VAULTMESH_LOG                      error, warn, info, debug (info)\n");
}

/* Lets 10,000 long polls hold a descriptor each. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
expired_cb(const char *node_id, void *arg)
{
	(void)arg;
	log_info("command_expired", "node_id=%s", node_id);
}

/* A delivery's lease ran out: the command is queued again, the node woken. */
static void
released_cb(const char *node_id, void *arg)
{
	(void)arg;
	dispatch_wake(node_id);
	log_warn("command_reoffered", "node_id=%s reason=no_result_in_lease",
	    node_id);
}

/* SIGHUP: the webhooks file (if any) is read again, audited. */
static void
reload_webhooks(void)
{
	struct audit_rec a = { time(NULL), "SIGHUP", "local", "webhooks_reload",
		app.cfg.webhooks_path ? app.cfg.webhooks_path : "none", "",
		"ok" };
	char		 err[512];

	if (app.cfg.webhooks_path == NULL)
		return;
	if (webhooks_reload(err, sizeof(err)) == -1) {
		log_err("webhooks_reload_failed",
		    "error=\"%s\" msg=\"the previous endpoints stay\"", err);
		a.detail = err;
		a.result = "invalid_webhooks";
	} else
		log_info("webhooks_reloaded", "path=%s", a.target);
	store_audit_add(app.store, &a);
}

/* SIGHUP: the roles file (if any) is read again, audited as the policy is. */
static void
reload_roles(void)
{
	struct audit_rec a = { time(NULL), "SIGHUP", "local", "roles_reload",
		app.cfg.roles_path ? app.cfg.roles_path : "none", "", "ok" };
	char		 err[512];

	if (app.cfg.roles_path == NULL) /* nothing to read */
		return;
	if (roles_reload(err, sizeof(err)) == -1) {
		log_err("roles_reload_failed",
		    "error=\"%s\" msg=\"the previous roles stay\"", err);
		a.detail = err;
		a.result = "invalid_roles";
	} else
		log_info("roles_reloaded", "path=%s", a.target);
	store_audit_add(app.store, &a);
}

/*
 * Once a second on the main thread: expire undelivered commands; re-read
 * the Access keys when they are an hour old; every scheduler tick, queue
 * the scans that are due; every 30 s, trim the heap.
 */
static void
housekeeping(void)
{
	static int64_t next_tick, next_trim;
	int64_t	       now = time(NULL);

	/* Replicas on one database: the leader alone (replica.c). */
	int leads = replica_leads();

	/* Grace: the longest command's time limit, then some. */
	if (leads) {
		store_commands_expire(app.store, now, 600, expired_cb, NULL);
		store_commands_release(app.store,
		    now - app.cfg.delivery_lease_seconds, released_cb, NULL);
		jobs_tick(now);
		approvals_tick(now);
		views_tick(now);
	}
	webhooks_tick(now); /* the leader's, as it decides */
	if (leads && keys_retiring()) {
		char id[33];

		keys_current(NULL, id, NULL);
		keys_tick(now, leads, fleet_unmoved(app.fleet, id));
	} else
		keys_tick(now, leads, -1);
	access_tick(app.access, now);
	if (next_tick == 0) /* the first tick comes one interval after start */
		next_tick = now + app.cfg.scheduler_tick_seconds;
	if (now >= next_tick) {
		if (leads)
			scheduler_tick(now);
		next_tick = now + app.cfg.scheduler_tick_seconds;
	}
	/*
	 * Every heartbeat replaces a node's stored copy, so the heap is full
	 * of freed holes after a burst: hand their pages back to the kernel
	 * (a walk of the free lists; its time is logged at debug level).
	 */
	if (now >= next_trim) {
		int64_t t0 = mono_us();

		malloc_trim(0);
		log_debug("malloc_trim", "us=%lld",
		    (long long)(mono_us() - t0));
		next_trim = now + 30;
	}
}

/*
 * WATCHDOG=1 only while the threads that do the work turn: the heartbeat
 * writer and the long-poll timer have made rounds since the last ping and
 * the store answers. A wedged thread stops the pings; systemd restarts us.
 */
static void
watchdog_ping(void)
{
	static uint64_t last_writer, last_timer;
	uint64_t	w = fleet_writer_rounds(app.fleet);
	uint64_t	t = dispatch_timer_rounds();

	if (w == last_writer || t == last_timer ||
	    store_ping(app.store) == -1) {
		log_err("watchdog_withheld", "writer_moved=%s timer_moved=%s",
		    w != last_writer ? "yes" : "no",
		    t != last_timer ? "yes" : "no");
		return;
	}
	last_writer = w;
	last_timer = t;
	sd_notify(0, "WATCHDOG=1");
}

/* The listeners: the main one, and the agents' own when configured. */
static struct server *
listener(const char *host, unsigned short port, int activation, unsigned serve,
    const char *name, char *err, size_t errlen)
{
	struct listen_opts lo = {
		.host = host,
		.port = port,
		.activation = activation,
		.serve = serve,
		.max_connections = app.cfg.max_connections,
		.threads = app.cfg.threads,
		.name = name,
	};

	return server_listen(&lo, routes, err, errlen);
}

/*
 * --migrate: creates or migrates the store VAULTMESH_DB names, then exits
 * (scripts/sqlite-to-postgresql.sh makes an empty PostgreSQL database's
 * schema so).
 */
static int
migrate_only(void)
{
	struct store *st;
	const char   *db = getenv("VAULTMESH_DB");
	char	      err[512], shown[4200];

	if (db == NULL || *db == '\0')
		db = "vaultmesh.db";
	umask(077);
	if ((st = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "vaultmesh-command-center: %s: %s\n",
		    store_where_shown(db, shown, sizeof(shown)), err);
		return 1;
	}
	store_close(st);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct server *srv = NULL, *agent_srv = NULL;
	int	       db_lock = -1, lock_new;
	char	       lock[4200];
	sigset_t       sigs;
	char	       err[512], shown[4200], pk_b64[48];
	int	       sig, rc = 1;
	uint64_t       wd_usec = 0;
	int64_t	       wd_every_ms = 0, wd_next = 0, hk_next = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--generate-key") == 0 && i + 2 == argc) {
			unsigned char sk[64], pk[32];
			char	      b64[64];
			struct stat   st;

			if (sodium_init() < 0 || lstat(argv[i + 1], &st) == 0) {
				fprintf(stderr,
				    "vaultmesh-command-center: %s "
				    "exists; not overwritten\n",
				    argv[i + 1]);
				return 2;
			}
			if (keys_load("--generate-key", argv[i + 1], sk, pk,
				err, sizeof(err)) == -1) {
				fprintf(stderr,
				    "vaultmesh-command-center: %s\n", err);
				return 2;
			}
			sodium_memzero(sk, sizeof(sk));
			sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk),
			    sodium_base64_VARIANT_ORIGINAL);
			printf("%s\n", b64);
			return 0;
		}
		if (strcmp(argv[i], "--seal-key") == 0 && i + 2 == argc) {
			if (sodium_init() < 0 ||
			    keys_seal_file("--seal-key", argv[i + 1], err,
				sizeof(err)) == -1) {
				fprintf(stderr,
				    "vaultmesh-command-center: %s\n", err);
				return 2;
			}
			printf("%s holds only the sealing key now\n",
			    argv[i + 1]);
			return 0;
		}
		if (strcmp(argv[i], "--migrate") == 0 && argc == 2)
			return migrate_only();
		if (strcmp(argv[i], "--version") == 0) {
			printf("vaultmesh-command-center %s\n", VM_VERSION);
			return 0;
		}
		fprintf(stderr,
		    "vaultmesh-command-center: unknown argument "
		    "\"%s\" (try --help)\n",
		    argv[i]);
		return 2;
	}
	/* The database, its WAL and the key are ours alone, whatever umask. */
	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr,
		    "vaultmesh-command-center: libsodium failed to "
		    "initialise\n");
		return 1;
	}
	if (config_load(&app.cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < app.cfg.nsecrets; i++)
		crypto_generichash(app.secret_hash[i],
		    sizeof(app.secret_hash[i]),
		    (const unsigned char *)app.cfg.secrets[i],
		    strlen(app.cfg.secrets[i]), NULL, 0);
	app.nsecrets = app.cfg.nsecrets;
	app.have_secret = app.nsecrets > 0;
	/* Keep no copy in memory, nor in the environment of children or /proc. */
	config_free(&app.cfg);
	if (app.cfg.enroll_secret != NULL) {
		sodium_memzero((char *)(uintptr_t)app.cfg.enroll_secret,
		    strlen(app.cfg.enroll_secret));
		unsetenv("VAULTMESH_ENROLL_SECRET");
		app.cfg.enroll_secret = NULL;
	}
	app.thr.heartbeat_stale_secs = app.cfg.heartbeat_stale_minutes * 60;
	app.thr.scan_stale_secs = app.cfg.scan_stale_hours * 3600;
	raise_fd_limit();

	/* Signals go to this thread only; every other thread blocks them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (config_check_local(&app.cfg, app.cfg.access_team != NULL, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		return 2;
	}
	/*
	 * One command center per database: a second one would keep its own
	 * fleet in memory and the two would disagree about every node.
	 */
	snprintf(lock, sizeof(lock), "%s.lock", app.cfg.db_path);
	lock_new = access(lock, F_OK) == -1;
	/* A server database: the store takes the lock there (store_pg.c). */
	if (!store_is_server(app.cfg.db_path)) {
		long holder;

		if ((db_lock = lockfile_take(lock, &holder)) == -1) {
			if (errno == EAGAIN)
				fprintf(stderr,
				    "vaultmesh-command-center: "
				    "VAULTMESH_DB: %s is in use by another "
				    "command center (pid %ld); stop it first, or "
				    "give this one its own database\n",
				    app.cfg.db_path, holder);
			else
				fprintf(stderr,
				    "vaultmesh-command-center: "
				    "VAULTMESH_DB: cannot lock %s: %s\n",
				    lock, strerror(errno));
			return 2;
		}
	}
	/* Bound before anything is created: a busy port leaves no files. */
	if ((srv = listener(app.cfg.listen_host, app.cfg.listen_port, 1, 0,
		 "main", err, sizeof(err))) == NULL) {
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		if (db_lock != -1 && lock_new)
			unlink(lock);
		if (db_lock != -1)
			close(db_lock);
		return 2;
	}
	/* A socket systemd passed is checked as VAULTMESH_LISTEN is. */
	if (app.cfg.access_team == NULL && !app.cfg.unsafe_open &&
	    !addr_is_loopback(server_host(srv))) {
		fprintf(stderr,
		    "vaultmesh-command-center: the listening socket "
		    "%s is not on loopback, and without Cloudflare Access the "
		    "operator routes would be open (see VAULTMESH_LISTEN)\n",
		    server_host(srv));
		rc = 2;
		goto out;
	}
	if (app.cfg.agent_host[0] != '\0' &&
	    (agent_srv = listener(app.cfg.agent_host, app.cfg.agent_port, 0,
		 ROUTE_AGENT | ROUTE_HEALTH, "agent", err, sizeof(err))) ==
		NULL) {
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		rc = 2;
		goto out;
	}
	if (app.cfg.access_team != NULL &&
	    (app.access = access_open(app.cfg.access_team, app.cfg.access_aud,
		 app.cfg.access_certs, err, sizeof(err))) == NULL) {
		/* err names the variable at fault already. */
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		rc = 2;
		goto out;
	}
	if (policy_init(app.cfg.policy_path, err, sizeof(err)) == -1) {
		fprintf(stderr,
		    "vaultmesh-command-center: VAULTMESH_POLICY_PATH: %s\n",
		    err);
		rc = 2;
		goto out;
	}
	if (roles_init(app.cfg.roles_path, err, sizeof(err)) == -1) {
		fprintf(stderr,
		    "vaultmesh-command-center: VAULTMESH_ROLES_PATH: %s\n",
		    err);
		rc = 2;
		goto out;
	}
	if (webhooks_init(app.cfg.webhooks_path, err, sizeof(err)) == -1) {
		fprintf(stderr,
		    "vaultmesh-command-center: VAULTMESH_WEBHOOKS_PATH: %s\n",
		    err);
		rc = 2;
		goto out;
	}
	if (app.access != NULL && app.cfg.roles_path == NULL)
		log_warn("roles_unset",
		    "msg=\"Access is on and VAULTMESH_ROLES_PATH is unset: "
		    "every operator is a viewer\"");
	if ((app.store = store_open(app.cfg.db_path, err, sizeof(err))) ==
	    NULL) {
		log_err("store_open_failed", "db=%s error=\"%s\"",
		    store_where_shown(app.cfg.db_path, shown, sizeof(shown)),
		    err);
		goto out;
	}
	store_on_write(app.store, metrics_store_write);
	if (keys_init("VAULTMESH_CC_KEY_PATH", app.cfg.key_path, app.store,
		(int64_t)app.cfg.key_overlap_hours * 3600, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "vaultmesh-command-center: %s\n", err);
		rc = 2;
		goto out;
	}
	if ((app.fleet = fleet_open(app.store, &app.thr, err, sizeof(err))) ==
	    NULL) {
		log_err("fleet_open_failed", "error=\"%s\"", err);
		goto out;
	}
	fleet_set_limits(app.fleet, (size_t)app.cfg.max_pending,
	    (double)app.cfg.pending_per_minute);
	http_set_body_budget((size_t)app.cfg.max_body_bytes);
	if (dispatch_start((size_t)app.cfg.max_longpolls) == -1) {
		log_err("dispatch_failed", "error=\"cannot start the timer\"");
		goto out;
	}
	if (replica_start() == -1) {
		log_err("replica_failed", "error=\"cannot start its thread\"");
		goto out;
	}
	if (webhooks_start() == -1) {
		log_err("webhooks_failed", "error=\"cannot start its thread\"");
		goto out;
	}
	if (server_run(srv, err, sizeof(err)) == -1 ||
	    (agent_srv != NULL &&
		server_run(agent_srv, err, sizeof(err)) == -1)) {
		log_err("listen_failed", "error=\"%s\"", err);
		goto out;
	}
	if (agent_srv != NULL)
		log_info("agent_listening",
		    "addr=%s%s%s:%u msg=\"agent routes and /healthz only\"",
		    strchr(server_host(agent_srv), ':') ? "[" : "",
		    server_host(agent_srv),
		    strchr(server_host(agent_srv), ':') ? "]" : "",
		    server_port(agent_srv));
	keys_current(pk_b64, NULL, NULL);
	log_info("listening",
	    "addr=%s%s%s:%u version=%s db=%s enroll_secret=%s cc_public_key=%s",
	    strchr(server_host(srv), ':') ? "[" : "", server_host(srv),
	    strchr(server_host(srv), ':') ? "]" : "", server_port(srv),
	    VM_VERSION,
	    store_where_shown(app.cfg.db_path, shown, sizeof(shown)),
	    app.have_secret ? "set" : "unset", pk_b64);
	if (app.access != NULL)
		log_info("operator_auth",
		    "access_team=%s msg=\"operator routes "
		    "require a valid Cloudflare Access token\"",
		    app.cfg.access_team);
	else if (!addr_is_loopback(server_host(srv)))
		log_err("operator_auth",
		    "msg=\"UNSAFE: operator routes are "
		    "unauthenticated and listen on a non-loopback address "
		    "(VAULTMESH_UNSAFE_OPEN_OPERATOR_API=1): anyone who reaches "
		    "it can command every node\"");
	else
		log_info("operator_auth",
		    "msg=\"local mode: operator routes "
		    "answer loopback only, under a loopback Host or "
		    "VAULTMESH_PUBLIC_HOST; set VAULTMESH_ACCESS_TEAM_DOMAIN and "
		    "VAULTMESH_ACCESS_AUD behind Cloudflare Access\"");
	sd_notify(0, "READY=1");

	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		wd_every_ms = (int64_t)(wd_usec / 2000);
		log_info("watchdog", "interval_ms=%lld",
		    (long long)wd_every_ms);
	}
	for (;;) {
		struct timespec tick = { 1, 0 };

		if (wd_every_ms > 0 && wd_every_ms < 1000) {
			tick.tv_sec = 0;
			tick.tv_nsec = wd_every_ms * 1000000L;
		}
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (wd_every_ms > 0 && mono_ms() >= wd_next) {
			watchdog_ping();
			wd_next = mono_ms() + wd_every_ms;
		}
		if (sig == -1) {
			if (mono_ms() >= hk_next) {
				housekeeping();
				hk_next = mono_ms() + 1000;
			}
			continue;
		}
		if (sig == SIGHUP) {
			struct audit_rec a = { time(NULL), "SIGHUP", "local",
				"policy_reload",
				app.cfg.policy_path ? app.cfg.policy_path :
						      "built-in",
				"", "ok" };

			if (policy_reload(err, sizeof(err)) == -1) {
				log_err("policy_reload_failed",
				    "error=\"%s\" "
				    "msg=\"the previous policy stays\"",
				    err);
				a.detail = err;
				a.result = "invalid_policy";
			} else
				log_info("policy_reloaded", "path=%s",
				    a.target);
			store_audit_add(app.store, &a);
			reload_roles();
			reload_webhooks();
			continue;
		}
		log_info("shutdown", "signal=%s", strsignal(sig));
		break;
	}
	sd_notify(0, "STOPPING=1");
	rc = 0;
out:
	dispatch_shutdown();
	/* The woken polls answer (empty) before their connections close. */
	http_drain_parked(2000);
	server_stop(agent_srv);
	server_stop(srv);
	http_shutdown();
	webhooks_stop(); /* its thread uses the store */
	replica_stop();
	fleet_close(app.fleet);
	store_close(app.store);
	policy_shutdown();
	roles_shutdown();
	access_close(app.access);
	keys_wipe();
	if (db_lock != -1)
		close(db_lock);
	return rc;
}
