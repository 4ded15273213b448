#!/usr/bin/env bash
# make bench: the command center beside the anchors (nginx, the Rust reference) in one run.
#   ./bench/run.sh [BUILD]        (make bench runs it with BUILD=build after `make all`)
# Builds the load tool (and the Rust reference, cached) into BUILD/bench/, starts everything it
# needs on 127.0.0.1 only, runs the scenarios of issue 5, issue 18's job to every waiting agent
# (and issue 17's heartbeat ingest on a
# throwaway PostgreSQL 15 cluster beside SQLite, when Debian's PostgreSQL is installed), stops
# everything it started and prints
# one table (also written to BUILD/bench/table.txt; raw figures in BUILD/bench/results.txt).
# Knobs (environment): BENCH_ROUNDS (3), BENCH_NODES (100000), BENCH_HB_NODES (10000),
# BENCH_POLLS (10000), BENCH_COMMANDS (1000), BENCH_JOB_PROCS (4), BENCH_WRK_SECS (10), BENCH_AGENT_SECS (120),
# BENCH_PROFILE=1 (perf record the CC under heartbeat load), BENCH_KEEP=1 (keep the temp dir),
# BENCH_ANCHORS (../shared/anchors).
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BB=$ROOT/$BUILD/bench
ANCHORS=${BENCH_ANCHORS:-$ROOT/../shared/anchors}
ROUNDS=${BENCH_ROUNDS:-3}
NODES=${BENCH_NODES:-100000}
HB_NODES=${BENCH_HB_NODES:-10000}
POLLS=${BENCH_POLLS:-10000}
COMMANDS=${BENCH_COMMANDS:-1000}
WRK_SECS=${BENCH_WRK_SECS:-10}
AGENT_SECS=${BENCH_AGENT_SECS:-120}
PROFILE=${BENCH_PROFILE:-0}
SECRET=bench-enroll-secret
CC_BIN=$ROOT/$BUILD/vaultmesh-command-center
AGENT_BIN=$ROOT/$BUILD/vaultmesh-node-agent
LOAD=$BB/vm-load
WRK_OPTS=(-t1 -c64 "-d${WRK_SECS}s")
CLK_TCK=$(getconf CLK_TCK)
T0=$(date +%s)

mkdir -p "$BB"
T=$(mktemp -d /tmp/vm-bench.XXXXXX)
RES=$BB/results.txt
: >"$RES"

