/* hotfile: parse, swap under the lock, free the old one outside it. */
#include <stdlib.h>
#include <string.h>

#include "hotfile.h"

int
hotfile_init(struct hotfile *h, const char *path, char *err, size_t errlen)
{
	void *cur, *old;
	char *p = NULL;

	if ((cur = h->parse(path, err, errlen)) == NULL)
		return -1;
	if (path != NULL && (p = strdup(path)) == NULL) {
		h->destroy(cur);
		return -1;
	}
	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = cur;
	free(h->path);
	h->path = p;
	pthread_mutex_unlock(&h->mu);
	if (old != NULL)
		h->destroy(old);
	return 0;
}

int
hotfile_reload(struct hotfile *h, char *err, size_t errlen)
{
	void *cur, *old;
	char *path;

	pthread_mutex_lock(&h->mu);
	path = h->path ? strdup(h->path) : NULL;
	pthread_mutex_unlock(&h->mu);
	cur = h->parse(path, err, errlen);
	free(path);
	if (cur == NULL)
		return -1;
	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = cur;
	pthread_mutex_unlock(&h->mu);
	if (old != NULL)
		h->destroy(old);
	return 0;
}

void
hotfile_shutdown(struct hotfile *h)
{
	void *old;

	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = NULL;
	free(h->path);
	h->path = NULL;
	pthread_mutex_unlock(&h->mu);
	if (old != NULL)
		h->destroy(old);
}
