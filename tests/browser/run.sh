#!/bin/sh
# The browser test (issue 7): installs what it needs, then runs
# tests/browser/*.test.mjs with node's test runner against the binaries in
# $VM_BIN_DIR (default: build/). Screenshots land in build/artifacts/.
#   tests/browser/run.sh                     # normal build
#   VM_BIN_DIR=build/san tests/browser/run.sh
set -eu
cd "$(dirname "$0")/../.."

# playwright-core and axe-core are dev dependencies (package-lock.json
# pins them); the build installs them with the rest (npm ci); this covers
# a partial tree.
if [ ! -f node_modules/playwright-core/package.json ] ||
    [ ! -f node_modules/axe-core/axe.min.js ]; then
	npm ci --no-audit --no-fund --ignore-scripts
fi
# Debian's chromium; playwright never downloads a browser here.
if [ ! -x /usr/bin/chromium ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends chromium
fi
mkdir -p build/artifacts
VM_BIN_DIR=$(cd "${VM_BIN_DIR:-build}" && pwd)
export VM_BIN_DIR
exec node --test --test-reporter=spec tests/browser/
