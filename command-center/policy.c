/*
 * policy: which commands each OS profile may run.
 *
 *   { "default": ["sovereign-scan", "agent-info"],
 *     "profiles": { "ArchVault": ["sovereign-scan", "service-restart"] },
 *     "require_approval": { "default": ["service-restart"] },
 *     "job_approval_over": 50 }
 *
 * A profile listed under "profiles" gets exactly its list; every other
 * profile gets "default". Without a file the built-in policy applies: every
 * profile may run the read-only commands, none may restart services.
 * "require_approval" (the same shape) names the commands that wait for a
 * second operator; a job selecting more than "job_approval_over" nodes waits
 * too. The current policy is swapped whole on reload, under a lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotfile.h"
#include "policy.h"
#include "validate.h"
#include "command.h"
#include "log.h"
#include "util.h"

#define POLICY_FILE_MAX (256 * 1024)
#define POLICY_PROFILES_MAX 1024

struct profile_rule {
	char	*profile; /* NULL for the default rule */
	unsigned allowed; /* bit i: cmd_catalog[i] */
};

struct policy {
	struct profile_rule *rules;
	size_t		     n;
	unsigned	     dflt;
	/* "require_approval": the same shape, the commands that wait. */
	struct profile_rule *approve;
	size_t		     napprove;
	unsigned	     approve_dflt;
	long		     job_approval_over; /* -1: none */
};

static const char *const builtin_default[] = {
	"sovereign-scan",
	"service-status",
	"journal-tail",
	"agent-info",
};

static int
catalog_bit(const char *name)
{
	for (int i = 0; cmd_catalog[i].name != NULL; i++)
		if (strcmp(cmd_catalog[i].name, name) == 0)
			return i;
	return -1;
}

static void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->rules[i].profile);
	free(p->rules);
	for (size_t i = 0; i < p->napprove; i++)
		free(p->approve[i].profile);
	free(p->approve);
	free(p);
}

static int
command_list(json_t *arr, const char *where, unsigned *out, char *err,
    size_t errlen)
{
	size_t	i;
	json_t *v;
	int	bit;

	if (!json_is_array(arr)) {
		snprintf(err, errlen, "%s: must be an array of command names",
		    where);
		return -1;
	}
	*out = 0;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) ||
		    (bit = catalog_bit(json_string_value(v))) < 0) {
			snprintf(err, errlen,
			    "%s[%zu]: \"%.40s\" is not a "
			    "command of the catalog",
			    where, i,
			    json_is_string(v) ? json_string_value(v) : "?");
			return -1;
		}
		*out |= 1u << bit;
	}
	return 0;
}

static struct policy *policy_parse_text(const char *path, const char *text,
    size_t len, char *err, size_t errlen);

/* Loads a policy document; NULL with "<where>: <why>" in err. */
static struct policy *
policy_parse(const char *path, char *err, size_t errlen)
{
	struct policy *p = NULL;
	char	      *text = NULL;
	size_t	       len;

	if (path == NULL)
		return policy_parse_text(NULL, NULL, 0, err, errlen);
	if ((text = file_read(path, POLICY_FILE_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == EFBIG ? "larger than 256 KiB" : strerror(errno));
		return NULL;
	}
	p = policy_parse_text(path, text, len, err, errlen);
	free(text);
	return p;
}

int
policy_check_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct policy *p = policy_parse_text(label, text, len, err, errlen);

	if (p == NULL)
		return -1;
	policy_free(p);
	return 0;
}

/*
 * The "default" list and "profiles" object of obj (the policy, or its
 * "require_approval"; what: "" or "require_approval.", for messages) into
 * *dflt and *rules[*n]: 0, or -1 with why.
 */
static int
rule_set(json_t *obj, const char *path, const char *what, unsigned *dflt,
    struct profile_rule **rules, size_t *n, char *err, size_t errlen)
{
	json_t	   *v, *profiles;
	const char *key;
	char	    where[160];

