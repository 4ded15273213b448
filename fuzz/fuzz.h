/*
 * What every libFuzzer driver here shares: the entry points' prototypes
 * (the build warns about functions without one).
 */
#ifndef VM_FUZZ_H
#define VM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	 LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
