/*
 * What every libFuzzer driver here shares: the entry points' prototypes
 * (the build warns about functions without one), and the JSON parse the
 * agent routes run on a body. LLVMFuzzerInitialize is optional: libFuzzer
 * calls it only where a driver defines it, so a driver with nothing to set
 * up leaves it out.
 */
#ifndef VM_FUZZ_H
#define VM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The input parsed as agent_api.c parses a body (json_loadb, duplicate
 * keys refused); NULL if it is not JSON. The caller owns the tree.
 */
static inline json_t *
fuzz_json_body(const uint8_t *data, size_t size)
{
	json_error_t jerr;

	return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr);
}

#endif
