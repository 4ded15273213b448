/*
 * config: the command center's settings, from the environment (config.c).
 */
#ifndef VM_CC_CONFIG_H
#define VM_CC_CONFIG_H

#include <stddef.h>

#define ENROLL_SECRETS_MAX 8

struct config {
	char	       listen_host[64];
	unsigned short listen_port;    /* 0: any free port */
	char	       agent_host[64]; /* VAULTMESH_AGENT_LISTEN, or "" */
	unsigned short agent_port;
	const char    *public_host; /* the operators' host name, or NULL */
	int	    unsafe_open; /* operator routes off loopback, no Access */
	const char *db_path;
	const char *key_path;
	const char *enroll_secret; /* NULL when unset */
	/* Every valid enroll secret (the variable's comma list, or lines). */
	char	   *secrets[ENROLL_SECRETS_MAX];
	size_t	    nsecrets;
	const char *policy_path;   /* NULL when unset */
	const char *roles_path;	   /* NULL when unset */
	const char *webhooks_path; /* NULL when unset */
	const char *access_team;   /* Cloudflare Access team domain */
	const char *access_aud;	   /* Access application AUD tag */
	const char *access_certs;  /* local certs document, or NULL */
	long	    scan_interval_hours;
	long	    scan_stale_hours;
	long	    heartbeat_stale_minutes;
	long	    scheduler_tick_seconds;
	long	    command_ttl_seconds;
	long	    max_connections;
	long	    max_longpolls;
	long	    max_body_bytes;	/* held at once, all connections */
	long	    max_pending;	/* pending nodes at once */
	long	    pending_per_minute; /* new pending nodes */
	long	    delivery_lease_seconds;
	long	    job_max_nodes;	  /* a larger job needs "confirm" */
	long	    approval_ttl_seconds; /* a request waits this long */
	long	    key_overlap_hours;	  /* a replaced signing key is kept */
	long	    webhook_flap_seconds; /* a node's attention events, apart */
	long	    threads;
	const char *log_level;
};

/* Fills c from the environment: 0, or -1 with one line in err. */
int config_load(struct config *c, char *err, size_t errlen);
/* Wipes and frees the secrets config_load() copied. */
void config_free(struct config *c);
/* 1 if host (a numeric address) is a loopback address. */
int addr_is_loopback(const char *host);
/*
 * Without Cloudflare Access the operator routes must stay on loopback:
 * 0 when c is safe (or the operator opted out), -1 with why in err.
 */
int config_check_local(const struct config *c, int have_access, char *err,
    size_t errlen);

#endif
