/*
 * A job's body: parsed as the operator routes parse one, then its
 * "target" (target_from_json) and "rollout" (rollout_from_json); the same
 * bytes split at their first two newlines as the new-job form's fields
 * (labels, attention, node ids: target_from_fields). What is accepted
 * must hold: a target kept as JSON reads back into the same target, its
 * ids sorted and unique, the waves of any fleet size add up.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../tests/unit/cc_all.h"
#include "fuzz.h"
#include "jobs.h"
#include "target.h"

/* t accepted: its JSON form parses back into the same target. */
static void
check_target(const struct target *t)
{
	struct target again;
	struct buf    a, b;
	json_t	     *j;
	char	      err[256];

	for (size_t i = 1; i < t->nids; i++)
		if (strcmp(t->ids[i - 1], t->ids[i]) >= 0)
			abort();
	buf_init(&a, 4u << 20);
	buf_init(&b, 4u << 20);
	target_json(t, &a);
	if (buf_failed(&a) || (j = json_loads(a.p, 0, NULL)) == NULL)
		abort();
	if (target_from_json(j, &again, err, sizeof(err)) != 0)
		abort();
	target_json(&again, &b);
	if (buf_failed(&b) || strcmp(a.p, b.p) != 0)
		abort();
	/* And as the dashboard's query fields. */
	buf_reset(&b);
	target_query(t, &b);
	if (buf_failed(&b))
		abort();
	target_free(&again);
	json_decref(j);
	buf_free(&a);
	buf_free(&b);
}

static void
check_rollout(const struct rollout *ro)
{
	static const size_t sizes[] = { 0, 1, 2, 7, 100, 10000, 1000000 };
	size_t		    first, size;
	int		    w;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		w = rollout_waves(ro, sizes[i], &first, &size);
		if (sizes[i] == 0 ?
			w != 0 :
			(w < 1 || first < 1 || first > sizes[i] ||
			    (w == 1 && first != sizes[i]) ||
			    (w > 1 &&
				(size < 1 ||
				    first + (size_t)(w - 1) * size < sizes[i] ||
				    first + (size_t)(w - 2) * size >=
					sizes[i]))))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target  t;
	struct rollout ro;
	char	       err[256], *text, *f[3] = { NULL, NULL, NULL };
	json_t	      *root;

	if ((root = fuzz_json_body(data, size)) != NULL) {
		err[0] = '\0';
		if (target_from_json(json_object_get(root, "target"), &t, err,
			sizeof(err)) == 0)
			check_target(&t);
		else if (err[0] == '\0')
			abort();
		target_free(&t);
		err[0] = '\0';
		if (rollout_from_json(json_object_get(root, "rollout"), &ro,
			err, sizeof(err)) == 0)
			check_rollout(&ro);
		else if (err[0] == '\0')
			abort();
		json_decref(root);
	}
	if ((text = strndup((const char *)data, size)) == NULL)
		return 0;
	f[0] = text;
	for (int i = 1; i < 3 && f[i - 1] != NULL; i++)
		if ((f[i] = strchr(f[i - 1], '\n')) != NULL)
			*f[i]++ = '\0';
	err[0] = '\0';
	if (target_from_fields(f[0], NULL, f[1], "*", f[2], &t, err,
		sizeof(err)) == 0)
		check_target(&t);
	else if (err[0] == '\0')
		abort();
	target_free(&t);
	free(text);
	return 0;
}
