#!/bin/sh
# tests/store/run.sh: the decision store and its audit chain, end to end with the real binary:
# record -> verify -> replay; rules edited on disk afterwards; tampering with the sqlite3 shell
# (update, delete, insert, swap, truncate); an SM3 store; two concurrent recorders; a recorder
# killed in the middle of its work.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init store

# a private home so policy files can be edited "afterwards" without touching the tree
H=$T/home
mkdir -p "$H"
cp -R rules provinces "$H/"
export YUANZHU_HOME=$H YUANZHU_OPERATOR=auditor-test
DB=$T/a.db
REC=schemas/examples/applicant.yaml
for d in 2025-06-15 2025-07-01 2025-08-01 2025-09-01; do
    "$YZ" check --province guangdong --as-of $d --db "$DB" "$REC" > /dev/null 2>&1 || bad "check $d failed"
done
expect "verify a fresh store" 0 "ok: 5 events" "$YZ" audit verify --db "$DB"
ID=$(sqlite3 "$DB" "SELECT id FROM decisions WHERE seq = 2")
expect "replay one decision" 0 "match: decision $ID" "$YZ" replay --db "$DB" "$ID"
expect "replay by prefix" 0 "match" "$YZ" replay --db "$DB" "$(echo "$ID" | cut -c1-8)"
expect "replay all" 0 "4 match, 0 mismatch" "$YZ" replay --db "$DB" --all
expect "replay a date range" 0 "replayed 4 decisions" "$YZ" replay --db "$DB" --from 2000-01-01 --to 2999-12-31
expect "history" 0 "$ID" "$YZ" history --db "$DB" 440106198506150025
expect "history --json" 0 "\"decision\":\"$ID\"" "$YZ" history --db "$DB" --json 440106198506150025
expect "no such decision" 2 "no decision 0000000000" "$YZ" replay --db "$DB" 0000000000
expect "operator required" 2 "needs the caseworker's id" env -u YUANZHU_OPERATOR "$YZ" check --province guangdong --db "$DB" "$REC"
expect "no-record records nothing" 0 "ok: 5 events" sh -c "'$YZ' check --province guangdong --as-of 2025-06-15 --no-record --db '$DB' '$REC' > /dev/null && '$YZ' audit verify --db '$DB'"
expect "no store" 5 "no store at" "$YZ" audit verify --db "$T/none.db"

# the rules on disk change; the old decision still replays from its stored ruleset
sed -i 's/value: 40$/value: 45/' "$H/rules/national/policy.yaml" "$H/provinces/guangdong/policy.yaml"
sed -i 's/^    reason: {met: 女性年满40周岁或男性年满50周岁.*$//' "$H/provinces/guangdong/policy.yaml"
grep -q 'value: 45' "$H/provinces/guangdong/policy.yaml" || bad "test setup: could not edit the threshold"
expect "replay after editing the rules" 0 "match" "$YZ" replay --db "$DB" "$ID"
expect "replay --rules shows the difference" 1 "categories.older_unemployed.status: \"met\" -> \"not_met\"" \
    "$YZ" replay --db "$DB" "$ID" --rules "$H/provinces/guangdong"
expect "replay --rules with unchanged rules" 0 "same:" env YUANZHU_HOME="$(pwd)" "$YZ" replay --db "$DB" "$ID" --rules provinces/guangdong

# decisions of three rulesets, interleaved (the edited rules above, the tree's, Guangzhou's):
# replay --all builds each ruleset once and keeps them apart (the edited threshold makes the
# example applicant not_met where the tree's rules make her met)
M=$T/m.db
for home in "$H" "$(pwd)" "$H" "$(pwd)"; do
    YUANZHU_HOME=$home "$YZ" check --province guangdong --as-of 2025-06-15 --db "$M" "$REC" > /dev/null 2>&1 || bad "check under $home failed"
