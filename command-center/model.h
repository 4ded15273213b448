/*
 * model: the few facts every part of the command center shares: the sizes
 * of a node's fields, its statuses, and attention (attention.c: pure
 * functions of a node's state).
 */
#ifndef VM_CC_MODEL_H
#define VM_CC_MODEL_H

#include <stdint.h>

#define TOKEN_HASH_LEN 32
#define HOSTNAME_MAX 255
#define PROFILE_MAX 64
/* Labels: at most LABELS_MAX key=value pairs, each side LABEL_MAX bytes. */
#define LABELS_MAX 16
#define LABEL_MAX 63
/* Their compact JSON object: {"k":"v",...}. */
#define LABELS_JSON_MAX (2 + LABELS_MAX * (2 * LABEL_MAX + 6))
#define VERSION_MAX 64
#define SERVICES_MAX 64
#define FINDING_SEVERITIES 5

/*
 * NODE_DELETED: an operator deleted (or rejected) the node. Its row and
 * history stay, its id stays taken, it is shown nowhere.
 */
enum node_status { NODE_PENDING, NODE_APPROVED, NODE_REVOKED, NODE_DELETED };
enum cf_state { CF_UNKNOWN, CF_UP, CF_DOWN };
enum level { LEVEL_GREEN, LEVEL_YELLOW, LEVEL_RED };

/* Reasons as bits, in the contract's order. */
enum reason {
	R_HEARTBEAT_STALE = 1u << 0,
	R_CLOUDFLARE_DOWN = 1u << 1,
	R_SERVICES_DOWN = 1u << 2,
	R_NEVER_SCANNED = 1u << 3,
	R_SCAN_STALE = 1u << 4,
	R_CRITICAL_FINDINGS = 1u << 5,
	R_HIGH_FINDINGS = 1u << 6,
};
#define REASON_COUNT 7

/*
 * What a selector (target.c) sees of a node: strings borrowed from
 * whoever holds the node (labels: its compact JSON object).
 */
struct node_facts {
	const char	*node_id;
	const char	*hostname;
	const char	*os_profile;
	const char	*labels;
	const char	*pinned_key_id; /* "" when not known */
	enum node_status status;
	enum level	 level;
	unsigned	 reasons; /* enum reason bits */
};
/* 1 when the node is one the selector arg selects. */
typedef int (*node_pred)(const struct node_facts *nf, const void *arg);

struct thresholds {
	int64_t heartbeat_stale_secs;
	int64_t scan_stale_secs;
};

/* What attention is computed from. Times are Unix seconds, 0 = never. */
struct attn_input {
	int64_t	      last_heartbeat_at;
	int64_t	      last_scan_at;
	enum cf_state cloudflare;
	int	      services_down;
	int	      critical;
	int	      high;
};

unsigned   attention_reasons(const struct attn_input *in, int64_t now,
      const struct thresholds *t);
enum level attention_level(unsigned reasons);
/*
 * When time alone next changes reasons (computed at some now from in): a
 * fresh heartbeat or a fresh scan going stale; INT64_MAX for never.
 */
int64_t	    attention_due(const struct attn_input *in, unsigned reasons,
	const struct thresholds *t);
const char *reason_name(unsigned bit);
const char *level_name(enum level l);
const char *status_name(enum node_status s);
int	    status_parse(const char *s, enum node_status *out);

#endif
