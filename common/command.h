/*
 * command: the command catalog both daemons share, and the signed-command
 * wire format of CONTRACT.md ("vaultmesh.command.v1" NUL payload).
 */
#ifndef VM_COMMAND_H
#define VM_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CMD_SIG_DOMAIN "vaultmesh.command.v1"
#define CMD_NAME_MAX 32
#define CMD_UNIT_MAX 255
#define CMD_JOURNAL_LINES_MAX 500
#define CMD_PAYLOAD_MAX 4096
#define CMD_WHY_MAX 160

struct cmd_spec {
	const char *name;
	int	    timeout_secs; /* the agent kills the process group after */
	size_t	    output_cap;	  /* bytes of output kept and reported */
	/* 0 if args (a JSON object, never NULL) are valid; else -1 and why. */
	int (*check)(json_t *args, char *why, size_t whylen);
};

/* The catalog, terminated by an entry with name == NULL. */
extern const struct cmd_spec cmd_catalog[];

/* The spec named name, or NULL. */
const struct cmd_spec *cmd_lookup(const char *name);
/* 1 if s is a valid systemd unit name ("foo.service", "a@b.timer"). */
int cmd_unit_valid(const char *s);
/*
 * Validates a command and its args (NULL means {}): 0, or -1 with the reason
 * ("unknown_command: ..." or "invalid_args: ...") in why.
 */
int cmd_check(const char *name, json_t *args, char *why, size_t whylen);

/* A decoded command payload. args is owned (json_decref it). */
struct cmd_payload {
	char	command_id[37];
	char	node_id[37];
	int64_t seq;
	char	command[CMD_NAME_MAX + 1];
	json_t *args;
	int64_t issued_at;
	int64_t expires_at;
};

/*
 * What a signature of this project covers: domain, one NUL byte, payload
 * (len bytes), malloc'd (*mlen bytes); NULL on OOM.
 */
unsigned char *
sig_message(const char *domain, const char *payload, size_t len, size_t *mlen);
/*
 * Signs payload bytes with the Ed25519 secret key sk; writes the base64
 * payload and signature into malloc'd strings. 0, or -1 on OOM.
 */
int cmd_sign(const unsigned char sk[64], const char *payload, size_t len,
    char **payload_b64, char **sig_b64);
/*
 * Decodes and verifies one signed command against pk. On success returns 0
 * and the decoded payload bytes (malloc'd, NUL-terminated) in *payload.
 * On failure returns -1 with the reason in why.
 */
int cmd_verify(const unsigned char pk[32], const char *payload_b64,
    const char *sig_b64, char **payload, size_t *len, char *why, size_t whylen);
/* Parses payload JSON into out: 0, or -1 with the reason in why. */
int  cmd_payload_parse(const char *json, size_t len, struct cmd_payload *out,
     char *why, size_t whylen);
void cmd_payload_free(struct cmd_payload *p);

/* Base64 (original variant) helpers over libsodium; NULL on failure. */
char *b64_encode(const unsigned char *bin, size_t len);
/* Decodes into out (at most max bytes); returns the length or -1. */
long b64_decode(const char *s, unsigned char *out, size_t max);

#endif
