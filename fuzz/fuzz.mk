# Fuzzing (libFuzzer, clang, ASan+UBSan): included by the Makefile.
# make fuzz        every driver for FUZZ_SECONDS each (default 60)
# make fuzz-smoke  every driver for FUZZ_SMOKE_SECONDS each (default 5), and
#                  every kept crashing input under fuzz/regressions/ once
# make fuzz-one FUZZ_NAME=policy FUZZ_SECONDS=600   one driver, longer
#
# The code under test is rebuilt with clang into build/fuzz/ (its own object
# dir, instrumented with -fsanitize=fuzzer-no-link) and archived per
# program, so each driver pulls in only the objects it needs; no main.o.
# Drivers: fuzz/fuzz_<name>.c; seeds: fuzz/corpus/<name>/ (read only: new
# inputs go to build/fuzz/corpus/<name>/); dictionaries: fuzz/<name>.dict;
# crashes land in build/fuzz/artifacts/<name>/.
.PHONY: fuzz fuzz-smoke fuzz-one fuzz-build

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_DIR	 = build/fuzz
FUZZ_NAMES	 = heartbeat enroll result command policy scan_rules access http labels job roles webhooks \
		   keychain
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	 = -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SAN) \
		   -Icommon $(FUZZ_INC) $(shell pkg-config --cflags $(PKGS))
# The programs' objects with their own headers only (as in the Makefile);
# a driver may reach into either program.
$(FUZZ_DIR)/command-center/%.o: FUZZ_INC = -Icommand-center
$(FUZZ_DIR)/node-agent/%.o: FUZZ_INC = -Inode-agent
# Each driver sees one program's headers (both have a config.h).
$(FUZZ_DIR)/fuzz_%.o: FUZZ_INC = -Icommand-center
$(FUZZ_DIR)/fuzz_command.o $(FUZZ_DIR)/fuzz_scan_rules.o: FUZZ_INC = -Inode-agent
FUZZ_BINS	 = $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

FUZZ_COMMON_OBJ	 = $(COMMON_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_CC_OBJ	 = $(filter-out $(FUZZ_DIR)/command-center/main.o, \
		   $(CC_SRC:%.c=$(FUZZ_DIR)/%.o)) $(FUZZ_DIR)/gen/htmx.o \
		   $(FUZZ_DIR)/gen/vm_css.o
FUZZ_AGENT_OBJ	 = $(filter-out $(FUZZ_DIR)/node-agent/main.o, \
		   $(AGENT_SRC:%.c=$(FUZZ_DIR)/%.o))

$(FUZZ_DIR)/common/%.o: common/%.c $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/command-center/%.o: command-center/%.c $(wildcard common/*.h command-center/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/node-agent/%.o: node-agent/%.c $(wildcard common/*.h node-agent/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/gen/htmx.o: $(BUILD)/gen/htmx.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c17 -O1 -c -o $@ $<
$(FUZZ_DIR)/gen/vm_css.o: $(BUILD)/gen/vm_css.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c17 -O1 -c -o $@ $<

$(FUZZ_DIR)/libcommon.a: $(FUZZ_COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(FUZZ_DIR)/libcc.a: $(FUZZ_CC_OBJ)
	@rm -f $@; ar rcs $@ $^
$(FUZZ_DIR)/libagent.a: $(FUZZ_AGENT_OBJ)
	@rm -f $@; ar rcs $@ $^

# Drivers that #include the .c under test (to reach its static parsers)
# depend on that file too.
$(FUZZ_DIR)/fuzz_%.o: fuzz/fuzz_%.c fuzz/fuzz.h $(wildcard common/*.h \
    command-center/*.h node-agent/*.h) command-center/access.c \
    node-agent/scan_rules.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"; $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

FUZZ_LINK = $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^
FUZZ_CC_DRIVERS = heartbeat enroll result policy http labels job roles webhooks
$(FUZZ_CC_DRIVERS:%=$(FUZZ_DIR)/fuzz_%): $(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/fuzz_%.o \
    $(FUZZ_DIR)/libcc.a $(FUZZ_DIR)/libcommon.a
	$(FUZZ_LINK) $(LIBS_CC)
# command, scan_rules: the agent's code (scan_rules.c is included by its driver).
$(FUZZ_DIR)/fuzz_command $(FUZZ_DIR)/fuzz_scan_rules: $(FUZZ_DIR)/fuzz_%: \
    $(FUZZ_DIR)/fuzz_%.o $(FUZZ_DIR)/libagent.a $(FUZZ_DIR)/libcommon.a
	$(FUZZ_LINK) $(LIBS_AGENT)
# keychain: the shared code alone (keychain.c).
$(FUZZ_DIR)/fuzz_keychain: $(FUZZ_DIR)/fuzz_keychain.o $(FUZZ_DIR)/libcommon.a
	$(FUZZ_LINK) $(LIBS_AGENT)
# access: access.c is included by the driver; only the shared code besides.
$(FUZZ_DIR)/fuzz_access: $(FUZZ_DIR)/fuzz_access.o $(FUZZ_DIR)/libcommon.a
	$(FUZZ_LINK) $(LIBS_CC)

fuzz-build: $(FUZZ_BINS)

# fuzz/run.sh: the kept crashing inputs of a driver once, then the driver
# for the given seconds; fails on a crash, leak, timeout or OOM.
fuzz: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
	    FUZZ_DIR=$(FUZZ_DIR) ./fuzz/run.sh $$n $(FUZZ_SECONDS); done

fuzz-smoke: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
	    FUZZ_DIR=$(FUZZ_DIR) FUZZ_FRESH=1 ./fuzz/run.sh $$n \
	    $(FUZZ_SMOKE_SECONDS); done

fuzz-one: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) ./fuzz/run.sh $(FUZZ_NAME) $(FUZZ_SECONDS)
