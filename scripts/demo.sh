#!/bin/sh
# make demo: a command center on 127.0.0.1:8088 (VAULTMESH_LISTEN; port 0
# picks a free one) with its SQLite store in ./demo (VAULTMESH_DEMO_DIR), and
# a local agent that enrolls with the demo's secret and reports every 5
# seconds. Ctrl-C (or SIGTERM) stops both and exits 0; the state stays.
#
# One demo per directory: demo.lock is locked (flock) for the demo's whole
# life, by this script and inherited by both daemons, so a second demo on
# the same directory says so and leaves the running one alone. The lock,
# not the file's content, says whether a demo runs (it goes with the last
# process that holds it, however that ends); the content (pid=, url=, ...)
# only names the holder, which rewrites it as soon as it has the lock.
#
# usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -eu
BUILD=${1:-build}
DIR=${VAULTMESH_DEMO_DIR:-demo}
LISTEN=${VAULTMESH_LISTEN:-127.0.0.1:8088}
mkdir -p "$DIR"
LOCK="$DIR/demo.lock"

# Take the lock before anything in the directory changes. `>>` creates the
# file without truncating what a running demo wrote into it.
command -v flock >/dev/null 2>&1 || {
	echo "demo: flock(1) (util-linux) is missing" >&2
	exit 1
}
exec 9>>"$LOCK"
if ! flock -n 9; then
	exec 9>&-
	# The holder writes its line just after it takes the lock: a new demo
	# may look in between.
	i=0
	while [ ! -s "$LOCK" ] && [ $i -lt 10 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p" "$LOCK" | head -1; }
	pid=$(field pid)
	url=$(field url)
	cc=$(field cc)
	agent=$(field agent)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		echo "demo: a demo is already running in $DIR (pid $pid, ${url:-still starting}); stop it first (Ctrl-C in its terminal, or kill $pid)" >&2
	else
		echo "demo: a demo is already running in $DIR: its script (pid ${pid:-?}) is gone but its daemons still hold $LOCK (command center pid ${cc:-?}, agent pid ${agent:-?}, ${url:-no URL yet}); stop them first (kill ${cc:-?} ${agent:-?})" >&2
	fi
	exit 1
fi
printf 'pid=%s\n' "$$" > "$LOCK"

chmod 700 "$DIR"
ABSDIR=$(cd "$DIR" && pwd)
if [ ! -s "$DIR/enroll-secret" ]; then
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$DIR/enroll-secret"
	chmod 600 "$DIR/enroll-secret"
fi
SECRET=$(cat "$DIR/enroll-secret")

CCLOG="$DIR/command-center.log"
touch "$CCLOG"
# This run's lines start after what earlier runs left in the log.
LOG_START=$(($(wc -c < "$CCLOG") + 1))
# The address comes from the `listening` line, logged at info.
case ${VAULTMESH_LOG:-info} in
error|warn) CC_LOG_LEVEL=info ;;
*) CC_LOG_LEVEL=${VAULTMESH_LOG:-info} ;;
esac

cc_pid=""
agent_pid=""
stop() {
	trap - INT TERM EXIT
	if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
	if [ -n "$cc_pid" ]; then kill "$cc_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	echo "demo: stopped (state kept in $DIR/)"
}
# Ctrl-C and SIGTERM are the normal way to stop: exit 0, so make reports
# no error. Any other exit keeps its status.
trap 'stop; exit 0' INT TERM
trap stop EXIT

VAULTMESH_LISTEN=$LISTEN \
VAULTMESH_LOG=$CC_LOG_LEVEL \
VAULTMESH_DB="$DIR/cc.db" \
VAULTMESH_CC_KEY_PATH="$DIR/cc-ed25519.key" \
VAULTMESH_ENROLL_SECRET=$SECRET \
VAULTMESH_SCHEDULER_TICK_SECONDS=${VAULTMESH_SCHEDULER_TICK_SECONDS:-10} \
VAULTMESH_HEARTBEAT_STALE_MINUTES=${VAULTMESH_HEARTBEAT_STALE_MINUTES:-2} \
	"$BUILD/vaultmesh-command-center" 2>> "$CCLOG" &
cc_pid=$!

# Wait until this command center logs its address (the port it really got,
# e.g. for port 0) and answers there: ready in milliseconds; give it 10 s.
addr=""
i=0
while :; do
	if [ -z "$addr" ]; then
		addr=$(tail -c "+$LOG_START" "$CCLOG" |
		    sed -n 's/.* event=listening addr=\([^ ]*\).*/\1/p' | head -1)
	fi
	if [ -n "$addr" ] && curl -fsS --noproxy '*' --max-time 2 \
	    "http://$addr/healthz" >/dev/null 2>&1; then
		break
	fi
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$cc_pid" 2>/dev/null; then
		echo "demo: the command center did not start; see $CCLOG" >&2
		tail -c "+$LOG_START" "$CCLOG" | tail -5 >&2
		exit 1
	fi
	sleep 0.1
done
URL="http://$addr/"

VAULTMESH_CC_URL="http://$addr" \
VAULTMESH_ROOT="$ABSDIR/agent" \
VAULTMESH_ENROLL_SECRET=$SECRET \
VAULTMESH_OS_PROFILE=${VAULTMESH_OS_PROFILE:-demo} \
VAULTMESH_HEARTBEAT_SECS=${VAULTMESH_HEARTBEAT_SECS:-5} \
VAULTMESH_SERVICES=${VAULTMESH_SERVICES:-cloudflared.service,ssh.service} \
	"$BUILD/vaultmesh-node-agent" 2>> "$DIR/node-agent.log" &
agent_pid=$!
printf 'pid=%s cc=%s agent=%s url=%s\n' "$$" "$cc_pid" "$agent_pid" "$URL" > "$LOCK"

echo "demo: command center  $URL   (log: $CCLOG)"
echo "demo: node agent      pid $agent_pid      (log: $DIR/node-agent.log)"
echo "demo: Ctrl-C stops both"
rc=0
wait "$cc_pid" || rc=$?
cc_pid=""
# It exits 0 only when a signal stopped it (e.g. Ctrl-C where this script
# ignores SIGINT, started in the background): a normal stop too.
if [ "$rc" -eq 0 ]; then
	exit 0
fi
echo "demo: the command center exited with status $rc; see $CCLOG" >&2
exit 1
