/*
 * config: the agent's configuration, from the environment (config.c).
 */
#ifndef VM_AGENT_CONFIG_H
#define VM_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "defs.h"

struct agent_config {
	char	     *cc_url; /* no trailing '/' */
	char	      os_profile[AGENT_PROFILE_MAX + 1];
	char	     *root;
	long	      heartbeat_secs;
	char	     *enroll_secret;	/* NULL when unset; wiped */
	char	     *cf_access_id;	/* Access service token, or NULL */
	char	     *cf_access_secret; /* wiped */
	char	     *services[AGENT_SERVICES_MAX];
	size_t	      nservices;
	char	      log_level[8];
	long	      backoff_max_secs;
	char	     *metrics[AGENT_METRICS_MAX]; /* "host:port" */
	size_t	      nmetrics;
	unsigned char cc_pubkey[32]; /* VAULTMESH_CC_PUBKEY */
	int	      have_cc_pubkey;
	char	     *scan_root;	       /* VAULTMESH_SCAN_ROOT */
	int	      scan_forwarding_allowed; /* VAULTMESH_SCAN_FORWARDING */
	uint16_t      scan_ports[AGENT_SCAN_PORTS_MAX]; /* ..._ALLOWED_PORTS */
	size_t	      nscan_ports;
	char	     *scan_rules_dir;	/* VAULTMESH_SCAN_RULES_DIR */
	char	      scan_packages[8]; /* auto, apt, pacman, none */
	char	     *scan_apt;		/* VAULTMESH_SCAN_APT */
	char	     *scan_pacman;	/* VAULTMESH_SCAN_PACMAN */
	char	     *ca_file;		/* VAULTMESH_CA_FILE, or NULL */
	char	     *ca_path;		/* VAULTMESH_CA_PATH, or NULL */
	/*
	 * 1 when VAULTMESH_INSECURE_HTTP_LAB=1 let a plain http:// URL to a
	 * host other than the loopback through (main warns at start).
	 */
	int insecure_http;
};

/*
 * Fills c from the environment (and sets the log level). 0, or -1 with one
 * line "NAME: what is wrong" in err; c is then already freed.
 */
int config_load(struct agent_config *c, char *err, size_t errlen);
/* Frees what config_load allocated and wipes the secret; NULL is fine. */
void config_free(struct agent_config *c);
/* Writes --help text to f. */
void config_usage(FILE *f);
/* 1 if unit is one of VAULTMESH_SERVICES. */
int config_has_service(const struct agent_config *c, const char *unit);
/* Removes VAULTMESH_ENROLL_SECRET from the environment, wiping its bytes. */
void config_scrub_env(void);
/*
 * 1 if host is the loopback: "localhost" (any case), an IPv4 address in
 * 127.0.0.0/8, or ::1 or ::ffff:127.x.y.z (with or without brackets).
 * Names other than localhost are not resolved: 0.
 */
int host_is_loopback(const char *host);

#endif
