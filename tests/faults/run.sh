#!/bin/sh
# tests/faults/run.sh: the engine and its store when things go wrong underneath them.
#   full disk      check and batch against a store capped with YUANZHU_TEST_MAX_PAGES (a test-only
#                  setting of the store module: SQLite's max_page_count) at every size from "no
#                  room for the ruleset" to "room": exit 5 and "disk is full", nothing half-written,
#                  the chain verifies, and with room again the same command works
#   read-only      the store file read-only, then its folder too (read-only media): recording exits
#                  5 saying so; audit verify, history, show and replay still work
#   locked         another process holds the write lock (sqlite3 BEGIN EXCLUSIVE) longer than the
#                  busy timeout: exit 5 "database is locked" naming the store and the timeout,
#                  nothing recorded, readers unaffected; held shorter, the writer waits and records
#   out of memory  an LD_PRELOAD shim (failmalloc.c) makes the Nth allocation fail, once or from
#                  then on, over the whole run of check (loader, evaluator, store), lint and batch
#                  (JSON Lines recording, CSV without):
#                  never a signal; exit 0 with the very same output, or 5/70 saying "out of
#                  memory"; the store verifies with the old count of decisions or one more, and a
#                  decision that was recorded replays.  Skipped under the sanitizer build, whose
#                  allocator the shim cannot replace.
#   no threads     an LD_PRELOAD shim (nothreads.c) makes every pthread_create fail: batch and impact
#                  decide on the thread they have, with the same lines, summary and report as with
#                  their threads (replay --all too); serve refuses to start, saying why
# Every check asserts the exit status and the message.  Runs in well under a minute.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init faults
chmod 755 "$T"
cleanup() {
    touch "$T/release" # a lock holder still waiting lets go
    wait 2> /dev/null
    chmod -R u+w "$T" 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export YUANZHU_HOME=$ROOT YUANZHU_OPERATOR=fault-test
unset YUANZHU_DB YUANZHU_BUSY_TIMEOUT_MS YUANZHU_TEST_MAX_PAGES
REC=$ROOT/schemas/examples/applicant.yaml
# the decisions of a store, and the audit events that record decisions: always equal
decisions() { sqlite3 "$1" "SELECT count(*) FROM decisions"; }
events() { sqlite3 "$1" "SELECT count(*) FROM audit WHERE kind = 'decision'"; }
# consistent NAME DB WANT: WANT decisions, as many events, and the chain verifies
consistent() {
    n=$(decisions "$2") e=$(events "$2")
    if [ "$n" != "$3" ] || [ "$e" != "$3" ]; then
        bad "$1: $n decisions and $e decision events, expected $3 of each"
        return 1
    fi
    expect "$1: the chain verifies" 0 "ok: " "$YZ" audit verify --db "$2"
}
# a JSON Lines file of N <= 450 records: the example applicant under other valid ID numbers (the
# same birth date; women, so the 17th digit is even; the GB 11643 check digit)
ledger() {
    "$YZ" show --db "$2" --input "$3" > "$T/one.json" || bad "ledger: show --input failed"
    awk -v n="$1" 'BEGIN {
        split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " "); cd = "10X98765432"
        for (i = 0; i < n; i++) {
            base = sprintf("44010619850615%03d", 100 + (i % 450) * 2)
            s = 0
            for (k = 1; k <= 17; k++) s += substr(base, k, 1) * w[k]
            print base substr(cd, s % 11 + 1, 1)
        }
    }' | while read -r id; do sed "s/\"440106198506150025\"/\"$id\"/" "$T/one.json"; done
}

# a store with one decision (and its ruleset) to start each part from
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/base.db" "$REC" > /dev/null 2>&1 || bad "setup: check failed"
BASE_ID=$(sqlite3 "$T/base.db" "SELECT id FROM decisions")
# room is counted in pages (YUANZHU_TEST_MAX_PAGES); kib N: the pages that hold N KiB
PS=$(sqlite3 "$T/base.db" "PRAGMA page_size")
kib() { echo $((($1 * 1024 + PS - 1) / PS)); }

