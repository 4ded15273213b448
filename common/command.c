#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "command.h"
#include "util.h"

static int
args_none(json_t *args, char *why, size_t whylen)
{
	if (json_object_size(args) != 0) {
		snprintf(why, whylen, "invalid_args: takes no arguments");
		return -1;
	}
	return 0;
}

static int
args_unit_only(json_t *args, const char *allowed_extra, char *why,
    size_t whylen)
{
	const char *key;
	json_t	   *v;
	json_t	   *unit = json_object_get(args, "unit");

	json_object_foreach(args, key, v)
	{
		if (strcmp(key, "unit") != 0 &&
		    (allowed_extra == NULL ||
			strcmp(key, allowed_extra) != 0)) {
			snprintf(why, whylen,
			    "invalid_args: unknown argument \"%.32s\"", key);
			return -1;
		}
	}
	if (!json_is_string(unit) || !cmd_unit_valid(json_string_value(unit))) {
		snprintf(why, whylen,
		    "invalid_args: \"unit\" must be a systemd unit name");
		return -1;
	}
	return 0;
}

static int
args_unit(json_t *args, char *why, size_t whylen)
{
	return args_unit_only(args, NULL, why, whylen);
}

static int
args_journal(json_t *args, char *why, size_t whylen)
{
	json_t *lines = json_object_get(args, "lines");

	if (args_unit_only(args, "lines", why, whylen) == -1)
		return -1;
	if (lines != NULL &&
	    (!json_is_integer(lines) || json_integer_value(lines) < 1 ||
		json_integer_value(lines) > CMD_JOURNAL_LINES_MAX)) {
		snprintf(why, whylen,
		    "invalid_args: \"lines\" must be an integer from 1 to %d",
		    CMD_JOURNAL_LINES_MAX);
		return -1;
	}
	return 0;
}

const struct cmd_spec cmd_catalog[] = {
	{ "sovereign-scan", 300, 256 * 1024, args_none },
	{ "service-status", 10, 4 * 1024, args_unit },
	{ "service-restart", 60, 4 * 1024, args_unit },
	{ "journal-tail", 15, 128 * 1024, args_journal },
	{ "agent-info", 5, 8 * 1024, args_none },
	{ NULL, 0, 0, NULL },
};

const struct cmd_spec *
cmd_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	for (const struct cmd_spec *c = cmd_catalog; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
cmd_unit_valid(const char *s)
{
	size_t	    n;
	const char *dot;

	if (s == NULL || (n = strlen(s)) == 0 || n > CMD_UNIT_MAX)
		return 0;
	if (s[0] == '.' || s[0] == '-')
		return 0;
	for (const char *c = s; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || *c == ':' || *c == '-' ||
			*c == '_' || *c == '.' || *c == '@' || *c == '\\'))
			return 0;
	/* A unit type suffix is required: no bare names, no "..". */
	if ((dot = strrchr(s, '.')) == NULL || dot[1] == '\0' ||
	    strstr(s, "..") != NULL)
		return 0;
	return 1;
}

int
cmd_check(const char *name, json_t *args, char *why, size_t whylen)
{
	const struct cmd_spec *spec = cmd_lookup(name);
	json_t		      *empty = NULL;
	int		       rc;

	if (spec == NULL) {
		snprintf(why, whylen,
		    "unknown_command: \"%.32s\" is not in the catalog",
		    name ? name : "");
		return -1;
	}
	if (args == NULL)
		args = empty = json_object();
	if (!json_is_object(args)) {
		snprintf(why, whylen, "invalid_args: args must be an object");
		json_decref(empty);
		return -1;
	}
	rc = spec->check(args, why, whylen);
	json_decref(empty);
	return rc;
}

