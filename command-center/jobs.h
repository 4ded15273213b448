/*
 * jobs: one command for every node a target selects, each node its own
 * signed command (its seq, expiry and policy check), rolled out in waves:
 * a canary first, then waves of a size, the next one when the current one
 * has finished (and an optional pause has passed), the job stopping by
 * itself when failures pass a threshold. It knows no HTTP (jobs_api.c).
 */
#ifndef VM_CC_JOBS_H
#define VM_CC_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"
#include "target.h"

#define JOB_REASON_MAX 500

/* How a job rolls out; all zero: every node at once. */
struct rollout {
	int canary;	     /* nodes in the first wave (0: none) */
	int canary_pct;	     /* or a percentage of them (0: none) */
	int wave_size;	     /* nodes per later wave (0: all the rest) */
	int pause_secs;	     /* after each finished wave */
	int max_failure_pct; /* -1: no threshold */
};

/* What an operator asks for. */
struct job_spec {
	const char    *command;
	json_t	      *args; /* borrowed */
	const char    *reason;
	struct target  target;
	struct rollout ro;
	int	       confirm; /* above VAULTMESH_JOB_MAX_NODES */
	const char    *created_by;
	int64_t	       every_secs;  /* recurring: its period; 0: once */
	int	       skip_open;   /* leave out nodes running the command */
	const char    *target_text; /* kept as the target, when not NULL */
};
#define JOB_EVERY_MIN 60 /* the shortest period of a recurring job */

/* What a target selects now, before anything is queued. */
struct job_preview {
	char (*ids)[37]; /* the nodes that get the command, in wave order */
	size_t		 n;
	struct job_node *excluded; /* reason: a malloc'd string each */
	size_t		 nexcluded;
	size_t		 offline; /* of ids: no heartbeat for a while */
	int		 waves;
	/* Of ids: nodes whose policy makes the command wait for approval. */
	size_t need_approval;
	int    awaits; /* the job would wait for a second operator */
};

/*
 * A job's rollout from its JSON "rollout" (NULL: all at once): 0, or -1
 * with the field and why in err.
 */
int rollout_from_json(const json_t *j, struct rollout *ro, char *err,
    size_t errlen);
/* ro as the compact JSON object a job keeps, into b. */
void rollout_json(const struct rollout *ro, struct buf *b);
/* The waves' sizes for n nodes: the number of waves (0 when n is 0). */
int
rollout_waves(const struct rollout *ro, size_t n, size_t *first, size_t *size);

/*
 * The preview of spec: the approved nodes its target selects, less those
 * the policy excludes (with the reason), and the explicitly listed nodes
 * that are not approved: 0, or -1 out of memory.
 */
int  jobs_preview(const struct job_spec *spec, struct job_preview *p);
void jobs_preview_free(struct job_preview *p);
/*
 * Stores the job of spec for the nodes of p and starts its first wave:
 * 0 with job_id, or -1 (nothing stored, or the job stored and left to
 * the next tick to start). A job p->awaits (more nodes than the policy's
 * "job_approval_over", or a command that needs approval on one of their
 * profiles) is stored awaiting approval instead, with its request
 * (approvals.c): nothing is queued until another operator approves it.
 */
int jobs_create(const struct job_spec *spec, const struct job_preview *p,
    char job_id[37]);
/*
 * Adds the recurring job of spec (its first run is a job made now by the
 * caller, job_id): the next run every_secs from now. 0 with id, or -1.
 */
int
jobs_schedule_add(const struct job_spec *spec, const char *job_id, char id[37]);
/* Deletes a recurring job: 1, 0 unknown (or deleted already), -1. */
int jobs_schedule_delete(const char *id, const char *who, const char *peer);
/*
 * Cancels a running job: its undelivered commands become "cancelled",
 * no more waves start. How many were cancelled, -2 when it had ended, or
 * -1.
 */
int jobs_cancel(const char *job_id, const char *who, const char *peer);
/*
 * Once a second on the leader: each running job stops at its failure
 * threshold, finishes, or starts its next wave when it is time.
 */
void jobs_tick(int64_t now);

/* A job's nodes per status: its commands', and those not started. */
enum job_count {
	JC_QUEUED,
	JC_DELIVERED,
	JC_OK,
	JC_ERROR,
	JC_REJECTED,
	JC_TIMEOUT,
	JC_EXPIRED,
	JC_CANCELLED,
	JC_NOT_STARTED,
	JC_N
};
extern const char *const job_count_names[JC_N];
/* 0 or -1. */
int jobs_counts(const char *job_id, int counts[JC_N]);
/* Failures among finished commands (error, rejected, timeout). */
int jobs_failed(const int counts[JC_N]);
int jobs_finished(const int counts[JC_N]);

#endif
