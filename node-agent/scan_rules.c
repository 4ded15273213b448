/*
 * sovereign-scan's declarative rules: operators add checks without
 * rebuilding by dropping JSON files into VAULTMESH_SCAN_RULES_DIR
 * (/etc/vaultmesh/scan.d, read under the scan prefix). Each "*.json" file
 * holds one rule set (node-agent/scan-rules.example.json shows them all):
 *
 *   {"rules": [{"id": "ssh.banner", "severity": "low", "title": "...",
 *               "remediation": "...", "check": {"type": "...", ...}}]}
 *
 * A check describes the BAD condition; the rule fires (one finding with
 * the rule's severity, id "rule.<id>" so a rule can never pass for a
 * built-in check) when that condition holds:
 *
 *   file_exists   {path}              fires when path exists (lstat: a
 *                                     dangling symlink exists too)
 *   file_absent   {path}              fires when path does not exist
 *   file_mode     {path, max_mode}    fires when path exists and its mode
 *                                     has a bit outside max_mode ("0644")
 *   file_owner    {path, owner}       fires when path exists and is not
 *                                     owned by owner (uid number, or a
 *                                     user name from <root>/etc/passwd)
 *   line_matches  {path, pattern}     fires when a line of path matches
 *                                     the POSIX extended regex pattern
 *                                     (a missing file matches nothing)
 *   line_absent   {path, pattern}     fires when no line of path matches,
 *                                     a missing file included
 *   command_exit  {argv, expected_exit (0), timeout_secs (10, 1-60)}
 *                                     fires when argv[0] (an absolute
 *                                     path; no shell, no PATH search)
 *                                     exits otherwise, is killed, or
 *                                     outruns its time limit
 *
 * Paths are absolute paths of the scanned system (no ".." components).
 * "remediation" and "description" are optional; any other unknown field
 * is an error, so a typo cannot silently disable a check. A file, or one
 * rule in it, that is broken (bad JSON, unknown type, missing or wrong
 * field, bad regex) gives a "scan.rules.invalid" finding (medium) naming
 * the file (and line, or rule) and the reason; the file's valid rules
 * still run. Rules can run programs as the agent, so a rule file or
 * folder writable by others, or owned by anyone but root or the agent's
 * user, is refused ("scan.rules.insecure", high).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defs.h"
#include "scan.h"
#include "util.h"

#define RULES_FILES_MAX 64
#define RULES_FILE_MAX (256 * 1024)
#define RULES_PER_FILE_MAX 200
#define RULES_TOTAL_MAX 1000
#define RULES_INVALID_MAX 10 /* findings per broken file */
#define RULE_ID_MAX 100	     /* "rule." + id fits SCAN_ID_MAX */
#define RULE_PATTERN_MAX 1024
#define RULE_ARGV_MAX 32
#define RULE_ARG_MAX 1024
#define RULE_TIMEOUT_DEFAULT 10
#define RULE_TIMEOUT_MAX 60
#define RULE_OUTPUT_SHOWN 200 /* bytes of a matching line in detail */

enum rule_type {
	R_FILE_EXISTS,
	R_FILE_ABSENT,
	R_FILE_MODE,
	R_FILE_OWNER,
	R_LINE_MATCHES,
	R_LINE_ABSENT,
	R_COMMAND_EXIT,
};

static const struct {
	const char    *name;
	enum rule_type type;
	const char    *fields[5]; /* allowed check fields besides "type" */
} rule_types[] = {
	{ "file_exists", R_FILE_EXISTS, { "path" } },
	{ "file_absent", R_FILE_ABSENT, { "path" } },
	{ "file_mode", R_FILE_MODE, { "path", "max_mode" } },
	{ "file_owner", R_FILE_OWNER, { "path", "owner" } },
	{ "line_matches", R_LINE_MATCHES, { "path", "pattern" } },
	{ "line_absent", R_LINE_ABSENT, { "path", "pattern" } },
	{ "command_exit", R_COMMAND_EXIT,
	    { "argv", "expected_exit", "timeout_secs" } },
};

