/*
 * POST /api/agent/command-result bodies: json_loadb as agent_api.c calls
 * it, then result_parse() (commands.c) with the same 256 KiB + tail output
 * buffer h_command_result gives it. An accepted result must hold what
 * store_command_result() relies on.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "../tests/unit/cc_all.h"
#include "fuzz.h"
#include "util.h"

#define OUTPUT_STORE_MAX (256 * 1024) /* commands.c */

/* 1 if s is well-formed UTF-8 (jansson hands out nothing else). */
static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80 ? 1 :
		    *p < 0xc2	     ? 0 :
		    *p < 0xe0	     ? 2 :
		    *p < 0xf0	     ? 3 :
		    *p < 0xf5	     ? 4 :
				       0;

		if (n == 0)
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd_result res;
	struct finding	 *f = NULL;
	struct buf	  out;
	json_t		 *root;
	char		  err[160];
	time_t		  t;

	if ((root = fuzz_json_body(data, size)) == NULL)
		return 0;
	buf_init(&out, OUTPUT_STORE_MAX + 64);
	err[0] = '\0';
	if (result_parse(root, &res, &f, &out, err, sizeof(err)) == 0) {
		if (!uuid_valid(res.node_id) || !uuid_valid(res.command_id) ||
		    res.status == NULL ||
		    time_parse_rfc3339(res.started_at, &t) != 0 ||
		    time_parse_rfc3339(res.finished_at, &t) != 0 ||
		    (res.nfindings > 0 && (f == NULL || res.findings != f)) ||
		    (res.output != NULL &&
			(strlen(res.output) > OUTPUT_STORE_MAX + 64 ||
			    !utf8_valid(res.output))))
			abort();
		for (size_t i = 0; i < res.nfindings; i++)
			if (f[i].id == NULL || f[i].severity == NULL ||
			    f[i].title == NULL || f[i].detail == NULL)
				abort();
	} else if (err[0] == '\0' || f != NULL)
		abort();
	free(f);
	buf_free(&out);
	json_decref(root);
	return 0;
}
