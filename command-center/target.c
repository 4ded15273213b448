/*
 * target: a selector of nodes, from a job's JSON or from a query's
 * fields, and the one test both the jobs and the dashboard apply.
 *
 * A label pair is kept as the text it is in a node's compact labels
 * object ("key":"value"): keys and values are [a-z0-9._-] only, so that
 * text is found inside the object exactly when the node has the pair.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"
#include "util.h"
#include "validate.h"

static int
fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

/* Labels checked by validate_labels(): their pairs into t. */
static int
take_labels(struct target *t, const char *compact)
{
	json_t	   *obj = json_loads(compact, 0, NULL);
	const char *k;
	json_t	   *v;

	if (obj == NULL)
		return -1;
	json_object_foreach(obj, k, v)
	{
		if (t->nlabels == LABELS_MAX)
			break;
		snprintf(t->label[t->nlabels++], sizeof(t->label[0]),
		    "\"%s\":\"%s\"", k, json_string_value(v));
	}
	json_decref(obj);
	return 0;
}

static int
level_bit(const char *s, unsigned *bits)
{
	static const char *const names[] = { "green", "yellow", "red" };

	for (int l = LEVEL_GREEN; l <= LEVEL_RED; l++)
		if (strcmp(s, names[l]) == 0) {
			*bits |= 1u << l;
			return 0;
		}
	return -1;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int
add_id(struct target *t, size_t *cap, const char *id)
{
	char(*nids)[37];

	if (!uuid_valid(id))
		return -1;
	if (t->nids == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nids = realloc(t->ids, *cap * sizeof(*nids))) == NULL)
			return -2;
		t->ids = nids;
	}
	snprintf(t->ids[t->nids++], 37, "%s", id);
	return 0;
}

/* The ids sorted, each once (an empty list selects nothing). */
static int
ids_done(struct target *t, size_t cap)
{
	size_t k = 0;

	if (t->ids == NULL && cap == 0 &&
	    (t->ids = calloc(1, sizeof(*t->ids))) == NULL)
		return -1;
	qsort(t->ids, t->nids, sizeof(*t->ids), id_cmp);
	for (size_t i = 0; i < t->nids; i++)
		if (k == 0 || strcmp(t->ids[k - 1], t->ids[i]) != 0)
			memmove(t->ids[k++], t->ids[i], 37);
	t->nids = k;
	return 0;
}

static int
take_hostname(struct target *t, const char *s, char *err, size_t errlen)
{
	if (strlen(s) > HOSTNAME_MAX || !str_printable(s, HOSTNAME_MAX))
		return fail(err, errlen,
		    "target.hostname: at most 255 printable characters");
	snprintf(t->hostname, sizeof(t->hostname), "%s", s);
	return 0;
}

static int
take_profile(struct target *t, const char *s, char *err, size_t errlen)
{
	if (!validate_profile(s))
		return fail(err, errlen,
		    "target.os_profile: not a profile name");
	snprintf(t->os_profile, sizeof(t->os_profile), "%s", s);
	return 0;
}

int
target_from_json(const json_t *j, struct target *t, char *err, size_t errlen)
{
	char	    compact[LABELS_JSON_MAX + 1];
	const char *k;
	json_t	   *v, *e;
	size_t	    i, cap = 0;

	memset(t, 0, sizeof(*t));
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return fail(err, errlen, "target: must be an object");
	json_object_foreach((json_t *)(uintptr_t)j, k, v)
	{
		if (strcmp(k, "labels") == 0) {
			if (validate_labels(v, compact, sizeof(compact), err,
				errlen) == -1) {
				char why[200];

				snprintf(why, sizeof(why), "target.%s", err);
				return fail(err, errlen, why);
			}
			if (take_labels(t, compact) == -1)
				return fail(err, errlen, "out of memory");
		} else if (strcmp(k, "os_profile") == 0) {
			if (!json_is_string(v))
				return fail(err, errlen,
				    "target.os_profile: must be a string");
			if (take_profile(t, json_string_value(v), err,
				errlen) == -1)
				return -1;
		} else if (strcmp(k, "hostname") == 0) {
			if (!json_is_string(v))
				return fail(err, errlen,
				    "target.hostname: must be a string");
			if (take_hostname(t, json_string_value(v), err,
				errlen) == -1)
				return -1;
		} else if (strcmp(k, "attention") == 0) {
			if (!json_is_array(v) || json_array_size(v) == 0)
				return fail(err, errlen,
				    "target.attention: a list of levels");
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e) ||
				    level_bit(json_string_value(e),
					&t->levels) == -1)
					return fail(err, errlen,
					    "target.attention: levels are "
					    "green, yellow and red");
			}
		} else if (strcmp(k, "node_ids") == 0) {
			if (!json_is_array(v) ||
			    json_array_size(v) > TARGET_IDS_MAX)
				return fail(err, errlen,
				    "target.node_ids: a list of at most "
				    "20000 node ids");
			json_array_foreach(v, i, e)
			{
				int rc = json_is_string(e) ?
				    add_id(t, &cap, json_string_value(e)) :
				    -1;

				if (rc == -2)
					return fail(err, errlen,
					    "out of memory");
				if (rc == -1)
					return fail(err, errlen,
					    "target.node_ids: each must be a "
					    "node id (a UUID)");
			}
			if (ids_done(t, cap) == -1)
				return fail(err, errlen, "out of memory");
		} else {
			snprintf(compact, sizeof(compact),
			    "target: unknown field (known: labels, os_profile,"
			    " attention, hostname, node_ids)");
			return fail(err, errlen, compact);
		}
	}
	return 0;
}

