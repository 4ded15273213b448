/*
 * target: which nodes a job acts on, and what the dashboard shows when
 * the same selector filters it: approved nodes whose labels hold every
 * pair given, of an OS profile, at one of the attention levels, whose
 * hostname matches a shell pattern, among a list of ids. Each part is
 * optional; an empty target selects every approved node.
 */
#ifndef VM_CC_TARGET_H
#define VM_CC_TARGET_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "model.h"

#define TARGET_IDS_MAX 20000 /* node ids listed in one target */

struct target {
	size_t	 nlabels;
	char	 label[LABELS_MAX][2 * LABEL_MAX + 6]; /* "key":"value" */
	char	 os_profile[PROFILE_MAX + 1];	       /* "": any */
	unsigned levels;		     /* 1 << enum level; 0: any */
	char	 hostname[HOSTNAME_MAX + 1]; /* a pattern; "": any */
	char (*ids)[37];		     /* sorted; NULL: any */
	size_t nids;
};

/*
 * From a job's JSON "target" (NULL: every approved node): 0, or -1 with
 * the field and what is wrong in err. target_free() it either way.
 */
int
target_from_json(const json_t *t, struct target *out, char *err, size_t errlen);
/*
 * From a query's or a form's fields (NULL or "": not given): labels as
 * "key=value" pairs separated by commas or spaces, attention as a comma
 * list of levels, node_ids as a list of ids separated by commas or
 * spaces. 0, or -1 with err.
 */
int  target_from_fields(const char *labels, const char *os_profile,
     const char *attention, const char *hostname, const char *node_ids,
     struct target *out, char *err, size_t errlen);
void target_free(struct target *t);
/* 1 when nothing narrows it (every approved node). */
int target_is_all(const struct target *t);
/* 1 when t selects the node (approved only): a node_pred. */
int target_match(const struct node_facts *nf, const void *t);
/* t as a compact JSON object, the form a job keeps: into b. */
void target_json(const struct target *t, struct buf *b);
/*
 * t as query fields (labels=..&os_profile=..), escaped for a URL, no
 * leading separator: into b (the dashboard's links, a job's form).
 */
void target_query(const struct target *t, struct buf *b);
/* The parts as the forms show them ("role=db,site=ams"; "red,yellow"). */
void target_labels_text(const struct target *t, struct buf *b);
void target_levels_text(const struct target *t, struct buf *b);
void target_ids_text(const struct target *t, struct buf *b);

#endif
