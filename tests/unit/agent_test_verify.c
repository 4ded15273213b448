/*
 * command_decide(): the agent's verification of signed commands, each
 * rule of CONTRACT.md a named case, checked in the documented order.
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

#include "command.h"
#include "commands.h"
#include "config.h"
#include "testlib.h"

#define NODE "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
#define OTHER "00000000-0000-4000-8000-000000000001"
#define CID "11111111-2222-4333-8444-555555555555"
#define NOW 1800000000LL

static unsigned char	   pk[32], sk[64], pk2[32], sk2[64];
static struct agent_config cfg;

/* A signed element for the given payload fields. */
static json_t *
signed_cmd(const unsigned char *key, const char *node, long long seq,
    const char *command, const char *args, long long expires)
{
	char	payload[1024];
	char   *p64, *s64;
	json_t *e;

	snprintf(payload, sizeof(payload),
	    "{\"command_id\":\"%s\","
	    "\"node_id\":\"%s\",\"seq\":%lld,\"command\":\"%s\",\"args\":%s,"
	    "\"issued_at\":%lld,\"expires_at\":%lld}",
	    CID, node, seq, command, args, NOW - 10, expires);
	assert_int_equal(cmd_sign(key, payload, strlen(payload), &p64, &s64),
	    0);
	e = json_pack("{s:s,s:s}", "payload", p64, "signature", s64);
	free(p64);
	free(s64);
	return e;
}

static enum verdict
decide(json_t *e, int64_t last_seq, struct cmd_payload *p, char *why, size_t n)
{
	struct decide_ctx ctx = { .pk = pk,
		.node_id = NODE,
		.now = NOW,
		.last_seq = last_seq,
		.cfg = &cfg };
	enum verdict	  v = command_decide(&ctx, e, p, why, n);

	json_decref(e);
	return v;
}

/*
 * Expects the verdict want, its reason starting with prefix (NULL: any);
 * a command that runs is the one signed, seq and command (NULL: any).
 */
static void
expect_run(const char *name, json_t *e, int64_t last_seq, enum verdict want,
    const char *prefix, long long seq, const char *command)
{
	struct cmd_payload p;
	char		   why[CMD_WHY_MAX] = "";
	enum verdict	   v = decide(e, last_seq, &p, why, sizeof(why));

	if (v != want ||
	    (prefix != NULL && strncmp(why, prefix, strlen(prefix)) != 0))
		fail_msg("%s: verdict %d why \"%s\", wanted %d \"%s\"", name, v,
		    why, want, prefix ? prefix : "");
	/* A rejection is reported under the command's id. */
	if (want == VERDICT_REJECT && strcmp(p.command_id, CID) != 0)
		fail_msg("%s: rejected as \"%s\"", name, p.command_id);
	if (want == VERDICT_RUN && command != NULL &&
	    (strcmp(p.command_id, CID) != 0 || p.seq != seq ||
		strcmp(p.command, command) != 0))
		fail_msg("%s: runs %s seq %lld of %s", name, p.command,
		    (long long)p.seq, p.command_id);
	cmd_payload_free(&p);
}

#define expect(name, e, last_seq, want, prefix) \
	expect_run(name, e, last_seq, want, prefix, 0, NULL)

static int
setup(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	memset(&cfg, 0, sizeof(cfg));
	cfg.services[0] = (char *)(uintptr_t) "nginx.service";
	cfg.nservices = 1;
	return 0;
}

static void
tampered_payload_is_rejected(void **state)
{
	json_t	     *e = signed_cmd(sk, NODE, 5, "agent-info", "{}", NOW + 60);
	const char   *p64 = json_string_value(json_object_get(e, "payload"));
	unsigned char bin[1024];
	long	      n = b64_decode(p64, bin, sizeof(bin));
	char	     *t;

	(void)state;
	assert_true(n > 0);
	/* "seq":5 becomes "seq":6: same length, different bytes. */
	for (long i = 0; i + 6 < n; i++)
		if (memcmp(bin + i, "\"seq\":5", 7) == 0)
			bin[i + 6] = '6';
	t = b64_encode(bin, (size_t)n);
	json_object_set_new(e, "payload", json_string(t));
	free(t);
	expect("tampered payload", e, 0, VERDICT_REJECT, "bad_signature");
}