done
"$YZ" check --province guangdong/guangzhou --as-of 2025-06-15 --db "$M" "$REC" > /dev/null 2>&1 || bad "check guangzhou failed"
[ "$(sqlite3 "$M" "SELECT count(DISTINCT ruleset) || ' ' || count(*) FROM decisions")" = "3 5" ] || bad "test setup: expected 5 decisions of 3 rulesets"
expect "replay --all over interleaved rulesets" 0 "5 match, 0 mismatch, 0 failed" "$YZ" replay --db "$M" --all
cp "$M" "$T/m2.db"
last_a=$(sqlite3 "$T/m2.db" "SELECT seq FROM decisions ORDER BY seq LIMIT 1 OFFSET 3")
# the output of a decision of another ruleset: its frame names another dictionary, so it cannot
# be read back at all (damaged, not a mismatch)
sqlite3 "$T/m2.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = (SELECT output FROM decisions ORDER BY seq LIMIT 1) WHERE seq = $last_a"
expect "replay --all finds the one altered output" 1 "4 match, 0 mismatch, 0 failed; 1 damaged" "$YZ" replay --db "$T/m2.db" --all
expect "replay --all names it" 1 "(seq $last_a)" "$YZ" replay --db "$T/m2.db" --all

expect "replay --from with a date that does not exist" 2 "--from '2026-13-01' is not a real date" "$YZ" replay --db "$M" --from 2026-13-01 --to 2026-12-31
expect "replay --from after --to" 2 "--from 2026-12-31 is after --to 2026-12-01" "$YZ" replay --db "$M" --from 2026-12-31 --to 2026-12-01

# replay --all on several threads reports in the order decisions were recorded, whatever the
# number of threads: 400 decisions of two rulesets (more chunks than threads), three outputs
# altered far apart
P=$T/p.db
for day in 01 02 03 04; do
    for home in "$H" "$(pwd)"; do
        YUANZHU_HOME=$home "$YZ" batch --quiet --province guangdong --as-of 2026-06-$day --db "$P" --rejects "$T/p.rejects" tests/batch/ledger.jsonl > /dev/null 2>&1
    done
done
[ "$(sqlite3 "$P" "SELECT count(*) FROM decisions")" = 400 ] || bad "test setup: expected 400 decisions, got $(sqlite3 "$P" "SELECT count(*) FROM decisions")"
sqlite3 "$P" "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = (SELECT output FROM decisions WHERE seq = 5) WHERE seq IN (40, 211, 390)"
for j in 1 2 3; do
    "$YZ" replay --db "$P" --all --jobs $j > "$T/p$j.out" 2>&1
    echo "exit $?" >> "$T/p$j.out"
done
cmp -s "$T/p1.out" "$T/p2.out" && cmp -s "$T/p1.out" "$T/p3.out" && ok || bad "replay --all gives another report on 1, 2 and 3 threads: $(diff "$T/p1.out" "$T/p2.out" | head -5)"
# (40 and 211 were decided with seq 5's ruleset: another person's output, a mismatch; 390 with
# the other one: a frame of another dictionary, damaged)
[ "$(grep -o '^MISMATCH [0-9a-f]* (seq [0-9]*' "$T/p2.out" | sed 's/.*seq //' | tr '\n' ' ')" = "40 211 " ] &&
    grep -q "(seq 390) cannot be read back" "$T/p2.out" &&
    grep -q "^replayed 399 decisions: 397 match, 2 mismatch, 0 failed; 1 damaged" "$T/p2.out" && grep -q '^exit 1$' "$T/p2.out" && ok ||
    bad "replay --all on 2 threads: the mismatches in another order or other counts: $(grep -E '^MISMATCH|^replayed|^exit' "$T/p2.out")"

# audit verify checks decisions on several threads and reports the first problem in sequence
# order, whatever the number of threads: 2,000 decisions of two rulesets (8 chunks of 256, more
# than the threads have in flight), each store altered in two places, or one place and a gap
V=$T/v.db
awk 'NR != 20 { rec[m++] = $0 } END {
    for (i = 0; i < 1000; i++) { l = rec[i % m]; sub(/"name":"/, "\"name\":\"" int(i / m) "号", l); print l } }' \
    tests/batch/ledger.jsonl > "$T/v.jsonl"
for home in "$H" "$(pwd)"; do
    YUANZHU_HOME=$home "$YZ" batch --quiet --province guangdong --as-of 2026-06-01 --db "$V" --rejects "$T/v.rejects" "$T/v.jsonl" > /dev/null 2>&1
done
rs2=$(sqlite3 "$V" "SELECT seq FROM audit WHERE kind = 'ruleset' AND seq > 1")
[ "$(sqlite3 "$V" "SELECT count(*) FROM decisions")" = 2000 ] && [ "$rs2" = 1002 ] ||
    bad "test setup: expected 2,000 decisions and a second ruleset at seq 1002, got $(sqlite3 "$V" "SELECT count(*) FROM decisions") and '$rs2'"