# ---- full disk ----------------------------------------------------------------------------------
echo "-- full disk"
DB=$T/full.db
cp "$T/base.db" "$DB"
P=$(sqlite3 "$DB" "PRAGMA page_count")
# registering a second province's ruleset needs pages: from no room at all to enough
k=0 full=0 recorded=0
while [ $k -le 40 ]; do
    out=$(YUANZHU_TEST_MAX_PAGES=$((P + k)) "$YZ" check --province zhejiang --as-of 2025-06-15 --db "$DB" "$REC" 2>&1)
    code=$?
    if [ $code = 0 ]; then
        recorded=1
        break
    fi
    full=$((full + 1))
    if [ $code != 5 ]; then bad "full disk, $k pages free: exit $code, expected 5: $(echo "$out" | tail -3)"; break; fi
    case $out in
    *"$DB: error: "*"database or disk is full (the disk is full: nothing was recorded; free some space"*"the decision was NOT recorded in $DB"*) ok ;;
    *) bad "full disk, $k pages free: unclear message: $out" ;;
    esac
    consistent "full disk, $k pages free" "$DB" 1 || break
    k=$((k + 1))
done
[ $full -ge 1 ] && ok || bad "full disk: no size was too small (YUANZHU_TEST_MAX_PAGES had no effect?)"
[ $recorded = 1 ] && ok || bad "full disk: never recorded, even with 40 free pages"
consistent "full disk: once there was room" "$DB" 2
# a store that has just enough room for its rulesets fills up on plain decisions: each either
# records whole or fails whole
P=$(sqlite3 "$DB" "PRAGMA page_count")
n=2 i=0 failed=0
# (the pages of a store have room left in them: at most one decision per 32 bytes of a page is
# tried before calling it a failure to fill up)
most=$((PS / 32))
while [ $i -lt $most ] && [ $failed = 0 ]; do
    out=$(YUANZHU_TEST_MAX_PAGES=$P "$YZ" check --province guangdong --as-of 2025-06-15 --db "$DB" "$REC" 2>&1)
    case $? in
    0) n=$((n + 1)) ;;
    5) failed=1
       case $out in *"database or disk is full"*"NOT recorded"*) ok ;; *) bad "full store: unclear message: $out" ;; esac ;;
    *) bad "full store: unexpected exit: $out"; break ;;
    esac
    i=$((i + 1))
done
[ $failed = 1 ] && ok || bad "full store: $most decisions fitted in the pages there were"
consistent "full store" "$DB" $n
expect "full store, space again: check records" 0 "已记录" "$YZ" check --province guangdong --as-of 2025-06-15 --db "$DB" "$REC"
consistent "full store, space again" "$DB" $((n + 1))
# batch: one transaction per 20000 records, so a full disk takes back the whole run; the rerun
# with room records every record once, and a third run finds nothing to do
DB=$T/fullb.db
cp "$T/base.db" "$DB"
ledger 120 "$DB" "$BASE_ID" > "$T/ledger.jsonl"
[ "$(wc -l < "$T/ledger.jsonl")" = 120 ] && ok || bad "ledger: expected 120 records"
P=$(sqlite3 "$DB" "PRAGMA page_count")
out=$(YUANZHU_TEST_MAX_PAGES=$((P + $(kib 8))) "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 --quiet --db "$DB" "$T/ledger.jsonl" 2>&1)
code=$?
[ $code = 5 ] && ok || bad "full disk, batch: exit $code, expected 5: $out"
case $out in *"$DB: error: "*"database or disk is full (the disk is full: nothing was recorded; free some space"*) ok ;; *) bad "full disk, batch: unclear message: $out" ;; esac
consistent "full disk, batch" "$DB" 1
expect "full disk, batch again with room" 0 "decided 120, already decided (skipped) 0" \
    "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 --db "$DB" "$T/ledger.jsonl"