static int
given(const char *s)
{
	return s != NULL && *s != '\0';
}

int
target_from_fields(const char *labels, const char *os_profile,
    const char *attention, const char *hostname, const char *node_ids,
    struct target *t, char *err, size_t errlen)
{
	char   compact[LABELS_JSON_MAX + 1], *copy, *save = NULL;
	size_t cap = 0;
	int    rc = 0;

	memset(t, 0, sizeof(*t));
	if (given(labels)) {
		if (validate_labels_text(labels, compact, sizeof(compact), err,
			errlen) == -1)
			return -1;
		if (take_labels(t, compact) == -1)
			return fail(err, errlen, "out of memory");
	}
	if (given(os_profile) && take_profile(t, os_profile, err, errlen) == -1)
		return -1;
	if (given(hostname) && take_hostname(t, hostname, err, errlen) == -1)
		return -1;
	if (given(attention)) {
		if (strlen(attention) > 64 ||
		    (copy = strdup(attention)) == NULL)
			return fail(err, errlen,
			    "attention: levels are green, yellow and red");
		for (char *p = strtok_r(copy, ", ", &save); p != NULL;
		     p = strtok_r(NULL, ", ", &save))
			if (level_bit(p, &t->levels) == -1)
				rc = -1;
		free(copy);
		if (rc == -1 || t->levels == 0)
			return fail(err, errlen,
			    "attention: levels are green, yellow and red");
	}
	if (given(node_ids)) {
		if ((copy = strdup(node_ids)) == NULL)
			return fail(err, errlen, "out of memory");
		for (char *p = strtok_r(copy, ", \t\r\n", &save);
		     p != NULL && rc == 0;
		     p = strtok_r(NULL, ", \t\r\n", &save))
			rc =
			    t->nids >= TARGET_IDS_MAX ? -1 : add_id(t, &cap, p);
		free(copy);
		if (rc == -2 || (rc == 0 && ids_done(t, cap) == -1))
			return fail(err, errlen, "out of memory");
		if (rc == -1)
			return fail(err, errlen,
			    "node_ids: at most 20000 node ids (UUIDs)");
	}
	return 0;
}

void
target_free(struct target *t)
{
	free(t->ids);
	t->ids = NULL;
	t->nids = 0;
}

int
target_is_all(const struct target *t)
{
	return t->nlabels == 0 && t->os_profile[0] == '\0' && t->levels == 0 &&
	    t->hostname[0] == '\0' && t->ids == NULL;
}

int
target_match(const struct node_facts *nf, const void *arg)
{
	const struct target *t = arg;

	if (nf->status != NODE_APPROVED)
		return 0;
	if (t->levels != 0 && (t->levels & (1u << nf->level)) == 0)
		return 0;
	if (t->os_profile[0] != '\0' && strcmp(nf->os_profile, t->os_profile))
		return 0;
	for (size_t i = 0; i < t->nlabels; i++)
		if (strstr(nf->labels, t->label[i]) == NULL)
			return 0;
	if (t->hostname[0] != '\0' &&
	    fnmatch(t->hostname, nf->hostname, FNM_CASEFOLD) != 0)
		return 0;
	if (t->ids != NULL &&
	    bsearch(nf->node_id, t->ids, t->nids, sizeof(*t->ids), id_cmp) ==
		NULL)
		return 0;
	return 1;
}

