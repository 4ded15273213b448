/*
 * runner: one command in a forked child, in its own session (runner.c).
 */
#ifndef VM_AGENT_RUNNER_H
#define VM_AGENT_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "command.h"

struct agent;
struct agent_config;

struct run_result {
	const char *status;    /* "ok", "error", "rejected", "timeout" */
	int	    exit_code; /* -1 when nothing exited on its own */
	char	   *output;    /* malloc'd, valid UTF-8 */
	json_t	   *findings;  /* sovereign-scan only */
	time_t	    started;
	time_t	    finished;
};

/* The child side of a command: output on fds 1 and 2, returns exit status. */
typedef int (*runner_fn)(struct agent *a, const struct cmd_payload *p);

/*
 * Runs a verified command of the catalog (runner_exec with its spec).
 * Always fills r (free with run_result_free).
 */
void
runner_run(struct agent *a, const struct cmd_payload *p, struct run_result *r);
/*
 * The engine: forks, runs fn in the child in its own session (so its own
 * process group), keeps the first cap bytes of output, kills the whole
 * group after timeout_secs ("timeout") or when the agent stops. Fills r.
 */
void runner_exec(struct agent *a, const struct cmd_payload *p, int timeout_secs,
    size_t cap, runner_fn fn, struct run_result *r);
void run_result_free(struct run_result *r);
/*
 * Result JSON of the contract for r, compact; malloc'd or NULL on OOM.
 */
char *result_json(const char *node_id, const char *command_id,
    const struct run_result *r, size_t *len);
/* The agent-info text: version, node id, config without secrets, seq. */
char *agent_info_text(const struct agent_config *cfg, const char *node_id,
    int64_t last_seq);

#endif
