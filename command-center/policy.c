/*
 * policy: which commands each OS profile may run.
 *
 *   { "default": ["sovereign-scan", "agent-info"],
 *     "profiles": { "ArchVault": ["sovereign-scan", "service-restart"] } }
 *
 * A profile listed under "profiles" gets exactly its list; every other
 * profile gets "default". Without a file the built-in policy applies: every
 * profile may run the read-only commands, none may restart services.
 * The current policy is swapped whole on reload, under a lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct policy  *current;
static char	      *current_path;

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

/* Parses a policy document (path NULL: built-in). */
static struct policy *
policy_parse_text(const char *path, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct policy *p;
	json_t	      *root = NULL, *profiles, *v;
	json_error_t   jerr;
	const char    *key;
	char	       where[128];

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL) {
		for (size_t i = 0;
		     i < sizeof(builtin_default) / sizeof(builtin_default[0]);
		     i++)
			p->dflt |= 1u << catalog_bit(builtin_default[i]);
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
		    strcmp(key, "profiles") != 0) {
			snprintf(err, errlen,
			    "%s: unknown key \"%.40s\" (only "
			    "\"default\" and \"profiles\")",
			    path, key);
			goto fail;
		}
	}
	if ((v = json_object_get(root, "default")) != NULL) {
		snprintf(where, sizeof(where), "%s: default", path);
		if (command_list(v, where, &p->dflt, err, errlen) == -1)
			goto fail;
	}
	profiles = json_object_get(root, "profiles");
	if (profiles != NULL &&
	    (!json_is_object(profiles) ||
		json_object_size(profiles) > POLICY_PROFILES_MAX)) {
		snprintf(err, errlen,
		    "%s: profiles: must be an object of at most %d profiles",
		    path, POLICY_PROFILES_MAX);
		goto fail;
	}
	if (profiles != NULL && json_object_size(profiles) > 0) {
		p->rules =
		    calloc(json_object_size(profiles), sizeof(*p->rules));
		if (p->rules == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		json_object_foreach(profiles, key, v)
		{
			struct profile_rule *r = &p->rules[p->n];

			if (!validate_profile(key)) {
				snprintf(err, errlen,
				    "%s: profiles: \"%.40s\" is "
				    "not a valid profile name",
				    path, key);
				goto fail;
			}
			snprintf(where, sizeof(where), "%s: profiles.%s", path,
			    key);
			if (command_list(v, where, &r->allowed, err, errlen) ==
			    -1)
				goto fail;
			if ((r->profile = strdup(key)) == NULL)
				goto fail;
			p->n++;
		}
	}
	json_decref(root);
	return p;
fail:
	json_decref(root);
	policy_free(p);
	return NULL;
}

int
policy_init(const char *path, char *err, size_t errlen)
{
	struct policy *p;

	if ((p = policy_parse(path, err, errlen)) == NULL)
		return -1;
	pthread_mutex_lock(&mu);
	policy_free(current);
	current = p;
	free(current_path);
	current_path = path ? strdup(path) : NULL;
	pthread_mutex_unlock(&mu);
	return 0;
}

int
policy_reload(char *err, size_t errlen)
{
	struct policy *p, *old;
	char	      *path;

	pthread_mutex_lock(&mu);
	path = current_path ? strdup(current_path) : NULL;
	pthread_mutex_unlock(&mu);
	p = policy_parse(path, err, errlen);
	free(path);
	if (p == NULL)
		return -1;
	pthread_mutex_lock(&mu);
	old = current;
	current = p;
	pthread_mutex_unlock(&mu);
	policy_free(old);
	return 0;
}

void
policy_shutdown(void)
{
	pthread_mutex_lock(&mu);
	policy_free(current);
	current = NULL;
	free(current_path);
	current_path = NULL;
	pthread_mutex_unlock(&mu);
}

unsigned
policy_allowed(const char *profile)
{
	unsigned allowed = 0;

	pthread_mutex_lock(&mu);
	if (current != NULL) {
		allowed = current->dflt;
		for (size_t i = 0; i < current->n; i++)
			if (strcmp(current->rules[i].profile, profile) == 0) {
				allowed = current->rules[i].allowed;
				break;
			}
	}
	pthread_mutex_unlock(&mu);
	return allowed;
}

int
policy_allows(const char *profile, const char *command)
{
	int bit = catalog_bit(command);

	return bit >= 0 && (policy_allowed(profile) & (1u << bit)) != 0;
}
