# Fuzzing (libFuzzer, clang, ASan+UBSan): included by the Makefile.
# make fuzz        every driver for FUZZ_SECONDS each (default 60)
# make fuzz-smoke  every driver for a few seconds (part of make check)
.PHONY: fuzz fuzz-smoke
fuzz:
fuzz-smoke:
