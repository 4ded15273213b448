/*
 * vaultmesh-node-agent: arguments, configuration, signals and threads.
 *
 * The main thread only waits for signals (all of them blocked everywhere
 * and taken with sigwait, so no handler runs in a random thread):
 * SIGTERM/SIGINT stop the agent, SIGHUP asks a revoked agent to enroll
 * again. Stopping sets a flag, wakes every wait (condition variable, stop
 * pipe) and every transfer (curl_multi_wakeup), so the agent exits within
 * moments even in the middle of a backoff or a long poll. Under systemd's
 * watchdog it also wakes twice per period to ping it (watchdog_tick).
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "client.h"
#include "commands.h"
#include "config.h"
#include "defs.h"
#include "heartbeat.h"
#include "keychain.h"
#include "log.h"
#include "state.h"

/* WATCHDOG=1 while every worker thread is within what it announced. */
static void
watchdog_tick(struct agent *a)
{
	static int	   withheld;
	enum agent_wd_slot late;

	if (watchdog_alive(&a->wd, mono_ms(), &late)) {
		if (withheld)
			log_info("watchdog_resumed",
			    "msg=\"both threads turn again\"");
		withheld = 0;
		(void)sd_notify(0, "WATCHDOG=1");
		return;
	}
	if (!withheld)
		log_err("watchdog_withheld",
		    "thread=%s msg=\"a thread is "
		    "past its deadline; systemd will restart the agent\"",
		    late == AGENT_WD_HEARTBEAT ? "heartbeat" : "poll");
	withheld = 1;
}

/*
 * --pin <key>: the out-of-band step of an emergency rotation. Pins the
 * base64 Ed25519 key in VAULTMESH_ROOT (default /var/lib/vaultmesh) and
 * tells a running agent (SIGHUP), which verifies commands with it from
 * then on. 0, or 2 with why on stderr.
 */
static int
pin_main(const char *key)
{
	unsigned char pk[32];
	char	      id[KEY_ID_LEN + 1], lock[4096];
	const char   *root = getenv("VAULTMESH_ROOT");
	long	      holder;
	int	      fd;

	if (sodium_init() < 0 || b64_decode(key, pk, sizeof(pk)) != 32) {
		fprintf(stderr,
		    "%s: --pin: expected the base64 of a 32-byte Ed25519 "
		    "public key (GET /keys: public_key)\n",
		    AGENT_PROG);
		return 2;
	}
	if (root == NULL || *root == '\0')
		root = "/var/lib/vaultmesh";
	/*
	 * A root that is there is left as it is (preparing one clears the
	 * running agent's temporary files); a missing one is made.
	 */
	if (access(root, F_OK) == -1 &&
	    state_prepare(root, lock, sizeof(lock)) == -1) {
		fprintf(stderr, "%s: --pin: %s\n", AGENT_PROG, lock);
		return 2;
	}
	if (state_save_pubkey(root, pk, 0) == -1) {
		fprintf(stderr,
		    "%s: --pin: cannot write %s/cc_ed25519.pub: %s\n",
		    AGENT_PROG, root, strerror(errno));
		return 2;
	}
	/* Run as root for an agent that runs as its own user: its file. */
	{
		struct stat st;
		char	    file[4096];

		snprintf(file, sizeof(file), "%s/cc_ed25519.pub", root);
		if (geteuid() == 0 && stat(root, &st) == 0 && st.st_uid != 0 &&
		    chown(file, st.st_uid, st.st_gid) == -1) {
			fprintf(stderr,
			    "%s: --pin: cannot give %s to the "
			    "agent's user: %s\n",
			    AGENT_PROG, file, strerror(errno));
			return 2;
		}
	}
	key_id_of(pk, id);
	snprintf(lock, sizeof(lock), "%s/agent.lock", root);
	if ((fd = lockfile_take(lock, &holder)) != -1) {
		close(fd);
		printf("pinned %s in %s; the agent uses it when it starts\n",
		    id, root);
		return 0;
	}
	if (errno == EAGAIN && holder > 0 && kill((pid_t)holder, SIGHUP) == 0) {
		printf("pinned %s in %s; told the running agent (pid %ld)\n",
		    id, root, holder);
		return 0;
	}
	printf("pinned %s in %s; restart the agent to use it\n", id, root);
	return 0;
}

