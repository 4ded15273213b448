/*
 * html_keys: the signing keys' page (html_keys.c): the keys, how many
 * nodes confirmed each, the nodes not yet on the current one, and (for an
 * admin) the forms that rotate. Every string escaped as html.c does.
 */
#ifndef VM_CC_HTML_KEYS_H
#define VM_CC_HTML_KEYS_H

#include <stdint.h>

#include "buf.h"
#include "keys.h"
#include "roles.h"

/* The page: begin, a row a key (nodes: how many confirmed it), ... */
void html_keys_begin(struct buf *b, const char *current_id, long unmoved,
    int64_t now);
void html_key_row(struct buf *b, const struct key_view *k, long nodes);
/* ... then the nodes not on the current key (a row each), ... */
void html_keys_nodes_begin(struct buf *b);
void html_keys_node(struct buf *b, const char *node_id, const char *hostname,
    const char *pinned_id);
/* ... and the end: the rotate forms when role is admin. */
void html_keys_end(struct buf *b, long listed, long unmoved, enum role role);

#endif