consistent "full disk, batch again with room" "$DB" 121
expect "full disk, batch a third time" 0 "decided 0, already decided (skipped) 120" \
    "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 --db "$DB" "$T/ledger.jsonl"
[ "$(sqlite3 "$DB" "SELECT count(DISTINCT input) FROM decisions")" = 121 ] && ok || bad "batch: an input decided twice"
# committing every 10 records, the disk fills after some commits: those stay, whole, and the rerun
# decides the rest
DB=$T/fullc.db
cp "$T/base.db" "$DB"
P=$(sqlite3 "$DB" "PRAGMA page_count")
expect "full disk, batch committing every 10" 5 "database or disk is full" \
    env YUANZHU_TEST_MAX_PAGES=$((P + $(kib 6))) "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 \
    --commit-every 10 --db "$DB" "$T/ledger.jsonl"
n=$(decisions "$DB")
if [ "$n" -gt 1 ] && [ "$n" -lt 121 ] && [ $(((n - 1) % 10)) = 0 ]; then ok; else bad "full disk, batch committing every 10: $n decisions, expected whole transactions of 10 and not all"; fi
# the summary counts what was committed, and says what was decided but lost with the transaction
first=$(sqlite3 "$DB" "SELECT min(seq) FROM decisions WHERE id != '$BASE_ID'") last=$(sqlite3 "$DB" "SELECT max(seq) FROM decisions")
case $out in
*"the disk is full: the transaction in progress was not recorded"*"decided $((n - 1)), already decided (skipped) 0, rejected 0, decided but not recorded "[1-9]*"recorded in $DB as decisions seq $first to $last"*"not recorded: "*" decided after the last commit"*) ok ;;
*) bad "full disk, batch committing every 10: the summary does not match the $((n - 1)) decisions committed (seq $first to $last): $out" ;;
esac
consistent "full disk, batch committing every 10" "$DB" "$n"
expect "full disk, batch committing every 10, again with room" 0 "already decided (skipped) $((n - 1))" \
    "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 2 --commit-every 10 --db "$DB" "$T/ledger.jsonl"
consistent "full disk, batch committing every 10, again with room" "$DB" 121

# ---- read-only store ----------------------------------------------------------------------------
echo "-- read-only store"
# root writes through file permissions: drop to nobody for these (setpriv, from util-linux)
AS=""
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv > /dev/null 2>&1; then
        AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
    else
        AS=skip
        echo "note: running as root without setpriv: the read-only tests are skipped"
    fi
fi
if [ "$AS" != skip ]; then
    W=$T/writable # where the rejected records of batch may go
    mkdir "$W"
    chmod 777 "$W"
    for case in file folder; do
        D=$T/ro-$case
        mkdir "$D"
        cp "$T/base.db" "$D/a.db"
        [ "$(id -u)" = 0 ] && chown -R 65534:65534 "$D"
        chmod 444 "$D/a.db"
        [ $case = folder ] && chmod 555 "$D" # read-only media: not even the -shm file can be made
        expect "read-only $case: check" 5 "attempt to write a readonly database (the store or its folder is read-only: nothing was recorded" \
            $AS "$YZ" check --province guangdong --as-of 2025-06-15 --db "$D/a.db" "$REC"
        expect "read-only $case: batch" 5 "$D/a.db: error: " \
            $AS "$YZ" batch --province guangdong --as-of 2025-07-01 --jobs 1 --quiet --rejects "$W/rej-$case.jsonl" --db "$D/a.db" "$T/ledger.jsonl"
        expect "read-only $case: audit verify" 0 "ok: 2 events" $AS "$YZ" audit verify --db "$D/a.db"
        expect "read-only $case: history" 0 "$BASE_ID" $AS "$YZ" history --db "$D/a.db" 440106198506150025
        expect "read-only $case: show" 0 '"as_of":"2025-06-15"' $AS "$YZ" show --json --db "$D/a.db" "$BASE_ID"
        expect "read-only $case: replay" 0 "match: decision $BASE_ID" $AS "$YZ" replay --db "$D/a.db" "$BASE_ID"
        # (the sqlite3 shell cannot read a WAL store on read-only media either, unless told it is immutable)
        [ "$(sqlite3 "file:$D/a.db?immutable=1" "SELECT count(*) FROM decisions")" = 1 ] && ok || bad "read-only $case: the decision count changed"
        [ $case = folder ] && { [ -e "$D/a.db-wal" ] && bad "read-only folder: a -wal file appeared" || ok; }
    done
