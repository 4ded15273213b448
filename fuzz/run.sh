#!/bin/sh
# run.sh NAME SECONDS: runs build/fuzz/fuzz_NAME over its kept crashing
# inputs (fuzz/regressions/NAME/*, each once; fuzz/regressions/open/NAME/*,
# bugs reported but not fixed yet, are run and shown but not fatal), then
# fuzzes for SECONDS from the seeds in fuzz/corpus/NAME (new inputs go to
# build/fuzz/corpus/NAME, never into the repo) with fuzz/NAME.dict and the
# libFuzzer flags in fuzz/NAME.options if there are. Exits non-zero on a crash, leak, timeout or OOM,
# after showing the end of the log; the input is in build/fuzz/artifacts/.
set -eu
name=$1 secs=$2
dir=${FUZZ_DIR:-build/fuzz}
bin=$dir/fuzz_$name
log=$dir/fuzz_$name.log
corpus=$dir/corpus/$name
# Smoke runs start from the repo's seeds alone, so they take the same time
# on every machine; full runs keep growing build/fuzz/corpus/.
if [ "${FUZZ_FRESH:-0}" = 1 ]; then
	corpus=$dir/smoke-corpus/$name
	rm -rf "$corpus"
fi
mkdir -p "$corpus" "$dir/artifacts/$name"

if [ -n "$(ls "fuzz/regressions/$name" 2>/dev/null)" ]; then
	if ! "$bin" -timeout=10 fuzz/regressions/"$name"/* >"$log" 2>&1; then
		tail -n 60 "$log"
		echo "fuzz_$name: a kept crashing input fails again" >&2
		exit 1
	fi
fi

# Known bugs in files another change owns: reported, not yet fixed. Shown,
# never fatal; once one passes, move it up into fuzz/regressions/$name/.
for f in fuzz/regressions/open/"$name"/*; do
	[ -f "$f" ] || continue
	if "$bin" -timeout=10 "$f" >"$log.open" 2>&1; then
		echo "fuzz_$name: open regression $f passes now: move it to fuzz/regressions/$name/"
	else
		echo "fuzz_$name: open regression $f still fails (known, reported)"
	fi
done

dict= opts=
[ -f "fuzz/$name.dict" ] && dict=-dict=fuzz/$name.dict
[ -f "fuzz/$name.options" ] && opts=$(grep -v '^#' "fuzz/$name.options")
start=$(date +%s)
if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 $dict $opts -artifact_prefix="$dir/artifacts/$name/" \
    "$corpus" "fuzz/corpus/$name" >"$log" 2>&1; then
	tail -n 60 "$log"
	echo "fuzz_$name: FAILED (input in $dir/artifacts/$name/)" >&2
	exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
echo "fuzz_$name: ok, $(( $(date +%s) - start )) s, $execs runs, $rate/s, $cov"