struct rule {
	const char    *id, *severity, *title, *remediation;
	enum rule_type type;
	const char    *path;
	unsigned       max_mode;
	const char    *owner; /* a user name, or NULL for uid */
	uid_t	       uid;
	const char    *pattern;
	regex_t	       re;
	int	       have_re;
	const char    *argv[RULE_ARGV_MAX + 1];
	int	       expected_exit;
	int	       timeout_secs;
};

struct rules_file {
	struct scan_ctx *s;
	const char	*shown;	  /* the file as findings name it */
	size_t		 invalid; /* findings reported for this file */
};

static void __attribute__((format(printf, 2, 3)))
invalid(struct rules_file *f, const char *fmt, ...)
{
	char	reason[600];
	va_list ap;

	if (f->invalid++ == RULES_INVALID_MAX) {
		scan_finding(f->s, "scan.rules.invalid", "medium",
		    "A scan rule file is broken",
		    "Fix the file; see scan-rules.example.json for the format.",
		    "%s: more problems not reported", f->shown);
		return;
	}
	if (f->invalid > RULES_INVALID_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	scan_finding(f->s, "scan.rules.invalid", "medium",
	    "A scan rule file is broken",
	    "Fix the file; see "
	    "scan-rules.example.json for the format. Its other rules still "
	    "run; this one does not.",
	    "%s%s", f->shown, reason);
}

static void __attribute__((format(printf, 3, 4)))
eval_error(struct scan_ctx *s, const struct rule *r, const char *fmt, ...)
{
	char	reason[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	scan_finding(s, "scan.rules.error", "low",
	    "A scan rule could not be evaluated",
	    "Check the rule's path or program on this host.", "rule %s: %s",
	    r->id, reason);
}

/* ---- parsing ----------------------------------------------------------- */

static int
id_valid(const char *s)
{
	return str_name_valid(s, RULE_ID_MAX);
}

/* An absolute path without "." or ".." components, so it stays in the tree. */
static int
path_valid(const char *p)
{
	const char *c;

	if (p[0] != '/' || strlen(p) >= AGENT_PATH_MAX ||
	    !str_printable(p, AGENT_PATH_MAX))
		return 0;
	for (c = p; c != NULL; c = strchr(c + 1, '/'))
		if (strncmp(c, "/../", 4) == 0 || strcmp(c, "/..") == 0 ||
		    strncmp(c, "/./", 3) == 0 || strcmp(c, "/.") == 0)
			return 0;
	return 1;
}

/* A string member: NULL and why when absent (unless optional) or bad. */
static const char *
str_field(json_t *o, const char *key, size_t max, int optional, char *why,
    size_t whylen)
{
	json_t	   *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (v == NULL && optional)
		return NULL;
	if (v == NULL)
		snprintf(why, whylen, "missing field \"%s\"", key);
	else if (s == NULL)
		snprintf(why, whylen, "\"%s\" must be a string", key);
	else if (strlen(s) == 0 || !str_printable(s, max)) {
		snprintf(why, whylen,
		    "\"%s\" must be 1 to %zu printable characters", key, max);
		s = NULL;
	}
	return s;
}

/* Integer member in [min, max], def when absent: 0 or -1 with why. */
static int
int_field(json_t *o, const char *key, int def, int min, int max, int *out,
    char *why, size_t whylen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(why, whylen, "\"%s\" must be an integer from %d to %d",
		    key, min, max);
		return -1;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

/* Fails on any key of o not in allowed (NULL-terminated, up to n). */
static int
known_keys(json_t *o, const char *const *allowed, size_t n, char *why,
    size_t whylen)
{
	const char *k;
	json_t	   *v;

	json_object_foreach(o, k, v)
	{
		size_t i;

		for (i = 0; i < n && allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (i == n || allowed[i] == NULL) {
			snprintf(why, whylen, "unknown field \"%.40s\"", k);
			return -1;
		}
	}
	return 0;
}

/*
 * The end of the bracket expression that starts at p ('['): its closing
 * ']' (a ']' right after "[" or "[^" is literal), or NULL when it is not
 * closed (regcomp then says why). Inside brackets '\\' is literal, and
 * "[:space:]", "[.-.]" and "[=e=]" end with a ']' of their own.
 */
static const char *
bracket_end(const char *p)
{
	p += p[1] == '^' ? 2 : 1;
	if (*p == ']')
		p++;
	for (; *p != '\0' && *p != ']'; p++) {
		const char *q;

		if (*p != '[' || (p[1] != ':' && p[1] != '.' && p[1] != '='))
			continue;
		for (q = p + 2; *q != '\0' && (q[0] != p[1] || q[1] != ']');
		     q++)
			;
		if (*q == '\0')
			return NULL;
		p = q + 1; /* the class's own ']' */
	}
	return *p == ']' ? p : NULL;
}

/*
 * glibc's regcomp copies a repeated subexpression once per repetition, so
 * stacked repetitions ("a*+++", "a{200}{200}") grow its tree exponentially
 * (the rule fuzzer ran it out of memory). Refuses a repetition operator that
 * follows another, and counted repetitions whose bounds multiply past 4096.
 * Bracket expressions and escaped characters are skipped.
 */
static int
pattern_tame(const char *re)
{
	unsigned long product = 1;
	int	      after_rep = 0;

	for (const char *p = re; *p != '\0'; p++) {
		int rep = *p == '*' || *p == '+' || *p == '?' || *p == '{';

		if (*p == '\\' && p[1] != '\0') {
			p++;
			after_rep = 0;
			continue;
		}
		if (*p == '[') {
			if ((p = bracket_end(p)) == NULL)
				return 1; /* regcomp says why */
			after_rep = 0;
			continue;
		}
		if (rep && after_rep)
			return 0;
		if (*p == '{') {
			char	     *end;
			unsigned long hi = strtoul(p + 1, &end, 10);

			/* "{n,}" copies n times, "{n,m}" m times. */
			if (*end == ',' && end[1] != '}')
				hi = strtoul(end + 1, &end, 10);
			p = end;
			if (hi > 255 || (product *= hi > 0 ? hi : 1) > 4096)
				return 0;
			while (*p != '\0' && *p != '}')
				p++;
			if (*p == '\0')
				return 1;
		}
		after_rep = rep;
	}
	return 1;
}

/*
 * 1 if re holds a back-reference (\1 to \9 outside a bracket expression).
 * glibc takes them in extended regexes too, and matching one backtracks
 * through every way the groups before it can split the line:
 * "(.*)(.*)(.*)(.*)(.*)\5c" took 5.7 s on a 200-byte line and over 20 s
 * on 400, and one such rule would stall every scan. No size limit makes
 * that safe, so rules may not use them.
 */
static int
pattern_backref(const char *re)
{
	const char *end;

	for (const char *p = re; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			if (p[1] >= '1' && p[1] <= '9')
				return 1;
			p++;
			continue;
		}
		/*
		 * An unclosed bracket is scanned on as if it were none: a
		 * false refusal of a broken pattern, never a missed \1.
		 */
		if (*p == '[' && (end = bracket_end(p)) != NULL)
			p = end;
	}
	return 0;
}

static int
parse_check(json_t *c, struct rule *r, char *why, size_t whylen)
{
	const char *type, *mode, *fields[6];
	json_t	   *v, *e;
	size_t	    t, i;
	char	   *end;
	int	    rc;

	if (!json_is_object(c)) {
		snprintf(why, whylen, "\"check\" must be an object");
		return -1;
	}
	if ((type = str_field(c, "type", 32, 0, why, whylen)) == NULL)
		return -1;
	for (t = 0; t < sizeof(rule_types) / sizeof(rule_types[0]); t++)
		if (strcmp(type, rule_types[t].name) == 0)
			break;
	if (t == sizeof(rule_types) / sizeof(rule_types[0])) {
		snprintf(why, whylen,
		    "unknown check type \"%.32s\" (file_exists, "
		    "file_absent, file_mode, file_owner, line_matches, "
		    "line_absent, command_exit)",
		    type);
		return -1;
	}
	r->type = rule_types[t].type;
	fields[0] = "type";
	for (i = 0; i < 5; i++)
		fields[i + 1] = rule_types[t].fields[i];
	if (known_keys(c, fields, 6, why, whylen) == -1)
		return -1;
	if (r->type != R_COMMAND_EXIT) {
		if ((r->path = str_field(c, "path", AGENT_PATH_MAX, 0, why,
			 whylen)) == NULL)
			return -1;
		if (!path_valid(r->path)) {
			snprintf(why, whylen,
			    "\"path\" must be absolute, "
			    "without . or .. components");
			return -1;
		}
	}
	switch (r->type) {
	case R_FILE_MODE:
		if ((mode = str_field(c, "max_mode", 5, 0, why, whylen)) ==
		    NULL)
			return -1;
		errno = 0;
		r->max_mode = (unsigned)strtoul(mode, &end, 8);
		if (errno != 0 || *end != '\0' || mode[0] < '0' ||
		    mode[0] > '7' || r->max_mode > 07777) {
			snprintf(why, whylen,
			    "\"max_mode\" must be octal like \"0644\"");
			return -1;
		}
		break;
	case R_FILE_OWNER:
		v = json_object_get(c, "owner");
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 0x7fffffff) {
			r->uid = (uid_t)json_integer_value(v);
			break;
		}
		if ((r->owner = str_field(c, "owner", 64, 0, why, whylen)) ==
		    NULL) {
			if (v != NULL)
				snprintf(why, whylen,
				    "\"owner\" must be a uid or a user name");
			return -1;
		}
		break;
	case R_LINE_MATCHES:
	case R_LINE_ABSENT:
		if ((r->pattern = str_field(c, "pattern", RULE_PATTERN_MAX, 0,
			 why, whylen)) == NULL)
			return -1;
		if (pattern_backref(r->pattern)) {
			snprintf(why, whylen,
			    "\"pattern\" uses a back-reference "
			    "(\\1 to \\9): matching one can take minutes on "
			    "a long line, so rules may not use them");
			return -1;
		}
		if (!pattern_tame(r->pattern)) {
			snprintf(why, whylen,
			    "\"pattern\" repeats too much: "
			    "no repetition right after another, and counted "
			    "repetitions at most 255 each and 4096 together");
			return -1;
		}
		if ((rc = regcomp(&r->re, r->pattern,
			 REG_EXTENDED | REG_NOSUB)) != 0) {
			char msg[160];

			regerror(rc, &r->re, msg, sizeof(msg));
			snprintf(why, whylen,
			    "\"pattern\" is not a POSIX extended regex: %s",
			    msg);
			return -1;
		}
		r->have_re = 1;
		break;
	case R_COMMAND_EXIT:
		v = json_object_get(c, "argv");
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > RULE_ARGV_MAX) {
			snprintf(why, whylen,
			    "\"argv\" must be an array of 1 to %d strings",
			    RULE_ARGV_MAX);
			return -1;
		}
		json_array_foreach(v, i, e)
		{
			const char *a = json_string_value(e);

			if (a == NULL || strlen(a) > RULE_ARG_MAX ||
			    !str_printable(a, RULE_ARG_MAX)) {
				snprintf(why, whylen,
				    "argv[%zu] must be a "
				    "printable string of at most %d bytes",
				    i, RULE_ARG_MAX);
				return -1;
			}
			r->argv[i] = a;
		}
		r->argv[i] = NULL;
		if (r->argv[0][0] != '/') {
			snprintf(why, whylen,
			    "argv[0] must be an absolute "
			    "path (no shell, no PATH search)");
			return -1;
		}
		if (int_field(c, "expected_exit", 0, 0, 255, &r->expected_exit,
			why, whylen) == -1 ||
		    int_field(c, "timeout_secs", RULE_TIMEOUT_DEFAULT, 1,
			RULE_TIMEOUT_MAX, &r->timeout_secs, why, whylen) == -1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static int
parse_rule(json_t *o, struct rule *r, char *why, size_t whylen)
{
	static const char *const keys[] = { "id", "severity", "title",
		"remediation", "description", "check" };
	static const char *const sev[] = { "critical", "high", "medium", "low",
		"info" };
	size_t			 k;

	if (!json_is_object(o)) {
		snprintf(why, whylen, "a rule must be an object");
		return -1;
	}
	if (known_keys(o, keys, sizeof(keys) / sizeof(keys[0]), why, whylen) ==
		-1 ||
	    (r->id = str_field(o, "id", RULE_ID_MAX, 0, why, whylen)) == NULL ||
	    (r->severity = str_field(o, "severity", 8, 0, why, whylen)) ==
		NULL ||
	    (r->title = str_field(o, "title", SCAN_TITLE_MAX, 0, why,
		 whylen)) == NULL)
		return -1;
	if (!id_valid(r->id)) {
		snprintf(why, whylen,
		    "\"id\" must be 1 to %d of [A-Za-z0-9._-]", RULE_ID_MAX);
		return -1;
	}
	for (k = 0; k < 5 && strcmp(r->severity, sev[k]) != 0; k++)
		;
	if (k == 5) {
		snprintf(why, whylen,
		    "\"severity\" must be critical, high, medium, low or info");
		return -1;
	}
	r->remediation =
	    str_field(o, "remediation", SCAN_REMEDIATION_MAX, 1, why, whylen);
	if (r->remediation == NULL && json_object_get(o, "remediation") != NULL)
		return -1;
	if (json_object_get(o, "check") == NULL) {
		snprintf(why, whylen, "missing field \"check\"");
		return -1;
	}
	return parse_check(json_object_get(o, "check"), r, why, whylen);
}

/* ---- evaluation --------------------------------------------------------- */

/* The uid of name in <root>/etc/passwd: 0, or -1 when it is not there. */
static int
passwd_uid(struct scan_ctx *s, const char *name, uid_t *uid)
{
	char	      p[AGENT_PATH_MAX + 16], *text = NULL, *cur, *line;
	char	     *end;
	size_t	      n = strlen(name);
	unsigned long v;
	unsigned      lineno = 0;
	int	      rc = -1;

	if (scan_path(s, "/etc/passwd", p, sizeof(p)) == -1 ||
	    (text = scan_read(p, SCAN_FILE_MAX, NULL)) == NULL)
		goto out;
	cur = text;
	/* name:x:uid:... */
	while ((line = scan_next_line(&cur, &lineno)) != NULL) {
		char *f = strchr(line, ':');

		if (f == NULL || (size_t)(f - line) != n ||
		    strncmp(line, name, n) != 0 ||
		    (f = strchr(f + 1, ':')) == NULL)
			continue;
		errno = 0;
		v = strtoul(f + 1, &end, 10);
		if (errno == 0 && end != f + 1 && *end == ':' &&
		    v <= 0x7fffffffUL) {
			*uid = (uid_t)v;
			rc = 0;
		}
		break;
	}
out:
	free(text);
	return rc;
}

static void
fire(struct scan_ctx *s, const struct rule *r, const char *shown_file,
    const char *what)
{
	char id[SCAN_ID_MAX + 1];

	snprintf(id, sizeof(id), "rule.%s", r->id);
	scan_finding(s, id, r->severity, r->title, r->remediation,
	    "%s (rule %s in %s)", what, r->id, shown_file);
}

static void
eval_lines(struct scan_ctx *s, const struct rule *r, const char *full,
    const char *shown_file)
{
	char	*text = NULL, *cur, *line, what[SCAN_DETAIL_MAX];
	unsigned lineno = 0, first = 0, matches = 0;
	char	 shown_line[RULE_OUTPUT_SHOWN + 1] = "";

	if ((text = scan_read(full, SCAN_FILE_MAX, NULL)) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			eval_error(s, r, "%s: %s", r->path, strerror(errno));
		else if (r->type == R_LINE_ABSENT) {
			snprintf(what, sizeof(what),
			    "%s does not exist, so no line matches /%s/",
			    r->path, r->pattern);
			fire(s, r, shown_file, what);
		}
		goto out;
	}
	cur = text;
	while ((line = scan_next_line(&cur, &lineno)) != NULL)
		if (regexec(&r->re, line, 0, NULL, 0) == 0 && matches++ == 0) {
			first = lineno;
			snprintf(shown_line, sizeof(shown_line), "%s", line);
		}
	if (r->type == R_LINE_MATCHES && matches > 0) {
		if (matches > 1)
			snprintf(what, sizeof(what),
			    "%s:%u: %s (and %u more matching lines)", r->path,
			    first, shown_line, matches - 1);
		else
			snprintf(what, sizeof(what), "%s:%u: %s", r->path,
			    first, shown_line);
		fire(s, r, shown_file, what);
	} else if (r->type == R_LINE_ABSENT && matches == 0) {
		snprintf(what, sizeof(what), "no line of %s matches /%s/",
		    r->path, r->pattern);
		fire(s, r, shown_file, what);
	}
out:
	free(text);
}

static void
eval_command(struct scan_ctx *s, const struct rule *r, const char *shown_file)
{
	char		  err[256], what[600];
	int		  status;
	enum scan_exec_rc rc;

	rc = scan_exec(s, r->argv, r->timeout_secs, 0, NULL, NULL, &status, err,
	    sizeof(err));
	switch (rc) {
	case SCAN_EXEC_EXITED:
		if (status == r->expected_exit)
			return;
		snprintf(what, sizeof(what),
		    "%s exited with status %d; expected %d", r->argv[0], status,
		    r->expected_exit);
		break;
	case SCAN_EXEC_SIGNALED:
	case SCAN_EXEC_TIMEOUT:
		snprintf(what, sizeof(what), "%s: %s; expected exit status %d",
		    r->argv[0], err, r->expected_exit);
		break;
	default:
		/* Could not run at all: the rule, not the host, is wrong. */
		eval_error(s, r, "%s", err);
		return;
	}
	fire(s, r, shown_file, what);
}

static void
eval_rule(struct scan_ctx *s, struct rules_file *f, struct rule *r)
{
	struct stat st;
	char	    full[AGENT_PATH_MAX + 64], what[600];
	uid_t	    want;

	if (r->type == R_COMMAND_EXIT) {
		eval_command(s, r, f->shown);
		return;
	}
	if (scan_path(s, r->path, full, sizeof(full)) == -1) {
		eval_error(s, r, "path too long under the scan root");
		return;
	}
	switch (r->type) {
	case R_FILE_EXISTS:
	case R_FILE_ABSENT:
		if (lstat(full, &st) == 0) {
			if (r->type == R_FILE_EXISTS) {
				snprintf(what, sizeof(what),
				    "%s exists (mode %04o, uid %u)", r->path,
				    (unsigned)(st.st_mode & 07777),
				    (unsigned)st.st_uid);
				fire(s, r, f->shown, what);
			}
		} else if (errno != ENOENT && errno != ENOTDIR)
			eval_error(s, r, "%s: %s", r->path, strerror(errno));
		else if (r->type == R_FILE_ABSENT) {
			snprintf(what, sizeof(what), "%s does not exist",
			    r->path);
			fire(s, r, f->shown, what);
		}
		break;
	case R_FILE_MODE:
	case R_FILE_OWNER:
		if (stat(full, &st) == -1) {
			if (errno != ENOENT && errno != ENOTDIR)
				eval_error(s, r, "%s: %s", r->path,
				    strerror(errno));
			break;
		}
		if (r->type == R_FILE_MODE) {
			if ((st.st_mode & 07777 & ~r->max_mode) == 0)
				break;
			snprintf(what, sizeof(what),
			    "%s has mode %04o; at most "
			    "%04o is allowed (extra bits %04o)",
			    r->path, (unsigned)(st.st_mode & 07777),
			    r->max_mode,
			    (unsigned)(st.st_mode & 07777 & ~r->max_mode));
			fire(s, r, f->shown, what);
			break;
		}
		want = r->uid;
		if (r->owner != NULL && passwd_uid(s, r->owner, &want) == -1) {
			eval_error(s, r, "user %s is not in /etc/passwd",
			    r->owner);
			break;
		}
		if (st.st_uid != want) {
			snprintf(what, sizeof(what),
			    "%s is owned by uid %u; expected %s%s%u%s", r->path,
			    (unsigned)st.st_uid,
			    r->owner != NULL ? r->owner : "",
			    r->owner != NULL ? " (uid " : "", (unsigned)want,
			    r->owner != NULL ? ")" : "");
			fire(s, r, f->shown, what);
		}
		break;
	case R_LINE_MATCHES:
	case R_LINE_ABSENT:
		eval_lines(s, r, full, f->shown);
		break;
	default:
		break;
	}
}

/* ---- files and the folder --------------------------------------------------- */

/* Refuses what others could write: rules run programs as the agent. */
static int
trusted(struct scan_ctx *s, const char *full, const struct stat *st)
{
	if ((st->st_mode & 022) == 0 &&
	    (st->st_uid == 0 || st->st_uid == geteuid()))
		return 1;
	scan_finding(s, "scan.rules.insecure", "high",
	    "Scan rules are writable by other users and were not run",
	    "chown root and chmod go-w the rules folder and its files; "
	    "whoever can write them can run programs as the agent.",
	    "%s has mode %04o and uid %u", scan_shown(s, full),
	    (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid);
	return 0;
}

static void
rules_file(struct scan_ctx *s, const char *full, size_t *total)
{
	struct rules_file f;
	struct stat	  st;
	struct rule	  r;
	json_error_t	  jerr;
	json_t		 *root = NULL, *rules, *e;
	char		 *text = NULL, why[400];
	size_t		  len, i;

	memset(&f, 0, sizeof(f));
	f.s = s;
	f.shown = scan_shown(s, full);
	if (stat(full, &st) == -1 || !S_ISREG(st.st_mode))
		goto out; /* a folder or socket named *.json: not ours */
	if (!trusted(s, full, &st))
		goto out;
	if ((text = scan_read(full, RULES_FILE_MAX, &len)) == NULL) {
		invalid(&f, ": %s",
		    errno == EFBIG ? "larger than 256 KiB" : strerror(errno));
		goto out;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		invalid(&f, ":%d: %s", jerr.line, jerr.text);
		goto out;
	}
	rules = json_object_get(root, "rules");
	if (!json_is_object(root) || !json_is_array(rules)) {
		invalid(&f, ": must be an object with a \"rules\" array");
		goto out;
	}
	if (json_array_size(rules) > RULES_PER_FILE_MAX)
		invalid(&f, ": more than %d rules; the rest are ignored",
		    RULES_PER_FILE_MAX);
	json_array_foreach(rules, i, e)
	{
		if (i == RULES_PER_FILE_MAX)
			break;
		if (*total == RULES_TOTAL_MAX) {
			invalid(&f,
			    ": more than %d rules in all; the rest are ignored",
			    RULES_TOTAL_MAX);
			break;
		}
		(*total)++;
		memset(&r, 0, sizeof(r));
		why[0] = '\0';
		if (parse_rule(e, &r, why, sizeof(why)) == -1) {
			const char *id =
			    json_string_value(json_object_get(e, "id"));

			invalid(&f, ": rules[%zu]%s%.100s%s: %s", i,
			    id != NULL ? " (id " : "", id != NULL ? id : "",
			    id != NULL ? ")" : "", why);
		} else
			eval_rule(s, &f, &r);
		if (r.have_re)
			regfree(&r.re);
	}
out:
	json_decref(root);
	free(text);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
scan_check_rules(struct scan_ctx *s)
{
	DIR	      *d = NULL;
	struct dirent *e;
	struct stat    st;
	char	       dir[AGENT_PATH_MAX + 64], full[2 * AGENT_PATH_MAX];
	char	      *names[RULES_FILES_MAX];
	size_t	       n = 0, total = 0, skipped = 0, len;

	if (s->o->rules_dir == NULL ||
	    scan_path(s, s->o->rules_dir, dir, sizeof(dir)) == -1)
		goto out;
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		goto out; /* no rules folder: no rules */
	if (!trusted(s, dir, &st))
		goto out;
	if ((d = opendir(dir)) == NULL) {
		scan_finding(s, "scan.rules.invalid", "medium",
		    "The scan rules folder cannot be read",
		    "Let the agent's user read the folder.", "%s: %s",
		    s->o->rules_dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 ||
		    strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (n == RULES_FILES_MAX) {
			skipped++;
			continue;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			s->failed = 1;
			goto out;
		}
		n++;
	}
	/* In name order, like every drop-in folder. */
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (snprintf(full, sizeof(full), "%s/%s", dir, names[i]) <
		    (int)sizeof(full))
			rules_file(s, full, &total);
	}
	if (skipped > 0)
		scan_finding(s, "scan.rules.invalid", "medium",
		    "Too many scan rule files",
		    "Merge rule sets; at most 64 files are read.",
		    "%s: %zu more *.json files were ignored (at most %d are "
		    "read)",
		    s->o->rules_dir, skipped, RULES_FILES_MAX);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (d != NULL)
		closedir(d);
}