verify_jobs() { # NAME WANT DB: the same report on 1, 2 and 3 threads, and it is WANT
    for j in 1 2 3; do "$YZ" audit verify --jobs $j --db "$3" > "$T/vj$j.out" 2>&1; echo "exit $?" >> "$T/vj$j.out"; done
    if ! cmp -s "$T/vj1.out" "$T/vj2.out" || ! cmp -s "$T/vj1.out" "$T/vj3.out"; then
        bad "$1: another report on 1, 2 and 3 threads: $(cat "$T/vj1.out" "$T/vj2.out" "$T/vj3.out" | tr '\n' ' ')"
    else
        case $(cat "$T/vj1.out") in *"$2"*) ok ;; *) bad "$1: expected '$2', got: $(cat "$T/vj1.out")" ;; esac
    fi
}
verify_jobs "2,000 decisions verify" "ok: 2002 events" "$V"
alter() { # COPY SQL: a copy of the store, altered by SQL (the triggers dropped)
    cp "$V" "$1"
    sqlite3 "$1" "DROP TRIGGER decisions_no_update; DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DROP TRIGGER blobs_no_update; $2"
}
forge="UPDATE decisions SET operator = 'forger' WHERE seq IN"
alter "$T/v1.db" "$forge (1500, 300)"
verify_jobs "two altered outputs: the first" "TAMPERED at seq 300: altered: the decision or its audit event no longer matches the chain" "$T/v1.db"
alter "$T/v2.db" "$forge (1999)"
verify_jobs "an altered output in the last chunk" "TAMPERED at seq 1999: altered: the decision or its audit event no longer matches the chain" "$T/v2.db"
ruleset_file="UPDATE blobs SET data = (SELECT data FROM blobs LIMIT 1 OFFSET 1) WHERE hash IN (SELECT blob FROM ruleset_files WHERE ruleset = 2 EXCEPT SELECT blob FROM ruleset_files WHERE ruleset = 1);"
alter "$T/v3.db" "$ruleset_file $forge (1800)"
verify_jobs "the second ruleset altered, and a later decision" "TAMPERED at seq 1002: the stored file" "$T/v3.db"
alter "$T/v4.db" "$ruleset_file $forge (700)"
verify_jobs "a decision altered before an altered ruleset" "TAMPERED at seq 700: altered: the decision or its audit event no longer matches the chain" "$T/v4.db"
alter "$T/v5.db" "DELETE FROM audit WHERE seq = 1900; $forge (600)"
verify_jobs "an altered decision before a gap" "TAMPERED at seq 600: altered: the decision or its audit event no longer matches the chain" "$T/v5.db"
alter "$T/v6.db" "DELETE FROM audit WHERE seq = 1900; $forge (1950)"
verify_jobs "a gap before an altered decision" "TAMPERED at seq 1900: event 1900 is missing" "$T/v6.db"
alter "$T/v7.db" "UPDATE decisions SET id_number = (SELECT id_number FROM decisions WHERE seq = 2) WHERE seq = 1234; UPDATE decisions SET operator = 'x' WHERE seq = 1600"
verify_jobs "another person's decision in the middle" "TAMPERED at seq 1234: the decision is recorded for id_number" "$T/v7.db"
expect "verify --jobs 0" 2 "--jobs takes a number from 1 to 64" "$YZ" audit verify --jobs 0 --db "$V"
expect "verify --jobs with no number" 2 "--jobs needs a number from 1 to 64 after it" "$YZ" audit verify --db "$V" --jobs
expect "head --jobs" 2 "--jobs goes with audit verify and audit checkpoint" "$YZ" audit head --jobs 2 --db "$V"

# tampering, each on its own copy
head=$("$YZ" audit head --db "$DB")
cp "$DB" "$T/u.db"; cp "$DB" "$T/d.db"; cp "$DB" "$T/i.db"; cp "$DB" "$T/s.db"; cp "$DB" "$T/t.db"; cp "$DB" "$T/o.db"
expect "triggers refuse UPDATE" 19 "append-only" sqlite3 "$T/u.db" "UPDATE decisions SET operator = 'x' WHERE seq = 3"
expect "triggers refuse DELETE" 19 "append-only" sqlite3 "$T/u.db" "DELETE FROM audit WHERE seq = 3"
sqlite3 "$T/u.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = (SELECT output FROM decisions WHERE seq = 2) WHERE seq = 4"
expect "altered output" 1 "TAMPERED at seq 4" "$YZ" audit verify --db "$T/u.db"

