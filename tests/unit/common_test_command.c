/*
 * Unit tests of common/command.c: the command catalog, argument checks and
 * the signed-command format of CONTRACT.md
 * (Ed25519 over "vaultmesh.command.v1" NUL payload).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "command.h"
#include "testlib.h"

#define CID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define NID "7c9e6679-7425-40de-944b-e07fc1f90ae7"

/* ---- catalog ------------------------------------------------------------ */

static void
cmd_lookup_finds_every_catalog_command(void **state)
{
	static const char *const names[] = {
		"sovereign-scan",
		"service-status",
		"service-restart",
		"journal-tail",
		"agent-info",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct cmd_spec *c = cmd_lookup(names[i]);

		assert_non_null(c);
		assert_string_equal(c->name, names[i]);
		assert_true(c->timeout_secs > 0);
		assert_true(c->output_cap > 0);
		assert_non_null(c->check);
	}
}

static void
cmd_lookup_unknown_case_and_null_give_null(void **state)
{
	static const char *const unknown[] = {
		"rm-rf",
		"",
		"Agent-Info",
		"agent-info ",
		"agent-inf",
		NULL,
	};

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(unknown); i++)
		if (cmd_lookup(unknown[i]) != NULL)
			fail_msg("found \"%s\"",
			    unknown[i] ? unknown[i] : "(null)");
}

static void
cmd_catalog_names_are_unique_and_short(void **state)
{
	(void)state;
	for (const struct cmd_spec *a = cmd_catalog; a->name != NULL; a++) {
		assert_true(strlen(a->name) <= CMD_NAME_MAX);
		assert_ptr_equal(cmd_lookup(a->name), a);
	}
}

static void
cmd_unit_valid_takes_systemd_unit_names_only(void **state)
{
	static const char *const good[] = {
		"nginx.service",
		"a@b.timer",
		"getty@tty1.service",
		"foo-bar_baz.socket",
		"sys-devices-x.device",
		"x.y",
		"systemd-fsck@dev-disk-by\\x2duuid-1234.service",
		"cloudflared.service",
		"user@1000.service",
		"a:b.mount",
		"Upper.Service",
	};
	static const char *const bad[] = {
		/* Characters a unit name has not. */
		"a b.service",
		"a/b.service",
		"../x.service",
		"a;b.service",
		"a$b.service",
		"a`id`.service",
		"a\nb.service",
		"a\tb.service",
		"\xc3\xa9.service",
		"a*.service",
		"a'b.service",
		"a\"b.service",
		"a|b.service",
		"a>b.service",
		/* No suffix. */
		"nginx",
		"nginx.",
		"",
		NULL,
		/* "..", a leading dot or dash. */
		"a..service",
		"..service",
		"x...",
		".hidden.service",
		"-n.service",
		"--help.service",
	};

	(void)state;
	TL_EXPECT_SPLIT(cmd_unit_valid, good, bad);
}

static void
cmd_unit_valid_enforces_length_limit(void **state)
{
	char name[CMD_UNIT_MAX + 2];

	(void)state;
	memset(name, 'a', sizeof(name));
	memcpy(name + CMD_UNIT_MAX - 8, ".service", 8);
	name[CMD_UNIT_MAX] = '\0';
	assert_int_equal(strlen(name), CMD_UNIT_MAX);
	assert_true(cmd_unit_valid(name));
	memset(name, 'a', sizeof(name));
	memcpy(name + CMD_UNIT_MAX + 1 - 8, ".service", 8);
	name[CMD_UNIT_MAX + 1] = '\0';
	assert_false(cmd_unit_valid(name));
}

/* ---- cmd_check ---------------------------------------------------------- */

/* cmd_check on args given as JSON text (NULL: no args). */
static int
check(const char *name, const char *args_json, char *why, size_t whylen)
{
	json_t *args = NULL;
	int	rc;

	if (args_json != NULL) {
		args = json_loads(args_json, JSON_DECODE_ANY, NULL);
		assert_non_null(args);
	}
	why[0] = '\0';
	rc = cmd_check(name, args, why, whylen);
	json_decref(args);
	return rc;
}

