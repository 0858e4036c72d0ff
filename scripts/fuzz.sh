#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/fuzz for SECONDS each, starting from its seed corpus
# (copied, so the repository's corpus only changes when a developer adds a file by hand).
# Fails when a target crashes; prints executions and coverage per target.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$build"/fuzz/fuzz_*; do
    [[ -x $t ]] || continue
    name=$(basename "$t")
    corpus_src="$src/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    cp -r "$corpus_src"/. "$work"/ 2>/dev/null || true
    log="$build/fuzz/$name.log"
    if "$t" -max_total_time="$seconds" -seed=1 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz/$name-" "$work" >"$log" 2>&1; then
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
        echo "fuzz $name: ${execs:-?} executions in ${seconds}s, $cov, no crash"
    else
        echo "fuzz $name: FAILED, see $log"
        tail -40 "$log"
        status=1
    fi
    rm -rf "$work"
done
exit $status