# a dictionary whose entropy tables are damaged: zstd refuses it; every command says the store is
# damaged (never "out of memory", never a crash), and nothing more is recorded with it
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/z.db" "$REC" > /dev/null 2>&1 || bad "test setup: check into z.db failed"
[ "$(sqlite3 "$T/z.db" "SELECT hex(substr(data, 1, 4)) FROM dicts LIMIT 1")" = 37A430EC ] || bad "test setup: the dictionary does not start with zstd's dictionary magic"
sqlite3 "$T/z.db" "DROP TRIGGER dicts_no_update; UPDATE dicts SET data = substr(data, 1, 12) || x'FFFFFFFFFFFFFFFFFFFFFFFF' || substr(data, 25)"
expect "damaged dictionary: verify" 1 "the ruleset's dictionary was altered" "$YZ" audit verify --db "$T/z.db"
expect "damaged dictionary: replay" 1 "cannot be read back" "$YZ" replay --db "$T/z.db" --all
expect "damaged dictionary: check records nothing" 5 "dictionary of this ruleset (dicts row 1) is missing or damaged" \
    "$YZ" check --province guangdong --as-of 2025-06-16 --db "$T/z.db" "$REC"
[ "$(sqlite3 "$T/z.db" "SELECT count(*) FROM decisions")" = 1 ] && ok ||
    bad "damaged dictionary: a decision was recorded"
# an input frame whose text is followed by a NUL and more (compressed with the store's own
# dictionary by the zstd tool): its hash over what a C string holds is the one chained, so a
# reader that stops at the NUL sees nothing wrong; verify hashes every byte, readers refuse it
cp "$DB" "$T/n.db"
sqlite3 "$T/n.db" "SELECT writefile('$T/n.dict', data) FROM dicts WHERE id = (SELECT dict FROM inputs WHERE id = 1); SELECT writefile('$T/n.zst', data) FROM inputs WHERE id = 1" > /dev/null
{ zstd -q -d -D "$T/n.dict" -c "$T/n.zst" && printf '\000{"id_number":"forged"}'; } > "$T/n.json" && zstd -q -f -D "$T/n.dict" -o "$T/n2.zst" "$T/n.json" ||
    bad "test setup: zstd could not rewrite the input frame"
sqlite3 "$T/n.db" "DROP TRIGGER inputs_no_update; UPDATE inputs SET data = readfile('$T/n2.zst') WHERE id = 1"
expect "input with more after a NUL: verify" 1 "TAMPERED at seq 2: the decision's input was altered (its hash no longer matches)" "$YZ" audit verify --db "$T/n.db"
expect "input with more after a NUL: replay" 1 "cannot be read back" "$YZ" replay --db "$T/n.db" --all
sqlite3 "$T/d.db" "DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DELETE FROM decisions WHERE seq = 3; DELETE FROM audit WHERE seq = 3"
expect "deleted middle row" 1 "TAMPERED at seq 3: event 3 is missing" "$YZ" audit verify --db "$T/d.db"
sqlite3 "$T/i.db" "INSERT INTO decisions SELECT 9, 'aaaaaaaaaaaaaaaa', ruleset, input, id_number, as_of, 'forger', recorded_at, engine, target, output, signed_by FROM decisions WHERE seq = 5"
expect "inserted decision without event" 1 "TAMPERED at seq 9: a decision with no audit event was inserted" "$YZ" audit verify --db "$T/i.db"
sqlite3 "$T/o.db" "INSERT INTO audit VALUES (6, 'decision', '$(printf '%064d' 0)'); INSERT INTO decisions SELECT 6, 'bbbbbbbbbbbbbbbb', ruleset, input, id_number, as_of, 'forger', recorded_at, engine, target, output, signed_by FROM decisions WHERE seq = 5"
expect "forged event appended" 1 "TAMPERED at seq 6" "$YZ" audit verify --db "$T/o.db"
sqlite3 "$T/s.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET as_of = CASE seq WHEN 3 THEN (SELECT as_of FROM decisions WHERE seq = 4) ELSE (SELECT as_of FROM decisions WHERE seq = 3) END, output = CASE seq WHEN 3 THEN (SELECT output FROM decisions WHERE seq = 4) ELSE (SELECT output FROM decisions WHERE seq = 3) END WHERE seq IN (3, 4)"
expect "swapped rows" 1 "TAMPERED at seq 3" "$YZ" audit verify --db "$T/s.db"
sqlite3 "$T/t.db" "DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DELETE FROM decisions WHERE seq = 5; DELETE FROM audit WHERE seq = 5"
expect "truncated tail looks valid alone" 0 "ok: 4 events" "$YZ" audit verify --db "$T/t.db"
expect "truncated tail caught by the anchored head" 1 "TAMPERED at seq 5" "$YZ" audit verify --db "$T/t.db" --expect-head "$head"
expect "anchored head still there" 0 "ok: 5 events" "$YZ" audit verify --db "$DB" --expect-head "$head"
sqlite3 "$T/u.db" "DROP TRIGGER blobs_no_update; UPDATE blobs SET data = (SELECT data FROM blobs LIMIT 1 OFFSET 1) WHERE hash = (SELECT blob FROM ruleset_files WHERE path LIKE '%guangdong/policy.yaml')"
expect "altered ruleset file" 1 "TAMPERED at seq" "$YZ" audit verify --db "$T/u.db"