/* Expects args taken (ok) or refused as invalid_args. */
static void
expect_args(const char *name, const char *args, int ok)
{
	char why[CMD_WHY_MAX];
	int  rc = check(name, args, why, sizeof(why));

	if (ok && rc != 0)
		fail_msg("%s %s rejected: %s", name, args ? args : "(null)",
		    why);
	if (!ok && rc != -1)
		fail_msg("%s %s accepted", name, args ? args : "(null)");
	if (!ok && strncmp(why, "invalid_args:", 13) != 0)
		fail_msg("%s %s: why is \"%s\"", name, args ? args : "(null)",
		    why);
}

/* Arguments of each command: taken, or refused as invalid_args. */
static const struct args_case {
	const char *command;
	const char *args; /* JSON text; NULL: none */
	int	    ok;
} args_cases[] = {
#define TAKES(cmd, args)     \
	{                    \
		cmd, args, 1 \
	}
#define REFUSES(cmd, args)   \
	{                    \
		cmd, args, 0 \
	}
#define LINES(n, ok)                                                      \
	{                                                                 \
		"journal-tail",                                           \
		    "{\"unit\": \"nginx.service\", \"lines\": " n "}", ok \
	}
	/* sovereign-scan and agent-info take none. */
	TAKES("sovereign-scan", NULL),
	TAKES("sovereign-scan", "{}"),
	REFUSES("sovereign-scan", "{\"unit\": \"x.service\"}"),
	REFUSES("sovereign-scan", "{\"deep\": true}"),
	TAKES("agent-info", NULL),
	TAKES("agent-info", "{}"),
	REFUSES("agent-info", "{\"x\": 1}"),
	/* journal-tail: a unit, and 1 to 500 lines. */
	TAKES("journal-tail", "{\"unit\": \"nginx.service\"}"),
	LINES("1", 1),
	LINES("500", 1),
	LINES("42", 1),
	LINES("0", 0),
	LINES("501", 0),
	LINES("-1", 0),
	LINES("\"10\"", 0),
	LINES("10.5", 0),
	LINES("1.0", 0),
	LINES("null", 0),
	LINES("9223372036854775807", 0),
	REFUSES("journal-tail", "{\"lines\": 10}"),
	REFUSES("journal-tail",
	    "{\"unit\": \"nginx.service\", \"follow\": true}"),
	/* Arguments that are not an object. */
	REFUSES("agent-info", "[]"),
	REFUSES("service-status", "[\"nginx.service\"]"),
	REFUSES("journal-tail", "\"nginx.service\""),
	REFUSES("sovereign-scan", "null"),
	REFUSES("sovereign-scan", "7"),
#undef TAKES
#undef REFUSES
#undef LINES
};

/* service-status and service-restart: a valid unit and nothing else. */
static const char *const unit_ok[] = {
	"{\"unit\": \"nginx.service\"}",
	"{\"unit\": \"getty@tty1.service\"}",
};
static const char *const unit_bad[] = {
	NULL, /* missing */
	"{}",
	"{\"unit\": null}",
	"{\"unit\": 5}",
	"{\"unit\": [\"a.service\"]}",
	"{\"unit\": \"\"}",
	"{\"unit\": \"nginx\"}",
	"{\"unit\": \"../x.service\"}",
	"{\"unit\": \"-a.service\"}",
	"{\"unit\": \"a.service\", \"force\": true}",
	/* "lines" belongs to journal-tail only */
	"{\"unit\": \"a.service\", \"lines\": 5}",
};

static void
cmd_check_takes_each_commands_args_only(void **state)
{
	static const char *const svc[] = {
		"service-status",
		"service-restart",
	};

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(args_cases); i++)
		expect_args(args_cases[i].command, args_cases[i].args,
		    args_cases[i].ok);
	for (size_t c = 0; c < TL_NITEMS(svc); c++) {
		for (size_t i = 0; i < TL_NITEMS(unit_ok); i++)
			expect_args(svc[c], unit_ok[i], 1);
		for (size_t i = 0; i < TL_NITEMS(unit_bad); i++)
			expect_args(svc[c], unit_bad[i], 0);
	}
}