int
main(int argc, char **argv)
{
	struct agent_config cfg;
	struct agent	    a;
	struct client	   *hbc = NULL, *pc = NULL;
	struct thread_args  hba, pa;
	pthread_t	    hbt, pt;
	sigset_t	    set;
	struct timespec	    wd_every = { 0, 0 };
	uint64_t	    wd_usec = 0;
	char		    err[512];
	int		    sig, have_hb = 0, have_poll = 0, rc = 1;
	int		    have_agent = 0, have_cfg = 0, have_curl = 0;

	/*
	 * Before anything can create a file: whatever umask the agent is
	 * started with (022 from a shell, outside systemd's UMask=0077), its
	 * state (token, enroll key, pinned key, spool) and whatever the
	 * commands it runs create stay private to its user.
	 */
	umask(077);
	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		config_usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", AGENT_PROG, VM_VERSION);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--pin") == 0)
		return pin_main(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "%s: unknown argument \"%.40s\"; see --help\n",
		    AGENT_PROG, argv[1]);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialize\n",
		    AGENT_PROG);
		return 1;
	}
	if (config_load(&cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", AGENT_PROG, err);
		return 2;
	}
	have_cfg = 1;
	config_scrub_env();

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (agent_init(&a, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", AGENT_PROG, err);
		have_agent = 1;
		goto out;
	}
	have_agent = 1;
	if (client_global_init() == -1) {
		fprintf(stderr, "%s: libcurl failed to initialize\n",
		    AGENT_PROG);
		goto out;
	}
	have_curl = 1;
	client_set_access(cfg.cf_access_id, cfg.cf_access_secret);
	client_set_tls(cfg.ca_file, cfg.ca_path);
	if ((hbc = client_new(&a.stop)) == NULL ||
	    (pc = client_new(&a.stop)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", AGENT_PROG);
		goto out;
	}
	log_info("start",
	    "version=%s node_id=%s cc_url=%s os_profile=%s "
	    "heartbeat_secs=%ld services=%zu enrolled=%s last_seq=%lld",
	    VM_VERSION, a.node_id, cfg.cc_url, cfg.os_profile,
	    cfg.heartbeat_secs, cfg.nservices, a.token[0] ? "yes" : "no",
	    (long long)a.last_seq);
	if (cfg.insecure_http)
		log_warn("insecure_http_lab",
		    "cc_url=%s msg=\""
		    "VAULTMESH_INSECURE_HTTP_LAB=1: the enroll secret, the node "
		    "token and every result go to the command center in clear "
		    "text, and whoever is on the path at the first enrollment "
		    "can pin their own command key. Labs only: use https:// "
		    "in production\"",
		    cfg.cc_url);

	hba.agent = pa.agent = &a;
	hba.client = hbc;
	pa.client = pc;
	if (pthread_create(&hbt, NULL, heartbeat_thread, &hba) != 0) {
		log_err("thread_failed", "thread=heartbeat");
		goto out;
	}
	have_hb = 1;
	if (pthread_create(&pt, NULL, poll_thread, &pa) != 0) {
		log_err("thread_failed", "thread=poll");
		goto out;
	}
	have_poll = 1;
	/*
	 * Ready once configuration, state and both loops are up, not after
	 * the first answer of the CC: a CC outage at boot must not make
	 * systemd fail the unit and restart-loop it (the loops retry).
	 */
	agent_notify_ready(&a);

	/*
	 * Under systemd's watchdog (WatchdogSec= in the unit): wake twice per
	 * period and ping only while both worker threads keep their word.
	 */
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		wd_every.tv_sec = (time_t)(wd_usec / 2 / 1000000);
		wd_every.tv_nsec = (long)(wd_usec / 2 % 1000000) * 1000;
		log_info("watchdog", "every_ms=%llu",
		    (unsigned long long)(wd_usec / 2000));
	}
	for (;;) {
		if (wd_usec > 0) {
			if ((sig = sigtimedwait(&set, NULL, &wd_every)) == -1) {
				if (errno == EAGAIN)
					watchdog_tick(&a);
				continue;
			}
		} else if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("sighup", "revoked=%s",
			    agent_is_revoked(&a) ? "yes" : "no");
			agent_reload_pin(&a);
			agent_hup(&a);
			continue;
		}
		log_info("stopping", "signal=%s",
		    sig == SIGTERM ? "TERM" : "INT");
		break;
	}
	rc = 0;
out:
	(void)sd_notify(0, "STOPPING=1");
	if (have_agent)
		agent_request_stop(&a);
	client_wakeup(hbc);
	client_wakeup(pc);
	if (have_hb)
		pthread_join(hbt, NULL);
	if (have_poll)
		pthread_join(pt, NULL);
	client_free(hbc);
	client_free(pc);
	if (have_curl)
		client_global_cleanup();
	if (have_agent)
		agent_free(&a);
	if (have_cfg)
		config_free(&cfg);
	if (rc == 0)
		log_info("stopped", "status=0");
	return rc;
}