say() { printf '[bench %4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
res() { echo "$*" >>"$RES"; }

# ---- cleanup: stop what we started, by pid ------------------------------------------------
PIDS=()
NGINX_PIDFILE=
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$NGINX_PIDFILE" ] && [ -s "$NGINX_PIDFILE" ]; then
		kill "$(cat "$NGINX_PIDFILE")" 2>/dev/null
	fi
	sleep 0.5
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${PGDIR:-}" ] && python3 tests/e2e/pg.py stop "$PGDIR" 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
# stop_pid PID [SIGNAL]: stops a process this script started, waits, forgets it
stop_pid() {
	kill -"${2:-TERM}" "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}
trap 'exit 130' INT TERM

# ---- helpers ---------------------------------------------------------------------------------
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# user+sys clock ticks of a process (and its dead threads), from /proc/<pid>/stat
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# nanoseconds on CPU of the live threads, from /proc/<pid>/task/*/schedstat
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
io_write_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# fmt EXPR [DECIMALS]: EXPR is arithmetic on numbers this script measured ("-" if it fails)
fmt() { awk "BEGIN {printf \"%.${2:-1}f\", $1}" 2>/dev/null || echo -; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "-"; else printf "%.2fx", a / b}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 <= b + 0)}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
wait_http() { # URL SECONDS: 0 once URL answers 200
	local deadline=$(( $(date +%s) + $2 ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		curl -fs -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.01
	done
	return 1
}
listen_port() { # PID SECONDS: the TCP port PID listens on
	local deadline=$(( $(date +%s) + $2 )) port
	while [ "$(date +%s)" -lt "$deadline" ]; do
		port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$1," 'index($0, p) {sub(/.*:/, "", $4); print $4; exit}')
		[ -n "$port" ] && { echo "$port"; return 0; }
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}
# wrk RESULTFILE ARGS...: requests/s, requests, errors (non-2xx + socket errors) into RESULTFILE
run_wrk() {
	local out=$1; shift
	wrk "${WRK_OPTS[@]}" "$@" >"$out.txt" 2>&1 || true
	awk '
		/requests in/ {req = $1}
		/^Requests\/sec:/ {rps = $2}
		/Non-2xx or 3xx responses:/ {bad += $NF}
		/Socket errors:/ {gsub(/,/, ""); bad += $4 + $6 + $8 + $10}
		END {printf "rps=%s requests=%s errors=%d\n", rps, req, bad}' "$out.txt" >"$out"
}

# ---- build -------------------------------------------------------------------------------------
[ -x "$CC_BIN" ] && [ -x "$AGENT_BIN" ] || { echo "bench: build the daemons first (make)" >&2; exit 1; }
for tool in wrk curl ss python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps installs wrk; apt-get install iproute2)" >&2; exit 1; }
done
if [ ! -x "$LOAD" ] || [ bench/vm-load.c -nt "$LOAD" ]; then
	say "building $LOAD"
	# shellcheck disable=SC2046	# pkg-config's flags must split into words
	cc -std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o "$LOAD" bench/vm-load.c \
	    $(pkg-config --cflags --libs libcurl jansson)
fi

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$T/apt.log" 2>&1 ||
	    { apt-get update -qq >>"$T/apt.log" 2>&1 &&
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$T/apt.log" 2>&1; }
}

# Every anchor and floor is driven by the anchors' wrk script.
HB_LUA=$ANCHORS/heartbeat.lua
[ -f "$HB_LUA" ] || echo "bench: SKIP nginx, the Rust reference and the HTTP floors: $HB_LUA not found (set BENCH_ANCHORS)" >&2
HAVE_NGINX=0
if [ ! -f "$HB_LUA" ]; then
	:
elif [ ! -f "$ANCHORS/nginx/nginx.conf" ]; then
	echo "bench: SKIP nginx anchor: $ANCHORS/nginx/nginx.conf not found" >&2
elif command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { say "installing nginx"; apt_install nginx; }; then
	HAVE_NGINX=1
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
else
	echo "bench: SKIP nginx anchor: nginx is not installed and apt-get install nginx failed" >&2
fi

RREF=$BB/hb-ref
HAVE_RREF=0
rref_sum=$(cat "$ANCHORS/rust-hyper-ref/Cargo.toml" "$ANCHORS/rust-hyper-ref/src/"*.rs 2>/dev/null | sha256sum | cut -c1-16 || true)
if [ ! -f "$HB_LUA" ]; then
	:
elif [ -x "$RREF" ] && [ "$(cat "$RREF.sum" 2>/dev/null)" = "$rref_sum" ]; then
	HAVE_RREF=1
elif [ ! -d "$ANCHORS/rust-hyper-ref" ]; then
	echo "bench: SKIP Rust reference: $ANCHORS/rust-hyper-ref not found" >&2
else
	if ! ls -d /usr/share/cargo/registry/hyper-0.14* >/dev/null 2>&1 || [ ! -x /usr/bin/cargo ]; then
		say "installing cargo and the Rust crates from Debian"
		apt_install cargo librust-hyper-dev librust-tokio-dev librust-serde-json-dev librust-serde-derive-dev || true
	fi
	CARGO=/usr/bin/cargo
	[ -x "$CARGO" ] || CARGO=$(command -v cargo || true)
	if [ -n "$CARGO" ]; then
		say "building the Rust reference (cached in $RREF)"
		cp -r "$ANCHORS/rust-hyper-ref" "$T/rref"
		chmod -R u+w "$T/rref"
		if (cd "$T/rref" && "$CARGO" build --release --offline) >"$T/cargo.log" 2>&1; then
			cp "$T/rref/target/release/hb-ref" "$RREF"
			echo "$rref_sum" >"$RREF.sum"
			HAVE_RREF=1
		else
			echo "bench: SKIP Rust reference: cargo build failed (tail of the log follows)" >&2
			tail -5 "$T/cargo.log" >&2
		fi
	else
		echo "bench: SKIP Rust reference: no cargo (apt-get install cargo failed)" >&2
	fi
fi

# HTTP floors (information rows): the heartbeat exchange with a fixed answer, no work, through
# libmicrohttpd with the CC's flags and through h2o's evloop library (issue 5's named alternative).
FLOOR_CFLAGS=(-std=c17 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror)
HAVE_FMHD=0
if [ ! -x "$BB/floor-mhd" ] || [ bench/floor-mhd.c -nt "$BB/floor-mhd" ] || [ bench/floor.h -nt "$BB/floor-mhd" ]; then
	# shellcheck disable=SC2046	# pkg-config's flags must split into words
	cc "${FLOOR_CFLAGS[@]}" -o "$BB/floor-mhd" bench/floor-mhd.c $(pkg-config --cflags --libs libmicrohttpd) ||
	    rm -f "$BB/floor-mhd"
fi
[ -x "$BB/floor-mhd" ] && [ -f "$HB_LUA" ] && HAVE_FMHD=1
HAVE_FH2O=0
if ! pkg-config --exists libh2o-evloop; then
	say "installing libh2o-evloop-dev (for the h2o floor only)"
	apt_install libh2o-evloop-dev || true
fi
if pkg-config --exists libh2o-evloop; then
	if [ ! -x "$BB/floor-h2o" ] || [ bench/floor-h2o.c -nt "$BB/floor-h2o" ] || [ bench/floor.h -nt "$BB/floor-h2o" ]; then
		# The .pc file leaves out which event loop the library was built with.
		# shellcheck disable=SC2046
		cc "${FLOOR_CFLAGS[@]}" -DH2O_USE_LIBUV=0 -o "$BB/floor-h2o" bench/floor-h2o.c \
		    $(pkg-config --cflags --libs libh2o-evloop) -lpthread >"$T/floor-h2o.log" 2>&1 ||
		    { rm -f "$BB/floor-h2o"; echo "bench: SKIP h2o floor: it did not build ($(head -c 200 "$T/floor-h2o.log"))" >&2; }
	fi
	[ -x "$BB/floor-h2o" ] && [ -f "$HB_LUA" ] && HAVE_FH2O=1
else
	echo "bench: SKIP h2o floor: libh2o-evloop-dev is not installed and apt-get install failed" >&2
fi

# ---- the command center ----------------------------------------------------------------------
mkdir -p "$T/cc"
# The simulated nodes' profile may run agent-info (scenario 2) and service-status (the job of
# issue 18) only: the scheduler must not queue 100,000 scans during the benchmark (see
# docs/PERFORMANCE.md); every other profile gets the defaults.
cat >"$T/cc/policy.json" <<'EOF'
{ "default": ["sovereign-scan", "service-status", "journal-tail", "agent-info"],
  "profiles": { "BenchNode": ["agent-info", "service-status"] } }
EOF
CC_PID=
CC_URL=
start_cc() { # [DB]: the bench's database unless another is given
	VAULTMESH_LISTEN=127.0.0.1:0 VAULTMESH_DB="${1:-$T/cc/cc.db}" VAULTMESH_CC_KEY_PATH="$T/cc/key" \
	VAULTMESH_ENROLL_SECRET=$SECRET VAULTMESH_LOG=warn VAULTMESH_POLICY_PATH="$T/cc/policy.json" \
	VAULTMESH_SCHEDULER_TICK_SECONDS=86400 "$CC_BIN" 2>>"$T/cc/cc.err" &
	CC_PID=$!
	PIDS+=("$CC_PID")
	local port
	port=$(listen_port "$CC_PID" 60) || { echo "bench: the command center did not start:" >&2; tail -5 "$T/cc/cc.err" >&2; exit 1; }
	CC_URL=http://127.0.0.1:$port
	wait_http "$CC_URL/healthz" 60 || { echo "bench: /healthz never answered" >&2; exit 1; }
}

say "starting the command center (fresh database in $T/cc)"
start_cc
TOK=$T/tokens.txt
TOK_HB=$T/tokens-hb.txt

# Scenario 4 baseline: GET / with 100 nodes.
say "enrolling 100 nodes, GET / at 100 nodes"
"$LOAD" enroll -s "$SECRET" -c 16 "$CC_URL" 100 "$T/tok-a.txt" >/dev/null
"$LOAD" heartbeat -c 16 "$CC_URL" "$T/tok-a.txt" >/dev/null
"$LOAD" get "$CC_URL/" 5 >/dev/null || true
G100=$("$LOAD" get "$CC_URL/" 30 || true)
res "get_dash_100 $G100"

say "enrolling $(( NODES - 100 )) more nodes through POST /api/agent/enroll"
ENR=$("$LOAD" enroll -s "$SECRET" -c 32 -o 100 "$CC_URL" $(( NODES - 100 )) "$T/tok-b.txt")
res "$ENR"
say "$ENR"
cat "$T/tok-a.txt" "$T/tok-b.txt" >"$TOK"
head -n "$HB_NODES" "$TOK" >"$TOK_HB"
say "one heartbeat for each of the $NODES nodes"
io0=$(io_write_bytes "$CC_PID"); sleep 0.5
HB1=$("$LOAD" heartbeat -c 64 "$CC_URL" "$TOK")
sleep 1	# the last write-behind flush
io1=$(io_write_bytes "$CC_PID")
# Each node heartbeats once here, as in a fleet at a 30 s interval: nothing coalesces.
DISK_PER_HB=$(( (io1 - io0) / $(kv "$HB1" ok) ))
res "seed_$HB1 disk_write_bytes=$(( io1 - io0 )) per_heartbeat=$DISK_PER_HB"
say "$HB1; $DISK_PER_HB bytes written to disk per heartbeat"

# ---- anchors ---------------------------------------------------------------------------------
NGINX_URL=
if [ "$HAVE_NGINX" = 1 ]; then
	NPORT=$(free_port)
	NGINX_PIDFILE=$T/nginx.pid
	# A copy with a free port and its pid/error files in the temp dir (nothing else changed).
	sed -e "s#127.0.0.1:18080#127.0.0.1:$NPORT#" -e "s#/tmp/anchor-nginx.pid#$NGINX_PIDFILE#" \
	    -e "s#/tmp/anchor-nginx.err#$T/nginx.err#" "$ANCHORS/nginx/nginx.conf" >"$T/nginx.conf"
	if "$NGINX" -c "$T/nginx.conf" -p "$T" 2>"$T/nginx.start.err" && wait_http "http://127.0.0.1:$NPORT/" 10; then
		NGINX_URL=http://127.0.0.1:$NPORT
		say "nginx anchor on $NGINX_URL"
	else
		echo "bench: SKIP nginx anchor: it did not start ($(head -c 200 "$T/nginx.start.err"))" >&2
		HAVE_NGINX=0
	fi
fi
RREF_PID=
RREF_URL=
start_rref() {
	local port
	port=$(free_port)
	PORT=$port "$RREF" 2>>"$T/rref.err" &
	RREF_PID=$!
	PIDS+=("$RREF_PID")
	RREF_URL=http://127.0.0.1:$port
	local i=0
	until curl -s -o /dev/null --max-time 1 "$RREF_URL/nodes"; do
		i=$(( i + 1 )); [ "$i" -gt 500 ] && return 1; sleep 0.01
	done
}
if [ "$HAVE_RREF" = 1 ]; then
	if start_rref; then say "Rust reference on $RREF_URL"; else
		echo "bench: SKIP Rust reference: it did not start" >&2; HAVE_RREF=0; fi
fi

# ---- scenario 1: heartbeat ingest --------------------------------------------------------------
FMHD_PID=; FMHD_URL=; FH2O_PID=; FH2O_URL=
# start_floor BINARY: starts it on a free port; F_PID and F_URL, 1 if it never answered
start_floor() {
	local port i=0
	port=$(free_port)
	"$1" "$port" >/dev/null 2>>"$T/floor.err" &
	F_PID=$!
	PIDS+=("$F_PID")
	F_URL=http://127.0.0.1:$port
	until curl -s -o /dev/null --max-time 1 -d '{}' "$F_URL/api/agent/heartbeat"; do
		i=$(( i + 1 )); [ "$i" -gt 500 ] && return 1; sleep 0.01
	done
}
if [ "$HAVE_FMHD" = 1 ] && start_floor "$BB/floor-mhd"; then
	FMHD_PID=$F_PID; FMHD_URL=$F_URL; say "libmicrohttpd floor on $FMHD_URL"
else
	[ "$HAVE_FMHD" = 1 ] && echo "bench: SKIP libmicrohttpd floor: it did not start" >&2
	HAVE_FMHD=0
fi
if [ "$HAVE_FH2O" = 1 ] && start_floor "$BB/floor-h2o"; then
	FH2O_PID=$F_PID; FH2O_URL=$F_URL; say "h2o floor on $FH2O_URL"
else
	[ "$HAVE_FH2O" = 1 ] && echo "bench: SKIP h2o floor: it did not start" >&2
	HAVE_FH2O=0
fi
# floor_round PID URL: one wrk run against a floor; F_RPS and F_CPU (CPU s per 100k)
floor_round() {
	local c0 c1 w
	c0=$(cpu_ticks "$1")
	run_wrk "$T/wrk-floor" -s "$HB_LUA" "$2"
	c1=$(cpu_ticks "$1")
	w=$(cat "$T/wrk-floor")
	F_RPS=$(kv "$w" rps)
	F_CPU=$(awk -v c=$(( c1 - c0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')
}
FM_RPS=(); FM_CPU=(); FH_RPS=(); FH_CPU=()

CC_RPS=(); CC_CPU=(); RR_RPS=(); RR_CPU=(); NG_RPS=(); CC_ERR=0
for r in $(seq 1 "$ROUNDS"); do
	if [ "$HAVE_NGINX" = 1 ]; then
		run_wrk "$T/wrk-nginx-$r" -s "$HB_LUA" "$NGINX_URL"
		NG_RPS+=("$(kv "$(cat "$T/wrk-nginx-$r")" rps)")
		say "round $r nginx: $(cat "$T/wrk-nginx-$r")"
	fi
	if [ "$HAVE_RREF" = 1 ]; then
		c0=$(cpu_ticks "$RREF_PID")
		run_wrk "$T/wrk-rref-$r" -s "$HB_LUA" "$RREF_URL"
		c1=$(cpu_ticks "$RREF_PID")
		w=$(cat "$T/wrk-rref-$r")
		RR_RPS+=("$(kv "$w" rps)")
		RR_CPU+=("$(awk -v c=$(( c1 - c0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')")
		say "round $r rust-ref: $w cpu_s_per_100k=${RR_CPU[-1]}"
	fi
	if [ "$HAVE_FMHD" = 1 ]; then
		floor_round "$FMHD_PID" "$FMHD_URL"; FM_RPS+=("$F_RPS"); FM_CPU+=("$F_CPU")
		say "round $r libmicrohttpd floor: rps=$F_RPS cpu_s_per_100k=$F_CPU"
	fi
	if [ "$HAVE_FH2O" = 1 ]; then
		floor_round "$FH2O_PID" "$FH2O_URL"; FH_RPS+=("$F_RPS"); FH_CPU+=("$F_CPU")
		say "round $r h2o floor: rps=$F_RPS cpu_s_per_100k=$F_CPU"
	fi
	c0=$(cpu_ticks "$CC_PID")
	run_wrk "$T/wrk-cc-$r" -s bench/heartbeat-tokens.lua "$CC_URL" -- "$TOK_HB" "$HB_NODES"
	c1=$(cpu_ticks "$CC_PID")
	w=$(cat "$T/wrk-cc-$r")
	CC_RPS+=("$(kv "$w" rps)")
	CC_ERR=$(( CC_ERR + $(kv "$w" errors) ))
	CC_CPU+=("$(awk -v c=$(( c1 - c0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')")
	say "round $r command center: $w cpu_s_per_100k=${CC_CPU[-1]}"
done
res "s1 cc_rps=${CC_RPS[*]} cc_cpu=${CC_CPU[*]} rref_rps=${RR_RPS[*]:-} rref_cpu=${RR_CPU[*]:-} nginx_rps=${NG_RPS[*]:-} cc_errors=$CC_ERR"
res "floors mhd_rps=${FM_RPS[*]:-} mhd_cpu=${FM_CPU[*]:-} h2o_rps=${FH_RPS[*]:-} h2o_cpu=${FH_CPU[*]:-}"
# The floors are done with: stop them so they hold no memory or CPU in the scenarios that follow.
[ -n "$FMHD_PID" ] && stop_pid "$FMHD_PID"
[ -n "$FH2O_PID" ] && stop_pid "$FH2O_PID"

# Info: an operator's node page, idle and while wrk sends heartbeats as in the rounds above
# (one request after another on one connection; the page reads its histories from SQLite).
VIEW_ID=$(head -n 1 "$TOK_HB" | cut -d' ' -f1)
"$LOAD" get "$CC_URL/nodes/$VIEW_ID" 5 >/dev/null || true
GV_IDLE=$("$LOAD" get "$CC_URL/nodes/$VIEW_ID" 300 || true)
run_wrk "$T/wrk-cc-view" -s bench/heartbeat-tokens.lua "$CC_URL" -- "$TOK_HB" "$HB_NODES" &
VIEW_WRK=$!
sleep 1	# wrk's connections are up and sending
# Paced over the run (write rounds come every few hundred ms): one request every 5 ms.
GV_N=$(( (WRK_SECS - 2) * 1000 / 6 )); [ "$GV_N" -lt 100 ] && GV_N=100
GV_LOAD=$("$LOAD" get -g 5 "$CC_URL/nodes/$VIEW_ID" "$GV_N" || true)
wait "$VIEW_WRK" || true
res "get_node_page_idle $GV_IDLE"
res "get_node_page_under_heartbeats $GV_LOAD"
say "GET /nodes/<id> idle: $GV_IDLE; under heartbeat load: $GV_LOAD"

if [ "$PROFILE" = 1 ]; then
	if command -v perf >/dev/null || apt_install linux-perf; then
		say "profiling the command center under heartbeat load (perf record -g, ${WRK_SECS}s)"
		perf record -g -F 999 -p "$CC_PID" -o "$BB/perf-cc.data" -- sleep "$WRK_SECS" >"$T/perf.log" 2>&1 &
		PERF_PID=$!
		run_wrk "$T/wrk-cc-perf" -s bench/heartbeat-tokens.lua "$CC_URL" -- "$TOK_HB" "$HB_NODES"
		wait "$PERF_PID" || true
		rm -f "$BB/perf-cc.data.old"	# perf keeps the previous recording under that name
		perf report -i "$BB/perf-cc.data" --stdio --no-children -g none --sort dso,symbol \
		    --percent-limit 0.3 2>/dev/null | grep -v '^$' >"$BB/perf-cc.txt" || true
		perf report -i "$BB/perf-cc.data" --stdio --no-children -g none --sort dso \
		    2>/dev/null | grep -v '^#' | grep -v '^$' | head -20 >"$BB/perf-cc-dso.txt" || true
		say "profile in $BB/perf-cc.txt and $BB/perf-cc-dso.txt"
	else
		echo "bench: SKIP profile: perf is not available" >&2
	fi
fi

# Durability: one marked heartbeat per node, acknowledged; kill -9 one second later; count.
CC_RSS_LOAD=$(rss_kb "$CC_PID")
MARK=$(( 700000 + RANDOM ))
DUR=$("$LOAD" heartbeat -c 64 -u "$MARK" "$CC_URL" "$TOK_HB" || true)
DUR_ACK=$(kv "$DUR" ok)
sleep 1
stop_pid "$CC_PID" KILL
# What is on disk, as a restart reads it (the log's chunks replayed over nodes): a command
# center on a copy of the files the kill left (scenario 3 starts on the originals), every
# node's latest heartbeat through GET /nodes.
mkdir -p "$T/dur"
cp "$T/cc/cc.db" "$T/dur/cc.db"
[ -f "$T/cc/cc.db-wal" ] && cp "$T/cc/cc.db-wal" "$T/dur/cc.db-wal"
start_cc "$T/dur/cc.db"
DUR_DISK=-; DUR_TOTAL=-
if curl -sf -o "$T/dur/nodes.json" "$CC_URL/nodes"; then
	read -r DUR_DISK DUR_TOTAL < <(python3 -c '
import json, sys
nodes = json.load(open(sys.argv[1]))
mark = int(sys.argv[2])
print(sum(1 for n in nodes if (n.get("heartbeat") or {}).get("uptime_secs") == mark),
      sum(1 for n in nodes if n.get("last_heartbeat_at")))' "$T/dur/nodes.json" "$MARK") || { DUR_DISK=-; DUR_TOTAL=-; }
fi
stop_pid "$CC_PID"
rm -rf "$T/dur"
res "durability acked=$DUR_ACK on_disk=$DUR_DISK nodes_with_heartbeat=$DUR_TOTAL"
say "durability: $DUR_ACK acknowledged, $DUR_DISK on disk 1 s later (kill -9); $DUR_TOTAL nodes have a heartbeat"

# ---- scenario 3: start-up and memory with 100,000 nodes ------------------------------------------
say "restarting the command center on the $NODES-node database"
t_start=$(date +%s%N)
start_cc
STARTUP_MS=$(( ( $(date +%s%N) - t_start ) / 1000000 ))
sleep 2
CC_RSS_START=$(rss_kb "$CC_PID")
res "startup_ms=$STARTUP_MS cc_rss_start_kb=$CC_RSS_START cc_rss_after_load_kb=$CC_RSS_LOAD"
say "start-up ${STARTUP_MS} ms, RSS ${CC_RSS_START} kB (after load before the restart: ${CC_RSS_LOAD} kB)"

# ---- scenario 4: views at scale -------------------------------------------------------------------
"$LOAD" get "$CC_URL/" 3 >/dev/null || true
GBIG=$("$LOAD" get "$CC_URL/" 30 || true)
res "get_dash_big $GBIG"
say "GET / at 100 nodes: $G100; at $NODES: $GBIG"
rss0=$(rss_kb "$CC_PID")
echo 5 2>/dev/null >"/proc/$CC_PID/clear_refs" || true	# resets VmHWM to VmRSS
GN=$("$LOAD" get "$CC_URL/nodes" 1 2>>"$T/get.err" || true)
hwm=$(hwm_kb "$CC_PID")
NODES_GROWTH_KB=$(( hwm - rss0 ))
NODES_BYTES=$(kv "$GN" bytes)
res "get_nodes $GN rss_before_kb=$rss0 hwm_during_kb=$hwm growth_kb=$NODES_GROWTH_KB"
say "GET /nodes: $GN; RSS grew by $NODES_GROWTH_KB kB during it"

# ---- scenario 2: dispatch to waiting long polls --------------------------------------------------
DP50=(); DP99=(); DMAX=(); DMISS=0
rss0=$(rss_kb "$CC_PID")
echo 5 2>/dev/null >"/proc/$CC_PID/clear_refs" || true
for r in $(seq 1 "$ROUNDS"); do
	d=$("$LOAD" dispatch -n "$POLLS" -m "$COMMANDS" -S "$r" "$CC_URL" "$TOK" 2>>"$T/dispatch.err" || true)
	res "dispatch_$r $d"
	say "round $r dispatch: $d"
	DP50+=("$(kv "$d" p50_ms)"); DP99+=("$(kv "$d" p99_ms)"); DMAX+=("$(kv "$d" max_ms)")
	DMISS=$(( DMISS + ${d:+$(kv "$d" missing)} + 0 ))
done
POLL_KB=$(awk -v h="$(hwm_kb "$CC_PID")" -v r="$rss0" -v n="$POLLS" 'BEGIN {printf "%.1f", (h - r) / n}')
res "dispatch_rss before_kb=$rss0 peak_kb=$(hwm_kb "$CC_PID") per_poll_kb=$POLL_KB"

# ---- issue 18: one job to every waiting agent, and its page at that many results --------------------
# Each round: POLLS polls wait, spread over JOB_PROCS load processes (libcurl 7.88 walks every
# connection of a process's cache for each finished transfer: one process holding 10,000 would
# measure itself, docs/PERFORMANCE.md); once all of them wait, one POST /jobs (service-status,
# every polling node by node_ids) is signed and queued; each simulated agent posts a result as
# soon as it has its command. The receipts of all processes are timed from the POST (one
# CLOCK_MONOTONIC). Then the job's page (HTML: counts, grouped answers, the first 200 results,
# failures first) and one page of its JSON results are fetched 10 times each, timed by curl.
JOB_PROCS=${BENCH_JOB_PROCS:-4}
JQ=(); JALL=(); J50=(); J99=(); JMISS=0; JPAGE=(); JRES=(); JLOAD_CPU=()
page_ms() { # URL ACCEPT: median of 10 fetches, in ms
	for _ in $(seq 1 10); do
		curl -s -o /dev/null -H "Accept: $2" -w '%{time_total}\n' "$1"
	done | sort -g | awk '{v[NR] = $1} END {printf "%.2f\n", 1000 * (v[5] + v[6]) / 2}'
}
# CHILD_CPU: user+sys seconds of this shell's finished children so far (no subshell: `times`
# there would count the subshell's own children)
children_cpu() {
	times >"$T/times.txt"
	CHILD_CPU=$(awk 'NR == 2 {for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); s += a[1] * 60 + a[2]}} END {printf "%.2f\n", s}' "$T/times.txt")
}
for r in $(seq 1 "$ROUNDS"); do
	children_cpu; c0=$CHILD_CPU
	per=$(( POLLS / JOB_PROCS )); ready=; lpids=()
	rm -f "$T"/job-ready-* "$T"/job-recv-*
	for k in $(seq 1 $(( JOB_PROCS - 1 ))); do
		"$LOAD" dispatch -j "$T/job-ready-$k" -o $(( k * per )) -n "$per" -S "$r" \
		    -D "$T/job-recv-$k" "$CC_URL" "$TOK" >"$T/job-$k.out" 2>>"$T/job.err" &
		lpids+=($!)
		ready=${ready:+$ready,}$T/job-ready-$k
	done
	j=$("$LOAD" dispatch -J ${ready:+-F "$ready"} -T $(( per * JOB_PROCS )) -n "$per" -S "$r" \
	    -D "$T/job-recv-0" "$CC_URL" "$TOK" 2>>"$T/job.err" || true)
	for p in "${lpids[@]}"; do wait "$p" || true; done
	children_cpu
	post=$(kv "$j" post_ns)
	got=$(cat "$T"/job-recv-* 2>/dev/null | sort -n | awk -v p="${post:-0}" -v want=$(( per * JOB_PROCS )) '
		{v[NR] = $1}
		END {if (NR == 0) {print "received=0 missing=" want; exit}
		     printf "received=%d missing=%d p50_ms=%.2f p99_ms=%.2f all_ms=%.2f\n", NR, want - NR,
		         (v[int((NR - 1) * 0.5) + 1] - p) / 1e6, (v[int((NR - 1) * 0.99) + 1] - p) / 1e6, (v[NR] - p) / 1e6}')
	jid=$(kv "$j" job_id)
	line="job_id=$jid procs=$JOB_PROCS queued_ms=$(kv "$j" queued_ms) $got load_cpu_s=$(awk -v a="$CHILD_CPU" -v b="$c0" 'BEGIN {printf "%.2f", a - b}')"
	if [ -n "$jid" ]; then
		JPAGE+=("$(page_ms "$CC_URL/jobs/$jid" text/html)")
		JRES+=("$(page_ms "$CC_URL/jobs/$jid/results?limit=1000" application/json)")
		line="$line page_ms=${JPAGE[-1]} results_page_ms=${JRES[-1]}"
	fi
	res "job_$r $line"
	say "round $r job: $line"
	JQ+=("$(kv "$line" queued_ms)"); JALL+=("$(kv "$line" all_ms)")
	J50+=("$(kv "$line" p50_ms)"); J99+=("$(kv "$line" p99_ms)")
	JLOAD_CPU+=("$(kv "$line" load_cpu_s)")
	JMISS=$(( JMISS + $(kv "$line" missing) + 0 ))
done

# ---- scenario 3 (anchor side): the Rust reference holding 100,000 heartbeats -----------------------
RR_RSS=
if [ "$HAVE_RREF" = 1 ]; then
	sed "s/n % 10000/n % $NODES/; s/10,000 node ids/$NODES node ids/" "$HB_LUA" >"$T/heartbeat-$NODES.lua"
	# A fresh reference, sent heartbeats long enough to cover every id about twice at the rate
	# measured above (10 to 30 s); RSS is read before GET /nodes counts what it holds. On a noisy
	# machine that may fall short: then again, with a fresh process and twice as long.
	seed_secs=$(awk -v n="$NODES" -v r="$(median "${RR_RPS[@]}")" 'BEGIN {s = int(2 * n / (r + 1)) + 1; print (s < 10) ? 10 : (s > 30) ? 30 : s}')
	SAVED_OPTS=("${WRK_OPTS[@]}")
	for _ in 1 2 3; do
		stop_pid "$RREF_PID"
		start_rref
		WRK_OPTS=(-t1 -c64 "-d${seed_secs}s")
		run_wrk "$T/wrk-rref-seed" -s "$T/heartbeat-$NODES.lua" "$RREF_URL"
		sleep 1
		RR_RSS=$(rss_kb "$RREF_PID")
		RR_HELD=$(curl -s "$RREF_URL/nodes" | grep -o '"node_id"' | wc -l || true)
		[ "$RR_HELD" -ge "$NODES" ] && break
		say "Rust reference held $RR_HELD of $NODES after ${seed_secs}s of heartbeats; again, longer"
		seed_secs=$(( seed_secs * 2 > 60 ? 60 : seed_secs * 2 ))
	done
	WRK_OPTS=("${SAVED_OPTS[@]}")
	res "rref_rss_kb=$RR_RSS rref_held=$RR_HELD seed=$(cat "$T/wrk-rref-seed")"
	say "Rust reference: RSS $RR_RSS kB holding $RR_HELD heartbeats"
	stop_pid "$RREF_PID"
fi

# ---- scenario 5: the agent ------------------------------------------------------------------------
say "agent: enrolling against the command center, 30 s heartbeat, measuring ${AGENT_SECS}s"
mkdir -p "$T/agent"
VAULTMESH_CC_URL=$CC_URL VAULTMESH_ROOT=$T/agent/root VAULTMESH_ENROLL_SECRET=$SECRET \
VAULTMESH_HEARTBEAT_SECS=30 VAULTMESH_LOG=warn VAULTMESH_SCAN_ROOT=$T/agent \
    "$AGENT_BIN" 2>"$T/agent/agent.err" &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
for _ in $(seq 1 300); do [ -s "$T/agent/root/node_token" ] && break; sleep 0.05; done
sleep 5
tids() { ls "/proc/$1/task" 2>/dev/null | sort | tr '\n' ' '; }
tid0=$(tids "$AGENT_PID")
a0=$(cpu_ns "$AGENT_PID"); at0=$(cpu_ticks "$AGENT_PID"); s0=$(date +%s%N)
sleep "$AGENT_SECS"
a1=$(cpu_ns "$AGENT_PID"); at1=$(cpu_ticks "$AGENT_PID"); s1=$(date +%s%N)
tid1=$(tids "$AGENT_PID")
# The same threads at both ends: their schedstat nanoseconds are the whole CPU
# time of the window. Otherwise a thread ended in it, and the clock ticks (which
# count dead threads, at 10 ms resolution) are used when they say more.
SAME_TIDS=0; [ "$tid0" = "$tid1" ] && SAME_TIDS=1
AGENT_RSS=$(rss_kb "$AGENT_PID")
AGENT_ANON=$(awk '/^RssAnon/ {print $2}' "/proc/$AGENT_PID/status")
AGENT_PSS=$(awk '/^Pss:/ {print $2}' "/proc/$AGENT_PID/smaps_rollup" 2>/dev/null || echo 0)
AGENT_CPU_H=$(awk -v ns=$(( a1 - a0 )) -v tk=$(( at1 - at0 )) -v t="$CLK_TCK" -v w=$(( s1 - s0 )) -v same=$SAME_TIDS \
    'BEGIN {c = ns / 1e9; if (!same && tk / t > c) c = tk / t; printf "%.3f", c / (w / 1e9) * 3600}')
AGENT_HB=$(curl -sf -H 'Accept: application/json' "$CC_URL/nodes/$(cat "$T/agent/root/node_id" 2>/dev/null)" |
    python3 -c 'import json, sys; print(1 if json.load(sys.stdin).get("last_heartbeat_at") else 0)' 2>/dev/null || echo 0)
stop_pid "$AGENT_PID"

# The same agent over https, as in production (TLS to Cloudflare's edge): a TLS front with a
# test CA (tests/e2e/tlsproxy.py) before the CC, the agent verifying it with its default
# setting, a hashed CA directory: here the system's CAs and the test CA. RSS after 12 s idle.
AGENT_TLS_RSS=
if command -v openssl >/dev/null && [ -d /etc/ssl/certs ]; then
	mkdir -p "$T/agent-tls/cadir"
	python3 tests/e2e/tlsproxy.py "$T/agent-tls/pki" "${CC_URL##*:}" >"$T/agent-tls/port" 2>"$T/agent-tls/proxy.err" &
	PIDS+=("$!"); TLS_PID=$!
	for _ in $(seq 1 200); do [ -s "$T/agent-tls/port" ] && break; sleep 0.05; done
	for f in /etc/ssl/certs/*.pem; do ln -s "$(readlink -f "$f")" "$T/agent-tls/cadir/$(basename "$f")"; done
	cp "$T/agent-tls/pki/ca.pem" "$T/agent-tls/cadir/zz-bench-ca.pem" 2>/dev/null &&
	    openssl rehash "$T/agent-tls/cadir" >/dev/null 2>&1 && [ -s "$T/agent-tls/port" ] && {
		VAULTMESH_CC_URL=https://localhost:$(cat "$T/agent-tls/port") VAULTMESH_ROOT=$T/agent-tls/root \
		VAULTMESH_ENROLL_SECRET=$SECRET VAULTMESH_HEARTBEAT_SECS=30 VAULTMESH_LOG=warn \
		VAULTMESH_SCAN_ROOT=$T/agent VAULTMESH_CA_PATH=$T/agent-tls/cadir \
		    "$AGENT_BIN" 2>"$T/agent-tls/agent.err" &
		AGENT_PID=$!
		PIDS+=("$AGENT_PID")
		for _ in $(seq 1 300); do [ -s "$T/agent-tls/root/node_token" ] && break; sleep 0.05; done
		sleep 12
		[ -s "$T/agent-tls/root/node_token" ] && AGENT_TLS_RSS=$(rss_kb "$AGENT_PID")
		stop_pid "$AGENT_PID"
	}
	stop_pid "$TLS_PID"
fi
[ -n "$AGENT_TLS_RSS" ] || echo "bench: SKIP the agent over https (no openssl, no /etc/ssl/certs, or it did not enroll: $(tail -c 200 "$T/agent-tls/agent.err" 2>/dev/null))" >&2
res "agent_https rss_kb=${AGENT_TLS_RSS:-}"

cp "$AGENT_BIN" "$T/agent-stripped"
strip "$T/agent-stripped"
AGENT_SIZE=$(stat -c %s "$T/agent-stripped")
res "agent rss_kb=$AGENT_RSS rss_anon_kb=$AGENT_ANON pss_kb=$AGENT_PSS cpu_ns=$(( a1 - a0 )) cpu_ticks=$(( at1 - at0 )) same_threads=$SAME_TIDS window_s=$(( (s1 - s0) / 1000000000 )) cpu_s_per_h=$AGENT_CPU_H stripped_bytes=$AGENT_SIZE heartbeat_stored=$AGENT_HB"
say "agent: RSS $AGENT_RSS kB, $AGENT_CPU_H CPU s/h, stripped $AGENT_SIZE bytes"

stop_pid "$CC_PID"
if [ -n "$NGINX_PIDFILE" ] && [ -s "$NGINX_PIDFILE" ]; then kill "$(cat "$NGINX_PIDFILE")"; fi

# ---- issue 17: heartbeat ingest on PostgreSQL, beside SQLite in the same rounds ----------------
# A throwaway PostgreSQL 15 cluster (tests/e2e/pg.py: initdb as an unprivileged account, a free
# port on 127.0.0.1), one command center on it and one on a new SQLite file, $HB_NODES nodes
# each; the rounds alternate. The server's CPU is its postmaster's and its children's.
PG_RPS=(); PG_CPU=(); PG_SRV=(); SQ_RPS=(); SQ_CPU=(); PGDIR=
RP50=(); RP99=(); RMISS=0; FO99=; FO100=; REVOKE_MS=
pg_ticks() { # the cluster's processes, in clock ticks
	local m t=0 p
	m=$(head -n 1 "$PGDIR/data/postmaster.pid")
	for p in "$m" $(ps -o pid= --ppid "$m"); do t=$(( t + $(cpu_ticks "$p" 2>/dev/null || echo 0) )); done
	echo "$t"
}
if [ -x /usr/lib/postgresql/15/bin/initdb ] && command -v psql >/dev/null; then
	PGDIR=$(mktemp -d /tmp/vm-bench-pg.XXXXXX)	# not under $T: the postgres account reaches it
	if PGURI=$(python3 tests/e2e/pg.py start "$PGDIR" 2>"$T/pg.err") &&
	    psql -q "$PGURI/postgres" -c "CREATE DATABASE bench" >/dev/null 2>>"$T/pg.err"; then
		say "PostgreSQL on $PGURI: $HB_NODES nodes on it and on a new SQLite file"
		start_cc "$PGURI/bench"; PG_CC=$CC_PID; PG_URL=$CC_URL
		"$LOAD" enroll -s "$SECRET" -c 32 "$PG_URL" "$HB_NODES" "$T/tok-pg.txt" >/dev/null
		"$LOAD" heartbeat -c 64 "$PG_URL" "$T/tok-pg.txt" >/dev/null
		start_cc "$T/cc/sq2.db"; SQ_CC=$CC_PID; SQ_URL=$CC_URL
		"$LOAD" enroll -s "$SECRET" -c 32 "$SQ_URL" "$HB_NODES" "$T/tok-sq.txt" >/dev/null
		"$LOAD" heartbeat -c 64 "$SQ_URL" "$T/tok-sq.txt" >/dev/null
		# The views: on PostgreSQL read from the database (the attention kept beside each row,
		# the order's index), on SQLite from the fleet in memory; the same $HB_NODES nodes, each
		# with one heartbeat (as a fleet is between its heartbeats, autovacuum keeping up).
		sleep 1; for u in "$SQ_URL" "$PG_URL"; do "$LOAD" get "$u/" 3 >/dev/null || true; done
		VSQ_DASH=$("$LOAD" get "$SQ_URL/" 30 || true); VPG_DASH=$("$LOAD" get "$PG_URL/" 30 || true)
		VSQ_RED=$("$LOAD" get "$SQ_URL/?attention=yellow&page=20" 30 || true)
		VPG_RED=$("$LOAD" get "$PG_URL/?attention=yellow&page=20" 30 || true)
		VSQ_Q=$("$LOAD" get "$SQ_URL/?q=zz" 30 || true); VPG_Q=$("$LOAD" get "$PG_URL/?q=zz" 30 || true)
		VSQ_NODES=$("$LOAD" get "$SQ_URL/nodes" 3 || true); VPG_NODES=$("$LOAD" get "$PG_URL/nodes" 3 || true)
		res "views_sqlite dash $VSQ_DASH"; res "views_pg dash $VPG_DASH"
		res "views_sqlite page20 $VSQ_RED"; res "views_pg page20 $VPG_RED"
		res "views_sqlite search $VSQ_Q"; res "views_pg search $VPG_Q"
		res "views_sqlite nodes $VSQ_NODES"; res "views_pg nodes $VPG_NODES"
		say "views, SQLite (memory) / PostgreSQL (database), p50 ms: GET / $(kv "$VSQ_DASH" p50_ms) / $(kv "$VPG_DASH" p50_ms); page 20 of yellow $(kv "$VSQ_RED" p50_ms) / $(kv "$VPG_RED" p50_ms); search $(kv "$VSQ_Q" p50_ms) / $(kv "$VPG_Q" p50_ms); GET /nodes $(kv "$VSQ_NODES" p50_ms) / $(kv "$VPG_NODES" p50_ms)"
		for r in $(seq 1 "$ROUNDS"); do
			c0=$(cpu_ticks "$SQ_CC")
			run_wrk "$T/wrk-sq-$r" -s bench/heartbeat-tokens.lua "$SQ_URL" -- "$T/tok-sq.txt" "$HB_NODES"
			c1=$(cpu_ticks "$SQ_CC"); w=$(cat "$T/wrk-sq-$r")
			SQ_RPS+=("$(kv "$w" rps)")
			SQ_CPU+=("$(awk -v c=$(( c1 - c0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')")
			say "round $r SQLite: $w cpu_s_per_100k=${SQ_CPU[-1]}"
			c0=$(cpu_ticks "$PG_CC"); p0=$(pg_ticks)
			run_wrk "$T/wrk-pg-$r" -s bench/heartbeat-tokens.lua "$PG_URL" -- "$T/tok-pg.txt" "$HB_NODES"
			sleep 1	# the last write-behind round reaches the server
			c1=$(cpu_ticks "$PG_CC"); p1=$(pg_ticks); w=$(cat "$T/wrk-pg-$r")
			PG_RPS+=("$(kv "$w" rps)")
			PG_CPU+=("$(awk -v c=$(( c1 - c0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')")
			PG_SRV+=("$(awk -v c=$(( p1 - p0 )) -v t="$CLK_TCK" -v n="$(kv "$w" requests)" 'BEGIN {printf "%.3f", c / t / n * 100000}')")
			say "round $r PostgreSQL: $w cc_cpu_s_per_100k=${PG_CPU[-1]} server_cpu_s_per_100k=${PG_SRV[-1]}"
		done
		res "pg sq_rps=${SQ_RPS[*]} sq_cpu=${SQ_CPU[*]} pg_rps=${PG_RPS[*]} pg_cc_cpu=${PG_CPU[*]} pg_server_cpu=${PG_SRV[*]}"
		# GET / again after the rounds: a million updates in half a minute leave the table and
		# its indexes full of dead entries that autovacuum has not yet removed.
		VPG_DASH_HOT=$("$LOAD" get "$PG_URL/" 10 || true)
		res "views_pg dash_after_rounds $VPG_DASH_HOT"
		say "GET / on PostgreSQL right after the heartbeat rounds: $VPG_DASH_HOT"
		stop_pid "$PG_CC"; stop_pid "$SQ_CC"

		# Replicas: two command centers on one new database (one signing key). $POLLS long
		# polls spread over both, each command queued on the replica that does not hold its
		# node's poll (LISTEN/NOTIFY carries it across). Then fail-over: the polls held, one
		# replica killed with SIGKILL, each of its polls sent to the other after an agent's first
		# backoff: the time until the survivor holds 99% and all of them, from its /metrics
		# every 10 ms. The revoked node's token is the tokens file's last: it takes no poll.
		psql -q "$PGURI/postgres" -c "CREATE DATABASE replicas" >/dev/null 2>>"$T/pg.err"
		start_cc "$PGURI/replicas"; R1_PID=$CC_PID; R1_URL=$CC_URL
		start_cc "$PGURI/replicas"; R2_PID=$CC_PID; R2_URL=$CC_URL
		say "replicas $R1_URL and $R2_URL: $POLLS polls over both, commands across"
		"$LOAD" enroll -s "$SECRET" -c 32 "$R1_URL" "$POLLS" "$T/tok-rep.txt" >/dev/null
		for r in $(seq 1 "$ROUNDS"); do
			d=$("$LOAD" dispatch -n "$POLLS" -m "$COMMANDS" -S "$r" -R 50 "$R1_URL,$R2_URL" "$T/tok-rep.txt" 2>>"$T/dispatch-rep.err" || true)
			res "dispatch_replicas_$r $d"
			say "round $r dispatch across replicas: $d"
			RP99+=("$(kv "$d" p99_ms)"); RP50+=("$(kv "$d" p50_ms)")
			RMISS=$(( RMISS + ${d:+$(kv "$d" missing)} + 0 ))
		done
		# Revocation across replicas: a node revoked on one, its token tried on the other (a
		# poll with wait=0: 200 while the token works, 401 once refused) until refused.
		read -r RV_ID RV_TOK < <(tail -n 1 "$T/tok-rep.txt")
		curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$R1_URL/nodes/$RV_ID/revoke"
		t0=$(date +%s%N); REVOKE_MS=
		while [ $(( $(date +%s%N) - t0 )) -lt 5000000000 ]; do
			c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RV_TOK" "$R2_URL/api/agent/commands?node_id=$RV_ID&wait=0")
			[ "$c" = 401 ] && { REVOKE_MS=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
		done
		res "revocation_across_replicas refused_after_ms=${REVOKE_MS:--}"
		say "a token revoked on one replica: refused on the other ${REVOKE_MS:--} ms after the revoke's answer"
		# Fail-over, the polls coming back as agents do (their first backoff, 0.5-1 s).
		waiting() { curl -s "$1/metrics" | awk '$1 == "vaultmesh_longpolls_waiting" {print $2}'; }
		"$LOAD" dispatch -n "$(( POLLS - 1 ))" -m 0 -R 1000 -H 40 "$R1_URL,$R2_URL" "$T/tok-rep.txt" >"$T/failover.out" 2>"$T/failover.err" &
		FO_LOAD=$!; PIDS+=("$FO_LOAD")
		for _ in $(seq 1 600); do grep -q holding "$T/failover.err" && break; sleep 0.1; done
		for _ in $(seq 1 600); do
			[ "$(( $(waiting "$R1_URL") + $(waiting "$R2_URL") ))" -ge "$(( POLLS - 1 ))" ] && break; sleep 0.1
		done
		before=$(waiting "$R1_URL")
		t0=$(date +%s%N); kill -9 "$R2_PID"
		FO99=; FO100=
		while [ $(( $(date +%s%N) - t0 )) -lt 30000000000 ]; do
			w=$(waiting "$R1_URL"); t=$(( ($(date +%s%N) - t0) / 1000000 ))
			[ -z "$FO99" ] && [ "${w:-0}" -ge $(( (POLLS - 1) * 99 / 100 )) ] && FO99=$t
			[ "${w:-0}" -ge "$(( POLLS - 1 ))" ] && { FO100=$t; break; }
			sleep 0.01
		done
		res "failover polls=$(( POLLS - 1 )) survivor_before=$before p99_ms=${FO99:--} all_ms=${FO100:--}"
		say "fail-over: $(( POLLS - 1 - before )) polls of the killed replica; 99% parked on the survivor after ${FO99:--} ms, all after ${FO100:--} ms"
		stop_pid "$FO_LOAD"; stop_pid "$R1_PID"
	else
		echo "bench: SKIP PostgreSQL: the cluster did not start ($(head -c 300 "$T/pg.err"))" >&2
	fi
	python3 tests/e2e/pg.py stop "$PGDIR" || true
fi

# ---- the table ------------------------------------------------------------------------------------
yn() { if "$@"; then echo yes; else echo NO; fi; }
CC_RPS_M=$(median "${CC_RPS[@]}"); CC_CPU_M=$(median "${CC_CPU[@]}")
RR_RPS_M=${RR_RPS[*]:+$(median "${RR_RPS[@]}")}; RR_CPU_M=${RR_CPU[*]:+$(median "${RR_CPU[@]}")}
NG_RPS_M=${NG_RPS[*]:+$(median "${NG_RPS[@]}")}
D50=$(median "${DP50[@]}"); D99=$(median "${DP99[@]}")
G100_MS=$(kv "$G100" p50_ms); GBIG_MS=$(kv "$GBIG" p50_ms)
row() { printf '| %-48s | %-16s | %-26s | %-15s | %-22s | %-4s |\n' "$@"; }
{
	echo "VaultMesh bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $ROUNDS rounds (medians), wrk ${WRK_OPTS[*]}"
	row "scenario" "project" "anchors" "ratio" "target" "met?"
	row "------------------------------------------------" "----------------" "--------------------------" "---------------" "----------------------" "----"
	if [ -n "$RR_RPS_M" ]; then
		row "1 heartbeats/s, $HB_NODES nodes (vs Rust ref)" "$(fmt "$CC_RPS_M" 0)" "rust $(fmt "$RR_RPS_M" 0)" "$(ratio "$CC_RPS_M" "$RR_RPS_M")" ">= 1.0x rust" "$(yn ge "$(awk -v a="$CC_RPS_M" -v b="$RR_RPS_M" 'BEGIN{print a/b}')" 1.0)"
	else
		row "1 heartbeats/s, $HB_NODES nodes (vs Rust ref)" "$(fmt "$CC_RPS_M" 0)" "rust skipped" "-" ">= 1.0x rust" "-"
	fi
	if [ -n "$NG_RPS_M" ]; then
		row "1 heartbeats/s (vs nginx fixed answer)" "$(fmt "$CC_RPS_M" 0)" "nginx $(fmt "$NG_RPS_M" 0)" "$(ratio "$CC_RPS_M" "$NG_RPS_M")" ">= 0.8x nginx" "$(yn ge "$(awk -v a="$CC_RPS_M" -v b="$NG_RPS_M" 'BEGIN{print a/b}')" 0.8)"
	else
		row "1 heartbeats/s (vs nginx fixed answer)" "$(fmt "$CC_RPS_M" 0)" "nginx skipped" "-" ">= 0.8x nginx" "-"
	fi
	if [ -n "$RR_CPU_M" ]; then
		row "1 CPU s per 100k heartbeats (user+sys)" "$(fmt "$CC_CPU_M" 2)" "rust $(fmt "$RR_CPU_M" 2)" "$(ratio "$CC_CPU_M" "$RR_CPU_M")" "<= 0.8x rust" "$(yn le "$(awk -v a="$CC_CPU_M" -v b="$RR_CPU_M" 'BEGIN{print a/b}')" 0.8)"
	else
		row "1 CPU s per 100k heartbeats (user+sys)" "$(fmt "$CC_CPU_M" 2)" "rust skipped" "-" "<= 0.8x rust" "-"
	fi
	if [ "${#PG_RPS[@]}" -gt 0 ]; then
		PG_RPS_M=$(median "${PG_RPS[@]}"); SQ_RPS_M=$(median "${SQ_RPS[@]}")
		row "1 heartbeats/s on PostgreSQL (vs SQLite)" "$(fmt "$PG_RPS_M" 0)" "sqlite $(fmt "$SQ_RPS_M" 0)" "$(ratio "$PG_RPS_M" "$SQ_RPS_M")" ">= 0.7x sqlite" "$(yn ge "$(awk -v a="$PG_RPS_M" -v b="$SQ_RPS_M" 'BEGIN{print a/b}')" 0.7)"
		row "info: CPU s/100k hb, CC on PG / PG server" "$(fmt "$(median "${PG_CPU[@]}")" 2) / $(fmt "$(median "${PG_SRV[@]}")" 2)" "sqlite CC $(fmt "$(median "${SQ_CPU[@]}")" 2)" "-" "-" "-"
		for v in "GET /:VSQ_DASH:VPG_DASH" "GET /?attention=yellow&page=20:VSQ_RED:VPG_RED" "GET /?q=zz:VSQ_Q:VPG_Q" "GET /nodes:VSQ_NODES:VPG_NODES"; do
			IFS=: read -r vn vs vp <<<"$v"; vs=$(kv "${!vs}" p50_ms); vp=$(kv "${!vp}" p50_ms)
			row "17 $vn, $HB_NODES nodes, PG db / memory (ms)" "$(fmt "${vp:-0}" 2)" "sqlite memory $(fmt "${vs:-0}" 2)" "$(ratio "${vp:-0}" "${vs:-0}")" "-" "-"
		done
		row "info: GET / on PG right after the rounds (ms)" "$(fmt "$(kv "$VPG_DASH_HOT" p50_ms)" 2)" "dead rows not yet vacuumed" "-" "-" "-"
	fi
	if [ "${#RP99[@]}" -gt 0 ]; then
		R99=$(median "${RP99[@]}")
		row "17 dispatch p50/p99 across 2 replicas (ms)" "$(fmt "$(median "${RP50[@]}")" 2) / $(fmt "$R99" 2)" "one CC p99 $(fmt "$D99" 2)" "$(ratio "$R99" "$D99")" "p99 <= 100 ms" "$(yn le "$R99" 100)"
		row "17 fail-over: polls re-parked, 99% / all (ms)" "${FO99:--} / ${FO100:--}" "agent backoff 500-1000" "-" "-" "-"
		row "17 revoked token refused on the other (ms)" "${REVOKE_MS:--}" "-" "-" "<= 750 ms" "$(yn le "${REVOKE_MS:-99999}" 750)"
		row "17 commands not received across replicas" "$RMISS" "-" "-" "0" "$(yn test "$RMISS" -eq 0)"
	fi
	# The floors: a fixed answer through each HTTP library, no work (bench/floor-*.c).
	for lib in mhd h2o; do
		if [ "$lib" = mhd ]; then n="libmicrohttpd"; a=("${FM_RPS[@]}"); b=("${FM_CPU[@]}")
		else n="h2o 2.2"; a=("${FH_RPS[@]}"); b=("${FH_CPU[@]}"); fi
		if [ "${#a[@]}" -gt 0 ]; then
			fr=$(median "${a[@]}"); fc=$(median "${b[@]}")
			row "info: fixed answer, $n (hb/s, CPU)" "$(fmt "$fr" 0), $(fmt "$fc" 2)" "${RR_CPU_M:+rust $(fmt "$RR_CPU_M" 2) CPU}" "${RR_CPU_M:+$(ratio "$fc" "$RR_CPU_M") CPU}" "-" "-"
		else
			row "info: fixed answer, $n (hb/s, CPU)" "skipped" "-" "-" "-" "-"
		fi
	done
	row "1 non-2xx/socket errors in CC wrk runs" "$CC_ERR" "-" "-" "0" "$(yn test "$CC_ERR" -eq 0)"
	row "1 acked heartbeats on disk 1 s later (kill -9)" "$DUR_DISK / $DUR_ACK" "-" "-" "all" "$(yn test "${DUR_DISK:-0}" -eq "${DUR_ACK:--1}")"
	row "2 dispatch delay p50, $POLLS polls (ms)" "$(fmt "$D50" 2)" "poll interval 10-30 s" "-" "-" "-"
	row "2 dispatch delay p99 (ms)" "$(fmt "$D99" 2)" "-" "-" "<= 50 ms" "$(yn le "$D99" 50)"
	row "2 commands not received (all rounds)" "$DMISS" "-" "-" "0" "$(yn test "$DMISS" -eq 0)"
	if [ "${#JQ[@]}" -gt 0 ]; then
		JALL_M=$(median "${JALL[@]}")
		row "18 job to $POLLS waiting: signed+queued (ms)" "$(fmt "$(median "${JQ[@]}")" 0)" "-" "-" "-" "-"
		row "18 job: every agent has it (ms)" "$(fmt "$JALL_M" 0)" "p50 $(fmt "$(median "${J50[@]}")" 0), p99 $(fmt "$(median "${J99[@]}")" 0)" "-" "<= 2000 ms" "$(yn le "$JALL_M" 2000)"
		row "18 job page at $POLLS results (ms)" "$(fmt "$(median "${JPAGE[@]}")" 1)" "JSON 1000 results $(fmt "$(median "${JRES[@]}")" 1)" "-" "<= 100 ms" "$(yn le "$(median "${JPAGE[@]}")" 100)"
		row "info: load tools' CPU s per job round ($JOB_PROCS procs)" "$(fmt "$(median "${JLOAD_CPU[@]}")" 1)" "-" "-" "-" "-"
		row "18 job commands not received" "$JMISS" "-" "-" "0" "$(yn test "$JMISS" -eq 0)"
	fi
	if [ -n "$RR_RSS" ]; then
		row "3 RSS with $NODES nodes+heartbeats (MiB)" "$(fmt "$CC_RSS_LOAD/1024" 1)" "rust $(fmt "$RR_RSS/1024" 1) ($RR_HELD held)" "$(ratio "$CC_RSS_LOAD" "$RR_RSS")" "<= 1.0x rust" "$(yn le "$CC_RSS_LOAD" "$RR_RSS")"
		row "3 RSS, same, fresh start (MiB)" "$(fmt "$CC_RSS_START/1024" 1)" "rust $(fmt "$RR_RSS/1024" 1)" "$(ratio "$CC_RSS_START" "$RR_RSS")" "<= 1.0x rust" "$(yn le "$CC_RSS_START" "$RR_RSS")"
	else
		row "3 RSS with $NODES nodes+heartbeats (MiB)" "$(fmt "$CC_RSS_LOAD/1024" 1)" "rust skipped" "-" "<= 1.0x rust" "-"
	fi
	row "3 start-up with $NODES nodes until /healthz" "$STARTUP_MS ms" "-" "-" "< 1000 ms" "$(yn test "$STARTUP_MS" -lt 1000)"
	row "info: GET /nodes/<id> p50 / p99, under wrk (ms)" "$(fmt "$(kv "$GV_LOAD" p50_ms)" 2) / $(fmt "$(kv "$GV_LOAD" p99_ms)" 2)" "idle: $(fmt "$(kv "$GV_IDLE" p50_ms)" 2) / $(fmt "$(kv "$GV_IDLE" p99_ms)" 2)" "-" "-" "-"
	row "4 GET / at $NODES vs 100 nodes (ms)" "$(fmt "$GBIG_MS" 2)" "100 nodes: $(fmt "$G100_MS" 2)" "$(ratio "$GBIG_MS" "$G100_MS")" "<= 2.0x" "$(yn le "$(awk -v a="$GBIG_MS" -v b="$G100_MS" 'BEGIN{print a/b}')" 2.0)"
	if [ "$(kv "$GN" status)" = 200 ]; then
		row "4 GET /nodes: RSS growth / answer (MiB)" "$(fmt "$NODES_GROWTH_KB/1024" 1) / $(fmt "$NODES_BYTES/1048576" 1)" "-" "$(ratio "$NODES_GROWTH_KB" "$(( NODES_BYTES / 1024 ))")" "<= 0.25x answer" "$(yn le "$NODES_GROWTH_KB" "$(( NODES_BYTES / 4096 ))")"
	else
		row "4 GET /nodes at $NODES nodes" "HTTP $(kv "$GN" status)" "-" "-" "200, bounded RSS" "NO"
		row "4   RSS growth during that failed answer (MiB)" "$(fmt "$NODES_GROWTH_KB/1024" 1)" "-" "-" "-" "-"
	fi
	row "5 agent idle RSS (MiB)" "$(fmt "$AGENT_RSS/1024" 2)" "-" "-" "<= 4 MiB" "$(yn le "$AGENT_RSS" 4096)"
	if [ -n "$AGENT_TLS_RSS" ]; then tls_mib=$(fmt "$AGENT_TLS_RSS/1024" 2); else tls_mib=skipped; fi
	row "5 agent idle RSS over https (MiB)" "$tls_mib" "-" "-" "info (production)" "-"
	row "5   of which anonymous / PSS (MiB)" "$(fmt "$AGENT_ANON/1024" 2) / $(fmt "$AGENT_PSS/1024" 2)" "-" "-" "info" "-"
	row "5 agent CPU s/hour (${AGENT_SECS}s window)" "$AGENT_CPU_H" "-" "-" "<= 0.5 s/h" "$(yn le "$AGENT_CPU_H" 0.5)"
	row "5 agent stripped binary (KiB)" "$(fmt "$AGENT_SIZE/1024" 0)" "-" "-" "reported" "-"
	row "info: enrollments/s (synchronous commit)" "$(kv "$ENR" per_sec)" "-" "-" "-" "-"
	row "info: disk bytes written per heartbeat" "$DISK_PER_HB" "-" "-" "-" "-"
	row "info: CC memory per waiting long poll (KiB)" "$POLL_KB" "-" "-" "-" "-"
	echo "Raw figures: $RES; total time $(( $(date +%s) - T0 )) s"
} | tee "$BB/table.txt"
