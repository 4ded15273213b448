/*
 * What the command center's unit tests may look at and the program may
 * not: hooks into the store's and the fleet's locking, defined beside
 * what they watch and declared only here.
 */
#ifndef VM_CC_TEST_HOOKS_H
#define VM_CC_TEST_HOOKS_H

#include <stddef.h>

struct store;
struct fleet;

/* 1 while another thread uses the store's write connection. */
int store_writer_busy(struct store *s);
/* How many node rows (new, status, token) are committing now. */
size_t fleet_settling(struct fleet *f);

#endif
