/*
 * hotfile: a configuration file parsed whole at start and again on SIGHUP,
 * swapped under a lock so that readers see the old one or the new one,
 * never half of either; a file that does not parse changes nothing
 * (hotfile.c). The policy, the roles and the webhooks use it.
 */
#ifndef VM_CC_HOTFILE_H
#define VM_CC_HOTFILE_H

#include <pthread.h>
#include <stddef.h>

struct hotfile {
	pthread_mutex_t mu;  /* held by readers of cur */
	void	       *cur; /* what parse made of the file */
	char	       *path;
	/* The file at path (NULL: none) parsed, or NULL with why in err. */
	void *(*parse)(const char *path, char *err, size_t errlen);
	void (*destroy)(void *cur);
};
#define HOTFILE_INIT(parse, destroy)                                  \
	{                                                             \
		PTHREAD_MUTEX_INITIALIZER, NULL, NULL, parse, destroy \
	}

/* Parses path and makes it current: 0, or -1 with why. */
int hotfile_init(struct hotfile *h, const char *path, char *err, size_t errlen);
/* Parses the same path again; on failure the current one stays. */
int  hotfile_reload(struct hotfile *h, char *err, size_t errlen);
void hotfile_shutdown(struct hotfile *h);

#endif
