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

#define CID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define NID "7c9e6679-7425-40de-944b-e07fc1f90ae7"

/* ---- catalog ------------------------------------------------------------ */

static void
cmd_lookup_finds_every_catalog_command(void **state)
{
	static const char *const names[] = {
		"sovereign-scan", "service-status", "service-restart",
		"journal-tail", "agent-info",
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
	(void)state;
	assert_null(cmd_lookup("rm-rf"));
	assert_null(cmd_lookup(""));
	assert_null(cmd_lookup("Agent-Info"));
	assert_null(cmd_lookup("agent-info "));
	assert_null(cmd_lookup("agent-inf"));
	assert_null(cmd_lookup(NULL));
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
cmd_unit_valid_accepts_systemd_unit_names(void **state)
{
	static const char *const good[] = {
		"nginx.service", "a@b.timer", "getty@tty1.service",
		"foo-bar_baz.socket", "sys-devices-x.device", "x.y",
		"systemd-fsck@dev-disk-by\\x2duuid-1234.service",
		"cloudflared.service", "user@1000.service", "a:b.mount",
		"Upper.Service",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cmd_unit_valid(good[i]))
			fail_msg("rejected %s", good[i]);
}

static void
cmd_unit_valid_rejects_bad_characters(void **state)
{
	static const char *const bad[] = {
		"a b.service", "a/b.service", "../x.service", "a;b.service",
		"a$b.service", "a`id`.service", "a\nb.service", "a\tb.service",
		"\xc3\xa9.service", "a*.service", "a'b.service", "a\"b.service",
		"a|b.service", "a>b.service",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cmd_unit_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
cmd_unit_valid_requires_a_suffix(void **state)
{
	(void)state;
	assert_false(cmd_unit_valid("nginx"));
	assert_false(cmd_unit_valid("nginx."));
	assert_false(cmd_unit_valid(""));
	assert_false(cmd_unit_valid(NULL));
}

static void
cmd_unit_valid_rejects_dotdot_and_leading_dot_or_dash(void **state)
{
	(void)state;
	assert_false(cmd_unit_valid("a..service"));
	assert_false(cmd_unit_valid("..service"));
	assert_false(cmd_unit_valid("x..."));
	assert_false(cmd_unit_valid(".hidden.service"));
	assert_false(cmd_unit_valid("-n.service"));
	assert_false(cmd_unit_valid("--help.service"));
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
	json_t	*args = NULL;
	int	 rc;

	if (args_json != NULL) {
		args = json_loads(args_json, JSON_DECODE_ANY, NULL);
		assert_non_null(args);
	}
	why[0] = '\0';
	rc = cmd_check(name, args, why, whylen);
	json_decref(args);
	return rc;
}

static void
expect_ok(const char *name, const char *args)
{
	char why[CMD_WHY_MAX];

	if (check(name, args, why, sizeof(why)) != 0)
		fail_msg("%s %s rejected: %s", name, args ? args : "(null)", why);
}

static void
expect_invalid(const char *name, const char *args)
{
	char why[CMD_WHY_MAX];

	if (check(name, args, why, sizeof(why)) != -1)
		fail_msg("%s %s accepted", name, args ? args : "(null)");
	if (strncmp(why, "invalid_args:", 13) != 0)
		fail_msg("%s %s: why is \"%s\"", name, args ? args : "(null)",
		    why);
}

static void
cmd_check_sovereign_scan_takes_no_args(void **state)
{
	(void)state;
	expect_ok("sovereign-scan", NULL);
	expect_ok("sovereign-scan", "{}");
	expect_invalid("sovereign-scan", "{\"unit\": \"x.service\"}");
	expect_invalid("sovereign-scan", "{\"deep\": true}");
}

static void
cmd_check_agent_info_takes_no_args(void **state)
{
	(void)state;
	expect_ok("agent-info", NULL);
	expect_ok("agent-info", "{}");
	expect_invalid("agent-info", "{\"x\": 1}");
}

static void
cmd_check_service_status_and_restart_need_a_valid_unit(void **state)
{
	static const char *const cmds[] = { "service-status", "service-restart" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		expect_ok(cmds[i], "{\"unit\": \"nginx.service\"}");
		expect_ok(cmds[i], "{\"unit\": \"getty@tty1.service\"}");
		expect_invalid(cmds[i], NULL);			/* missing */
		expect_invalid(cmds[i], "{}");
		expect_invalid(cmds[i], "{\"unit\": null}");
		expect_invalid(cmds[i], "{\"unit\": 5}");
		expect_invalid(cmds[i], "{\"unit\": [\"a.service\"]}");
		expect_invalid(cmds[i], "{\"unit\": \"\"}");
		expect_invalid(cmds[i], "{\"unit\": \"nginx\"}");
		expect_invalid(cmds[i], "{\"unit\": \"../x.service\"}");
		expect_invalid(cmds[i], "{\"unit\": \"-a.service\"}");
		expect_invalid(cmds[i], "{\"unit\": \"a.service\", "
		    "\"force\": true}");
		/* "lines" belongs to journal-tail only */
		expect_invalid(cmds[i], "{\"unit\": \"a.service\", "
		    "\"lines\": 5}");
	}
}

static void
cmd_check_journal_tail_lines_range(void **state)
{
	(void)state;
	expect_ok("journal-tail", "{\"unit\": \"nginx.service\"}");
	expect_ok("journal-tail", "{\"unit\": \"nginx.service\", \"lines\": 1}");
	expect_ok("journal-tail", "{\"unit\": \"nginx.service\", \"lines\": 500}");
	expect_ok("journal-tail", "{\"unit\": \"nginx.service\", \"lines\": 42}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": 0}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": 501}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": -1}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": \"10\"}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": 10.5}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": 1.0}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": null}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"lines\": 9223372036854775807}");
	expect_invalid("journal-tail", "{\"lines\": 10}");
	expect_invalid("journal-tail", "{\"unit\": \"nginx.service\", "
	    "\"follow\": true}");
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
cmd_check_non_object_args_are_invalid(void **state)
{
	(void)state;
	expect_invalid("agent-info", "[]");
	expect_invalid("service-status", "[\"nginx.service\"]");
	expect_invalid("journal-tail", "\"nginx.service\"");
	expect_invalid("sovereign-scan", "null");
	expect_invalid("sovereign-scan", "7");
}

static void
cmd_check_why_is_truncated_to_whylen(void **state)
{
	char	 why[8];
	json_t	*args = json_pack("{s:i}", "very-long-argument-name", 1);

	(void)state;
	memset(why, 'z', sizeof(why));
	assert_int_equal(cmd_check("agent-info", args, why, sizeof(why)), -1);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	json_decref(args);
}

/* ---- signing ------------------------------------------------------------ */

struct keys {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk2[crypto_sign_SECRETKEYBYTES];
};

static int
keys_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	crypto_sign_keypair(k->pk, k->sk);
	crypto_sign_keypair(k->pk2, k->sk2);
	*state = k;
	return 0;
}