static void
cmd_check_unknown_command_says_unknown_command(void **state)
{
	char why[CMD_WHY_MAX];

	(void)state;
	assert_int_equal(check("rm-rf", NULL, why, sizeof(why)), -1);
	assert_true(strncmp(why, "unknown_command:", 16) == 0);
	assert_int_equal(check(NULL, NULL, why, sizeof(why)), -1);
	assert_true(strncmp(why, "unknown_command:", 16) == 0);
	assert_int_equal(check("", "{}", why, sizeof(why)), -1);
	assert_true(strncmp(why, "unknown_command:", 16) == 0);
}

static void
cmd_check_why_is_truncated_to_whylen(void **state)
{
	char	why[8];
	json_t *args = json_pack("{s:i}", "very-long-argument-name", 1);

	(void)state;
	memset(why, 'z', sizeof(why));
	assert_int_equal(cmd_check("agent-info", args, why, sizeof(why)), -1);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	json_decref(args);
}

/* ---- signing ------------------------------------------------------------ */

static const char payload_json[] =
    "{\"command_id\":\"" CID "\",\"node_id\":\"" NID
    "\",\"seq\":7,\"command\":\"service-status\",\"args\":{\"unit\":"
    "\"nginx.service\"},\"issued_at\":1795773600,\"expires_at\":1795777200}";

/* Two key pairs, and payload_json signed with the first (base64). */
struct keys {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk2[crypto_sign_SECRETKEYBYTES];
	char	      pb64[512], sb64[128];
};

static int
keys_setup(void **state)
{
	struct keys *k = tl_state_new(state, sizeof(*k));
	char	    *pb64, *sb64;

	crypto_sign_keypair(k->pk, k->sk);
	crypto_sign_keypair(k->pk2, k->sk2);
	assert_int_equal(
	    cmd_sign(k->sk, payload_json, strlen(payload_json), &pb64, &sb64),
	    0);
	assert_true(strlen(pb64) < sizeof(k->pb64));
	assert_true(strlen(sb64) < sizeof(k->sb64));
	snprintf(k->pb64, sizeof(k->pb64), "%s", pb64);
	snprintf(k->sb64, sizeof(k->sb64), "%s", sb64);
	free(pb64);
	free(sb64);
	return 0;
}

static void
b64_encode_decode_round_trip(void **state)
{
	unsigned char bin[256], out[256];
	char	     *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= sizeof(bin); n += 37) {
		s = b64_encode(bin, n);
		assert_non_null(s);
		assert_int_equal(b64_decode(s, out, sizeof(out)), (long)n);
		assert_memory_equal(out, bin, n);
		free(s);
	}
	assert_int_equal(b64_decode("!!!!", out, sizeof(out)), -1);
	assert_int_equal(b64_decode(NULL, out, sizeof(out)), -1);
	/* Too long for the output buffer */
	s = b64_encode(bin, 10);
	assert_int_equal(b64_decode(s, out, 9), -1);
	free(s);
}

static void
cmd_sign_then_verify_round_trips_payload(void **state)
{
	struct keys  *k = *state;
	char	     *payload = NULL;
	char	      why[CMD_WHY_MAX] = "";
	size_t	      len = 0;
	unsigned char sig[crypto_sign_BYTES + 8];

	assert_int_equal(b64_decode(k->sb64, sig, sizeof(sig)),
	    crypto_sign_BYTES);
	assert_int_equal(cmd_verify(k->pk, k->pb64, k->sb64, &payload, &len,
			     why, sizeof(why)),
	    0);
	assert_non_null(payload);
	assert_int_equal(len, strlen(payload_json));
	assert_memory_equal(payload, payload_json, len);
	assert_int_equal(payload[len], '\0');
	free(payload);
}

/* "vaultmesh.command.v1" NUL payload_json, with dlen of the domain's bytes. */
static unsigned char *
domain_and_payload(size_t dlen, size_t *len)
{
	size_t	       plen = strlen(payload_json);
	unsigned char *m = malloc(dlen + plen);

	assert_non_null(m);
	memcpy(m, "vaultmesh.command.v1\0", dlen);
	memcpy(m + dlen, payload_json, plen);
	*len = dlen + plen;
	return m;
}

