#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "keychain.h"
#include "validate.h"
#include "command.h"
#include "util.h"

int
validate_hostname(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= HOSTNAME_MAX && str_printable(s, HOSTNAME_MAX);
}

/* a-z or 0-9 (not the locale's classes). */
static int
label_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
validate_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LABEL_MAX || !label_alnum(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!label_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-')
			return 0;
	return 1;
}

/* The checked object into out, compact with sorted keys. */
static int
labels_out(const json_t *obj, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char *dump = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);

	if (dump == NULL || strlen(dump) >= outlen) {
		snprintf(err, errlen, "labels: out of memory");
		free(dump);
		return -1;
	}
	memcpy(out, dump, strlen(dump) + 1);
	free(dump);
	return 0;
}

int
validate_labels(const json_t *obj, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *k;
	json_t	   *v;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "labels: must be an object");
		return -1;
	}
	if (json_object_size(obj) > LABELS_MAX) {
		snprintf(err, errlen, "labels: at most %d", LABELS_MAX);
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)obj, k, v)
	{
		if (!validate_label(k) || !json_is_string(v) ||
		    !validate_label(json_string_value(v))) {
			snprintf(err, errlen,
			    "labels: keys and values must match "
			    "[a-z0-9][a-z0-9._-]{0,62}");
			return -1;
		}
	}
	return labels_out(obj, out, outlen, err, errlen);
}

int
validate_labels_text(const char *text, char *out, size_t outlen, char *err,
    size_t errlen)
{
	json_t *obj = json_object();
	char   *copy, *save = NULL;
	int	rc = -1;

	if (obj == NULL || (copy = strdup(text)) == NULL) {
		json_decref(obj);
		snprintf(err, errlen, "labels: out of memory");
		return -1;
	}
	for (char *pair = strtok_r(copy, ", \t\r\n", &save); pair != NULL;
	     pair = strtok_r(NULL, ", \t\r\n", &save)) {
		char *eq = strchr(pair, '=');

		if (eq == NULL) {
			snprintf(err, errlen, "labels: key=value pairs");
			goto out;
		}
		*eq = '\0';
		if (json_object_get(obj, pair) != NULL) {
			snprintf(err, errlen, "labels: %s twice", pair);
			goto out;
		}
		if (json_object_set_new(obj, pair, json_string(eq + 1)) == -1) {
			snprintf(err, errlen,
			    "labels: keys and values must match "
			    "[a-z0-9][a-z0-9._-]{0,62}");
			goto out;
		}
	}
	rc = validate_labels(obj, out, outlen, err, errlen);
out:
	free(copy);
	json_decref(obj);
	return rc;
}

int
validate_profile(const char *s)
{
	return str_name_valid(s, PROFILE_MAX);
}

static int
fail(char *err, size_t errlen, const char *field, const char *why)
{
	snprintf(err, errlen, "%s: %s", field, why);
	return -1;
}

/* A required string field checked by ok(); *out borrows from root. */
static int
get_str(json_t *root, const char *field, int (*ok)(const char *),
    const char *why, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, field);

	if (v == NULL)
		return fail(err, errlen, field, "is required");
	if (!json_is_string(v))
		return fail(err, errlen, field, "must be a string");
	if (!ok(json_string_value(v)))
		return fail(err, errlen, field, why);
	*out = json_string_value(v);
	return 0;
}

static int
get_num(json_t *root, const char *field, double min, double max, int integer,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(root, field);
	double	d;
	char	why[96];

	if (v == NULL)
		return fail(err, errlen, field, "is required");
	/* null: the agent could not read this fact; never invented. */
	if (json_is_null(v))
		return 0;
	if (integer ? !json_is_integer(v) : !json_is_number(v))
		return fail(err, errlen, field,
		    integer ? "must be an integer or null" :
			      "must be a number or null");
	d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max) {
		snprintf(why, sizeof(why), "must be from %g to %g", min, max);
		return fail(err, errlen, field, why);
	}
	return 0;
}