static void
garbage_without_id_is_dropped(void **state)
{
	(void)state;
	expect("not json, no id",
	    json_pack("{s:s,s:s}", "payload", "bm90IGpzb24=", "signature",
		"AAAA"),
	    0, VERDICT_DROP, "bad_signature");
	expect("a string", json_string("x"), 0, VERDICT_DROP, NULL);
	expect("a payload that is a number", json_pack("{s:i}", "payload", 1),
	    0, VERDICT_DROP, NULL);
}

/*
 * A command signed with key for node, and what the agent that last ran
 * last_seq decides: the verdict and how its reason starts (NULL: any).
 */
static const struct rule_case {
	const char	    *name;
	const unsigned char *key;
	const char	    *node;
	long long	     seq;
	const char	    *command, *args;
	long long	     expires, last_seq;
	enum verdict	     want;
	const char	    *why;
} rule_cases[] = {
	{ "a valid command runs", sk, NODE, 5, "service-status",
	    "{\"unit\":\"ssh.service\"}", NOW + 60, 4, VERDICT_RUN, NULL },
	{ "bad signature is rejected with the id", sk2, NODE, 5, "agent-info",
	    "{}", NOW + 60, 0, VERDICT_REJECT, "bad_signature" },
	{ "other node is rejected", sk, OTHER, 5, "agent-info", "{}", NOW + 60,
	    0, VERDICT_REJECT, "wrong_node" },
	{ "expiring now is expired", sk, NODE, 5, "agent-info", "{}", NOW, 0,
	    VERDICT_REJECT, "expired" },
	{ "expired long ago", sk, NODE, 5, "agent-info", "{}", NOW - 100, 0,
	    VERDICT_REJECT, "expired" },
	{ "expiring in a second runs", sk, NODE, 5, "agent-info", "{}", NOW + 1,
	    0, VERDICT_RUN, NULL },
	{ "replayed seq is rejected", sk, NODE, 5, "agent-info", "{}", NOW + 60,
	    5, VERDICT_REJECT, "replayed_seq" },
	{ "older seq is rejected", sk, NODE, 4, "agent-info", "{}", NOW + 60, 5,
	    VERDICT_REJECT, "replayed_seq" },
	{ "next seq runs", sk, NODE, 6, "agent-info", "{}", NOW + 60, 5,
	    VERDICT_RUN, NULL },
	{ "unknown command is rejected", sk, NODE, 5, "shell", "{}", NOW + 60,
	    0, VERDICT_REJECT, "unknown_command" },
	{ "args agent-info does not take", sk, NODE, 5, "agent-info",
	    "{\"a\":1}", NOW + 60, 0, VERDICT_REJECT, "invalid_args" },
	{ "service-status without a unit", sk, NODE, 5, "service-status", "{}",
	    NOW + 60, 0, VERDICT_REJECT, "invalid_args" },
	{ "journal-tail of 0 lines", sk, NODE, 5, "journal-tail",
	    "{\"unit\":\"a.service\",\"lines\":0}", NOW + 60, 0, VERDICT_REJECT,
	    "invalid_args" },
	{ "journal-tail of 500 lines runs", sk, NODE, 5, "journal-tail",
	    "{\"unit\":\"a.service\",\"lines\":500}", NOW + 60, 0, VERDICT_RUN,
	    NULL },
	{ "restart of a unit not listed", sk, NODE, 5, "service-restart",
	    "{\"unit\":\"ssh.service\"}", NOW + 60, 0, VERDICT_REJECT,
	    "unit_not_allowed" },
	{ "restart of a listed unit runs", sk, NODE, 5, "service-restart",
	    "{\"unit\":\"nginx.service\"}", NOW + 60, 0, VERDICT_RUN, NULL },
	/* Expired, other node, old seq and unknown, but forged: signature. */
	{ "signature is checked before anything else", sk2, OTHER, 1, "nope",
	    "{}", NOW - 5, 9, VERDICT_REJECT, "bad_signature" },
};

static void
each_rule_of_the_contract_in_turn(void **state)
{
	const struct rule_case *c;

	(void)state;
	TL_FOREACH(c, rule_cases)
	{
		expect_run(c->name,
		    signed_cmd(c->key, c->node, c->seq, c->command, c->args,
			c->expires),
		    c->last_seq, c->want, c->why, c->seq, c->command);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tampered_payload_is_rejected),
		cmocka_unit_test(garbage_without_id_is_dropped),
		cmocka_unit_test(each_rule_of_the_contract_in_turn),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
