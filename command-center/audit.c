/*
 * audit: an entry of the audit log in the store and, as a line, in the log
 * (where a failure to store it is said too).
 */
#include <time.h>

#include "app.h"
#include "audit.h"
#include "log.h"

void
audit_record(const char *who, const char *peer, const char *action,
    const char *target, const char *detail, const char *result)
{
	struct audit_rec a;
	char		 q[300], d[1400];

	a.at = time(NULL);
	a.who = who;
	a.peer = peer != NULL ? peer : "";
	a.action = action;
	a.target = target;
	a.detail = detail != NULL ? detail : "";
	a.result = result;
	if (store_audit_add(app.store, &a) == -1)
		log_err("audit_failed", "action=%s target=%s", action, target);
	log_info("audit",
	    "action=%s target=%s result=%s by=%s peer=%s detail=%s", action,
	    target, result, log_quote(q, sizeof(q), who), a.peer,
	    log_quote(d, sizeof(d), a.detail));
}
