#!/bin/sh
# tests/store/edges.sh: the store's edge cases, with the real binary.
#   create   a new store appears whole or not at all: an init stopped part way (a full disk, or
#            kill -9 at random moments) leaves nothing at the path; init makes the store in an
#            empty file (what older engines left, or the sqlite3 shell makes) instead of refusing
#            it; new stores are 0600 whatever the umask
#   head     --expect-head: SEQ:HASH, or the hash abbreviated to 16+ hex digits (any case, "…"
#            allowed); a malformed or too short one is a usage error (2), not TAMPERED
#   damaged  replay --all reports a decision that cannot be read back and goes on, with counts
#   person   audit verify: a decision whose id_number is not the person of its stored input
set -u
. "$(dirname "$0")/../lib.sh"
suite_init edges
export YUANZHU_OPERATOR=edges-test
REC=schemas/examples/applicant.yaml
D=2025-06-15

echo "-- creating a store"
# an empty file (what an interrupted init of older engines left; the sqlite3 shell makes one by
# opening a path) is no store yet: init makes the asked-for store in it instead of refusing
: > "$T/empty.db"
expect "init makes the store in an empty file" 0 "audit chain: sm3" "$YZ" init --hash sm3 --db "$T/empty.db"
[ "$(sqlite3 "$T/empty.db" "SELECT value FROM meta WHERE key = 'hash'")" = sm3 ] && ok || bad "the store in the empty file is not SM3"
expect "init refuses a store" 5 "already exists" "$YZ" init --db "$T/empty.db"
sqlite3 "$T/probed.db" "SELECT 1" > /dev/null
expect "check after the sqlite3 shell probed the path" 0 "已记录" "$YZ" check --province guangdong --as-of $D --db "$T/probed.db" "$REC"
# a full disk part way through init (YUANZHU_TEST_MAX_PAGES, see yz_store.c): nothing at the path
expect "init on a full disk" 5 "full" env YUANZHU_TEST_MAX_PAGES=3 "$YZ" init --hash sm3 --db "$T/full.db"
[ ! -e "$T/full.db" ] && ok || bad "a failed init left $(wc -c < "$T/full.db") bytes at the path"
[ -z "$(ls "$T" | grep full.db)" ] && ok || bad "a failed init left files: $(ls "$T" | grep full.db)"
expect "init after it" 0 "audit chain: sm3" "$YZ" init --hash sm3 --db "$T/full.db"
# kill -9 at random moments of init: the path is absent, or a complete SM3 store
for i in $(seq 1 12); do
    "$YZ" init --hash sm3 --db "$T/k$i.db" > /dev/null 2>&1 &
    pid=$!
    sleep "0.00$((i % 10))"
    kill -9 $pid 2> /dev/null
    wait $pid 2> /dev/null
    if [ -e "$T/k$i.db" ]; then
        [ "$(sqlite3 "file:$T/k$i.db?mode=ro" "SELECT value FROM meta WHERE key = 'hash'" 2> /dev/null)" = sm3 ] && ok ||
            bad "kill $i: a $(wc -c < "$T/k$i.db")-byte file that is not a complete SM3 store"
    else
        ok
        expect "kill $i: init again" 0 "audit chain: sm3" "$YZ" init --hash sm3 --db "$T/k$i.db"
    fi
done
# permissions: personal data, 0600 whatever the umask
(umask 022 && "$YZ" init --db "$T/m1.db" > /dev/null) || bad "init m1"
(umask 000 && "$YZ" check --province guangdong --as-of $D --db "$T/m2.db" "$REC" > /dev/null) || bad "check m2"
for f in m1.db m2.db; do
    [ "$(stat -c %a "$T/$f")" = 600 ] && ok || bad "$f has mode $(stat -c %a "$T/$f")"
done
expect "no store in a folder that does not exist" 5 "cannot create the store" "$YZ" init --db "$T/none/x.db"