char *
b64_encode(const unsigned char *bin, size_t len)
{
	size_t n =
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out;

	if ((out = malloc(n)) == NULL)
		return NULL;
	sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

long
b64_decode(const char *s, unsigned char *out, size_t max)
{
	size_t len;

	if (s == NULL ||
	    sodium_base642bin(out, max, s, strlen(s), NULL, &len, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (long)len;
}

unsigned char *
sig_message(const char *domain, const char *payload, size_t len, size_t *mlen)
{
	size_t	       dlen = strlen(domain) + 1; /* with its NUL */
	unsigned char *m;

	if ((m = malloc(dlen + len)) == NULL)
		return NULL;
	memcpy(m, domain, dlen);
	memcpy(m + dlen, payload, len);
	*mlen = dlen + len;
	return m;
}

/* The signed message of a command: its domain, NUL, payload. */
static unsigned char *
signed_message(const char *payload, size_t len, size_t *mlen)
{
	return sig_message(CMD_SIG_DOMAIN, payload, len, mlen);
}

int
cmd_sign(const unsigned char sk[64], const char *payload, size_t len,
    char **payload_b64, char **sig_b64)
{
	unsigned char  sig[crypto_sign_BYTES];
	unsigned char *m;
	size_t	       mlen;

	*payload_b64 = *sig_b64 = NULL;
	if ((m = signed_message(payload, len, &mlen)) == NULL)
		return -1;
	crypto_sign_detached(sig, NULL, m, mlen, sk);
	free(m);
	*payload_b64 = b64_encode((const unsigned char *)payload, len);
	*sig_b64 = b64_encode(sig, sizeof(sig));
	if (*payload_b64 == NULL || *sig_b64 == NULL) {
		free(*payload_b64);
		free(*sig_b64);
		*payload_b64 = *sig_b64 = NULL;
		return -1;
	}
	return 0;
}

int
cmd_verify(const unsigned char pk[32], const char *payload_b64,
    const char *sig_b64, char **payload, size_t *len, char *why, size_t whylen)
{
	unsigned char  sig[crypto_sign_BYTES + 1];
	unsigned char *bin = NULL, *m = NULL;
	size_t	       mlen;
	long	       n;
	int	       rc = -1;

	*payload = NULL;
	if (payload_b64 == NULL || sig_b64 == NULL ||
	    strlen(payload_b64) > (CMD_PAYLOAD_MAX / 3 + 1) * 4) {
		snprintf(why, whylen,
		    "bad_encoding: payload or signature missing or too long");
		goto out;
	}
	if (b64_decode(sig_b64, sig, sizeof(sig)) != crypto_sign_BYTES) {
		snprintf(why, whylen,
		    "bad_signature: not a base64 Ed25519 signature");
		goto out;
	}
	if ((bin = malloc(CMD_PAYLOAD_MAX + 1)) == NULL) {
		snprintf(why, whylen, "internal: out of memory");
		goto out;
	}
	if ((n = b64_decode(payload_b64, bin, CMD_PAYLOAD_MAX)) < 0) {
		snprintf(why, whylen, "bad_encoding: payload is not base64");
		goto out;
	}
	if ((m = signed_message((const char *)bin, (size_t)n, &mlen)) == NULL) {
		snprintf(why, whylen, "internal: out of memory");
		goto out;
	}
	if (crypto_sign_verify_detached(sig, m, mlen, pk) != 0) {
		snprintf(why, whylen,
		    "bad_signature: signature does not verify "
		    "against the pinned command center key");
		goto out;
	}
	bin[n] = '\0';
	*payload = (char *)bin;
	*len = (size_t)n;
	bin = NULL;
	rc = 0;
out:
	free(bin);
	free(m);
	return rc;
}

void
cmd_payload_free(struct cmd_payload *p)
{
	if (p == NULL)
		return;
	json_decref(p->args);
	p->args = NULL;
}

int
cmd_payload_parse(const char *json, size_t len, struct cmd_payload *out,
    char *why, size_t whylen)
{
	json_error_t jerr;
	json_t	    *root, *cid, *nid, *seq, *cmd, *args, *iss, *exp;
	int	     rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		snprintf(why, whylen, "bad_payload: not a JSON object");
		goto out;
	}
	cid = json_object_get(root, "command_id");
	nid = json_object_get(root, "node_id");
	seq = json_object_get(root, "seq");
	cmd = json_object_get(root, "command");
	args = json_object_get(root, "args");
	iss = json_object_get(root, "issued_at");
	exp = json_object_get(root, "expires_at");
	if (!json_is_string(cid) || !uuid_valid(json_string_value(cid)) ||
	    !json_is_string(nid) || !uuid_valid(json_string_value(nid)) ||
	    !json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    !json_is_string(cmd) ||
	    strlen(json_string_value(cmd)) > CMD_NAME_MAX ||
	    (args != NULL && !json_is_object(args)) || !json_is_integer(iss) ||
	    !json_is_integer(exp)) {
		snprintf(why, whylen, "bad_payload: missing or invalid fields");
		goto out;
	}
	memcpy(out->command_id, json_string_value(cid), 37);
	memcpy(out->node_id, json_string_value(nid), 37);
	snprintf(out->command, sizeof(out->command), "%s",
	    json_string_value(cmd));
	out->seq = json_integer_value(seq);
	out->issued_at = json_integer_value(iss);
	out->expires_at = json_integer_value(exp);
	out->args = args != NULL ? json_incref(args) : json_object();
	rc = out->args != NULL ? 0 : -1;
out:
	json_decref(root);
	return rc;
}