static int
is_uuid(const char *s)
{
	return uuid_valid(s);
}

static int
is_version(const char *s)
{
	return strlen(s) >= 1 && str_printable(s, VERSION_MAX);
}

static int
is_time(const char *s)
{
	time_t t;

	return time_parse_rfc3339(s, &t) == 0;
}

static int
is_state(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return 0;
	return 1;
}

/* systemd ActiveStates that mean a watched service is not running. */
static int
state_is_down(const char *s)
{
	return strcmp(s, "failed") == 0 || strcmp(s, "inactive") == 0 ||
	    strcmp(s, "deactivating") == 0;
}

static int
check_services(json_t *svcs, int *down, char *err, size_t errlen)
{
	size_t	i;
	json_t *e;

	if (svcs == NULL)
		return fail(err, errlen, "services", "is required");
	if (!json_is_array(svcs))
		return fail(err, errlen, "services", "must be an array");
	if (json_array_size(svcs) > SERVICES_MAX)
		return fail(err, errlen, "services", "has too many entries");
	*down = 0;
	json_array_foreach(svcs, i, e)
	{
		json_t *name = json_object_get(e, "name");
		json_t *state = json_object_get(e, "state");

		if (!json_is_object(e) || json_object_size(e) != 2 ||
		    !json_is_string(name) || !json_is_string(state))
			return fail(err, errlen, "services",
			    "entries must be "
			    "{\"name\": string, \"state\": string}");
		if (!cmd_unit_valid(json_string_value(name)))
			return fail(err, errlen, "services",
			    "name must be a systemd unit name");
		if (!is_state(json_string_value(state)))
			return fail(err, errlen, "services",
			    "state must be a "
			    "systemd ActiveState or \"unknown\"");
		if (state_is_down(json_string_value(state)))
			*down = 1;
	}
	return 0;
}

static const char *const hb_fields[] = {
	"node_id",
	"hostname",
	"os_profile",
	"agent_version",
	"uptime_secs",
	"load1",
	"mem_used_pct",
	"root_disk_used_pct",
	"cloudflare",
	"services",
	"sent_at",
	/* Optional (issue 19): the signing key the agent pinned. */
	"pinned_key_id",
};
/* The fields every heartbeat has (the ones before pinned_key_id). */
#define HB_REQUIRED 11

/* The four fields every agent body opens with. */
static int
get_identity(json_t *root, const char **node_id, const char **hostname,
    const char **os_profile, const char **agent_version, char *err,
    size_t errlen)
{
	if (get_str(root, "node_id", is_uuid, "must be a lowercase UUID",
		node_id, err, errlen) == -1 ||
	    get_str(root, "hostname", validate_hostname,
		"must be 1-255 printable characters", hostname, err,
		errlen) == -1 ||
	    get_str(root, "os_profile", validate_profile,
		"must be 1-64 of A-Z a-z 0-9 . _ -", os_profile, err,
		errlen) == -1 ||
	    get_str(root, "agent_version", is_version,
		"must be 1-64 printable characters", agent_version, err,
		errlen) == -1)
		return -1;
	return 0;
}

int
validate_heartbeat(json_t *root, struct heartbeat *hb, char *err, size_t errlen)
{
	return validate_heartbeat_raw(root, NULL, 0, hb, err, errlen);
}

int
validate_heartbeat_raw(json_t *root, const char *raw, size_t rawlen,
    struct heartbeat *hb, char *err, size_t errlen)
{
	const char *cf, *sent;
	json_t	   *canon = NULL, *v;
	int	    rc = -1;

