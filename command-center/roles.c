/*
 * roles: the roles file, parsed, checked and swapped whole on reload under
 * a lock (as the policy is). See roles.h for its shape.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hotfile.h"
#include "roles.h"
#include "util.h"

const char *const role_names[ROLE_N] = {
	[ROLE_VIEWER] = "viewer",
	[ROLE_OPERATOR] = "operator",
	[ROLE_APPROVER] = "approver",
	[ROLE_ADMIN] = "admin",
};

enum entry_kind { E_EMAIL, E_DOMAIN, E_GROUP };

struct entry {
	enum entry_kind kind;
	enum role	role;
	char	       *text; /* the email or domain lower-cased; the group */
};

struct roles {
	struct entry *e;
	size_t	      n;
};

int
role_by_name(const char *name)
{
	for (int i = 0; i < ROLE_N; i++)
		if (strcmp(role_names[i], name) == 0)
			return i;
	return -1;
}

static void
roles_free(struct roles *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->e[i].text);
	free(r->e);
	free(r);
}

/* A DNS name: letters, digits, '-' and '.', no empty label. */
static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.' ||
	    strstr(d, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.')
			return 0;
	return 1;
}

/* Printable ASCII without spaces (an email's local part). */
static int
local_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '@')
			return 0;
	return 1;
}

/*
 * An Access service token's Client ID, the common_name its tokens carry:
 * 32 hex digits and ".access".
 */
static int
service_token_id(const char *s)
{
	size_t n = strlen(s);

	if (n != 32 + 7 || strcmp(s + 32, ".access") != 0)
		return 0;
	for (size_t i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* One entry checked and kept: 0, or -1 with why. */
static int
entry_parse(const char *v, size_t len, enum role role, struct entry *e,
    char *why, size_t whylen)
{
	const char *at;

	if (len == 0 || len > ROLES_ENTRY_MAX || strlen(v) != len) {
		snprintf(why, whylen, "must be 1 to %d bytes", ROLES_ENTRY_MAX);
		return -1;
	}
	e->role = role;
	if (strncmp(v, "group:", 6) == 0) {
		if (!str_printable(v + 6, ROLES_ENTRY_MAX) || v[6] == '\0') {
			snprintf(why, whylen,
			    "a group name must be printable and not empty");
			return -1;
		}
		e->kind = E_GROUP;
		e->text = strdup(v + 6);
	} else if (v[0] == '@') {
		if (!domain_ok(v + 1)) {
			snprintf(why, whylen,
			    "\"@\" must be followed by a "
			    "domain name");
			return -1;
		}
		e->kind = E_DOMAIN;
		e->text = strdup(v + 1);
	} else if (service_token_id(v)) {
		/* A service token's Client ID: its identity, as it is. */
		e->kind = E_EMAIL;
		e->text = strdup(v);
	} else {
		if ((at = strchr(v, '@')) == NULL ||
		    !local_ok(v, (size_t)(at - v)) || !domain_ok(at + 1)) {
			snprintf(why, whylen,
			    "must be an email, \"@domain\", \"group:<name>\" "
			    "or a service token's Client ID");
			return -1;
		}
		e->kind = E_EMAIL;
		e->text = strdup(v);
	}
	if (e->text == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (e->kind != E_GROUP)
		lower(e->text);
	return 0;
}

/* Parses a roles document; NULL with "<label>: <why>" in err. */
static struct roles *
roles_parse_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct roles *r = NULL;
	json_t	     *root = NULL, *list, *v;
	json_error_t  je;
	const char   *key;
	size_t	      i, total = 0;
	char	      why[160];
	int	      role;

	if (len > ROLES_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB", label);
		return NULL;
	}
	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "%s:%d: %s", label, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen,
		    "%s: must be an object from role to a list of identities",
		    label);
		goto fail;
	}
	json_object_foreach(root, key, list)
	{
		if ((role = role_by_name(key)) < 0) {
			snprintf(err, errlen,
			    "%s: \"%.40s\" is not a role (viewer, operator, "
			    "approver, admin)",
			    label, key);
			goto fail;
		}
		if (!json_is_array(list)) {
			snprintf(err, errlen, "%s: %s: must be a list", label,
			    key);
			goto fail;
		}
		total += json_array_size(list);
	}
	if (total > ROLES_ENTRIES_MAX) {
		snprintf(err, errlen, "%s: more than %d entries", label,
		    ROLES_ENTRIES_MAX);
		goto fail;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->e = calloc(total ? total : 1, sizeof(*r->e))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", label);
		goto fail;
	}
	json_object_foreach(root, key, list)
	{
		role = role_by_name(key);
		json_array_foreach(list, i, v)
		{
			if (!json_is_string(v)) {
				snprintf(err, errlen,
				    "%s: %s[%zu]: must be a string", label, key,
				    i);
				goto fail;
			}
			if (entry_parse(json_string_value(v),
				json_string_length(v), (enum role)role,
				&r->e[r->n], why, sizeof(why)) == -1) {
				snprintf(err, errlen, "%s: %s[%zu]: %s", label,
				    key, i, why);
				goto fail;
			}
			r->n++;
		}
	}
	json_decref(root);
	return r;
fail:
	json_decref(root);
	roles_free(r);
	return NULL;
}

