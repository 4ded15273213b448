/*
 * approvals: two-person approval (issue 19, part 2; approvals.c). A command
 * the policy's "require_approval" names for a node's profile, or a job over
 * "job_approval_over" nodes or running such a command, is stored as a
 * request awaiting approval; it is signed and queued only when an operator
 * other than the requester approves it. It can be rejected, with a reason,
 * and expires after VAULTMESH_APPROVAL_TTL_SECONDS. Every step is audited
 * with both identities.
 */
#ifndef VM_CC_APPROVALS_H
#define VM_CC_APPROVALS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define APPROVAL_REASON_MAX 500 /* bytes of a request's or decision's why */

/* What approvals_decide did. */
enum approval_result {
	AP_DONE = 0,	     /* decided */
	AP_UNKNOWN = -1,     /* no such request (of that kind) */
	AP_SELF = -2,	     /* the requester may not approve it */
	AP_DECIDED = -3,     /* no longer awaiting approval */
	AP_NOT_ALLOWED = -4, /* the policy no longer lets the node run it */
	AP_NODE_GONE = -5,   /* its node is not an approved node any more */
	AP_STORE = -6,	     /* the store failed */
};

/*
 * Stores a request (a's id, kind, node_id, command, args, reason,
 * requested_by; the times and status are set here) and audits it:
 * 0, or -1.
 */
int approvals_request(struct approval_rec *a, const char *peer);
/*
 * Approves (approve 1) or rejects request id of kind ("command" or "job")
 * as who, with an optional reason; an approved command is signed and
 * queued in the decision's transaction, an approved job starts at the
 * leader's next tick. Audited either way.
 */
enum approval_result approvals_decide(const char *id, const char *kind,
    int approve, const char *who, const char *peer, const char *reason);
/* 1 when a and b are the same operator (emails without case). */
int approvals_same_person(const char *a, const char *b);
/* The leader, once a second: requests past their time become expired. */
void approvals_tick(int64_t now);

#endif