static void
cmd_signature_is_over_domain_nul_payload(void **state)
{
	struct keys   *k = *state;
	unsigned char  sig[crypto_sign_BYTES];
	unsigned char *m;
	size_t	       mlen;

	assert_string_equal(CMD_SIG_DOMAIN, "vaultmesh.command.v1");
	assert_int_equal(b64_decode(k->sb64, sig, sizeof(sig)),
	    crypto_sign_BYTES);
	/* An independent verifier that knows only the contract agrees. */
	m = domain_and_payload(strlen(CMD_SIG_DOMAIN) + 1, &mlen);
	assert_int_equal(crypto_sign_verify_detached(sig, m, mlen, k->pk), 0);
	free(m);
}

static void
expect_verify_fails(const unsigned char *pk, const char *pb64, const char *sb64,
    const char *why_prefix)
{
	char  *payload = (char *)1;
	char   why[CMD_WHY_MAX] = "";
	size_t len = 0;

	assert_int_equal(
	    cmd_verify(pk, pb64, sb64, &payload, &len, why, sizeof(why)), -1);
	assert_null(payload);
	assert_true(why[0] != '\0');
	if (why_prefix != NULL &&
	    strncmp(why, why_prefix, strlen(why_prefix)) != 0)
		fail_msg("why \"%s\" does not start with %s", why, why_prefix);
}

/* Expects the signature sig (n bytes, base64'd here) of pb64 refused. */
static void
expect_signature_refused(const struct keys *k, const char *pb64,
    const unsigned char *sig, size_t n)
{
	char *tb64 = b64_encode(sig, n);

	assert_non_null(tb64);
	expect_verify_fails(k->pk, pb64, tb64, "bad_signature");
	free(tb64);
}

static void
cmd_verify_rejects_tampered_payload(void **state)
{
	struct keys *k = *state;
	char	    *tb64;
	char	     tampered[sizeof(payload_json)];

	memcpy(tampered, payload_json, sizeof(payload_json));
	/* seq 7 becomes seq 8: still valid JSON, one byte changed */
	strstr(tampered, "\"seq\":7")[6] = '8';
	assert_non_null(strstr(tampered, "\"seq\":8,"));
	tb64 = b64_encode((const unsigned char *)tampered, strlen(tampered));
	assert_non_null(tb64);
	expect_verify_fails(k->pk, tb64, k->sb64, "bad_signature");
	free(tb64);
	/* Dropping the last byte also breaks it. */
	tb64 = b64_encode((const unsigned char *)payload_json,
	    strlen(payload_json) - 1);
	expect_verify_fails(k->pk, tb64, k->sb64, "bad_signature");
	free(tb64);
}

static void
cmd_verify_rejects_tampered_signature(void **state)
{
	struct keys  *k = *state;
	unsigned char sig[crypto_sign_BYTES];

	for (size_t byte = 0; byte < crypto_sign_BYTES; byte += 21) {
		assert_int_equal(b64_decode(k->sb64, sig, sizeof(sig)),
		    crypto_sign_BYTES);
		sig[byte] ^= 0x01;
		expect_signature_refused(k, k->pb64, sig, sizeof(sig));
	}
}