fi

# ---- a store locked by another process ----------------------------------------------------------
echo "-- locked store"
DB=$T/locked.db
cp "$T/base.db" "$DB"
# hold the write lock until $T/release appears
hold() {
    rm -f "$T/release"
    (printf '.timeout 5000\nBEGIN EXCLUSIVE;\n'; while [ ! -e "$T/release" ]; do sleep 0.05; done; printf 'ROLLBACK;\n') | sqlite3 "$DB" &
    i=0
    while sqlite3 -cmd ".timeout 0" "$DB" "BEGIN IMMEDIATE; ROLLBACK;" > /dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { bad "locked: the holder never took the lock"; return 1; }
        sleep 0.05
    done
}
hold
start=$(date +%s)
expect "locked: check" 5 "$DB: error: cannot lock the store for writing: database is locked (another process has held the store longer than the busy timeout of 300 ms: nothing was recorded" \
    env YUANZHU_BUSY_TIMEOUT_MS=300 "$YZ" check --province guangdong --as-of 2025-06-15 --db "$DB" "$REC"
expect "locked: batch" 5 "database is locked" \
    env YUANZHU_BUSY_TIMEOUT_MS=300 "$YZ" batch --province guangdong --as-of 2025-06-15 --jobs 1 --quiet --db "$DB" "$T/ledger.jsonl"
[ $(($(date +%s) - start)) -lt 8 ] && ok || bad "locked: the writers waited far longer than their timeout"
expect "locked: readers are not blocked" 0 "ok: 2 events" "$YZ" audit verify --db "$DB"
expect "locked: history too" 0 "$BASE_ID" "$YZ" history --db "$DB" 440106198506150025
touch "$T/release"
wait
consistent "locked: after the holder let go" "$DB" 1
# held for less than the timeout: the writer waits its turn and records
hold
(sleep 1; touch "$T/release") &
expect "locked briefly: check waits and records" 0 "已记录" "$YZ" check --province guangdong --as-of 2025-06-15 --db "$DB" "$REC"
wait
consistent "locked briefly" "$DB" 2

# ---- out of memory ------------------------------------------------------------------------------
echo "-- out of memory"
case $YZ in
*-asan)
    echo "note: the allocation-failure tests are skipped under the sanitizer build: its allocator is part of the binary and the LD_PRELOAD shim cannot replace it (tests/unit covers the evaluator's refused memory in both builds)"
    ;;