/* A pair's key and value from its "key":"value" text. */
static void
pair_split(const char *pair, char *key, char *val)
{
	const char *colon = strstr(pair, "\":\"");
	size_t	    klen = (size_t)(colon - pair - 1);

	memcpy(key, pair + 1, klen);
	key[klen] = '\0';
	snprintf(val, LABEL_MAX + 1, "%.*s", (int)strlen(colon + 3) - 1,
	    colon + 3);
}

void
target_labels_text(const struct target *t, struct buf *b)
{
	char key[LABEL_MAX + 1], val[LABEL_MAX + 1];

	for (size_t i = 0; i < t->nlabels; i++) {
		pair_split(t->label[i], key, val);
		buf_printf(b, "%s%s=%s", i > 0 ? "," : "", key, val);
	}
}

void
target_levels_text(const struct target *t, struct buf *b)
{
	static const char *const names[] = { "green", "yellow", "red" };
	int			 any = 0;

	for (int l = LEVEL_RED; l >= LEVEL_GREEN; l--)
		if (t->levels & (1u << l))
			buf_printf(b, "%s%s", any++ ? "," : "", names[l]);
}

void
target_ids_text(const struct target *t, struct buf *b)
{
	for (size_t i = 0; i < t->nids; i++)
		buf_printf(b, "%s%s", i > 0 ? "," : "", t->ids[i]);
}

void
target_json(const struct target *t, struct buf *b)
{
	char key[LABEL_MAX + 1], val[LABEL_MAX + 1];
	int  any = 0;

	buf_putc(b, '{');
	if (t->nlabels > 0) {
		buf_puts(b, "\"labels\":{");
		for (size_t i = 0; i < t->nlabels; i++) {
			pair_split(t->label[i], key, val);
			buf_printf(b, "%s\"%s\":\"%s\"", i > 0 ? "," : "", key,
			    val);
		}
		buf_putc(b, '}');
		any = 1;
	}
	if (t->os_profile[0] != '\0') {
		buf_printf(b, "%s\"os_profile\":\"%s\"", any ? "," : "",
		    t->os_profile);
		any = 1;
	}
	if (t->levels != 0) {
		buf_printf(b, "%s\"attention\":[", any ? "," : "");
		for (int l = LEVEL_RED, k = 0; l >= LEVEL_GREEN; l--)
			if (t->levels & (1u << l))
				buf_printf(b, "%s\"%s\"", k++ ? "," : "",
				    level_name((enum level)l));
		buf_putc(b, ']');
		any = 1;
	}
	if (t->hostname[0] != '\0') {
		if (any)
			buf_putc(b, ',');
		buf_puts(b, "\"hostname\":");
		buf_json_str(b, t->hostname);
		any = 1;
	}
	if (t->ids != NULL) {
		buf_printf(b, "%s\"node_ids\":[", any ? "," : "");
		for (size_t i = 0; i < t->nids; i++)
			buf_printf(b, "%s\"%s\"", i > 0 ? "," : "", t->ids[i]);
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
}

/* name=value, value URL-encoded, after a '&' unless it is the first. */
static void
query_field(struct buf *b, const char *name, const char *value)
{
	if (b->len > 0 && b->p[b->len - 1] != '?')
		buf_putc(b, '&');
	buf_printf(b, "%s=", name);
	buf_urlenc(b, value);
}

void
target_query(const struct target *t, struct buf *b)
{
	struct buf part;

	buf_init(&part, 1u << 20);
	if (t->nlabels > 0) {
		target_labels_text(t, &part);
		query_field(b, "labels", part.p != NULL ? part.p : "");
		buf_reset(&part);
	}
	if (t->os_profile[0] != '\0')
		query_field(b, "os_profile", t->os_profile);
	if (t->levels != 0) {
		target_levels_text(t, &part);
		query_field(b, "attention", part.p != NULL ? part.p : "");
		buf_reset(&part);
	}
	if (t->hostname[0] != '\0')
		query_field(b, "hostname", t->hostname);
	if (t->ids != NULL) {
		target_ids_text(t, &part);
		query_field(b, "node_ids", part.p != NULL ? part.p : "");
	}
	buf_free(&part);
}
