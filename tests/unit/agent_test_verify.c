/*
 * command_decide(): the agent's verification of signed commands, one
 * test per rule of CONTRACT.md, checked in the documented order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../node-agent/agent.h"

#define NODE	"6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
#define OTHER	"00000000-0000-4000-8000-000000000001"
#define CID	"11111111-2222-4333-8444-555555555555"
#define NOW	1800000000LL

static unsigned char	pk[32], sk[64], pk2[32], sk2[64];
static struct agent_config cfg;

/* A signed element for the given payload fields. */
static json_t *
signed_cmd(const unsigned char *key, const char *node, long long seq,
    const char *command, const char *args, long long expires)
{
	char	 payload[1024];
	char	*p64, *s64;
	json_t	*e;

	snprintf(payload, sizeof(payload), "{\"command_id\":\"%s\","
	    "\"node_id\":\"%s\",\"seq\":%lld,\"command\":\"%s\",\"args\":%s,"
	    "\"issued_at\":%lld,\"expires_at\":%lld}", CID, node, seq, command,
	    args, NOW - 10, expires);
	assert_int_equal(cmd_sign(key, payload, strlen(payload), &p64, &s64),
	    0);
	e = json_pack("{s:s,s:s}", "payload", p64, "signature", s64);
	free(p64);
	free(s64);
	return e;
}

static enum verdict
decide(json_t *e, int64_t last_seq, struct cmd_payload *p, char *why,
    size_t n)
{
	struct decide_ctx ctx = { .pk = pk, .node_id = NODE, .now = NOW,
	    .last_seq = last_seq, .cfg = &cfg };
	enum verdict v = command_decide(&ctx, e, p, why, n);

	json_decref(e);
	return v;
}

static void
expect(json_t *e, int64_t last_seq, enum verdict want, const char *prefix)
{
	struct cmd_payload	p;
	char			why[CMD_WHY_MAX] = "";
	enum verdict		v = decide(e, last_seq, &p, why, sizeof(why));

	if (v != want || (prefix != NULL && strncmp(why, prefix,
	    strlen(prefix)) != 0))
		fail_msg("verdict %d why \"%s\", wanted %d \"%s\"", v, why, want,
		    prefix ? prefix : "");
	if (want == VERDICT_REJECT)
		assert_string_equal(p.command_id, CID);
	cmd_payload_free(&p);
}

static int
setup(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	memset(&cfg, 0, sizeof(cfg));
	cfg.services[0] = (char *)(uintptr_t)"nginx.service";
	cfg.nservices = 1;
	return 0;
}

static void
valid_command_runs(void **state)
{
	struct cmd_payload	p;
	char			why[CMD_WHY_MAX] = "";

	(void)state;
	assert_int_equal(decide(signed_cmd(sk, NODE, 5, "service-status",
	    "{\"unit\":\"ssh.service\"}", NOW + 60), 4, &p, why, sizeof(why)),
	    VERDICT_RUN);
	assert_string_equal(p.command_id, CID);
	assert_string_equal(p.command, "service-status");
	assert_int_equal(p.seq, 5);
	cmd_payload_free(&p);
}

static void
bad_signature_is_rejected_with_id(void **state)
{
	(void)state;
	expect(signed_cmd(sk2, NODE, 5, "agent-info", "{}", NOW + 60), 0,
	    VERDICT_REJECT, "bad_signature");
}

static void
tampered_payload_is_rejected(void **state)
{
	json_t		*e = signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW + 60);
	const char	*p64 = json_string_value(json_object_get(e, "payload"));
	unsigned char	 bin[1024];
	long		 n = b64_decode(p64, bin, sizeof(bin));
	char		*t;

	(void)state;
	assert_true(n > 0);
	/* "seq":5 becomes "seq":6: same length, different bytes. */
	for (long i = 0; i + 6 < n; i++)
		if (memcmp(bin + i, "\"seq\":5", 7) == 0)
			bin[i + 6] = '6';
	t = b64_encode(bin, (size_t)n);
	json_object_set_new(e, "payload", json_string(t));
	free(t);
	expect(e, 0, VERDICT_REJECT, "bad_signature");
}