*)
    SHIM=$T/failmalloc.so
    if ! ${CC:-cc} -O2 -fPIC -shared -o "$SHIM" tests/faults/failmalloc.c; then
        bad "cannot build tests/faults/failmalloc.c"
    else
        # allocations K of a run: the sweep covers 1..K+ with a stride
        allocations() { YZ_FAILMALLOC_REPORT=1 LD_PRELOAD=$SHIM "$@" 2>&1 > /dev/null | sed -n 's/^failmalloc: \([0-9]*\) allocations$/\1/p'; }
        # oom_check NAME DB_BEFORE N ONCE: one run of check with the Nth allocation failing
        CHECK_ARGS="--province guangdong --as-of 2025-06-15"
        "$YZ" check $CHECK_ARGS --no-record "$REC" > "$T/want.txt"
        oom_check() {
            cp "$T/base.db" "$T/oom.db"
            rm -f "$T/oom.db-wal" "$T/oom.db-shm"
            YZ_FAILMALLOC=$2 YZ_FAILMALLOC_ONCE=$3 LD_PRELOAD=$SHIM "$YZ" check $CHECK_ARGS --db "$T/oom.db" "$REC" > "$T/out" 2> "$T/err"
            code=$?
            what="check, allocation $2 failing$([ "$3" = 1 ] && echo ' once' || echo ' from then on')"
            n=$(decisions "$T/oom.db") e=$(events "$T/oom.db")
            if [ $code -ge 128 ]; then bad "$what: killed by signal $((code - 128)): $(head -3 "$T/err")"; return; fi
            case $code in
            0) if [ "$n" != 2 ]; then bad "$what: exit 0 but $n decisions"; return; fi
               # the same determination as without the fault (the last two lines: the decision id)
               head -n -2 "$T/out" | cmp -s - "$T/want.txt" || { bad "$what: exit 0 with another determination"; return; } ;;
            5 | 70) grep -q "out of memory" "$T/err" || { bad "$what: exit $code without 'out of memory': $(head -3 "$T/err")"; return; } ;;
            *) bad "$what: exit $code: $(head -3 "$T/err")"; return ;;
            esac
            if [ "$n" != "$e" ] || { [ "$n" != 1 ] && [ "$n" != 2 ]; }; then bad "$what: $n decisions, $e events"; return; fi
            "$YZ" audit verify --db "$T/oom.db" > /dev/null 2>&1 || { bad "$what: the store does not verify"; return; }
            if [ "$n" = 2 ]; then
                id=$(sqlite3 "$T/oom.db" "SELECT id FROM decisions WHERE seq = 3")
                "$YZ" replay --db "$T/oom.db" "$id" > /dev/null 2>&1 || { bad "$what: the recorded decision does not replay"; return; }
            fi
            ok
        }
        cp "$T/base.db" "$T/oom.db"
        K=$(allocations "$YZ" check $CHECK_ARGS --db "$T/oom.db" "$REC")
        if [ -z "$K" ] || [ "$K" -lt 1000 ]; then
            bad "failmalloc: no allocation count (is the shim loaded?)"
        else
            before=$fail
            step=$((K / 140 + 1))
            nn=1
            while [ $nn -le $((K + step)) ]; do oom_check check $nn 0; nn=$((nn + step)); done
            nn=$((step / 2 + 1))
            while [ $nn -le $((K + step)) ]; do oom_check check $nn 1; nn=$((nn + step)); done
            echo "check: $((2 * (K / step + 1))) runs over $K allocations, $((fail - before)) failed"
        fi
        # lint: only 0 (the same report) or 70
        LINT="lint --today 2025-01-01 provinces/guangdong"
        "$YZ" $LINT > "$T/want-lint.txt" 2>&1
        K=$(allocations "$YZ" $LINT)
        if [ -n "$K" ]; then
            before=$fail
            step=$((K / 60 + 1))
            for once in 0 1; do
                nn=$((once * step / 2 + 1))
                while [ $nn -le $((K + step)) ]; do
                    YZ_FAILMALLOC=$nn YZ_FAILMALLOC_ONCE=$once LD_PRELOAD=$SHIM "$YZ" $LINT > "$T/out" 2>&1
                    code=$?
                    case $code in
                    0) cmp -s "$T/out" "$T/want-lint.txt" && ok || bad "lint, allocation $nn failing: exit 0 with another report" ;;
                    70) grep -q "yuanzhu lint: error: out of memory" "$T/out" && ok || bad "lint, allocation $nn failing: exit 70 without the message" ;;
                    *) bad "lint, allocation $nn failing (once=$once): exit $code: $(head -3 "$T/out")" ;;
                    esac
                    nn=$((nn + step))
                done
            done
            echo "lint: $((2 * (K / step + 1))) runs over $K allocations, $((fail - before)) failed"
        fi
        # batch on two threads: whatever is recorded is whole and verifies; a rerun finishes
        head -20 "$T/ledger.jsonl" > "$T/small.jsonl"
        BATCH="batch --province guangdong --as-of 2025-06-15 --jobs 2 --quiet"
        cp "$T/base.db" "$T/oom.db"
        K=$(allocations "$YZ" $BATCH --db "$T/oom.db" "$T/small.jsonl")
        if [ -n "$K" ]; then
            before=$fail
            step=$((K / 40 + 1))
            nn=1
            while [ $nn -le $((K + step)) ]; do
                cp "$T/base.db" "$T/oom.db"
                rm -f "$T/oom.db-wal" "$T/oom.db-shm"
                YZ_FAILMALLOC=$nn LD_PRELOAD=$SHIM "$YZ" $BATCH --db "$T/oom.db" "$T/small.jsonl" > "$T/out" 2>&1
                code=$?
                n=$(decisions "$T/oom.db") e=$(events "$T/oom.db")
                if [ $code -ge 128 ]; then
                    bad "batch, allocation $nn failing: killed by signal $((code - 128))"
                elif [ $code != 0 ] && ! grep -q "out of memory" "$T/out"; then
                    bad "batch, allocation $nn failing: exit $code without 'out of memory': $(head -3 "$T/out")"
                elif [ "$n" != "$e" ] || [ "$n" -lt 1 ] || [ "$n" -gt 21 ] || { [ $code = 0 ] && [ "$n" != 21 ]; }; then
                    bad "batch, allocation $nn failing: exit $code, $n decisions, $e events"
                elif ! "$YZ" audit verify --db "$T/oom.db" > /dev/null 2>&1; then
                    bad "batch, allocation $nn failing: the store does not verify"
                elif ! "$YZ" $BATCH --db "$T/oom.db" "$T/small.jsonl" > /dev/null 2>&1 || [ "$(decisions "$T/oom.db")" != 21 ]; then
                    bad "batch, allocation $nn failing: the rerun did not finish the ledger"
                else
                    ok
                fi
                nn=$((nn + step))
            done
            echo "batch: $((K / step + 1)) runs over $K allocations, $((fail - before)) failed"
        fi
        # a CSV ledger (libcsv) without recording: the same lines and the one rejected row, or 70
        CSV="batch --province guangdong --as-of 2025-06-15 --jobs 2 --quiet --no-record --rejects $T/rej.jsonl --lines $T/lines.txt tests/batch/ledger.csv"
        "$YZ" $CSV > /dev/null 2> "$T/want-csv.err"
        [ $? = 4 ] && grep -q "ledger.csv:21: error: birth_date" "$T/want-csv.err" && ok || bad "csv: the ledger's rejected row changed"
        cp "$T/lines.txt" "$T/want-lines.txt"
        K=$(allocations "$YZ" $CSV)
        if [ -n "$K" ]; then
            before=$fail
            step=$((K / 30 + 1))
            for once in 0 1; do
                nn=$((once * step / 2 + 1))
                while [ $nn -le $((K + step)) ]; do
                    rm -f "$T/lines.txt"
                    YZ_FAILMALLOC=$nn YZ_FAILMALLOC_ONCE=$once LD_PRELOAD=$SHIM "$YZ" $CSV > /dev/null 2> "$T/err"
                    code=$?
                    case $code in
                    4) cmp -s "$T/err" "$T/want-csv.err" && cmp -s "$T/lines.txt" "$T/want-lines.txt" && ok ||
                           bad "csv, allocation $nn failing (once=$once): exit 4 with other results: $(head -3 "$T/err")" ;;
                    70) grep -q "yuanzhu batch: error: out of memory" "$T/err" && ok || bad "csv, allocation $nn failing: exit 70 without the message" ;;
                    *) bad "csv, allocation $nn failing (once=$once): exit $code: $(head -3 "$T/err")" ;;
                    esac
                    nn=$((nn + step))
                done
            done
            echo "csv: $((2 * (K / step + 1))) runs over $K allocations, $((fail - before)) failed"
        fi
    fi
    ;;