static struct roles *
roles_parse(const char *path, char *err, size_t errlen)
{
	struct roles *r;
	char	     *text;
	size_t	      len;

	if (path == NULL)
		return calloc(1, sizeof(struct roles));
	if ((text = file_read(path, ROLES_FILE_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		    errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return NULL;
	}
	r = roles_parse_text(path, text, len, err, errlen);
	free(text);
	return r;
}

int
roles_check_text(const char *label, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct roles *r = roles_parse_text(label, text, len, err, errlen);

	if (r == NULL)
		return -1;
	roles_free(r);
	return 0;
}

static void *
parse_file(const char *path, char *err, size_t errlen)
{
	return roles_parse(path, err, errlen);
}

static void
free_file(void *r)
{
	roles_free(r);
}

static struct hotfile file = HOTFILE_INIT(parse_file, free_file);

int
roles_init(const char *path, char *err, size_t errlen)
{
	return hotfile_init(&file, path, err, errlen);
}

int
roles_reload(char *err, size_t errlen)
{
	return hotfile_reload(&file, err, errlen);
}

void
roles_shutdown(void)
{
	hotfile_shutdown(&file);
}

/* Does entry e name the identity (lower-cased, with its domain)? */
static int
names(const struct entry *e, const char *who, const char *domain,
    const char *const *groups, size_t ngroups)
{
	switch (e->kind) {
	case E_EMAIL:
		return strcmp(e->text, who) == 0;
	case E_DOMAIN:
		return domain != NULL && strcmp(e->text, domain) == 0;
	case E_GROUP:
		for (size_t i = 0; i < ngroups && i < ROLES_GROUPS_MAX; i++)
			if (groups[i] != NULL &&
			    strcmp(e->text, groups[i]) == 0)
				return 1;
		return 0;
	}
	return 0;
}

enum role
roles_of(const char *who, const char *const *groups, size_t ngroups)
{
	const struct roles *current;
	enum role	    best = ROLE_VIEWER;
	char		    id[ROLES_ENTRY_MAX + 1];
	const char	   *at;

	if (who == NULL || strlen(who) > ROLES_ENTRY_MAX)
		return ROLE_VIEWER;
	snprintf(id, sizeof(id), "%s", who);
	lower(id);
	at = strrchr(id, '@');
	pthread_mutex_lock(&file.mu);
	if ((current = file.cur) != NULL)
		for (size_t i = 0; i < current->n; i++)
			if (current->e[i].role > best &&
			    names(&current->e[i], id, at ? at + 1 : NULL,
				groups, ngroups))
				best = current->e[i].role;
	pthread_mutex_unlock(&file.mu);
	return best;
}