# SM3
expect "init sm3" 0 "audit chain: sm3" "$YZ" init --db "$T/sm3.db" --hash sm3
expect "init refuses an existing store" 5 "already exists" "$YZ" init --db "$T/sm3.db"
"$YZ" check --province guangdong --as-of 2025-06-15 --db "$T/sm3.db" "$REC" > /dev/null 2>&1 || bad "sm3 check failed"
expect "sm3 store verifies" 0 "(sm3)" "$YZ" audit verify --db "$T/sm3.db"
[ "$(sqlite3 "$T/sm3.db" "SELECT value FROM meta WHERE key = 'hash'")" = sm3 ] && ok || bad "meta.hash is not sm3"
sqlite3 "$T/sm3.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET operator = 'x'"
expect "sm3 tamper caught" 1 "TAMPERED at seq 2" "$YZ" audit verify --db "$T/sm3.db"
expect "not a store" 5 "not a" sh -c "echo garbage > '$T/junk.db'; '$YZ' check --province guangdong --db '$T/junk.db' '$REC'"

# two recorders at the same moment, 20 decisions each
C=$T/c.db
(for i in $(seq 1 20); do "$YZ" check --province guangdong --as-of 2025-06-15 --operator p1 --db "$C" "$REC" > /dev/null 2>&1 || echo "p1 $i failed"; done) > "$T/p1.log" &
(for i in $(seq 1 20); do "$YZ" check --province zhejiang --as-of 2025-06-15 --operator p2 --db "$C" "$REC" > /dev/null 2>&1 || echo "p2 $i failed"; done) > "$T/p2.log" &
wait
[ -s "$T/p1.log" ] || [ -s "$T/p2.log" ] && bad "concurrent recording failed: $(cat "$T/p1.log" "$T/p2.log")" || ok
expect "concurrent recorders leave a valid chain" 0 "ok: 42 events" "$YZ" audit verify --db "$C"

# a recorder killed at random moments: whatever was committed verifies, nothing is half-written
K=$T/k.db
for n in 1 2 3 4 5 6; do
    (while :; do "$YZ" check --province guangdong --as-of 2025-06-15 --operator k --db "$K" "$REC" > /dev/null 2>&1; done) &
    pid=$!
    sleep 0.$((n * 13 % 9 + 1))
    kill -9 $pid 2> /dev/null
    pkill -9 -f "operator k --db $K" 2> /dev/null
    wait $pid 2> /dev/null
done
expect "killed recorders leave a store that verifies" 0 "ok:" "$YZ" audit verify --db "$K"
a=$(sqlite3 "$K" "SELECT count(*) FROM decisions"); b=$(sqlite3 "$K" "SELECT count(*) FROM audit WHERE kind = 'decision'")
[ "$a" = "$b" ] && [ "$a" -gt 0 ] && ok || bad "decisions ($a) and their events ($b) differ after kills"

finish store