static void
cmd_verify_rejects_wrong_key(void **state)
{
	struct keys *k = *state;
	char	    *pb64, *sb64;

	assert_int_equal(
	    cmd_sign(k->sk2, payload_json, strlen(payload_json), &pb64, &sb64),
	    0);
	expect_verify_fails(k->pk, pb64, sb64, "bad_signature");
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_bad_base64(void **state)
{
	struct keys *k = *state;

	expect_verify_fails(k->pk, "!!not base64!!", k->sb64, NULL);
	expect_verify_fails(k->pk, k->pb64, "!!not base64!!", NULL);
	expect_verify_fails(k->pk, k->pb64, "", NULL);
	expect_verify_fails(k->pk, NULL, k->sb64, NULL);
	expect_verify_fails(k->pk, k->pb64, NULL, NULL);
}

static void
cmd_verify_rejects_signature_of_wrong_length(void **state)
{
	struct keys  *k = *state;
	unsigned char sig[crypto_sign_BYTES + 1];

	assert_int_equal(b64_decode(k->sb64, sig, sizeof(sig)),
	    crypto_sign_BYTES);
	expect_signature_refused(k, k->pb64, sig, crypto_sign_BYTES - 1);
	sig[crypto_sign_BYTES] = 0;
	expect_signature_refused(k, k->pb64, sig, crypto_sign_BYTES + 1);
}

/*
 * A bare Ed25519 signature of the message that is dlen bytes of the
 * domain (and its NUL) then payload_json is refused over payload_json.
 */
static void
expect_domain_refused(const struct keys *k, size_t dlen)
{
	unsigned char  sig[crypto_sign_BYTES];
	unsigned char *m;
	char	      *pb64;
	size_t	       mlen;

	m = domain_and_payload(dlen, &mlen);
	crypto_sign_detached(sig, NULL, m, mlen, k->sk);
	pb64 = b64_encode((const unsigned char *)payload_json,
	    strlen(payload_json));
	expect_signature_refused(k, pb64, sig, sizeof(sig));
	free(pb64);
	free(m);
}

static void
cmd_verify_rejects_signature_without_domain_prefix(void **state)
{
	/* The payload bytes alone. */
	expect_domain_refused(*state, 0);
}

static void
cmd_verify_rejects_signature_with_domain_but_no_nul(void **state)
{
	expect_domain_refused(*state, strlen(CMD_SIG_DOMAIN));
}

/* k's signature of a payload of n bytes of 'p' (free both). */
static void
sign_big(const struct keys *k, size_t n, char **big, char **pb64, char **sb64)
{
	*big = malloc(n);
	assert_non_null(*big);
	memset(*big, 'p', n);
	assert_int_equal(cmd_sign(k->sk, *big, n, pb64, sb64), 0);
}

static void
cmd_verify_accepts_payload_of_exactly_max_size(void **state)
{
	struct keys *k = *state;
	char	    *big, *pb64, *sb64, *payload = NULL;
	char	     why[CMD_WHY_MAX];
	size_t	     len = 0;

	sign_big(k, CMD_PAYLOAD_MAX, &big, &pb64, &sb64);
	assert_int_equal(
	    cmd_verify(k->pk, pb64, sb64, &payload, &len, why, sizeof(why)), 0);
	assert_int_equal(len, CMD_PAYLOAD_MAX);
	assert_memory_equal(payload, big, CMD_PAYLOAD_MAX);
	free(payload);
	free(pb64);
	free(sb64);
	free(big);
}

static void
cmd_verify_rejects_oversized_payload(void **state)
{
	static const size_t sizes[] = { CMD_PAYLOAD_MAX + 1,
		CMD_PAYLOAD_MAX + 3, CMD_PAYLOAD_MAX * 4 };
	struct keys	   *k = *state;
	char		   *big, *pb64, *sb64;

	for (size_t i = 0; i < TL_NITEMS(sizes); i++) {
		sign_big(k, sizes[i], &big, &pb64, &sb64);
		expect_verify_fails(k->pk, pb64, sb64, "bad_encoding");
		free(pb64);
		free(sb64);
		free(big);
	}
}

/* ---- payload parsing ------------------------------------------------------ */

static int
parse(const char *j, struct cmd_payload *p)
{
	char why[CMD_WHY_MAX] = "";

	return cmd_payload_parse(j, strlen(j), p, why, sizeof(why));
}

static void
cmd_payload_parse_reads_every_field(void **state)
{
	struct cmd_payload p;

	(void)state;
	assert_int_equal(parse(payload_json, &p), 0);
	assert_string_equal(p.command_id, CID);
	assert_string_equal(p.node_id, NID);
	assert_int_equal(p.seq, 7);
	assert_string_equal(p.command, "service-status");
	assert_true(json_is_object(p.args));
	assert_string_equal(json_string_value(json_object_get(p.args, "unit")),
	    "nginx.service");
	assert_int_equal(p.issued_at, 1795773600);
	assert_int_equal(p.expires_at, 1795777200);
	cmd_payload_free(&p);
	assert_null(p.args);
	cmd_payload_free(&p);
	cmd_payload_free(NULL);
}

static void
cmd_payload_parse_missing_args_gives_empty_object(void **state)
{
	struct cmd_payload p;

	(void)state;
	assert_int_equal(
	    parse("{\"command_id\":\"" CID "\",\"node_id\":\"" NID
		  "\",\"seq\":1,\"command\":\"agent-info\",\"issued_at\":1,"
		  "\"expires_at\":2}",
		&p),
	    0);
	assert_true(json_is_object(p.args));
	assert_int_equal(json_object_size(p.args), 0);
	cmd_payload_free(&p);
}

static void
cmd_payload_parse_large_seq_and_times(void **state)
{
	struct cmd_payload p;

	(void)state;
	assert_int_equal(
	    parse(
		"{\"command_id\":\"" CID "\",\"node_id\":\"" NID
		"\",\"seq\":9007199254740993,\"command\":\"agent-info\","
		"\"args\":{},\"issued_at\":4102444800,\"expires_at\":4102448400}",
		&p),
	    0);
	assert_int_equal(p.seq, 9007199254740993LL);
	assert_int_equal(p.issued_at, 4102444800LL);
	cmd_payload_free(&p);
}

/*
 * Parses payload_json with field's value replaced by the JSON text value
 * (NULL: the field removed); a refusal leaves no args behind.
 */
static int
parse_with(const char *field, const char *value, char *why, size_t whylen)
{
	json_t		  *root = json_loads(payload_json, 0, NULL);
	struct cmd_payload p;
	char		  *s;
	int		   rc;

	assert_non_null(root);
	if (value == NULL)
		assert_int_equal(json_object_del(root, field), 0);
	else
		assert_int_equal(json_object_set_new(root, field,
				     json_loads(value, JSON_DECODE_ANY, NULL)),
		    0);
	s = json_dumps(root, JSON_COMPACT);
	assert_non_null(s);
	why[0] = '\0';
	rc = cmd_payload_parse(s, strlen(s), &p, why, whylen);
	if (rc == 0)
		cmd_payload_free(&p);
	else
		assert_null(p.args);
	free(s);
	json_decref(root);
	return rc;
}

static const struct bad_field {
	const char *field;
	const char *value; /* JSON text; NULL: missing */
} bad_fields[] = {
	/* Every required field missing. */
	{ "command_id", NULL },
	{ "node_id", NULL },
	{ "seq", NULL },
	{ "command", NULL },
	{ "issued_at", NULL },
	{ "expires_at", NULL },
	/* Wrong types. */
	{ "command_id", "1" },
	{ "node_id", "null" },
	{ "seq", "\"7\"" },
	{ "seq", "7.0" },
	{ "command", "3" },
	{ "command", "[]" },
	{ "args", "[]" },
	{ "args", "\"{}\"" },
	{ "issued_at", "\"1795773600\"" },
	{ "issued_at", "1795773600.5" },
	{ "expires_at", "true" },
	/* seq zero and negative. */
	{ "seq", "0" },
	{ "seq", "-1" },
	{ "seq", "-9223372036854775808" },
	/* Ids that are not lowercase version 1 to 5 UUIDs. */
	{ "command_id", "\"\"" },
	{ "command_id", "\"not-a-uuid\"" },
	{ "command_id", "\"0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B\"" },
	{ "node_id", "\"7c9e6679-7425-60de-944b-e07fc1f90ae7\"" },
	{ "node_id", "\"7c9e6679-7425-40de-944b-e07fc1f90ae7x\"" },
};

static void
cmd_payload_parse_rejects_each_bad_field(void **state)
{
	const struct bad_field *c;
	char			why[CMD_WHY_MAX];

	(void)state;
	TL_FOREACH(c, bad_fields)
	{
		if (parse_with(c->field, c->value, why, sizeof(why)) != -1)
			fail_msg("payload with %s %s accepted", c->field,
			    c->value ? c->value : "missing");
		if (strncmp(why, "bad_payload", 11) != 0)
			fail_msg("%s %s: why \"%s\"", c->field,
			    c->value ? c->value : "missing", why);
	}
	/* The smallest seq is 1. */
	assert_int_equal(parse_with("seq", "1", why, sizeof(why)), 0);
}

static void
cmd_payload_parse_rejects_overlong_command_name(void **state)
{
	char name[CMD_NAME_MAX + 4];
	char why[CMD_WHY_MAX];

	(void)state;
	/* As JSON text: the name in quotes. */
	memset(name, 'a', sizeof(name));
	name[0] = '"';
	name[CMD_NAME_MAX + 1] = '"';
	name[CMD_NAME_MAX + 2] = '\0';
	assert_int_equal(parse_with("command", name, why, sizeof(why)), 0);
	name[CMD_NAME_MAX + 1] = 'a';
	name[CMD_NAME_MAX + 2] = '"';
	name[CMD_NAME_MAX + 3] = '\0';
	assert_int_equal(parse_with("command", name, why, sizeof(why)), -1);
	assert_true(strncmp(why, "bad_payload", 11) == 0);
}

static void
cmd_payload_parse_rejects_non_objects_garbage_and_duplicate_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"null",
		"\"x\"",
		"{",
		"{\"seq\":1}",
		"not json",
		"{\"command_id\":\"" CID "\",\"command_id\":\"" CID "\"}",
		"{\"command_id\":\"" CID "\",\"node_id\":\"" NID "\",\"seq\":5,"
		"\"seq\":6,\"command\":\"agent-info\",\"issued_at\":1,"
		"\"expires_at\":2}",
	};
	struct cmd_payload p;

	(void)state;
	for (size_t i = 0; i < TL_NITEMS(bad); i++) {
		if (parse(bad[i], &p) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(p.args);
	}
}