	memset(hb, 0, sizeof(*hb));
	if (!json_is_object(root))
		return fail(err, errlen, "body", "must be a JSON object");
	if (get_identity(root, &hb->node_id, &hb->hostname, &hb->os_profile,
		&hb->agent_version, err, errlen) == -1 ||
	    get_num(root, "uptime_secs", 0, 1e11, 1, err, errlen) == -1 ||
	    get_num(root, "load1", 0, 1e6, 0, err, errlen) == -1 ||
	    get_num(root, "mem_used_pct", 0, 100, 0, err, errlen) == -1 ||
	    get_num(root, "root_disk_used_pct", 0, 100, 0, err, errlen) == -1 ||
	    get_str(root, "cloudflare", is_state, "must be up, down or unknown",
		&cf, err, errlen) == -1 ||
	    check_services(json_object_get(root, "services"),
		&hb->services_down, err, errlen) == -1 ||
	    get_str(root, "sent_at", is_time, "must be an RFC 3339 time", &sent,
		err, errlen) == -1)
		return -1;
	if (json_object_get(root, "pinned_key_id") != NULL &&
	    get_str(root, "pinned_key_id", key_id_valid,
		"must be a key id (32 lowercase hex characters)",
		&hb->pinned_key_id, err, errlen) == -1)
		return -1;
	v = json_object_get(root, "load1");
	hb->load1 = json_is_number(v) ? json_number_value(v) : NAN;
	v = json_object_get(root, "mem_used_pct");
	hb->mem_used_pct = json_is_number(v) ? json_number_value(v) : NAN;
	if (strcmp(cf, "up") == 0)
		hb->cloudflare = CF_UP;
	else if (strcmp(cf, "down") == 0)
		hb->cloudflare = CF_DOWN;
	else if (strcmp(cf, "unknown") == 0)
		hb->cloudflare = CF_UNKNOWN;
	else
		return fail(err, errlen, "cloudflare",
		    "must be up, down or unknown");

