#include <stdint.h>
#include <string.h>

#include "model.h"

static const char *const reason_names[REASON_COUNT] = {
	"heartbeat_stale",
	"cloudflare_down",
	"services_down",
	"never_scanned",
	"scan_stale",
	"critical_findings",
	"high_findings",
};

unsigned
attention_reasons(const struct attn_input *in, int64_t now,
    const struct thresholds *t)
{
	unsigned r = 0;

	/* Fresh means age < threshold; no heartbeat yet counts as stale. */
	if (in->last_heartbeat_at == 0 ||
	    now - in->last_heartbeat_at >= t->heartbeat_stale_secs)
		r |= R_HEARTBEAT_STALE;
	if (in->cloudflare == CF_DOWN)
		r |= R_CLOUDFLARE_DOWN;
	if (in->services_down)
		r |= R_SERVICES_DOWN;
	if (in->last_scan_at == 0)
		r |= R_NEVER_SCANNED;
	else if (now - in->last_scan_at >= t->scan_stale_secs)
		r |= R_SCAN_STALE;
	if (in->critical > 0)
		r |= R_CRITICAL_FINDINGS;
	if (in->high > 0)
		r |= R_HIGH_FINDINGS;
	return r;
}

int64_t
attention_due(const struct attn_input *in, unsigned reasons,
    const struct thresholds *t)
{
	int64_t due = INT64_MAX;

	if (!(reasons & R_HEARTBEAT_STALE))
		due = in->last_heartbeat_at + t->heartbeat_stale_secs;
	if (in->last_scan_at != 0 && !(reasons & R_SCAN_STALE) &&
	    in->last_scan_at + t->scan_stale_secs < due)
		due = in->last_scan_at + t->scan_stale_secs;
	return due;
}

enum level
attention_level(unsigned reasons)
{
	if (reasons &
	    (R_HEARTBEAT_STALE | R_CLOUDFLARE_DOWN | R_SERVICES_DOWN |
		R_CRITICAL_FINDINGS))
		return LEVEL_RED;
	return reasons ? LEVEL_YELLOW : LEVEL_GREEN;
}

const char *
reason_name(unsigned bit)
{
	for (int i = 0; i < REASON_COUNT; i++)
		if (bit == (1u << i))
			return reason_names[i];
	return "unknown";
}

const char *
level_name(enum level l)
{
	switch (l) {
	case LEVEL_GREEN:
		return "green";
	case LEVEL_YELLOW:
		return "yellow";
	default:
		return "red";
	}
}

const char *
status_name(enum node_status s)
{
	switch (s) {
	case NODE_APPROVED:
		return "approved";
	case NODE_REVOKED:
		return "revoked";
	case NODE_DELETED:
		return "deleted";
	default:
		return "pending";
	}
}

int
status_parse(const char *s, enum node_status *out)
{
	if (strcmp(s, "approved") == 0)
		*out = NODE_APPROVED;
	else if (strcmp(s, "pending") == 0)
		*out = NODE_PENDING;
	else if (strcmp(s, "revoked") == 0)
		*out = NODE_REVOKED;
	else if (strcmp(s, "deleted") == 0)
		*out = NODE_DELETED;
	else
		return -1;
	return 0;
}
