# VaultMesh Command Center: one Makefile, dependencies through pkg-config.
#   make            build both daemons into build/
#   make demo       install what is missing, build, run a CC and a local agent
#   make check      install what is missing, build, run every test (also under ASan+UBSan)
#   make install    PREFIX=/usr/local DESTDIR=

CC	?= cc
PREFIX	?= /usr/local
DESTDIR	?=
PYTHON	?= /usr/bin/python3
SAN	?=

ifeq ($(SAN),1)
BUILD	?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT	?= -O1
else
BUILD	?= build
SANFLAGS =
OPT	?= -O2
endif

PKGS	= libmicrohttpd sqlite3 libpq jansson yajl libsodium libcurl libcrypto libsystemd
# The libraries, and brotli (the static assets are precompressed at build).
HAVE_DEPS := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && \
	command -v brotli >/dev/null && echo yes)
# Missing libraries: install them (scripts/install-deps.sh) before anything is built.
ifneq ($(HAVE_DEPS),yes)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
$(info make: installing missing packages with scripts/install-deps.sh)
INSTALL_RC := $(shell ./scripts/install-deps.sh 1>&2; echo $$?)
ifneq ($(INSTALL_RC),0)
$(error scripts/install-deps.sh failed)
endif
HAVE_DEPS := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && \
	command -v brotli >/dev/null && echo yes)
endif
endif

WARN	= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Wcast-qual -Wundef
CFLAGS	?= $(OPT) -g
# Each program sees its own headers and common/'s, never the other's: an
# agent file that includes a command-center header does not build.
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Icommon $(INC) \
	  -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	  $(shell pkg-config --cflags $(PKGS))
LDFLAGS_ALL = $(SANFLAGS) -pie -Wl,-z,relro,-z,now $(LDFLAGS)

LIBS_CC	   = $(shell pkg-config --libs libmicrohttpd sqlite3 libpq jansson yajl libsodium libcurl libcrypto libsystemd) -lpthread -lm
LIBS_AGENT = $(shell pkg-config --libs libcurl jansson libsodium libsystemd) -lpthread -lm
LIBS_TEST  = $(shell pkg-config --libs cmocka)