	/*
	 * The body as received when it holds the contract's fields and
	 * nothing else (what agents send): no second serialisation.
	 */
	if (raw != NULL && rawlen <= HEARTBEAT_RAW_MAX &&
	    json_object_size(root) ==
		HB_REQUIRED + (hb->pinned_key_id != NULL)) {
		if ((hb->json = strndup(raw, rawlen)) == NULL)
			return fail(err, errlen, "body", "out of memory");
		return 0;
	}
	/* Otherwise the contract's fields as received, nothing else. */
	if ((canon = json_object()) == NULL)
		return fail(err, errlen, "body", "out of memory");
	for (size_t i = 0; i < sizeof(hb_fields) / sizeof(hb_fields[0]); i++)
		if (json_object_get(root, hb_fields[i]) != NULL &&
		    json_object_set(canon, hb_fields[i],
			json_object_get(root, hb_fields[i])) == -1)
			goto out;
	hb->json = json_dumps(canon, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (hb->json == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		fail(err, errlen, "body", "out of memory");
	json_decref(canon);
	return rc;
}

/* 32 bytes in base64url without padding, as the agent makes it. */
static int
is_enroll_key(const char *s)
{
	return str_base64url(s, 43);
}

static int
is_secret(const char *s)
{
	return strlen(s) <= 256;
}

int
validate_enroll(json_t *root, struct enroll_req *er, char *err, size_t errlen)
{
	json_t *sec;

	memset(er, 0, sizeof(*er));
	if (!json_is_object(root))
		return fail(err, errlen, "body", "must be a JSON object");
	if (get_identity(root, &er->node_id, &er->hostname, &er->os_profile,
		&er->agent_version, err, errlen) == -1)
		return -1;
	sec = json_object_get(root, "enroll_secret");
	if (sec != NULL && !json_is_null(sec)) {
		if (get_str(root, "enroll_secret", is_secret,
			"must be at most 256 bytes", &er->enroll_secret, err,
			errlen) == -1)
			return -1;
		if (*er->enroll_secret == '\0')
			er->enroll_secret = NULL;
	}
	sec = json_object_get(root, "enroll_key");
	if (sec != NULL && !json_is_null(sec) &&
	    get_str(root, "enroll_key", is_enroll_key,
		"must be 43 characters of base64url (32 random bytes)",
		&er->enroll_key, err, errlen) == -1)
		return -1;
	return 0;
}

/* ---- the heartbeat fast path ------------------------------------------ */

/* strlen of each hb_fields entry, in the same order. */
static const size_t hb_field_len[] = { 7, 8, 10, 13, 11, 5, 12, 18, 10, 8, 7,
	13 };
_Static_assert(sizeof(hb_field_len) / sizeof(hb_field_len[0]) ==
	sizeof(hb_fields) / sizeof(hb_fields[0]),
    "one length per field");

enum { F_SVC = 9, F_PIN = 11, F_ALL = (1u << HB_REQUIRED) - 1 };

struct fast {
	struct heartbeat  *hb;
	struct hb_strings *s;
	unsigned	   seen;  /* bit i: hb_fields[i] */
	int		   field; /* hb_fields index; -1 none */
	int		   depth; /* 1 top, 2 services, 3 entry */
	size_t		   nsvc;
	int		   svc_key; /* 0 none, 1 name, 2 state */
	unsigned	   svc_seen;
	char		   svc_name[257];
	char		   svc_state[33];
	char		   sent_at[64];
	int		   done;
};

/* Copies a string the parser handed over; 0 when it does not fit. */
static int
fast_copy(char *dst, size_t dstlen, const unsigned char *s, size_t len)
{
	if (len >= dstlen || memchr(s, '\0', len) != NULL)
		return 0;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 1;
}

static int
fast_null(void *ctx)
{
	struct fast *x = ctx;

	/* null: only the numbers the agent could not read. */
	if (x->depth != 1 || x->field < 4 || x->field > 7)
		return 0;
	if (x->field == 5)
		x->hb->load1 = NAN;
	else if (x->field == 6)
		x->hb->mem_used_pct = NAN;
	x->field = -1;
	return 1;
}

/*
 * A number as jansson reads it: a token without fraction or exponent is
 * an integer (out of range: an error), any other a double (overflow: an
 * error); then the range validate_heartbeat_raw() checks.
 */
static int
fast_number(void *ctx, const char *s, size_t len)
{
	static const double lo[4] = { 0, 0, 0, 0 };
	static const double hi[4] = { 1e11, 1e6, 100, 100 };
	struct fast	   *x = ctx;
	char		    b[64], *end;
	double		    d;
	int		    integer, i = x->field - 4;

	if (x->depth != 1 || i < 0 || i > 3 || len == 0 || len >= sizeof(b))
		return 0;
	memcpy(b, s, len);
	b[len] = '\0';
	integer = strpbrk(b, ".eE") == NULL;
	errno = 0;
	if (integer) {
		long long ll = strtoll(b, &end, 10);

		if (errno != 0 || *end != '\0')
			return 0;
		d = (double)ll;
	} else {
		d = strtod(b, &end);
		if (*end != '\0' || (errno == ERANGE && isinf(d)))
			return 0;
	}
	if ((i == 0 && !integer) || !isfinite(d) || d < lo[i] || d > hi[i])
		return 0;
	if (i == 1)
		x->hb->load1 = d;
	else if (i == 2)
		x->hb->mem_used_pct = d;
	x->field = -1;
	return 1;
}

/* Copies a string into dst and checks it with ok(); 0 when either fails. */
static int
fast_str(char *dst, size_t dstlen, const unsigned char *s, size_t len,
    int (*ok)(const char *))
{
	return fast_copy(dst, dstlen, s, len) && ok(dst);
}

static int
fast_string(void *ctx, const unsigned char *s, size_t len)
{
	struct fast	  *x = ctx;
	struct hb_strings *hs = x->s;
	int		   ok = 0;

	if (x->depth == 3) {
		if (x->svc_key == 1)
			ok = fast_str(x->svc_name, sizeof(x->svc_name), s, len,
			    cmd_unit_valid);
		else if (x->svc_key == 2 &&
		    (ok = fast_str(x->svc_state, sizeof(x->svc_state), s, len,
			 is_state)) &&
		    state_is_down(x->svc_state))
			x->hb->services_down = 1;
		x->svc_key = 0;
		return ok;
	}
	if (x->depth != 1)
		return 0;
	switch (x->field) {
	case 0:
		ok =
		    fast_str(hs->node_id, sizeof(hs->node_id), s, len, is_uuid);
		break;
	case 1:
		ok = fast_str(hs->hostname, sizeof(hs->hostname), s, len,
		    validate_hostname);
		break;
	case 2:
		ok = fast_str(hs->os_profile, sizeof(hs->os_profile), s, len,
		    validate_profile);
		break;
	case 3:
		ok = fast_str(hs->agent_version, sizeof(hs->agent_version), s,
		    len, is_version);
		break;
	case 8:
		ok = 1;
		if (len == 2 && memcmp(s, "up", 2) == 0)
			x->hb->cloudflare = CF_UP;
		else if (len == 4 && memcmp(s, "down", 4) == 0)
			x->hb->cloudflare = CF_DOWN;
		else if (len == 7 && memcmp(s, "unknown", 7) == 0)
			x->hb->cloudflare = CF_UNKNOWN;
		else
			ok = 0;
		break;
	case 10:
		ok = fast_str(x->sent_at, sizeof(x->sent_at), s, len, is_time);
		break;
	case F_PIN:
		ok = fast_str(hs->pinned_key_id, sizeof(hs->pinned_key_id), s,
		    len, key_id_valid);
		break;
	}
	x->field = -1;
	return ok;
}

static int
fast_start_map(void *ctx)
{
	struct fast *x = ctx;

	if (x->depth == 0 && !x->done) {
		x->depth = 1;
		return 1;
	}
	if (x->depth == 2) { /* a services entry */
		if (++x->nsvc > SERVICES_MAX)
			return 0;
		x->depth = 3;
		x->svc_key = 0;
		x->svc_seen = 0;
		return 1;
	}
	return 0;
}

static int
fast_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct fast *x = ctx;
	size_t	     i;

	if (x->depth == 3) {
		if (x->svc_key != 0)
			return 0;
		if (len == 4 && memcmp(s, "name", 4) == 0)
			x->svc_key = 1;
		else if (len == 5 && memcmp(s, "state", 5) == 0)
			x->svc_key = 2;
		else
			return 0;
		if (x->svc_seen & (1u << x->svc_key))
			return 0; /* a duplicate */
		x->svc_seen |= 1u << x->svc_key;
		return 1;
	}
	if (x->depth != 1 || x->field != -1)
		return 0;
	for (i = 0; i < sizeof(hb_fields) / sizeof(hb_fields[0]); i++)
		if (hb_field_len[i] == len && memcmp(hb_fields[i], s, len) == 0)
			break;
	if (i == sizeof(hb_fields) / sizeof(hb_fields[0]) ||
	    (x->seen & (1u << i)))
		return 0; /* not the contract's, or a duplicate */
	x->seen |= 1u << i;
	x->field = (int)i;
	return 1;
}

static int
fast_end_map(void *ctx)
{
	struct fast *x = ctx;

	if (x->depth == 3 && x->svc_seen == 6 && x->svc_key == 0) {
		x->depth = 2;
		return 1;
	}
	if (x->depth == 1 && x->field == -1 && (x->seen & F_ALL) == F_ALL) {
		x->depth = 0;
		x->done = 1;
		return 1;
	}
	return 0;
}

static int
fast_start_array(void *ctx)
{
	struct fast *x = ctx;

	if (x->depth != 1 || x->field != F_SVC)
		return 0;
	x->depth = 2;
	return 1;
}

static int
fast_end_array(void *ctx)
{
	struct fast *x = ctx;

	if (x->depth != 2)
		return 0;
	x->depth = 1;
	x->field = -1;
	return 1;
}

static int
fast_refuse_bool(void *ctx, int b)
{
	(void)ctx;
	(void)b;
	return 0;
}

static const yajl_callbacks fast_cbs = {
	.yajl_null = fast_null,
	.yajl_boolean = fast_refuse_bool,
	.yajl_number = fast_number,
	.yajl_string = fast_string,
	.yajl_start_map = fast_start_map,
	.yajl_map_key = fast_map_key,
	.yajl_end_map = fast_end_map,
	.yajl_start_array = fast_start_array,
	.yajl_end_array = fast_end_array,
};

/* Exact per byte: 0x80 where x's byte equals c (no borrow across bytes). */
static inline uint64_t
bytes_eq(uint64_t x, unsigned char c)
{
	uint64_t y = x ^ (0x0101010101010101ULL * c);
	uint64_t t = (y & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL;

	return ~(t | y | 0x7f7f7f7f7f7f7f7fULL);
}

/* Exact per byte: 0x80 where x's byte is below n (n <= 0x80). */
static inline uint64_t
bytes_below(uint64_t x, unsigned char n)
{
	uint64_t t = (x & 0x7f7f7f7f7f7f7f7fULL) +
	    0x0101010101010101ULL * (unsigned char)(0x80 - n);

	return ~(t | x) & 0x8080808080808080ULL;
}

/* One byte of json_plain(): 0 when it is not plain. */
static inline int
plain_byte(unsigned char c, size_t *quotes)
{
	if (c == '\\' || c >= 0x7f ||
	    (c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
		return 0;
	*quotes += c == '"';
	return 1;
}

/*
 * 1 when p holds no backslash, no byte past ASCII and no control
 * character but tab and line ends; *quotes counts its quotes. Eight
 * bytes at a time: a word with anything to look at is done bytewise.
 */
int
json_plain(const char *p, size_t n, size_t *quotes)
{
	size_t i = 0;

	*quotes = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, p + i, sizeof(x));
		if ((bytes_below(x, 0x20) | (x & 0x8080808080808080ULL) |
			bytes_eq(x, 0x7f) | bytes_eq(x, '\\')) != 0) {
			for (size_t k = i; k < i + 8; k++)
				if (!plain_byte((unsigned char)p[k], quotes))
					return 0;
			continue;
		}
		*quotes += (size_t)__builtin_popcountll(bytes_eq(x, '"'));
	}
	for (; i < n; i++)
		if (!plain_byte((unsigned char)p[i], quotes))
			return 0;
	return 1;
}

int
validate_heartbeat_fast(const char *raw, size_t rawlen, struct heartbeat *hb,
    struct hb_strings *s)
{
	struct fast x;
	yajl_handle h;
	size_t	    quotes = 0;
	int	    ok;

	memset(hb, 0, sizeof(*hb));
	if (raw == NULL || rawlen == 0 || rawlen > HEARTBEAT_RAW_MAX)
		return 0;
	/*
	 * Escapes, bytes past ASCII and control characters are left to
	 * jansson: where two parsers could decode them differently, the one
	 * that words the errors decides. An odd number of quotes too: yajl
	 * takes a string left open after the document for a token still to
	 * come, not for trailing garbage (found by fuzz_heartbeat).
	 */
	if (!json_plain(raw, rawlen, &quotes) || quotes % 2 != 0)
		return 0;
	memset(&x, 0, sizeof(x));
	x.hb = hb;
	x.s = s;
	x.field = -1;
	hb->load1 = hb->mem_used_pct = NAN;
	if ((h = yajl_alloc(&fast_cbs, NULL, &x)) == NULL)
		return -1;
	ok = yajl_parse(h, (const unsigned char *)raw, rawlen) ==
		yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok && x.done;
	yajl_free(h);
	if (!ok) {
		memset(hb, 0, sizeof(*hb));
		return 0;
	}
	hb->node_id = s->node_id;
	hb->hostname = s->hostname;
	hb->os_profile = s->os_profile;
	hb->agent_version = s->agent_version;
	hb->pinned_key_id = x.seen & (1u << F_PIN) ? s->pinned_key_id : NULL;
	if ((hb->json = strndup(raw, rawlen)) == NULL)
		return -1;
	return 1;
}