esac

# ---- no threads -------------------------------------------------------------------------------
echo "-- no threads"
NOTH=$T/nothreads.so
if ! ${CC:-cc} -O2 -fPIC -shared -o "$NOTH" tests/faults/nothreads.c; then
    bad "cannot build tests/faults/nothreads.c"
else
    # a sanitizer runtime must come first among the libraries: let the shim go before it
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
    L=tests/batch/ledger.jsonl
    for mode in "--no-record" "--db $T/nt.db"; do
        rm -f "$T/nt.db"* "$T/nt-a.txt" "$T/nt-b.txt"
        "$YZ" batch --province guangdong --as-of 2026-06-15 --jobs 2 $mode --lines "$T/nt-a.txt" --rejects "$T/nt-a.rej" "$L" 2> /dev/null |
            grep -v 'records/s$' | sed "s|$T/nt.db|DB|" > "$T/nt-a.out"
        rm -f "$T/nt.db"*
        LD_PRELOAD=$NOTH "$YZ" batch --province guangdong --as-of 2026-06-15 --jobs 2 $mode --lines "$T/nt-b.txt" --rejects "$T/nt-b.rej" "$L" 2> "$T/nt.err" |
            grep -v 'records/s$' | sed "s|$T/nt.db|DB|" > "$T/nt-b.out"
        code=$?
        [ -s "$T/nt-a.txt" ] && cmp -s "$T/nt-a.txt" "$T/nt-b.txt" && cmp -s "$T/nt-a.out" "$T/nt-b.out" && cmp -s "$T/nt-a.rej" "$T/nt-b.rej" && ok ||
            bad "batch $mode without threads: other lines, summary or rejects: $(diff "$T/nt-a.out" "$T/nt-b.out" | head -5) $(head -3 "$T/nt.err")"
    done
    [ "$(decisions "$T/nt.db")" = "$(wc -l < "$T/nt-b.txt")" ] && "$YZ" audit verify --db "$T/nt.db" > /dev/null && ok ||
        bad "batch without threads: the store does not hold one decision per line, or does not verify"
    "$YZ" replay --all --db "$T/nt.db" > "$T/rp-a.out" 2>&1
    LD_PRELOAD=$NOTH "$YZ" replay --all --db "$T/nt.db" > "$T/rp-b.out" 2>&1
    grep -q "^replayed 50 decisions: 50 match" "$T/rp-a.out" && cmp -s "$T/rp-a.out" "$T/rp-b.out" && ok ||
        bad "replay --all without threads: $(head -3 "$T/rp-b.out")"
    "$YZ" impact --quiet --baseline guangdong --reform guangdong --as-of 2026-06-15 --jobs 2 --json "$L" > "$T/imp-a.json" 2> /dev/null
    LD_PRELOAD=$NOTH "$YZ" impact --quiet --baseline guangdong --reform guangdong --as-of 2026-06-15 --jobs 2 --json "$L" > "$T/imp-b.json" 2> "$T/nt.err"
    [ -s "$T/imp-a.json" ] && cmp -s "$T/imp-a.json" "$T/imp-b.json" && ok ||
        bad "impact without threads: another report: $(cmp "$T/imp-a.json" "$T/imp-b.json") $(head -3 "$T/nt.err")"
    # the service cannot serve without its store's writer: it says so and stops (it used to start
    # and then wait for ever on the first decision)
    "$YZ" token add --tokens "$T/nt.tokens" --operator gz-1 --role caseworker > /dev/null 2>&1
    LD_PRELOAD=$NOTH timeout -k 5 20 "$YZ" serve --tokens "$T/nt.tokens" --db "$T/nts.db" --listen 127.0.0.1:0 > "$T/nt.out" 2>&1
    code=$?
    [ $code = 5 ] && grep -q "cannot start the store's writer thread" "$T/nt.out" && ok ||
        bad "serve without threads: exit $code, expected 5 naming the writer thread: $(head -3 "$T/nt.out")"
fi

finish faults