	if ((v = json_object_get(obj, "default")) != NULL) {
		snprintf(where, sizeof(where), "%s: %sdefault", path, what);
		if (command_list(v, where, dflt, err, errlen) == -1)
			return -1;
	}
	profiles = json_object_get(obj, "profiles");
	if (profiles != NULL &&
	    (!json_is_object(profiles) ||
		json_object_size(profiles) > POLICY_PROFILES_MAX)) {
		snprintf(err, errlen,
		    "%s: %sprofiles: must be an object of at most %d profiles",
		    path, what, POLICY_PROFILES_MAX);
		return -1;
	}
	if (profiles == NULL || json_object_size(profiles) == 0)
		return 0;
	if ((*rules = calloc(json_object_size(profiles), sizeof(**rules))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_object_foreach(profiles, key, v)
	{
		struct profile_rule *r = &(*rules)[*n];

		if (!validate_profile(key)) {
			snprintf(err, errlen,
			    "%s: %sprofiles: \"%.40s\" is not a valid profile "
			    "name",
			    path, what, key);
			return -1;
		}
		snprintf(where, sizeof(where), "%s: %sprofiles.%s", path, what,
		    key);
		if (command_list(v, where, &r->allowed, err, errlen) == -1)
			return -1;
		if ((r->profile = strdup(key)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* Parses a policy document (path NULL: built-in). */
static struct policy *
policy_parse_text(const char *path, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct policy *p;
	json_t	      *root = NULL, *profiles, *v;
	json_error_t   jerr;
	const char    *key;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL) {
		for (size_t i = 0;
		     i < sizeof(builtin_default) / sizeof(builtin_default[0]);
		     i++)
			p->dflt |= 1u << catalog_bit(builtin_default[i]);
		p->job_approval_over = -1;
		return p;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line,
		    jerr.column, jerr.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: must be a JSON object", path);
		goto fail;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "default") != 0 &&
		    strcmp(key, "profiles") != 0 &&
		    strcmp(key, "require_approval") != 0 &&
		    strcmp(key, "job_approval_over") != 0) {
			snprintf(err, errlen,
			    "%s: unknown key \"%.40s\" (only \"default\", "
			    "\"profiles\", \"require_approval\" and "
			    "\"job_approval_over\")",
			    path, key);
			goto fail;
		}
	}
	if (rule_set(root, path, "", &p->dflt, &p->rules, &p->n, err, errlen) ==
	    -1)
		goto fail;
	p->job_approval_over = -1;
	if ((v = json_object_get(root, "require_approval")) != NULL) {
		json_object_foreach(v, key, profiles)
		{
			if (strcmp(key, "default") != 0 &&
			    strcmp(key, "profiles") != 0) {
				snprintf(err, errlen,
				    "%s: require_approval: unknown key "
				    "\"%.40s\" (only \"default\" and "
				    "\"profiles\")",
				    path, key);
				goto fail;
			}
		}
		if (!json_is_object(v)) {
			snprintf(err, errlen,
			    "%s: require_approval: must be an object", path);
			goto fail;
		}
		if (rule_set(v, path, "require_approval.", &p->approve_dflt,
			&p->approve, &p->napprove, err, errlen) == -1)
			goto fail;
	}
	if ((v = json_object_get(root, "job_approval_over")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000000) {
			snprintf(err, errlen,
			    "%s: job_approval_over: must be a whole number "
			    "of nodes, 0 to 1000000",
			    path);
			goto fail;
		}
		p->job_approval_over = (long)json_integer_value(v);
	}
	json_decref(root);
	return p;
fail:
	json_decref(root);
	policy_free(p);
	return NULL;
}

/* The file's parse and free for the hotfile (path NULL: built-in). */
static void *
parse_file(const char *path, char *err, size_t errlen)
{
	return policy_parse(path, err, errlen);
}

static void
free_file(void *p)
{
	policy_free(p);
}

static struct hotfile file = HOTFILE_INIT(parse_file, free_file);

int
policy_init(const char *path, char *err, size_t errlen)
{
	return hotfile_init(&file, path, err, errlen);
}

int
policy_reload(char *err, size_t errlen)
{
	return hotfile_reload(&file, err, errlen);
}

void
policy_shutdown(void)
{
	hotfile_shutdown(&file);
}

unsigned
policy_allowed(const char *profile)
{
	const struct policy *current;
	unsigned	     allowed = 0;

	pthread_mutex_lock(&file.mu);
	if ((current = file.cur) != NULL) {
		allowed = current->dflt;
		for (size_t i = 0; i < current->n; i++)
			if (strcmp(current->rules[i].profile, profile) == 0) {
				allowed = current->rules[i].allowed;
				break;
			}
	}
	pthread_mutex_unlock(&file.mu);
	return allowed;
}

int
policy_allows(const char *profile, const char *command)
{
	int bit = catalog_bit(command);

	return bit >= 0 && (policy_allowed(profile) & (1u << bit)) != 0;
}

/* The rule of profile in rules[n], else dflt. */
static unsigned
rule_of(const struct profile_rule *rules, size_t n, unsigned dflt,
    const char *profile)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rules[i].profile, profile) == 0)
			return rules[i].allowed;
	return dflt;
}

int
policy_needs_approval(const char *profile, const char *command)
{
	const struct policy *current;
	int		     bit = catalog_bit(command);
	unsigned	     need = 0;

	if (bit < 0)
		return 0;
	pthread_mutex_lock(&file.mu);
	if ((current = file.cur) != NULL)
		need = rule_of(current->approve, current->napprove,
		    current->approve_dflt, profile);
	pthread_mutex_unlock(&file.mu);
	return (need & (1u << bit)) != 0;
}

long
policy_job_approval_over(void)
{
	const struct policy *current;
	long		     n = -1;

	pthread_mutex_lock(&file.mu);
	if ((current = file.cur) != NULL)
		n = current->job_approval_over;
	pthread_mutex_unlock(&file.mu);
	return n;
}
