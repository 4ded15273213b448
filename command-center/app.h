/*
 * app: the one application state the routes share, set up by main().
 */
#ifndef VM_CC_APP_H
#define VM_CC_APP_H

#include <stddef.h>

#include "access.h"
#include "config.h"
#include "fleet.h"
#include "model.h"
#include "store.h"

struct app {
	struct config	  cfg;
	struct store	 *store;
	struct fleet	 *fleet;
	struct thresholds thr;
	/* Of each enroll secret: any of them approves a node at once. */
	unsigned char  secret_hash[ENROLL_SECRETS_MAX][32];
	size_t	       nsecrets;
	int	       have_secret;
	struct access *access; /* NULL: Access not configured */
};

extern struct app app;

#endif
