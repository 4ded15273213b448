/*
 * An operator's labels: a PUT body parsed as the operator routes parse
 * one, then validate_labels(); the same bytes as a form's text, then
 * validate_labels_text(). What either accepts is a JSON object of at most
 * LABELS_MAX labels that fits the callers' buffer, each key and value
 * passing validate_label(), and reads back as itself.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"

/* out is what a validator accepted: check it as the store will hold it. */
static void
check(const char *out)
{
	json_t	   *obj, *v;
	const char *k;
	char	   *again;

	if (strlen(out) > LABELS_JSON_MAX ||
	    (obj = json_loads(out, 0, NULL)) == NULL || !json_is_object(obj) ||
	    json_object_size(obj) > LABELS_MAX)
		abort();
	json_object_foreach(obj, k, v)
	{
		if (!validate_label(k) || !json_is_string(v) ||
		    !validate_label(json_string_value(v)))
			abort();
	}
	again = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (again == NULL || strcmp(again, out) != 0)
		abort();
	free(again);
	json_decref(obj);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	out[LABELS_JSON_MAX + 1], err[160], *text;
	json_t *root;

	if ((root = fuzz_json_body(data, size)) != NULL) {
		err[0] = '\0';
		if (validate_labels(json_object_get(root, "labels"), out,
			sizeof(out), err, sizeof(err)) == 0)
			check(out);
		else if (err[0] == '\0')
			abort();
		json_decref(root);
	}
	/* A form's field holds no NUL: the text ends at the first one. */
	if ((text = strndup((const char *)data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if (validate_labels_text(text, out, sizeof(out), err, sizeof(err)) == 0)
		check(out);
	else if (err[0] == '\0')
		abort();
	free(text);
	return 0;
}
