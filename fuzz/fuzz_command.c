/*
 * The agent's signed-command path: command_decide() (node-agent/commands.c)
 * on one element of a poll answer's "commands" array, exactly as the poll
 * thread calls it, with a fixed Ed25519 key pair standing for the pinned
 * command center key. That is cmd_verify, cmd_payload_parse, the node id,
 * expiry and seq checks, cmd_check on the command and its args, and the
 * service list.
 *
 * A fuzzer cannot forge Ed25519, so the first byte picks what the rest is:
 *   0  the element JSON as the network would send it (bad signatures,
 *      unverified_command_id's parse of an unsigned payload);
 *   1  payload bytes, which the driver signs with the key: everything after
 *      the signature check is reached;
 *   2  payload bytes signed, then one byte of the signature flipped: must
 *      never run;
 *   3  payload bytes signed by another key: must never run.
 * Whatever is decided to run must have passed every check again here.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "command.h"
#include "commands.h"
#include "config.h"
#include "fuzz.h"
#include "util.h"

#define NODE_ID "0b5e3c1a-7d2f-4c3e-9a1b-2c3d4e5f6a7b"
#define NOW 1764237600 /* 2025-11-27T10:00:00Z */
#define LAST_SEQ 41

static unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
static char	     svc1[] = "nginx.service", svc2[] = "cloudflared.service";
static struct agent_config cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char seed[crypto_sign_SEEDBYTES];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(seed, 0x17, sizeof(seed));
	crypto_sign_seed_keypair(other_pk, other_sk, seed);
	cfg.services[0] = svc1;
	cfg.services[1] = svc2;
	cfg.nservices = 2;
	return 0;
}

/* {"payload": b64(p), "signature": b64(sign(p))}, or NULL. */
static json_t *
signed_elem(const unsigned char *key, const char *p, size_t len, int flip)
{
	char   *pb = NULL, *sb = NULL;
	json_t *e = NULL;

	if (cmd_sign(key, p, len, &pb, &sb) == -1)
		return NULL;
	if (flip) {
		/* One base64 character of the signature, changed. */
		size_t i = (len * 7) % 84;

		sb[i] = sb[i] == 'A' ? 'B' : 'A';
	}
	e = json_pack("{s:s, s:s}", "payload", pb, "signature", sb);
	free(pb);
	free(sb);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decide_ctx  ctx = { pk, NODE_ID, NOW, LAST_SEQ, &cfg };
	struct cmd_payload p;
	json_t		  *elem = NULL;
	char		   why[CMD_WHY_MAX];
	const char	  *rest;
	enum verdict	   v;
	unsigned	   mode;

	if (size < 1)
		return 0;
	mode = data[0] % 4;
	rest = (const char *)data + 1;
	size--;
	if (mode == 0)
		elem = json_loadb(rest, size, 0, NULL);
	else if (size <= CMD_PAYLOAD_MAX)
		elem = signed_elem(mode == 3 ? other_sk : sk, rest, size,
		    mode == 2);
	if (elem == NULL)
		return 0;
	why[0] = '\0';
	v = command_decide(&ctx, elem, &p, why, sizeof(why));
	switch (v) {
	case VERDICT_RUN:
		if (mode != 1 && mode != 0)
			abort(); /* a bad signature ran */
		if (strcmp(p.node_id, NODE_ID) != 0 || p.expires_at <= NOW ||
		    p.seq <= LAST_SEQ || p.args == NULL ||
		    cmd_check(p.command, p.args, why, sizeof(why)) != 0 ||
		    !uuid_valid(p.command_id))
			abort();
		break;
	case VERDICT_REJECT:
		if (!uuid_valid(p.command_id) || why[0] == '\0')
			abort();
		break;
	case VERDICT_DROP:
		if (p.command_id[0] != '\0' || why[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
	cmd_payload_free(&p);
	json_decref(elem);
	return 0;
}