echo "-- anchored heads"
DB=$T/h.db
for d in 2025-06-15 2025-07-01 2025-08-01; do
    "$YZ" check --province guangdong --as-of $d --db "$DB" "$REC" > /dev/null || bad "check $d"
done
head=$("$YZ" audit head --db "$DB")
seq=${head%%:*}
hash=${head#*:}
short=$(echo "$hash" | cut -c1-16)
expect "the whole head" 0 "ok: 4 events" "$YZ" audit verify --db "$DB" --expect-head "$head"
expect "16 hex digits" 0 "ok: 4 events" "$YZ" audit verify --db "$DB" --expect-head "$seq:$short"
expect "upper case, with …" 0 "ok: 4 events" "$YZ" audit verify --db "$DB" --expect-head "$seq:$(echo "$short" | tr a-f A-F)…"
expect "the hash alone" 0 "ok: 4 events" "$YZ" audit verify --db "$DB" --expect-head "$short"
expect "an earlier head still there" 0 "ok: 4 events" "$YZ" audit verify --db "$DB" --expect-head "2:$(sqlite3 "$DB" "SELECT substr(hash, 1, 20) FROM audit WHERE seq = 2")"
expect "abc" 2 "3 hex digits are too few" "$YZ" audit verify --db "$DB" --expect-head abc
expect "not hex" 2 "--expect-head takes SEQ:HASH" "$YZ" audit verify --db "$DB" --expect-head "$seq:xyz$short"
expect "the README's 8 digits" 2 "8 hex digits are too few" "$YZ" audit verify --db "$DB" --expect-head "$seq:$(echo "$hash" | cut -c1-8)"
expect "no value" 2 "--expect-head takes SEQ:HASH" "$YZ" audit verify --db "$DB" --expect-head
expect "not a number before the colon" 2 "--expect-head takes SEQ:HASH" "$YZ" audit verify --db "$DB" --expect-head "x:$short"
expect "a head at another seq" 1 "TAMPERED at seq 3" "$YZ" audit verify --db "$DB" --expect-head "3:$short"
expect "a head not in the chain" 1 "TAMPERED at seq 5" "$YZ" audit verify --db "$DB" --expect-head "5:0123456789abcdef"
cp "$DB" "$T/t.db"
sqlite3 "$T/t.db" "DROP TRIGGER decisions_no_delete; DROP TRIGGER audit_no_delete; DELETE FROM decisions WHERE seq = 4; DELETE FROM audit WHERE seq = 4"
expect "a cut tail, abbreviated head" 1 "TAMPERED at seq 4" "$YZ" audit verify --db "$T/t.db" --expect-head "$seq:$short"

echo "-- damaged decisions"
cp "$DB" "$T/d.db"
sqlite3 "$T/d.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = x'00ff00ff' WHERE seq = 3"
expect "replay --all goes on past a damaged row" 1 "replayed 2 decisions: 2 match, 0 mismatch, 0 failed; 1 damaged" "$YZ" replay --db "$T/d.db" --all
damaged=$(sqlite3 "$T/d.db" "SELECT id FROM decisions WHERE seq = 3")
expect "replay --all names it" 1 "decision $damaged (seq 3) cannot be read back" "$YZ" replay --db "$T/d.db" --all
expect "history goes on too" 5 "$(sqlite3 "$T/d.db" "SELECT id FROM decisions WHERE seq = 4")" "$YZ" history --db "$T/d.db" 440106198506150025
expect "verify names the row" 1 "TAMPERED at seq 3" "$YZ" audit verify --db "$T/d.db"

echo "-- a decision names its person"
cp "$DB" "$T/p.db"
sqlite3 "$T/p.db" "DROP TRIGGER decisions_no_update; UPDATE decisions SET id_number = '44010619850615048X' WHERE seq = 3"
expect "verify: id_number and the stored input disagree" 1 "TAMPERED at seq 3: the decision is recorded for id_number 44010619850615048X, but its stored input is the record of 440106198506150025" \
    "$YZ" audit verify --db "$T/p.db"
finish store-edges
