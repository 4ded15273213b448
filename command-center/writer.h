/*
 * writer: the fleet's heartbeats written behind (writer.c): every 200 ms
 * the dirty ones go to the store's log, and the log is folded into nodes.
 */
#ifndef VM_CC_WRITER_H
#define VM_CC_WRITER_H

struct fleet;

/* The thread that writes heartbeats behind; arg is the fleet. */
void *fleet_writer_main(void *arg);
/*
 * Writes dirty heartbeats to the store now (the writer does it every 200
 * ms), then folds the heartbeat log into nodes if it is past its limit.
 */
void fleet_flush(struct fleet *f);
/* Folds the whole heartbeat log into nodes (a clean stop does it too). */
void fleet_fold_all(struct fleet *f);

#endif
