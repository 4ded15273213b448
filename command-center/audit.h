/*
 * audit: one entry of the audit log, stored and logged (audit.c). The
 * operator routes call it through audit() (operator.c), with the request's
 * identity; the domain (jobs, approvals) with its own actor.
 */
#ifndef VM_CC_AUDIT_H
#define VM_CC_AUDIT_H

/* peer and detail may be NULL (stored as ""). */
void audit_record(const char *who, const char *peer, const char *action,
    const char *target, const char *detail, const char *result);

#endif