static void
cmd_payload_parse_respects_len(void **state)
{
	struct cmd_payload p;
	char		   why[CMD_WHY_MAX];
	char		  *j;
	size_t		   n = strlen(payload_json);

	(void)state;
	/* Bytes after len are ignored; a truncated len fails. */
	j = malloc(n + 8);
	assert_non_null(j);
	memcpy(j, payload_json, n);
	memcpy(j + n, "garbage", 8);
	assert_int_equal(cmd_payload_parse(j, n, &p, why, sizeof(why)), 0);
	cmd_payload_free(&p);
	assert_int_equal(cmd_payload_parse(j, n - 1, &p, why, sizeof(why)), -1);
	free(j);
}

#define KEYS(fn) cmocka_unit_test_setup_teardown(fn, keys_setup, tl_state_free)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cmd_lookup_finds_every_catalog_command),
		cmocka_unit_test(cmd_lookup_unknown_case_and_null_give_null),
		cmocka_unit_test(cmd_catalog_names_are_unique_and_short),
		cmocka_unit_test(cmd_unit_valid_takes_systemd_unit_names_only),
		cmocka_unit_test(cmd_unit_valid_enforces_length_limit),
		cmocka_unit_test(cmd_check_takes_each_commands_args_only),
		cmocka_unit_test(
		    cmd_check_unknown_command_says_unknown_command),
		cmocka_unit_test(cmd_check_why_is_truncated_to_whylen),
		cmocka_unit_test(b64_encode_decode_round_trip),
		KEYS(cmd_sign_then_verify_round_trips_payload),
		KEYS(cmd_signature_is_over_domain_nul_payload),
		KEYS(cmd_verify_rejects_tampered_payload),
		KEYS(cmd_verify_rejects_tampered_signature),
		KEYS(cmd_verify_rejects_wrong_key),
		KEYS(cmd_verify_rejects_bad_base64),
		KEYS(cmd_verify_rejects_signature_of_wrong_length),
		KEYS(cmd_verify_rejects_signature_without_domain_prefix),
		KEYS(cmd_verify_rejects_signature_with_domain_but_no_nul),
		KEYS(cmd_verify_accepts_payload_of_exactly_max_size),
		KEYS(cmd_verify_rejects_oversized_payload),
		cmocka_unit_test(cmd_payload_parse_reads_every_field),
		cmocka_unit_test(
		    cmd_payload_parse_missing_args_gives_empty_object),
		cmocka_unit_test(cmd_payload_parse_large_seq_and_times),
		cmocka_unit_test(cmd_payload_parse_rejects_each_bad_field),
		cmocka_unit_test(
		    cmd_payload_parse_rejects_overlong_command_name),
		cmocka_unit_test(
		    cmd_payload_parse_rejects_non_objects_garbage_and_duplicate_keys),
		cmocka_unit_test(cmd_payload_parse_respects_len),
	};

	return cmocka_run_group_tests(tests, tl_sodium_setup, NULL);
}