static int
keys_teardown(void **state)
{
	free(*state);
	return 0;
}

static const char payload_json[] = "{\"command_id\":\"" CID "\",\"node_id\":\""
    NID "\",\"seq\":7,\"command\":\"service-status\",\"args\":{\"unit\":"
    "\"nginx.service\"},\"issued_at\":1795773600,\"expires_at\":1795777200}";

static void
b64_encode_decode_round_trip(void **state)
{
	unsigned char	 bin[256], out[256];
	char		*s;

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
	struct keys	*k = *state;
	char		*pb64 = NULL, *sb64 = NULL, *payload = NULL;
	char		 why[CMD_WHY_MAX] = "";
	size_t		 len = 0;
	unsigned char	 sig[crypto_sign_BYTES + 8];

	assert_int_equal(cmd_sign(k->sk, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	assert_non_null(pb64);
	assert_non_null(sb64);
	assert_int_equal(b64_decode(sb64, sig, sizeof(sig)), crypto_sign_BYTES);
	assert_int_equal(cmd_verify(k->pk, pb64, sb64, &payload, &len, why,
	    sizeof(why)), 0);
	assert_non_null(payload);
	assert_int_equal(len, strlen(payload_json));
	assert_memory_equal(payload, payload_json, len);
	assert_int_equal(payload[len], '\0');
	free(payload);
	free(pb64);
	free(sb64);
}

static void
cmd_signature_is_over_domain_nul_payload(void **state)
{
	struct keys	*k = *state;
	char		*pb64 = NULL, *sb64 = NULL;
	unsigned char	 sig[crypto_sign_BYTES];
	unsigned char	*m;
	size_t		 dlen = strlen(CMD_SIG_DOMAIN) + 1;
	size_t		 plen = strlen(payload_json);

	assert_string_equal(CMD_SIG_DOMAIN, "vaultmesh.command.v1");
	assert_int_equal(cmd_sign(k->sk, payload_json, plen, &pb64, &sb64), 0);
	assert_int_equal(b64_decode(sb64, sig, sizeof(sig)), crypto_sign_BYTES);
	/* An independent verifier that knows only the contract agrees. */
	m = malloc(dlen + plen);
	assert_non_null(m);
	memcpy(m, "vaultmesh.command.v1\0", dlen);
	memcpy(m + dlen, payload_json, plen);
	assert_int_equal(crypto_sign_verify_detached(sig, m, dlen + plen, k->pk),
	    0);
	free(m);
	free(pb64);
	free(sb64);
}

static void
expect_verify_fails(const unsigned char *pk, const char *pb64,
    const char *sb64, const char *why_prefix)
{
	char	*payload = (char *)1;
	char	 why[CMD_WHY_MAX] = "";
	size_t	 len = 0;

	assert_int_equal(cmd_verify(pk, pb64, sb64, &payload, &len, why,
	    sizeof(why)), -1);
	assert_null(payload);
	assert_true(why[0] != '\0');
	if (why_prefix != NULL && strncmp(why, why_prefix,
	    strlen(why_prefix)) != 0)
		fail_msg("why \"%s\" does not start with %s", why, why_prefix);
}

static void
cmd_verify_rejects_tampered_payload(void **state)
{
	struct keys	*k = *state;
	char		*pb64, *sb64, *tb64;
	char		 tampered[sizeof(payload_json)];

	assert_int_equal(cmd_sign(k->sk, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	memcpy(tampered, payload_json, sizeof(payload_json));
	/* seq 7 becomes seq 8: still valid JSON, one byte changed */
	strstr(tampered, "\"seq\":7")[6] = '8';
	assert_non_null(strstr(tampered, "\"seq\":8,"));
	tb64 = b64_encode((const unsigned char *)tampered, strlen(tampered));
	assert_non_null(tb64);
	expect_verify_fails(k->pk, tb64, sb64, "bad_signature");
	free(tb64);
	/* Dropping the last byte also breaks it. */
	tb64 = b64_encode((const unsigned char *)payload_json,
	    strlen(payload_json) - 1);
	expect_verify_fails(k->pk, tb64, sb64, "bad_signature");
	free(tb64);
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_tampered_signature(void **state)
{
	struct keys	*k = *state;
	char		*pb64, *sb64, *tb64;
	unsigned char	 sig[crypto_sign_BYTES];

	assert_int_equal(cmd_sign(k->sk, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	for (size_t byte = 0; byte < crypto_sign_BYTES; byte += 21) {
		assert_int_equal(b64_decode(sb64, sig, sizeof(sig)),
		    crypto_sign_BYTES);
		sig[byte] ^= 0x01;
		tb64 = b64_encode(sig, sizeof(sig));
		expect_verify_fails(k->pk, pb64, tb64, "bad_signature");
		free(tb64);
	}
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_wrong_key(void **state)
{
	struct keys	*k = *state;
	char		*pb64, *sb64;

	assert_int_equal(cmd_sign(k->sk2, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	expect_verify_fails(k->pk, pb64, sb64, "bad_signature");
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_bad_base64(void **state)
{
	struct keys	*k = *state;
	char		*pb64, *sb64;

	assert_int_equal(cmd_sign(k->sk, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	expect_verify_fails(k->pk, "!!not base64!!", sb64, NULL);
	expect_verify_fails(k->pk, pb64, "!!not base64!!", NULL);
	expect_verify_fails(k->pk, pb64, "", NULL);
	expect_verify_fails(k->pk, NULL, sb64, NULL);
	expect_verify_fails(k->pk, pb64, NULL, NULL);
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_signature_of_wrong_length(void **state)
{
	struct keys	*k = *state;
	char		*pb64, *sb64, *tb64;
	unsigned char	 sig[crypto_sign_BYTES + 1];

	assert_int_equal(cmd_sign(k->sk, payload_json, strlen(payload_json),
	    &pb64, &sb64), 0);
	assert_int_equal(b64_decode(sb64, sig, sizeof(sig)), crypto_sign_BYTES);
	tb64 = b64_encode(sig, crypto_sign_BYTES - 1);
	expect_verify_fails(k->pk, pb64, tb64, "bad_signature");
	free(tb64);
	sig[crypto_sign_BYTES] = 0;
	tb64 = b64_encode(sig, crypto_sign_BYTES + 1);
	expect_verify_fails(k->pk, pb64, tb64, "bad_signature");
	free(tb64);
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_signature_without_domain_prefix(void **state)
{
	struct keys	*k = *state;
	unsigned char	 sig[crypto_sign_BYTES];
	char		*pb64, *sb64;
	size_t		 plen = strlen(payload_json);

	/* A bare Ed25519 signature of the payload bytes alone. */
	crypto_sign_detached(sig, NULL, (const unsigned char *)payload_json,
	    plen, k->sk);
	pb64 = b64_encode((const unsigned char *)payload_json, plen);
	sb64 = b64_encode(sig, sizeof(sig));
	expect_verify_fails(k->pk, pb64, sb64, "bad_signature");
	free(pb64);
	free(sb64);
}

static void
cmd_verify_rejects_signature_with_domain_but_no_nul(void **state)
{
	struct keys	*k = *state;
	unsigned char	 sig[crypto_sign_BYTES];
	unsigned char	*m;
	char		*pb64, *sb64;
	size_t		 dlen = strlen(CMD_SIG_DOMAIN);
	size_t		 plen = strlen(payload_json);

	m = malloc(dlen + plen);
	assert_non_null(m);
	memcpy(m, CMD_SIG_DOMAIN, dlen);
	memcpy(m + dlen, payload_json, plen);
	crypto_sign_detached(sig, NULL, m, dlen + plen, k->sk);
	pb64 = b64_encode((const unsigned char *)payload_json, plen);
	sb64 = b64_encode(sig, sizeof(sig));
	expect_verify_fails(k->pk, pb64, sb64, "bad_signature");
	free(m);
	free(pb64);
	free(sb64);
}

static void
cmd_verify_accepts_payload_of_exactly_max_size(void **state)
{
	struct keys	*k = *state;
	char		*big, *pb64, *sb64, *payload = NULL;
	char		 why[CMD_WHY_MAX];
	size_t		 len = 0;

	big = malloc(CMD_PAYLOAD_MAX);
	assert_non_null(big);
	memset(big, 'p', CMD_PAYLOAD_MAX);
	assert_int_equal(cmd_sign(k->sk, big, CMD_PAYLOAD_MAX, &pb64, &sb64), 0);
	assert_int_equal(cmd_verify(k->pk, pb64, sb64, &payload, &len, why,
	    sizeof(why)), 0);
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
	struct keys	*k = *state;
	char		*big, *pb64, *sb64;
	size_t		 sizes[] = { CMD_PAYLOAD_MAX + 1, CMD_PAYLOAD_MAX + 3,
	    CMD_PAYLOAD_MAX * 4 };

	big = malloc(CMD_PAYLOAD_MAX * 4);
	assert_non_null(big);
	memset(big, 'p', CMD_PAYLOAD_MAX * 4);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(cmd_sign(k->sk, big, sizes[i], &pb64, &sb64),
		    0);
		expect_verify_fails(k->pk, pb64, sb64, "bad_encoding");
		free(pb64);
		free(sb64);
	}
	free(big);
}

/* ---- payload parsing ------------------------------------------------------ */

static void
cmd_payload_parse_reads_every_field(void **state)
{
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX] = "";

	(void)state;
	assert_int_equal(cmd_payload_parse(payload_json, strlen(payload_json),
	    &p, why, sizeof(why)), 0);
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
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX];
	const char		*j = "{\"command_id\":\"" CID "\",\"node_id\":\""
	    NID "\",\"seq\":1,\"command\":\"agent-info\",\"issued_at\":1,"
	    "\"expires_at\":2}";

	(void)state;
	assert_int_equal(cmd_payload_parse(j, strlen(j), &p, why, sizeof(why)),
	    0);
	assert_true(json_is_object(p.args));
	assert_int_equal(json_object_size(p.args), 0);
	cmd_payload_free(&p);
}

static void
cmd_payload_parse_large_seq_and_times(void **state)
{
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX];
	const char		*j = "{\"command_id\":\"" CID "\",\"node_id\":\""
	    NID "\",\"seq\":9007199254740993,\"command\":\"agent-info\","
	    "\"args\":{},\"issued_at\":4102444800,\"expires_at\":4102448400}";

	(void)state;
	assert_int_equal(cmd_payload_parse(j, strlen(j), &p, why, sizeof(why)),
	    0);
	assert_int_equal(p.seq, 9007199254740993LL);
	assert_int_equal(p.issued_at, 4102444800LL);
	cmd_payload_free(&p);
}

/* Parses payload_json with field replaced by value (NULL: removed). */
static int
parse_with(const char *field, json_t *value, char *why, size_t whylen)
{
	json_t			*root = json_loads(payload_json, 0, NULL);
	struct cmd_payload	 p;
	char			*s;
	int			 rc;

	assert_non_null(root);
	if (value == NULL)
		assert_int_equal(json_object_del(root, field), 0);
	else
		assert_int_equal(json_object_set_new(root, field, value), 0);
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

static void
expect_parse_fails(const char *field, json_t *value)
{
	char why[CMD_WHY_MAX];

	if (parse_with(field, value, why, sizeof(why)) != -1)
		fail_msg("payload with bad %s accepted", field);
	assert_true(strncmp(why, "bad_payload", 11) == 0);
}

static void
cmd_payload_parse_rejects_missing_fields(void **state)
{
	static const char *const required[] = {
		"command_id", "node_id", "seq", "command", "issued_at",
		"expires_at",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		expect_parse_fails(required[i], NULL);
}

static void
cmd_payload_parse_rejects_wrong_types(void **state)
{
	(void)state;
	expect_parse_fails("command_id", json_integer(1));
	expect_parse_fails("node_id", json_null());
	expect_parse_fails("seq", json_string("7"));
	expect_parse_fails("seq", json_real(7.0));
	expect_parse_fails("command", json_integer(3));
	expect_parse_fails("command", json_array());
	expect_parse_fails("args", json_array());
	expect_parse_fails("args", json_string("{}"));
	expect_parse_fails("issued_at", json_string("1795773600"));
	expect_parse_fails("issued_at", json_real(1795773600.5));
	expect_parse_fails("expires_at", json_true());
}

static void
cmd_payload_parse_rejects_seq_zero_and_negative(void **state)
{
	char why[CMD_WHY_MAX];

	(void)state;
	expect_parse_fails("seq", json_integer(0));
	expect_parse_fails("seq", json_integer(-1));
	expect_parse_fails("seq", json_integer(INT64_MIN));
	assert_int_equal(parse_with("seq", json_integer(1), why, sizeof(why)),
	    0);
}

static void
cmd_payload_parse_rejects_bad_uuids(void **state)
{
	(void)state;
	expect_parse_fails("command_id", json_string(""));
	expect_parse_fails("command_id", json_string("not-a-uuid"));
	expect_parse_fails("command_id",
	    json_string("0B5E3C1A-7D2F-4C3E-9A1B-2C3D4E5F6A7B"));
	expect_parse_fails("node_id",
	    json_string("7c9e6679-7425-60de-944b-e07fc1f90ae7"));
	expect_parse_fails("node_id",
	    json_string("7c9e6679-7425-40de-944b-e07fc1f90ae7x"));
}

static void
cmd_payload_parse_rejects_overlong_command_name(void **state)
{
	char name[CMD_NAME_MAX + 2];
	char why[CMD_WHY_MAX];

	(void)state;
	memset(name, 'a', sizeof(name));
	name[CMD_NAME_MAX] = '\0';
	assert_int_equal(parse_with("command", json_string(name), why,
	    sizeof(why)), 0);
	name[CMD_NAME_MAX] = 'a';
	name[CMD_NAME_MAX + 1] = '\0';
	expect_parse_fails("command", json_string(name));
}

static void
cmd_payload_parse_rejects_non_objects_and_garbage(void **state)
{
	static const char *const bad[] = {
		"", "[]", "null", "\"x\"", "{", "{\"seq\":1}", "not json",
		"{\"command_id\":\"" CID "\",\"command_id\":\"" CID "\"}",
	};
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cmd_payload_parse(bad[i], strlen(bad[i]), &p, why,
		    sizeof(why)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(p.args);
	}
}

static void
cmd_payload_parse_rejects_duplicate_keys(void **state)
{
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX];
	const char		*j = "{\"command_id\":\"" CID "\",\"node_id\":\""
	    NID "\",\"seq\":5,\"seq\":6,\"command\":\"agent-info\","
	    "\"issued_at\":1,\"expires_at\":2}";

	(void)state;
	assert_int_equal(cmd_payload_parse(j, strlen(j), &p, why, sizeof(why)),
	    -1);
}

static void
cmd_payload_parse_respects_len(void **state)
{
	struct cmd_payload	 p;
	char			 why[CMD_WHY_MAX];
	char			*j;
	size_t			 n = strlen(payload_json);

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cmd_lookup_finds_every_catalog_command),
		cmocka_unit_test(cmd_lookup_unknown_case_and_null_give_null),
		cmocka_unit_test(cmd_catalog_names_are_unique_and_short),
		cmocka_unit_test(cmd_unit_valid_accepts_systemd_unit_names),
		cmocka_unit_test(cmd_unit_valid_rejects_bad_characters),
		cmocka_unit_test(cmd_unit_valid_requires_a_suffix),
		cmocka_unit_test(cmd_unit_valid_rejects_dotdot_and_leading_dot_or_dash),
		cmocka_unit_test(cmd_unit_valid_enforces_length_limit),
		cmocka_unit_test(cmd_check_sovereign_scan_takes_no_args),
		cmocka_unit_test(cmd_check_agent_info_takes_no_args),
		cmocka_unit_test(cmd_check_service_status_and_restart_need_a_valid_unit),
		cmocka_unit_test(cmd_check_journal_tail_lines_range),
		cmocka_unit_test(cmd_check_unknown_command_says_unknown_command),
		cmocka_unit_test(cmd_check_non_object_args_are_invalid),
		cmocka_unit_test(cmd_check_why_is_truncated_to_whylen),
		cmocka_unit_test(b64_encode_decode_round_trip),
		cmocka_unit_test_setup_teardown(cmd_sign_then_verify_round_trips_payload, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_signature_is_over_domain_nul_payload, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_tampered_payload, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_tampered_signature, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_wrong_key, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_bad_base64, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_signature_of_wrong_length, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_signature_without_domain_prefix, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_signature_with_domain_but_no_nul, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_accepts_payload_of_exactly_max_size, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(cmd_verify_rejects_oversized_payload, keys_setup, keys_teardown),
		cmocka_unit_test(cmd_payload_parse_reads_every_field),
		cmocka_unit_test(cmd_payload_parse_missing_args_gives_empty_object),
		cmocka_unit_test(cmd_payload_parse_large_seq_and_times),
		cmocka_unit_test(cmd_payload_parse_rejects_missing_fields),
		cmocka_unit_test(cmd_payload_parse_rejects_wrong_types),
		cmocka_unit_test(cmd_payload_parse_rejects_seq_zero_and_negative),
		cmocka_unit_test(cmd_payload_parse_rejects_bad_uuids),
		cmocka_unit_test(cmd_payload_parse_rejects_overlong_command_name),
		cmocka_unit_test(cmd_payload_parse_rejects_non_objects_and_garbage),
		cmocka_unit_test(cmd_payload_parse_rejects_duplicate_keys),
		cmocka_unit_test(cmd_payload_parse_respects_len),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
