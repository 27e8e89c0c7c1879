#!/bin/sh
# tests/fuzz/regress.sh: replays every input of tests/fuzz/regress/<h>/ (the reproducers of bugs the
# fuzzers found) and tests/fuzz/corpus/<h>/ (the seeds) through each harness without libFuzzer.
# The replay drivers are built with the unit tests, next to the unit binary that YZ_UNIT names:
# build/ in make test, build-asan/ (sanitizers) in make check.  One line with the counts; exit 1
# when a driver is missing or an input crashes it (its output is shown).
set -u
cd "$(dirname "$0")/../.."
B=$(dirname "${YZ_UNIT:-build/unit}")
total=0
counts=""
failed=""
for src in tests/fuzz/fuzz_*.c; do
    h=${src#tests/fuzz/fuzz_}
    h=${h%.c}
    drv="$B/fuzz-driver-$h"
    if [ ! -x "$drv" ]; then
        echo "fuzz-regress: $drv is missing (make unit builds it)"
        failed="$failed $h"
        continue
    fi
    # names are ours: no spaces
    files=$(find "tests/fuzz/regress/$h" "tests/fuzz/corpus/$h" -type f 2>/dev/null | sort)
    [ -n "$files" ] || continue
    n=$(echo "$files" | wc -l)
    # shellcheck disable=SC2086
    # a hang is a failure too (the fuzzers call one over 10 s a bug)
    if out=$(FUZZ_TRACE=1 timeout 120 "$drv" $files 2>&1); then
        total=$((total + n))
        counts="$counts $h $n,"
    else
        echo "fuzz-regress: $h crashed:"
        echo "$out" | tail -25 | sed 's/^/    /'
        failed="$failed $h"
    fi
done
echo "fuzz-regress:${counts%,}: $total inputs replayed${failed:+; FAILED:$failed}"
[ -z "$failed" ]
