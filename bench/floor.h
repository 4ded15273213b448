/*
 * floor.h: what bench/floor-mhd.c and bench/floor-h2o.c share: the answer,
 * the command line, the loopback address, SIGPIPE ignored.
 */
#ifndef FLOOR_H
#define FLOOR_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command center's answer to a heartbeat with nothing queued. */
static const char floor_json[] = "{\"pending_commands\":0}";

/*
 * PORT [THREADS] (threads default to the cores); 127.0.0.1:PORT in *sa.
 * Then SIGPIPE is ignored: a client gone mid-answer is an error to the
 * library, not the floor's end. -1 (usage printed) if the arguments are bad.
 */
static inline int
floor_init(int argc, char *argv[], const char *name, struct sockaddr_in *sa,
    long *threads)
{
	long port;

	if (argc < 2 || (port = strtol(argv[1], NULL, 10)) < 1 ||
	    port > 65535) {
		fprintf(stderr, "usage: %s PORT [THREADS]\n", name);
		return -1;
	}
	*threads = argc > 2 ? strtol(argv[2], NULL, 10) :
			      sysconf(_SC_NPROCESSORS_ONLN);
	if (*threads < 1 || *threads > 64)
		*threads = 1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

#endif
