#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cc.h"
#include "command.h"
#include "util.h"

int
validate_hostname(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= HOSTNAME_MAX && str_printable(s, HOSTNAME_MAX);
}

int
validate_profile(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > PROFILE_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
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
get_num(json_t *root, const char *field, double min, double max,
    int integer, char *err, size_t errlen)
{
	json_t	*v = json_object_get(root, field);
	double	 d;
	char	 why[96];

	if (v == NULL)
		return fail(err, errlen, field, "is required");
	/* null: the agent could not read this fact; never invented. */
	if (json_is_null(v))
		return 0;
	if (integer ? !json_is_integer(v) : !json_is_number(v))
		return fail(err, errlen, field, integer ?
		    "must be an integer or null" : "must be a number or null");
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
	size_t	 i;
	json_t	*e;

	if (svcs == NULL)
		return fail(err, errlen, "services", "is required");
	if (!json_is_array(svcs))
		return fail(err, errlen, "services", "must be an array");
	if (json_array_size(svcs) > SERVICES_MAX)
		return fail(err, errlen, "services", "has too many entries");
	*down = 0;
	json_array_foreach(svcs, i, e) {
		json_t *name = json_object_get(e, "name");
		json_t *state = json_object_get(e, "state");

		if (!json_is_object(e) || json_object_size(e) != 2 ||
		    !json_is_string(name) || !json_is_string(state))
			return fail(err, errlen, "services", "entries must be "
			    "{\"name\": string, \"state\": string}");
		if (!cmd_unit_valid(json_string_value(name)))
			return fail(err, errlen, "services", "name must be a "
			    "systemd unit name");
		if (!is_state(json_string_value(state)))
			return fail(err, errlen, "services", "state must be a "
			    "systemd ActiveState or \"unknown\"");
		if (state_is_down(json_string_value(state)))
			*down = 1;
	}
	return 0;
}

static const char *const hb_fields[] = {
	"node_id", "hostname", "os_profile", "agent_version", "uptime_secs",
	"load1", "mem_used_pct", "root_disk_used_pct", "cloudflare",
	"services", "sent_at",
};

int
validate_heartbeat(json_t *root, struct heartbeat *hb, char *err,
    size_t errlen)
{
	return validate_heartbeat_raw(root, NULL, 0, hb, err, errlen);
}

int
validate_heartbeat_raw(json_t *root, const char *raw, size_t rawlen,
    struct heartbeat *hb, char *err, size_t errlen)
{
	const char	*cf, *sent;
	json_t		*canon = NULL, *v;
	int		 rc = -1;

	memset(hb, 0, sizeof(*hb));
	if (!json_is_object(root))
		return fail(err, errlen, "body", "must be a JSON object");
	if (get_str(root, "node_id", is_uuid, "must be a lowercase UUID",
	    &hb->node_id, err, errlen) == -1 ||
	    get_str(root, "hostname", validate_hostname, "must be 1-255 "
	    "printable characters", &hb->hostname, err, errlen) == -1 ||
	    get_str(root, "os_profile", validate_profile, "must be 1-64 of "
	    "A-Z a-z 0-9 . _ -", &hb->os_profile, err, errlen) == -1 ||
	    get_str(root, "agent_version", is_version, "must be 1-64 "
	    "printable characters", &hb->agent_version, err, errlen) == -1 ||
	    get_num(root, "uptime_secs", 0, 1e11, 1, err, errlen) == -1 ||
	    get_num(root, "load1", 0, 1e6, 0, err, errlen) == -1 ||
	    get_num(root, "mem_used_pct", 0, 100, 0, err, errlen) == -1 ||
	    get_num(root, "root_disk_used_pct", 0, 100, 0, err, errlen) == -1 ||
	    get_str(root, "cloudflare", is_state, "must be up, down or "
	    "unknown", &cf, err, errlen) == -1 ||
	    check_services(json_object_get(root, "services"),
	    &hb->services_down, err, errlen) == -1 ||
	    get_str(root, "sent_at", is_time, "must be an RFC 3339 time",
	    &sent, err, errlen) == -1)
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
		return fail(err, errlen, "cloudflare", "must be up, down or "
		    "unknown");

	/*
	 * The body as received when it holds the contract's fields and
	 * nothing else (what agents send): no second serialisation.
	 */
	if (raw != NULL && rawlen <= HEARTBEAT_RAW_MAX && json_object_size(root) ==
	    sizeof(hb_fields) / sizeof(hb_fields[0])) {
		if ((hb->json = strndup(raw, rawlen)) == NULL)
			return fail(err, errlen, "body", "out of memory");
		return 0;
	}
	/* Otherwise the contract's fields as received, nothing else. */
	if ((canon = json_object()) == NULL)
		return fail(err, errlen, "body", "out of memory");
	for (size_t i = 0; i < sizeof(hb_fields) / sizeof(hb_fields[0]); i++)
		if (json_object_set(canon, hb_fields[i],
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
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");

	return n == 43 && s[n] == '\0';
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
	if (get_str(root, "node_id", is_uuid, "must be a lowercase UUID",
	    &er->node_id, err, errlen) == -1 ||
	    get_str(root, "hostname", validate_hostname, "must be 1-255 "
	    "printable characters", &er->hostname, err, errlen) == -1 ||
	    get_str(root, "os_profile", validate_profile, "must be 1-64 of "
	    "A-Z a-z 0-9 . _ -", &er->os_profile, err, errlen) == -1 ||
	    get_str(root, "agent_version", is_version, "must be 1-64 "
	    "printable characters", &er->agent_version, err, errlen) == -1)
		return -1;
	sec = json_object_get(root, "enroll_secret");
	if (sec != NULL && !json_is_null(sec)) {
		if (get_str(root, "enroll_secret", is_secret, "must be at most "
		    "256 bytes", &er->enroll_secret, err, errlen) == -1)
			return -1;
		if (*er->enroll_secret == '\0')
			er->enroll_secret = NULL;
	}
	sec = json_object_get(root, "enroll_key");
	if (sec != NULL && !json_is_null(sec) &&
	    get_str(root, "enroll_key", is_enroll_key, "must be 43 characters "
	    "of base64url (32 random bytes)", &er->enroll_key, err,
	    errlen) == -1)
		return -1;
	return 0;
}
