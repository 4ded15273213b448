/*
 * state: the files under VAULTMESH_ROOT and the result spool (state.c).
 */
#ifndef VM_AGENT_STATE_H
#define VM_AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "defs.h"
#include "util.h"

/*
 * Creates root (0700, parents too) and root/spool, and removes leftover
 * temporary files. 0, or -1 with one line in err.
 */
int state_prepare(const char *root, char *err, size_t errlen);
/* Loads root/node_id, creating a new UUID v4 there if missing. 0 or -1. */
int state_node_id(const char *root, char out[UUID_STRLEN + 1], char *err,
    size_t errlen);
/*
 * Loads root/enroll_key (AGENT_ENROLL_KEY_LEN characters of base64url, the
 * secret this agent proves itself with when enrolling), creating 32 random
 * bytes there if missing. 0, or -1 with one line in err (out is then not
 * a key). The caller wipes out.
 */
int state_enroll_key(const char *root, char out[AGENT_ENROLL_KEY_LEN + 1],
    char *err, size_t errlen);
/*
 * Loads root/node_token into out (size n, wiped by the caller): 1 loaded,
 * 0 absent, -1 unreadable or invalid.
 */
int state_load_token(const char *root, char *out, size_t n);
/* Persists the token (0600, atomic). 0 or -1 with errno. */
int state_save_token(const char *root, const char *token);
/*
 * Loads the pinned CC key and its version (0: not known, a file from
 * before key rotation): 1 loaded, 0 absent, -1 invalid.
 */
int state_load_pubkey(const char *root, unsigned char pk[32], int64_t *version);
/*
 * Pins pk at version (root/cc_ed25519.pub: the base64 key and the version
 * on two lines, 0600, written whole and renamed into place). 0 or -1.
 */
int state_save_pubkey(const char *root, const unsigned char pk[32],
    int64_t version);
/* Loads root/last_seq into *seq (0 when absent). 0, or -1 if corrupt. */
int state_load_seq(const char *root, int64_t *seq);
/* Persists seq durably (fsync'd, atomic) before a command runs. 0 or -1. */
int state_save_seq(const char *root, int64_t seq);

/* 1 if name is "<uuid>.json", a spool entry. */
int spool_name_valid(const char *name);
/* 1 if root/spool/<command_id>.json exists (a result not yet acknowledged). */
int spool_has(const char *root, const char *command_id);
/* Writes root/spool/<command_id>.json (0600, atomic). 0 or -1 with errno. */
int spool_write(const char *root, const char *command_id, const char *json,
    size_t len);
/*
 * Lists the command ids in the spool, oldest first, into a malloc'd array
 * of malloc'd strings (free with spool_list_free). 0 or -1.
 */
int  spool_list(const char *root, char ***ids, size_t *n);
void spool_list_free(char **ids, size_t n);
/* The spooled result JSON (malloc'd), or NULL. */
char *spool_read(const char *root, const char *command_id, size_t *len);
/* Removes one entry; 0 (also when already gone) or -1. */
int spool_delete(const char *root, const char *command_id);

#endif
