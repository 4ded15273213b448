#!/bin/sh
# make demo: a command center on 127.0.0.1:8088 with its SQLite store in
# ./demo, and a local agent that enrolls with the demo's secret and
# reports every 5 seconds. Ctrl-C stops both; the state stays in ./demo.
set -eu
BUILD=${1:-build}
DIR=${VAULTMESH_DEMO_DIR:-demo}
LISTEN=${VAULTMESH_LISTEN:-127.0.0.1:8088}
mkdir -p "$DIR"
chmod 700 "$DIR"
if [ ! -s "$DIR/enroll-secret" ]; then
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$DIR/enroll-secret"
	chmod 600 "$DIR/enroll-secret"
fi
SECRET=$(cat "$DIR/enroll-secret")

cc_pid=""
agent_pid=""
stop() {
	trap - INT TERM EXIT
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
	[ -n "$cc_pid" ] && kill "$cc_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	echo "demo: stopped (state kept in $DIR/)"
}
trap stop INT TERM EXIT

VAULTMESH_LISTEN=$LISTEN \
VAULTMESH_DB="$DIR/cc.db" \
VAULTMESH_CC_KEY_PATH="$DIR/cc-ed25519.key" \
VAULTMESH_ENROLL_SECRET=$SECRET \
VAULTMESH_SCHEDULER_TICK_SECONDS=${VAULTMESH_SCHEDULER_TICK_SECONDS:-10} \
VAULTMESH_HEARTBEAT_STALE_MINUTES=${VAULTMESH_HEARTBEAT_STALE_MINUTES:-2} \
	"$BUILD/vaultmesh-command-center" 2>> "$DIR/command-center.log" &
cc_pid=$!

# Wait until it answers (it is ready in milliseconds; give it 10 s).
i=0
until curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$cc_pid" 2>/dev/null; then
		echo "demo: the command center did not start; see $DIR/command-center.log" >&2
		tail -5 "$DIR/command-center.log" >&2
		exit 1
	fi
	sleep 0.1
done

VAULTMESH_CC_URL="http://$LISTEN" \
VAULTMESH_ROOT="$PWD/$DIR/agent" \
VAULTMESH_ENROLL_SECRET=$SECRET \
VAULTMESH_OS_PROFILE=${VAULTMESH_OS_PROFILE:-demo} \
VAULTMESH_HEARTBEAT_SECS=${VAULTMESH_HEARTBEAT_SECS:-5} \
VAULTMESH_SERVICES=${VAULTMESH_SERVICES:-cloudflared.service,ssh.service} \
	"$BUILD/vaultmesh-node-agent" 2>> "$DIR/node-agent.log" &
agent_pid=$!

echo "demo: command center  http://$LISTEN/   (log: $DIR/command-center.log)"
echo "demo: node agent      pid $agent_pid      (log: $DIR/node-agent.log)"
echo "demo: Ctrl-C stops both"
wait "$cc_pid"
