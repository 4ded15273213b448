/*
 * validate: requests from agents, checked field by field (validate.c).
 */
#ifndef VM_CC_VALIDATE_H
#define VM_CC_VALIDATE_H

#include <stddef.h>

#include <jansson.h>

#include "model.h"

struct heartbeat {
	const char   *node_id;
	const char   *hostname;
	const char   *os_profile;
	const char   *agent_version;
	const char   *pinned_key_id; /* NULL when absent */
	enum cf_state cloudflare;
	int	      services_down;
	double	      load1;	    /* NAN when absent */
	double	      mem_used_pct; /* NAN when absent */
	char	     *json;	    /* canonical compact JSON (malloc'd) */
};

struct enroll_req {
	const char *node_id;
	const char *hostname;
	const char *os_profile;
	const char *agent_version;
	const char *enroll_secret; /* NULL when absent */
	const char *enroll_key;	   /* the agent's own key; NULL when absent */
	const char *peer;	   /* where it came from (set by the route) */
};

/*
 * Each validates root (borrowed; the out strings point into it) and
 * returns 0, or -1 with the offending field's name and why in err.
 */
int validate_heartbeat(json_t *root, struct heartbeat *hb, char *err,
    size_t errlen);
/*
 * The same, keeping raw (the bytes root was parsed from) as hb->json when
 * they hold exactly the contract's fields and at most HEARTBEAT_RAW_MAX
 * bytes; otherwise the fields are serialised again.
 */
#define HEARTBEAT_RAW_MAX 8192
int validate_heartbeat_raw(json_t *root, const char *raw, size_t rawlen,
    struct heartbeat *hb, char *err, size_t errlen);
/*
 * The heartbeat fast path (yajl's callback parser, no tree): 1 when raw
 * is a heartbeat validate_heartbeat_raw() would accept and keep as it is
 * (the contract's fields once each, nothing else), with hb filled as that
 * would (its strings in *s, hb->json a copy of raw); 0 when it cannot
 * say so (an error, an extra field, any escape or non-ASCII byte): the
 * full validator then decides and words the error; -1 out of memory.
 */
struct hb_strings {
	char node_id[37];
	char hostname[HOSTNAME_MAX + 1];
	char os_profile[PROFILE_MAX + 1];
	char agent_version[VERSION_MAX + 1];
	char pinned_key_id[33];
};
/* 1 when p has no escape, no byte past ASCII, no control but \t\n\r. */
int json_plain(const char *p, size_t n, size_t *quotes);
int validate_heartbeat_fast(const char *raw, size_t rawlen,
    struct heartbeat *hb, struct hb_strings *s);
int
validate_enroll(json_t *root, struct enroll_req *er, char *err, size_t errlen);
int validate_hostname(const char *s);
/* 1 when s is a label key or value: [a-z0-9][a-z0-9._-]{0,62}. */
int validate_label(const char *s);
/*
 * Labels from an operator: a JSON object of at most LABELS_MAX string
 * values (validate_labels), or a form's text of key=value pairs separated
 * by commas or spaces (validate_labels_text; empty: none). Keys and values
 * pass validate_label(). Into out (LABELS_JSON_MAX + 1 bytes): the compact
 * JSON object, keys sorted. 0, or -1 with err.
 */
int validate_labels(const json_t *obj, char *out, size_t outlen, char *err,
    size_t errlen);
int validate_labels_text(const char *text, char *out, size_t outlen, char *err,
    size_t errlen);
int validate_profile(const char *s);

#endif
