#!/bin/sh
# Installs the Debian packages VaultMesh needs to build, test and benchmark.
# Idempotent: installs only what is missing. Runs apt-get as root, or through sudo.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libmicrohttpd-dev libsqlite3-dev sqlite3 libpq-dev postgresql-15 libjansson-dev libyajl-dev libsodium-dev
libcurl4-openssl-dev libssl-dev libsystemd-dev libcmocka-dev
python3 python3-pytest python3-cryptography curl wrk prometheus
chromium brotli clang-format haproxy"

# npm fetches htmx (pinned in package-lock.json) and the browser test's
# driver; a machine that has node and npm from elsewhere keeps them.
if ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
