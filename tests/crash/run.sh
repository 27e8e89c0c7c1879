#!/bin/sh
# tests/crash/run.sh: a 200,000-record batch killed with SIGKILL at 10 different points, run
# again after each kill; in the end exactly 200,000 decisions, one per record, and a chain that
# verifies.  After every kill the store verifies and holds no record twice.
#
# The kill points differ: the first lands during start-up; each later one lands after the run has
# committed at least one transaction of its own (so every run makes progress) plus a different
# extra delay, i.e. somewhere inside the next transaction, its commit, or the skipping of records
# decided by earlier runs.  YZ_CRASH_N sets the number of records (default 200000).
set -u
. "$(dirname "$0")/../lib.sh"
suite_init crash
N=${YZ_CRASH_N:-200000}
export YUANZHU_OPERATOR=crash-test
count() { sqlite3 "$T/k.db" "SELECT count(*) FROM decisions" 2> /dev/null || echo 0; }

# N distinct applicants: the 50 good records of the batch ledger, names numbered
awk -v n="$N" 'NR != 20 { rec[m++] = $0 } END {
    for (i = 0; i < n; i++) { l = rec[i % m]; sub(/"name":"/, "\"name\":\"" int(i / m) "号", l); print l } }' \
    tests/batch/ledger.jsonl > "$T/big.jsonl"
[ "$(wc -l < "$T/big.jsonl")" = "$N" ] || bad "test setup: could not write $N records"

# the batch itself must be the background process that gets killed, not a shell around it
set -- batch --province guangdong --as-of 2026-06-15 --db "$T/k.db" --commit-every 5000 --quiet "$T/big.jsonl"
kills=0
for point in 1 2 3 4 5 6 7 8 9 10; do
    before=$(count)
    "$YZ" "$@" > "$T/out" 2>&1 &
    pid=$!
    if [ $point = 1 ]; then
        sleep 0.05
    else
        # wait for a commit of this run, then a little longer, different every time
        while kill -0 $pid 2> /dev/null && [ "$(count)" = "$before" ]; do sleep 0.05; done
        sleep "0.$((point * 97 % 10))$((point * 31 % 10))"
    fi
    if kill -9 $pid 2> /dev/null; then kills=$((kills + 1)); fi
    wait $pid 2> /dev/null
    now=$(count)
    if [ -s "$T/k.db" ]; then
        dup=$(sqlite3 "$T/k.db" "SELECT count(*) - count(DISTINCT input) FROM decisions")
        [ "$dup" = 0 ] || bad "kill $point: $dup records decided twice"
        "$YZ" audit verify --db "$T/k.db" > "$T/verify" 2>&1 || bad "kill $point: the store does not verify: $(cat "$T/verify")"
    fi
    echo "kill $point: $before -> $now decisions"
done
[ $kills = 10 ] || bad "only $kills of the 10 runs were still running when killed (machine too fast for $N records?)"
"$YZ" "$@" > "$T/out" 2>&1
code=$?
[ $code = 0 ] || bad "the final run exited $code: $(tail -3 "$T/out")"
got=$(sqlite3 "$T/k.db" "SELECT count(*), count(DISTINCT input) FROM decisions")
[ "$got" = "$N|$N" ] && echo "after the final run: $N decisions, one per record" || bad "decisions|distinct inputs = $got, expected $N|$N"
"$YZ" audit verify --db "$T/k.db" > "$T/verify" 2>&1 && grep -q "ok: $((N + 1)) events" "$T/verify" && cat "$T/verify" ||
    bad "final verify: $(cat "$T/verify")"
echo "crash: $kills kills, $fail failed"
[ $fail = 0 ]
