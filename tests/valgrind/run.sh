#!/bin/sh
# tests/valgrind/run.sh: check (recording and not), lint, test (one province), replay (one decision
# and --all), audit verify and a small batch under valgrind's memcheck (make valgrind; not part of CI: slow).
#
# What counts as an error: every memcheck error (invalid read/write, uninitialised value, bad
# free) and every leak that is definitely, indirectly or possibly lost.  "Possibly lost" is
# included because that is how a Lua state that was never closed shows up (Lua keeps interior
# pointers).  "Still reachable" is not: it is what the process keeps on purpose until exit,
# reachable from a static: the applicant and policy schemas, compiled once per process into an
# arena (about 260 KB in 6 blocks for every command here), and the digests OpenSSL fetches once
# for SM3 stores.  No suppressions are needed: the static archives (STATIC=1) carry symbols, and
# nothing in them is reported.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init valgrind
export YUANZHU_HOME=$(pwd) YUANZHU_OPERATOR=valgrind-test
VG="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible --error-exitcode=99 --num-callers=30"
REC=schemas/examples/applicant.yaml
# run NAME WANT_EXIT COMMAND...: the command under memcheck; its own exit status must be WANT_EXIT
# and memcheck must report nothing (exit 99 and a report otherwise)
run() {
    name=$1 want=$2
    shift 2
    $VG --log-file="$T/vg.log" "$@" > "$T/out" 2> "$T/err"
    code=$?
    if [ "$code" = "$want" ] && [ ! -s "$T/vg.log" ]; then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name: exit $code (expected $want)"
        cat "$T/vg.log" "$T/err" | head -60
    fi
}
run "check, recording" 0 "$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/a.db" "$REC"
run "check, recording again" 0 "$YZ" check --province guangdong --as-of 2025-07-01 --db "$T/a.db" "$REC"
run "check --no-record --json" 0 "$YZ" check --province guangdong/guangzhou --as-of 2025-06-15 --no-record --json "$REC"
run "check, a record that breaks the schema" 4 "$YZ" check --province guangdong --no-record tests/cli/fixtures/records/violations.yaml
run "lint" 0 "$YZ" lint --today 2025-01-01 rules/national provinces
run "lint, a broken policy" 3 "$YZ" lint --today 2025-06-15 tests/cli/fixtures/broken
run "test one province" 0 "$YZ" test provinces/guangdong
ID=$(sqlite3 "$T/a.db" "SELECT id FROM decisions WHERE seq = 2")
run "replay one decision" 0 "$YZ" replay --db "$T/a.db" "$ID"
run "replay --all" 0 "$YZ" replay --db "$T/a.db" --all
run "audit verify" 0 "$YZ" audit verify --db "$T/a.db"
# batch: worker threads and the packed-decision writer (three records, two of them new)
"$YZ" show --db "$T/a.db" --input "$ID" > "$T/one.json"
for n in 440106198506150025 440106198506150041 440106198506150068; do
    sed "s/\"440106198506150025\"/\"$n\"/" "$T/one.json"
done > "$T/in.jsonl"
run "batch, two workers, recording" 0 "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 --quiet --db "$T/a.db" "$T/in.jsonl"
echo "valgrind: $pass passed, $fail failed"
[ $fail = 0 ]