static void
garbage_without_id_is_dropped(void **state)
{
	(void)state;
	expect(json_pack("{s:s,s:s}", "payload", "bm90IGpzb24=", "signature",
	    "AAAA"), 0, VERDICT_DROP, "bad_signature");
	expect(json_string("x"), 0, VERDICT_DROP, NULL);
	expect(json_pack("{s:i}", "payload", 1), 0, VERDICT_DROP, NULL);
}

static void
other_node_is_rejected(void **state)
{
	(void)state;
	expect(signed_cmd(sk, OTHER, 5, "agent-info", "{}", NOW + 60), 0,
	    VERDICT_REJECT, "wrong_node");
}

static void
expired_is_rejected(void **state)
{
	(void)state;
	expect(signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW), 0,
	    VERDICT_REJECT, "expired");
	expect(signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW - 100), 0,
	    VERDICT_REJECT, "expired");
	expect(signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW + 1), 0,
	    VERDICT_RUN, NULL);
}

static void
replayed_and_older_seq_are_rejected(void **state)
{
	(void)state;
	expect(signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW + 60), 5,
	    VERDICT_REJECT, "replayed_seq");
	expect(signed_cmd(sk, NODE, 4, "agent-info", "{}", NOW + 60), 5,
	    VERDICT_REJECT, "replayed_seq");
	expect(signed_cmd(sk, NODE, 6, "agent-info", "{}", NOW + 60), 5,
	    VERDICT_RUN, NULL);
}

static void
unknown_command_is_rejected(void **state)
{
	(void)state;
	expect(signed_cmd(sk, NODE, 5, "shell", "{}", NOW + 60), 0,
	    VERDICT_REJECT, "unknown_command");
}

static void
bad_args_are_rejected(void **state)
{
	(void)state;
	expect(signed_cmd(sk, NODE, 5, "agent-info", "{\"a\":1}", NOW + 60), 0,
	    VERDICT_REJECT, "invalid_args");
	expect(signed_cmd(sk, NODE, 5, "service-status", "{}", NOW + 60), 0,
	    VERDICT_REJECT, "invalid_args");
	expect(signed_cmd(sk, NODE, 5, "journal-tail",
	    "{\"unit\":\"a.service\",\"lines\":0}", NOW + 60), 0,
	    VERDICT_REJECT, "invalid_args");
	expect(signed_cmd(sk, NODE, 5, "journal-tail",
	    "{\"unit\":\"a.service\",\"lines\":500}", NOW + 60), 0,
	    VERDICT_RUN, NULL);
}

static void
restart_only_listed_units(void **state)
{
	(void)state;
	expect(signed_cmd(sk, NODE, 5, "service-restart",
	    "{\"unit\":\"ssh.service\"}", NOW + 60), 0, VERDICT_REJECT,
	    "unit_not_allowed");
	expect(signed_cmd(sk, NODE, 5, "service-restart",
	    "{\"unit\":\"nginx.service\"}", NOW + 60), 0, VERDICT_RUN, NULL);
}

static void
signature_is_checked_before_anything_else(void **state)
{
	/* Expired, other node, old seq and unknown, but forged: signature. */
	(void)state;
	expect(signed_cmd(sk2, OTHER, 1, "nope", "{}", NOW - 5), 9,
	    VERDICT_REJECT, "bad_signature");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_command_runs),
		cmocka_unit_test(bad_signature_is_rejected_with_id),
		cmocka_unit_test(tampered_payload_is_rejected),
		cmocka_unit_test(garbage_without_id_is_dropped),
		cmocka_unit_test(other_node_is_rejected),
		cmocka_unit_test(expired_is_rejected),
		cmocka_unit_test(replayed_and_older_seq_are_rejected),
		cmocka_unit_test(unknown_command_is_rejected),
		cmocka_unit_test(bad_args_are_rejected),
		cmocka_unit_test(restart_only_listed_units),
		cmocka_unit_test(signature_is_checked_before_anything_else),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
