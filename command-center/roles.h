/*
 * roles: who may do what (roles.c). The roles file (VAULTMESH_ROLES_PATH)
 * maps Access identities to roles; CONTRACT.md, "Operator endpoints,
 * second set", pins its shape:
 *
 *   {"admin": ["boss@example.com"], "approver": ["@example.org"],
 *    "operator": ["group:ops"]}
 *
 * An entry is an email, "@domain" for every email of a domain, or
 * "group:<name>" for a group claim of the Access token; also (beyond the
 * contract) a service token's Client ID, "<32 hex digits>.access", the
 * common_name its tokens carry. An identity gets the highest role that
 * names it; anyone unnamed is a viewer.
 */
#ifndef VM_CC_ROLES_H
#define VM_CC_ROLES_H

#include <stddef.h>

/* In rising order: each role may do all that the ones below it may. */
enum role { ROLE_VIEWER, ROLE_OPERATOR, ROLE_APPROVER, ROLE_ADMIN, ROLE_N };

/* Bounds of the file. */
#define ROLES_FILE_MAX (1u << 20) /* bytes */
#define ROLES_ENTRIES_MAX 10000	  /* entries, all roles together */
#define ROLES_ENTRY_MAX 254	  /* bytes of one entry */
#define ROLES_GROUPS_MAX 64	  /* group claims of one token looked at */

extern const char *const role_names[ROLE_N];

/* The role named name, or -1. */
int role_by_name(const char *name);

/* Checks a roles document (label names it in err): 0, or -1 with why. */
int roles_check_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen);
/*
 * Loads the roles file (path NULL: no file, everyone is a viewer when Access
 * is on): 0, or -1 with "file: why".
 */
int roles_init(const char *path, char *err, size_t errlen);
/* Reads the same file again; on failure the old roles stay: -1 with err. */
int  roles_reload(char *err, size_t errlen);
void roles_shutdown(void);
/*
 * The role of an Access identity (an email, or a service token's common
 * name) with its group claims (groups[0..ngroups), may be 0).
 */
enum role roles_of(const char *who, const char *const *groups, size_t ngroups);

#endif
