/*
 * What the sovereign-scan files share: scan.c (the engine: findings with
 * their budget, bounded file reads under the root prefix, running a
 * program with a time limit), scan_host.c (the built-in checks) and
 * scan_rules.c (the operators' declarative rules). The rest of the agent
 * uses the first part: the options and scan_run().
 */
#ifndef VM_SCAN_H
#define VM_SCAN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "defs.h"

/* What a unit lookup returns when there is no systemd to ask. */
#define SCAN_NO_SYSTEMD (-2)

/*
 * Reads a property of a systemd unit into out: 0, SCAN_NO_SYSTEMD, or -1
 * with err. The default (NULL in scan_opts) asks systemd through probes.c;
 * tests put their own here.
 */
typedef int (*scan_unit_fn)(void *arg, const char *unit, const char *prop,
    char *out, size_t n, char *err, size_t errlen);

struct scan_opts {
	const char     *root;	  /* prefix of system files, "/" normally */
	const char     *vm_root;  /* VAULTMESH_ROOT, read as is */
	char *const    *services; /* VAULTMESH_SERVICES */
	size_t		nservices;
	const uint16_t *allowed_ports; /* wildcard listeners allowed */
	size_t		nallowed_ports;
	int		forwarding_allowed;
	const char     *rules_dir; /* absolute, read under root */
	const char     *packages;  /* "auto", "apt", "pacman", "none" */
	const char     *apt;	   /* programs of the live host */
	const char     *pacman;
	scan_unit_fn	unit_prop; /* NULL: systemd through probes.c */
	void	       *unit_arg;
	const char     *only; /* run this check only (tests); NULL all */
};

/* Fills o from the agent's configuration (o points into c). */
void scan_opts_from_config(struct scan_opts *o, const struct agent_config *c);
/*
 * Runs every check of the scan table (or o->only). System files are read
 * under o->root; the agent's own files under o->vm_root. Returns a JSON
 * array of findings {"id", "severity", "title", "detail", "remediation"},
 * at most 1000 and each within the command center's limits, or NULL with
 * err (out of memory, a root that does not fit, an unknown o->only).
 */
json_t *scan_run(const struct scan_opts *o, char *err, size_t errlen);

/* ---- the scan files' own -------------------------------------------- */

#define SCAN_FILE_MAX (1024 * 1024) /* any system file we parse */
#define SCAN_LINE_MAX 4096	    /* a longer line is cut there */
#define SCAN_FINDINGS_MAX 1000	    /* the command center's limit */
/*
 * The findings JSON must fit the catalog's 256 KiB output cap with room
 * for the wrapper; past this many bytes only "scan.truncated" is added.
 */
#define SCAN_JSON_BUDGET (200 * 1024)
#define SCAN_DETAIL_MAX 1024 /* CC accepts 4096 */
#define SCAN_TITLE_MAX 256
#define SCAN_REMEDIATION_MAX 2048
#define SCAN_ID_MAX 128
/*
 * The whole scan must end well before the catalog's 300 s kill, so that
 * a slow package manager or rule command costs its own result, not the
 * scan's: programs get at most what is left of this budget.
 */
#define SCAN_BUDGET_SECS 240

struct scan_ctx {
	char			prefix[AGENT_PATH_MAX]; /* "" for "/" */
	const struct scan_opts *o;
	json_t		       *findings;
	size_t			bytes;	     /* JSON bytes so far, about */
	int			full;	     /* budget hit, truncation noted */
	int			failed;	     /* out of memory */
	int64_t			deadline_ms; /* mono_ms() */
};

/*
 * Adds one finding. detail is printf-formatted; every text is made
 * printable UTF-8 (control characters become '?' or ' ') and cut to the
 * command center's limits. Past SCAN_FINDINGS_MAX or SCAN_JSON_BUDGET one
 * "scan.truncated" finding is added and the rest dropped.
 */
void scan_finding(struct scan_ctx *s, const char *id, const char *severity,
    const char *title, const char *remediation, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/*
 * Writes prefix + path (an absolute path of the scanned system) into out.
 * 0, or -1 when it does not fit or path is not absolute.
 */
int scan_path(const struct scan_ctx *s, const char *path, char *out, size_t n);
/* path without the prefix: how findings name a file of the scanned system. */
const char *scan_shown(const struct scan_ctx *s, const char *full);

/*
 * Reads a regular file (symlinks followed) of at most max bytes into a
 * NUL-terminated malloc'd buffer. Opens non-blocking and checks fstat()
 * on the open descriptor, so a FIFO or device planted in the tree cannot
 * stall the scan. NULL with errno (ENOENT, EFBIG, EINVAL for not regular).
 */
char *scan_read(const char *path, size_t max, size_t *len);
/*
 * Iterates over the lines of a NUL-terminated text in place: returns the
 * next line (NUL-terminated, "\r\n" stripped, cut at SCAN_LINE_MAX) and
 * advances *cursor, or NULL at the end. *lineno counts from 1.
 */
char *scan_next_line(char **cursor, unsigned *lineno);
/* Reads a small numeric file (/proc/sys/...) under the prefix: 0 or -1. */
int scan_read_long(const struct scan_ctx *s, const char *path, long *v);

enum scan_exec_rc {
	SCAN_EXEC_EXITED,   /* *status holds the exit status */
	SCAN_EXEC_SIGNALED, /* *status holds the signal number */
	SCAN_EXEC_TIMEOUT,  /* killed (whole group) at the limit */
	SCAN_EXEC_NOTFOUND, /* argv[0] is not an executable file */
	SCAN_EXEC_FAILED,   /* pipe, fork, exec or out of memory: err */
};

/*
 * Runs argv (argv[0] an absolute path; never a shell, no PATH search)
 * with stdin and stderr on /dev/null, a minimal environment (PATH, LC_ALL=C,
 * VAULTMESH_SCAN_ROOT), in its own process group that is killed after
 * timeout_secs (capped by the scan's remaining budget). When out is not
 * NULL it receives the first cap bytes of stdout (NUL-terminated,
 * malloc'd; *truncated set when more came). err gets the reason for
 * TIMEOUT, NOTFOUND and FAILED.
 */
enum scan_exec_rc scan_exec(struct scan_ctx *s, const char *const *argv,
    int timeout_secs, size_t cap, char **out, int *truncated, int *status,
    char *err, size_t errlen);

/* ---- the checks (scan_host.c, scan_rules.c) ------------------------- */

void scan_check_agent(struct scan_ctx *s);
void scan_check_sshd(struct scan_ctx *s);
void scan_check_kernel(struct scan_ctx *s);
void scan_check_services(struct scan_ctx *s);
void scan_check_network(struct scan_ctx *s);
void scan_check_updates(struct scan_ctx *s);
void scan_check_rules(struct scan_ctx *s);

/*
 * Parses /proc/net/tcp or tcp6 text and calls fn for each socket in
 * state LISTEN (0A) bound to the wildcard address, with its port and the
 * line it came from. Lines that do not parse are skipped. Returns the
 * number of such listeners.
 */
size_t scan_parse_proc_tcp(const char *text, int		 v6,
    void (*fn)(void *arg, unsigned port, unsigned lineno), void *arg);
/*
 * Counts apt-get -s upgrade "Inst " lines (total) and those from a
 * -security suite; lists the names of the security ones in secnames and
 * of the others in names (", "-separated, "..." when full).
 */
void scan_parse_apt(const char *text, size_t *total, size_t *security,
    char *names, size_t namelen, char *secnames, size_t secnamelen);

#endif
