#!/bin/sh
# Copies a command center's SQLite database into an empty PostgreSQL database:
# nodes with their token and enroll-key hashes, commands with their signed
# payloads and results, scans, findings, jobs and recurring jobs, the audit
# log and the samples. Agents
# keep their tokens: nothing needs to enroll again.
#
#   scripts/sqlite-to-postgresql.sh /var/lib/vaultmesh/vaultmesh.db \
#       postgresql://vaultmesh@db.internal/vaultmesh
#
# Stop the command center first with SIGTERM (systemctl stop): a clean stop
# folds the heartbeat log into the nodes table, which is what is copied; the
# script refuses a log that still holds heartbeats. The PostgreSQL database
# must be empty (or hold only the schema); the schema is made by the command
# center itself (--migrate). Everything is copied in one transaction: an error
# leaves the database as it was. Needs sqlite3 and psql.
set -eu

die() { echo "sqlite-to-postgresql: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 SQLITE_FILE POSTGRES_URI"
SRC=$1
DST=$2
CC=${VAULTMESH_CC_BIN:-vaultmesh-command-center}
[ -r "$SRC" ] || die "$SRC: cannot read"
case $DST in
postgresql://* | postgres://*) ;;
*) die "$DST: not a postgresql:// URI" ;;
esac

sq() { sqlite3 -readonly -batch "$SRC" "$@"; }
v=$(sq "PRAGMA user_version")
[ "$v" = 16 ] || die "$SRC: schema version $v; start this version's command center on it once first (it migrates to 16)"
n=$(sq "SELECT count(*) FROM heartbeat_chunks")
[ "$n" = 0 ] || die "$SRC: its heartbeat log holds heartbeats; stop the command center with SIGTERM first (a clean stop folds them)"

VAULTMESH_DB=$DST "$CC" --migrate
rows=$(psql -qAt -v ON_ERROR_STOP=1 "$DST" -c "SELECT (SELECT count(*) FROM nodes) + (SELECT count(*) FROM audit)")
[ "$rows" = 0 ] || die "the PostgreSQL database is not empty"

# One table: COPY ... FROM stdin with the rows sqlite3 prints as CSV. NULL is
# the unquoted marker below, blobs go as bytea's hex input.
NULLMARK=@@vaultmesh-null@@
copy() {
	table=$1 cols=$2 select=$3
	printf "COPY %s (%s) FROM stdin WITH (FORMAT csv, NULL '%s');\n" \
	    "$table" "$cols" "$NULLMARK"
	sqlite3 -readonly -batch -csv -cmd ".nullvalue $NULLMARK" "$SRC" "$select"
	printf '%s\n' '\.'
}
hex() { printf "CASE WHEN %s IS NULL THEN NULL ELSE '%s' || lower(hex(%s)) END" "$1" '\x' "$1"; }

{
	printf "BEGIN;\n"
	copy nodes "node_id, hostname, os_profile, agent_version, status, token_hash, enrolled_at, status_changed_at, last_heartbeat_at, heartbeat, last_scan_at, f_critical, f_high, f_medium, f_low, f_info, last_seq, hb_cloudflare, hb_services_down, enroll_key_hash, deleted_at, enroll_peer, labels, pinned_key_id" \
	    "SELECT node_id, hostname, os_profile, agent_version, status, $(hex token_hash), enrolled_at, status_changed_at, last_heartbeat_at, heartbeat, last_scan_at, f_critical, f_high, f_medium, f_low, f_info, last_seq, hb_cloudflare, hb_services_down, $(hex enroll_key_hash), deleted_at, enroll_peer, labels, pinned_key_id FROM nodes"
	cmd_cols="command_id, node_id, seq, command, args, queued_by, queued_at, expires_at, payload, signature, status, delivered_at, started_at, finished_at, exit_code, output, result_at, job_id, output_hash"
	copy commands "$cmd_cols" "SELECT $cmd_cols FROM commands"
	scan_cols="command_id, node_id, scanned_at, critical, high, medium, low, info"
	copy scans "$scan_cols" "SELECT $scan_cols FROM scans"
	f_cols="command_id, idx, finding_id, severity, title, detail, remediation"
	copy findings "$f_cols" "SELECT $f_cols FROM findings"
	j_cols="n, job_id, command, args, reason, target, rollout, created_by, created_at, status, selected, waves, wave, wave_done_at, pause_secs, max_failure_pct, finished_at"
	copy jobs "$j_cols" "SELECT $j_cols FROM jobs"
	printf "%s\n" "SELECT setval(pg_get_serial_sequence('jobs', 'n'), coalesce(max(n), 0) + 1, false) FROM jobs;"
	copy job_nodes "job_id, node_id, wave, reason" "SELECT job_id, node_id, wave, reason FROM job_nodes"
	s_cols="schedule_id, command, args, reason, target, rollout, created_by, created_at, every_secs, next_at, last_job_id, deleted_at"
	copy job_schedules "$s_cols" "SELECT $s_cols FROM job_schedules"
	ap_cols="n, id, kind, node_id, command, args, reason, requested_by, requested_at, expires_at, selected, status, decided_by, decided_at, decision_reason"
	copy approvals "$ap_cols" "SELECT $ap_cols FROM approvals"
	printf "%s\n" "SELECT setval(pg_get_serial_sequence('approvals', 'n'), coalesce(max(n), 0) + 1, false) FROM approvals;"
	w_cols="n, url, event, body, created_at, next_at, attempts, state, delivered_at, last_error"
	copy webhook_outbox "$w_cols" "SELECT $w_cols FROM webhook_outbox"
	printf "%s\n" "SELECT setval(pg_get_serial_sequence('webhook_outbox', 'n'), coalesce(max(n), 0) + 1, false) FROM webhook_outbox;"
	copy webhook_levels "node_id, level, reasons, at" "SELECT node_id, level, reasons, at FROM webhook_levels"
	# The signing keys: their secrets stay sealed by the same key file.
	k_cols="version, key_id, public_key, state, created_at, retire_by, retired_at, emergency, link, sealed"
	copy cc_keys "$k_cols" "SELECT $k_cols FROM cc_keys"
	a_cols="id, at, who, peer, action, target, detail, result"
	copy audit "$a_cols" "SELECT $a_cols FROM audit"
	printf "%s\n" "SELECT setval(pg_get_serial_sequence('audit', 'id'), coalesce(max(id), 0) + 1, false) FROM audit;"
	copy fleet_samples "at, green, yellow, red" "SELECT at, green, yellow, red FROM fleet_samples"
	copy heartbeat_samples "node_id, at, load1, mem_used_pct" "SELECT node_id, at, load1, mem_used_pct FROM heartbeat_samples"
	printf "COMMIT;\n"
} | psql -q -v ON_ERROR_STOP=1 "$DST" >/dev/null

echo "sqlite-to-postgresql: copied $(sq "SELECT count(*) FROM nodes") nodes, $(sq "SELECT count(*) FROM commands") commands, $(sq "SELECT count(*) FROM jobs") jobs, $(sq "SELECT count(*) FROM audit") audit entries"
