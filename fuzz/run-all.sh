#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) one after the other, at the lowest CPU
# priority, then minimises each corpus. Logs go to LOGS (default /tmp/hafen-fuzz-logs); the
# last lines of each log hold libFuzzer's final statistics.
set -u
cd "$(dirname "$0")/.."
seconds="${SECONDS_PER_TARGET:-600}"
logs="${LOGS:-/tmp/hafen-fuzz-logs}"
mkdir -p "$logs"
export RUSTC_BOOTSTRAP=1
targets="${TARGETS:-path_decoding dav_xml if_header range chunk_names ocs_params}"
for target in $targets; do
    echo "== $target ($seconds s)"
    nice -n 19 cargo fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$logs/$target.log" 2>&1
    echo "exit $? for $target"
    grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" \
        "$logs/$target.log"
done