COMMON_SRC = $(wildcard common/*.c)
CC_SRC	   = $(wildcard command-center/*.c)
AGENT_SRC  = $(wildcard node-agent/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
# htmx, from the npm package pinned in package.json / package-lock.json,
# embedded into the command center (served at a versioned static path).
HTMX_JS	   = node_modules/htmx.org/dist/htmx.min.js
HTMX_OBJ   = $(BUILD)/gen/htmx.o
# The stylesheet, embedded the same way (its version: its content's hash).
VM_CSS	   = command-center/static/vm.css
CSS_OBJ	   = $(BUILD)/gen/vm_css.o
CC_OBJ	   = $(CC_SRC:%.c=$(BUILD)/%.o) $(HTMX_OBJ) $(CSS_OBJ)
AGENT_OBJ  = $(AGENT_SRC:%.c=$(BUILD)/%.o)
CC_LIB_OBJ    = $(filter-out $(BUILD)/command-center/main.o,$(CC_OBJ))
AGENT_LIB_OBJ = $(filter-out $(BUILD)/node-agent/main.o,$(AGENT_OBJ))

# Unit tests: tests/unit/cc_*.c link the command center's modules,
# agent_*.c the agent's, common_*.c only the shared code. Every one links
# testlib.c (common/ headers only); the cc_* ones also cc_testlib.c and the
# agent_* ones agent_testlib.c, their fixtures, each built with its
# program's headers in the path as its name says.
UNIT_SRC      = $(wildcard tests/unit/*_test_*.c)
UNIT_BIN      = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_LIB      = $(BUILD)/tests/unit/testlib.o
UNIT_CCLIB    = $(BUILD)/tests/unit/cc_testlib.o
UNIT_AGENTLIB = $(BUILD)/tests/unit/agent_testlib.o

BINS	= $(BUILD)/vaultmesh-command-center $(BUILD)/vaultmesh-node-agent

.PHONY: all deps demo check unit unit-pg e2e e2e-pg test-one install clean bench format \
	format-check
all: $(BINS)

# Installs whatever Debian packages are missing (tools too: pytest, wrk).
deps:
	@./scripts/install-deps.sh

$(BUILD)/command-center/%.o $(BUILD)/tests/unit/cc_%.o: INC = -Icommand-center
$(BUILD)/node-agent/%.o $(BUILD)/tests/unit/agent_%.o: INC = -Inode-agent

$(BUILD)/%.o: %.c $(wildcard common/*.h command-center/*.h node-agent/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(ALL_CFLAGS) -c -o $@ $<

$(HTMX_JS): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

$(BUILD)/gen/htmx.c: $(HTMX_JS) scripts/embed.sh
	@mkdir -p $(dir $@)
	./scripts/embed.sh htmx_js $(HTMX_JS) \
	    $$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' node_modules/htmx.org/package.json) $@

$(BUILD)/gen/htmx.o: $(BUILD)/gen/htmx.c
	$(CC) -std=c17 $(CFLAGS) $(SANFLAGS) -fPIE -c -o $@ $<

$(BUILD)/gen/vm_css.c: $(VM_CSS) scripts/embed.sh
	@mkdir -p $(dir $@)
	./scripts/embed.sh vm_css $(VM_CSS) \
	    $$(sha256sum $(VM_CSS) | cut -c1-8) $@

$(BUILD)/gen/vm_css.o: $(BUILD)/gen/vm_css.c
	$(CC) -std=c17 $(CFLAGS) $(SANFLAGS) -fPIE -c -o $@ $<

$(BUILD)/vaultmesh-command-center: $(CC_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_CC)

$(BUILD)/vaultmesh-node-agent: $(AGENT_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_AGENT)

$(UNIT_SRC:%.c=$(BUILD)/%.o) $(UNIT_LIB) $(UNIT_CCLIB) $(UNIT_AGENTLIB): \
	    $(wildcard tests/unit/*.h)

$(BUILD)/tests/cc_%: $(BUILD)/tests/unit/cc_%.o $(UNIT_CCLIB) $(UNIT_LIB) \
	    $(CC_LIB_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_CC) $(LIBS_TEST)

$(BUILD)/tests/agent_%: $(BUILD)/tests/unit/agent_%.o $(UNIT_AGENTLIB) \
	    $(UNIT_LIB) $(AGENT_LIB_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_AGENT) $(LIBS_TEST)

$(BUILD)/tests/common_%: $(BUILD)/tests/unit/common_%.o $(UNIT_LIB) \
	    $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_AGENT) $(LIBS_TEST)

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The store's unit tests again on PostgreSQL (a throwaway cluster, each
# test its own database; tests of the SQLite file itself are skipped), and
# the replicas' own tests, which need it.
UNIT_PG_BIN = $(BUILD)/tests/cc_test_store $(BUILD)/tests/cc_test_fleet \
	      $(BUILD)/tests/cc_test_jobs $(BUILD)/tests/cc_test_keys \
	      $(BUILD)/tests/cc_test_replica $(BUILD)/tests/cc_test_views
unit-pg: all $(UNIT_PG_BIN)
	@set -e; d=$$(mktemp -d /tmp/vm-unit-pg.XXXXXX); \
	trap '$(PYTHON) tests/e2e/pg.py stop '"$$d"' >/dev/null' EXIT; \
	uri=$$($(PYTHON) tests/e2e/pg.py start "$$d"); \
	for t in $(UNIT_PG_BIN); do echo "== $$t (PostgreSQL)"; \
	    VM_TEST_PG="$$uri" $$t; done

e2e: all
	VM_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

# The e2e suite again, every command center on PostgreSQL: a throwaway
# cluster the tests start and remove (tests/e2e/pg.py); tests of the SQLite
# file itself are skipped.
e2e-pg: all
	VM_TEST_PG=auto VM_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider tests/e2e $(PYTEST_ARGS)

# The house style (.clang-format): `make format` applies it to every C file,
# `make format-check` (part of check) fails on a file it would change.
FORMAT_SRC = $(wildcard common/*.[ch] command-center/*.[ch] node-agent/*.[ch] \
	     tests/unit/*.[ch] fuzz/*.[ch] bench/*.[ch])
format: deps
	@clang-format -i $(FORMAT_SRC)
format-check: deps
	@clang-format --dry-run -Werror $(FORMAT_SRC) && \
	    echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format has them"

# The style, then every test, once in the normal build and once under ASan
# and UBSan, every fuzzer for a few seconds, and the browser test (Debian's
# chromium driven by playwright-core).
check: deps
	$(MAKE) format-check
	$(MAKE) unit unit-pg e2e e2e-pg
	$(MAKE) SAN=1 unit e2e
	$(MAKE) fuzz-smoke
	VM_BIN_DIR=$(CURDIR)/build ./tests/browser/run.sh

include fuzz/fuzz.mk

demo: deps
	$(MAKE) all
	./scripts/demo.sh $(BUILD)

bench: all
	./bench/run.sh $(BUILD)

SYSCONFDIR ?= /etc
MANDIR	   ?= $(PREFIX)/share/man
UNITDIR	   ?= $(PREFIX)/lib/systemd/system

# Binaries, units (pointing at $(PREFIX)/bin), man pages, and example
# settings under $(SYSCONFDIR)/vaultmesh (*.example: never overwrites).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/vaultmesh/scan.d
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for u in systemd/*.service systemd/*.socket; do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' $$u > $(DESTDIR)$(UNITDIR)/$${u#systemd/}; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#systemd/}; \
	done
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0600 examples/agent.env $(DESTDIR)$(SYSCONFDIR)/vaultmesh/agent.env.example
	install -m 0644 examples/command-center.env $(DESTDIR)$(SYSCONFDIR)/vaultmesh/command-center.env.example
	install -m 0644 examples/policy.json $(DESTDIR)$(SYSCONFDIR)/vaultmesh/policy.json.example
	install -m 0644 examples/roles.json $(DESTDIR)$(SYSCONFDIR)/vaultmesh/roles.json.example
	install -m 0644 node-agent/scan-rules.example.json $(DESTDIR)$(SYSCONFDIR)/vaultmesh/scan.d/example.json.example

clean:
	rm -rf build node_modules
