/*
 * policy: which commands each OS profile may run (policy.c).
 */
#ifndef VM_CC_POLICY_H
#define VM_CC_POLICY_H

#include <stddef.h>

/* Checks a policy document (label names it in err): 0, or -1 with why. */
int policy_check_text(const char *label, const char *text, size_t len,
    char *err, size_t errlen);
/* Loads the policy (path NULL: built-in): 0, or -1 with "file:line: why". */
int policy_init(const char *path, char *err, size_t errlen);
/* Reloads the same file; on failure the old policy stays: -1 with err. */
int  policy_reload(char *err, size_t errlen);
void policy_shutdown(void);
/* Bit i set when cmd_catalog[i] is allowed for profile. */
unsigned policy_allowed(const char *profile);
int	 policy_allows(const char *profile, const char *command);
/*
 * 1 when the policy's "require_approval" makes command wait for a second
 * operator on profile (shaped like the allow lists: a profile listed under
 * its "profiles" gets exactly its list, every other one its "default").
 */
int policy_needs_approval(const char *profile, const char *command);
/* "job_approval_over": a job selecting more nodes waits; -1: none. */
long policy_job_approval_over(void);

#endif
