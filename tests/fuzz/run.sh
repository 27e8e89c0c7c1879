#!/bin/sh
# tests/fuzz/run.sh HARNESS...: runs each libFuzzer harness of $FUZZ_BUILD for $FUZZ_SECONDS on its
# corpus (seeded from tests/fuzz/corpus/<h> and the reproducers in tests/fuzz/regress/<h>), one
# after the other with one job, and prints one line per harness: executions, speed, coverage
# (libFuzzer's cov: and ft:), corpus (units/bytes, and files kept) and crashes.  The logs and crash inputs stay in
# $FUZZ_BUILD/logs and $FUZZ_BUILD/artifacts/<h>/.  Exit status 1 when something crashed.
set -u
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
[ $# -gt 0 ] || set -- policy record csv rulelib json

# longest input worth trying (the largest seed of each fits) and the time one may take
max_len() {
    case $1 in
    policy) echo 32768 ;;
    record | csv | json) echo 8192 ;;
    *) echo 512 ;;
    esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$B/logs"
failed=0
summary=""
for h in "$@"; do
    bin="$B/fuzz_$h"
    if [ ! -x "$bin" ]; then
        echo "fuzz: no harness $bin" >&2
        failed=1
        continue
    fi
    corpus="$B/corpus/$h"
    art="$B/artifacts/$h"
    log="$B/logs/$h.log"
    mkdir -p "$corpus" "$art"
    for d in tests/fuzz/corpus/$h tests/fuzz/regress/$h; do
        [ -d "$d" ] && find "$d" -type f -exec cp -n {} "$corpus/" \;
    done
    dict=""
    [ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
    stamp="$B/logs/$h.start"
    : >"$stamp"
    echo "fuzz: $h for ${SECONDS_EACH}s (log: $log)"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$h")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" $dict "$corpus" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - t0))
    crashes=$(find "$art" -type f -newer "$stamp" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -a -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    corp=$(grep -a -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
    files=$(find "$corpus" -type f | wc -l)
    line="$h: ${execs:-?} execs in ${took}s (${speed:-?}/s), ${cov:-cov: ? ft: ?}, ${corp:-corp: ?} ($files files kept), $crashes crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed=1
        line="$line (exit $rc)"
        find "$art" -type f -newer "$stamp" | sed 's/^/    reproducer: /'
        grep -a -m1 -E 'ERROR: |invariant broken|runtime error' "$log" | sed 's/^/    /'
    fi
    echo "$line"
    summary="$summary$line
"
    rm -f "$stamp"
done
printf '\n%s' "$summary"
exit $failed
