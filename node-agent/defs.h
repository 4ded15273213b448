/*
 * defs: the sizes and names every part of the agent shares.
 */
#ifndef VM_AGENT_DEFS_H
#define VM_AGENT_DEFS_H

#define AGENT_PROG "vaultmesh-node-agent"
#define AGENT_BODY_MAX (1024 * 1024) /* any answer from the network */
#define AGENT_TOKEN_MAX 512
#define AGENT_SERVICES_MAX 32
#define AGENT_METRICS_MAX 16
#define AGENT_PROFILE_MAX 64
#define AGENT_PATH_MAX 1024
#define AGENT_SECRET_MAX 256
#define AGENT_POLL_WAIT 30 /* seconds of long poll */
#define AGENT_STATE_LEN 32 /* systemd ActiveState etc. */
#define AGENT_SCAN_PORTS_MAX 64
#define AGENT_ENROLL_KEY_LEN 43 /* 32 bytes, base64url, no '=' */
#define AGENT_WD_GRACE_MS 60000 /* beyond what a thread announced */

#endif
