#!/bin/sh
# tests/batch/run.sh: batch against check, record by record.
# ledger.jsonl and ledger.csv hold the same 51 applicants (43 with Guangdong hukou, 7 from
# elsewhere; from the shared bench kit's generator, with last_contact_on added) and the same
# broken record at line 20 of the JSONL / row 20 of the CSV (an impossible birth date).
#  - the JSONL batch records, for every good line, the very bytes `check --json` prints for it;
#  - the CSV batch (UTF-8, with a BOM, and converted to GBK) records the same decisions;
#  - the broken record is reported with its line and field, lands in the rejects file, exit 4,
#    and the other 50 are decided;
#  - a second run records nothing new; a batch killed with SIGKILL and run again ends with every
#    record decided exactly once and a chain that verifies.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init batch
same() { # same NAME FILE_A FILE_B
    if cmp -s "$2" "$3"; then ok; else bad "$1: $2 and $3 differ"; diff "$2" "$3" | head -5; fi
}
export YUANZHU_OPERATOR=batch-test
P=guangdong
D=2026-06-15
B=tests/batch
cp $B/ledger.jsonl $B/ledger.csv "$T/"

# what check prints for each good record of a JSON Lines file, as sorted SHA-256 digests
check_sums() {
    i=0
    while IFS= read -r line; do
        i=$((i + 1))
        [ $i = 20 ] && continue
        printf '%s\n' "$line" > "$T/one.json"
        "$YZ" check --province $P --as-of $D --json --no-record "$T/one.json" | sha256sum | cut -c1-64
    done < "$1" | sort
}
check_sums $B/ledger.jsonl > "$T/check.sums"
[ "$(wc -l < "$T/check.sums")" = 50 ] && ok || bad "check did not decide 50 records"
# In CSV an empty cell is an absent field (the bench kit's convention), so an empty list of
# texts (service_refusals, evidence) reads as "unknown": the CSV rows are these JSON records.
sed -e 's/"service_refusals":\[\],//' -e 's/,"evidence":\[\]//' $B/ledger.jsonl > "$T/csvform.jsonl"
cmp -s $B/ledger.jsonl "$T/csvform.jsonl" && bad "test setup: no empty lists to drop"
check_sums "$T/csvform.jsonl" > "$T/check-csv.sums"

# the decisions a store holds, as sorted SHA-256 digests of what `show` prints
decided() {
    sqlite3 "$1" "SELECT id FROM decisions ORDER BY seq" | while read -r id; do
        "$YZ" show --json --db "$1" "$id" | sha256sum | cut -c1-64
    done | sort
}

expect "jsonl batch: exit 4 with one rejected" 4 "decided 50, already decided (skipped) 0, rejected 1" \
    "$YZ" batch --province $P --as-of $D --db "$T/j.db" --jobs 2 "$T/ledger.jsonl"
expect "rejected record names line and field" 4 "ledger.jsonl:20: error: birth_date: '1990-02-30' is not a real date" \
    "$YZ" batch --province $P --as-of $D --db "$T/j2.db" --quiet "$T/ledger.jsonl"
grep -q '"field":"birth_date"' "$T/ledger.jsonl.rejects.jsonl" && grep -q '"line":20' "$T/ledger.jsonl.rejects.jsonl" &&
    [ "$(wc -l < "$T/ledger.jsonl.rejects.jsonl")" = 1 ] && ok || bad "rejects file: $(cat "$T/ledger.jsonl.rejects.jsonl")"
decided "$T/j.db" > "$T/jsonl.sums"
same "jsonl batch decides as check" "$T/check.sums" "$T/jsonl.sums"
expect "jsonl batch chain verifies" 0 "ok: 51 events" "$YZ" audit verify --db "$T/j.db"
expect "rerun records nothing new" 4 "decided 0, already decided (skipped) 50, rejected 1" \
    "$YZ" batch --province $P --as-of $D --db "$T/j.db" "$T/ledger.jsonl"
expect "rerun leaves the chain as it was" 0 "ok: 51 events" "$YZ" audit verify --db "$T/j.db"
expect "another date is another decision" 4 "decided 50, already decided (skipped) 0" \
    "$YZ" batch --province $P --as-of 2026-07-01 --db "$T/j.db" "$T/ledger.jsonl"
expect "history lists both dates" 0 "2026-07-01" "$YZ" history --db "$T/j.db" 140105198502096976

# the same ledger as CSV: UTF-8, UTF-8 with a byte-order mark, GBK
expect "csv batch" 4 "decided 50, already decided (skipped) 0, rejected 1" \
    "$YZ" batch --province $P --as-of $D --db "$T/c.db" "$T/ledger.csv"
expect "csv rejected row names its line" 4 "ledger.csv:21: error: birth_date" \
    "$YZ" batch --province $P --as-of $D --db "$T/c2.db" --quiet "$T/ledger.csv"
decided "$T/c.db" > "$T/csv.sums"
same "csv batch decides as check" "$T/check-csv.sums" "$T/csv.sums"
printf '\357\273\277' > "$T/bom.csv"
cat "$T/ledger.csv" >> "$T/bom.csv"
expect "csv with a BOM" 4 "decided 50" "$YZ" batch --province $P --as-of $D --db "$T/b.db" "$T/bom.csv"
decided "$T/b.db" > "$T/bom.sums"
same "BOM csv decides as check" "$T/check-csv.sums" "$T/bom.sums"
iconv -f UTF-8 -t GBK "$T/ledger.csv" > "$T/gbk.csv" || bad "iconv could not make the GBK file"
cmp -s "$T/ledger.csv" "$T/gbk.csv" && bad "the GBK file is the same bytes as the UTF-8 one"
expect "gbk csv without --encoding is refused" 4 "not valid UTF-8" \
    "$YZ" batch --province $P --as-of $D --db "$T/x.db" --quiet "$T/gbk.csv"
expect "gbk csv" 4 "decided 50" "$YZ" batch --province $P --as-of $D --db "$T/g.db" --encoding gbk "$T/gbk.csv"
decided "$T/g.db" > "$T/gbk.sums"
same "GBK csv decides as check" "$T/check-csv.sums" "$T/gbk.sums"

# a quote that is never closed makes every later row one cell: the reject says where it opened;
# a quoted cell that runs over lines and breaks its row is shown with where it opened too
{ head -n 3 "$T/ledger.csv"; sed -n 4p "$T/ledger.csv" | sed 's/,/,"/5'; sed -n '5,$p' "$T/ledger.csv"; } > "$T/quote.csv"
pre=$(sed -n 4p "$T/quote.csv" | sed 's/".*//')
col=$(($(printf '%s' "$pre" | LC_ALL=C.UTF-8 wc -m) + 1)) # in characters
expect "csv: a quote never closed" 4 "quote.csv:4: error: the quote that opens at line 4, column $col is never closed, so every line after it, to the end of the file (line 52), was read into one cell" \
    "$YZ" batch --province $P --as-of $D --no-record --quiet "$T/quote.csv"
grep -q '"line":4' "$T/quote.csv.rejects.jsonl" && grep -q "opens at line 4, column $col is never closed" "$T/quote.csv.rejects.jsonl" &&
    ok || bad "csv: a quote never closed: the rejects file: $(cat "$T/quote.csv.rejects.jsonl")"
{ head -n 3 "$T/ledger.csv"; sed -n 4p "$T/ledger.csv" | sed 's/,/,"/5'; sed -n 5p "$T/ledger.csv"; sed -n 6p "$T/ledger.csv" | sed 's/$/"/'; sed -n '7,$p' "$T/ledger.csv"; } > "$T/quote2.csv"
expect "csv: a quoted cell over three lines breaks its row" 4 "quote2.csv:4: error: the row has " \
    "$YZ" batch --province $P --as-of $D --no-record "$T/quote2.csv"
has_text() { case $out in *"$1"*) ok ;; *) bad "$2: no '$1' in: $out" ;; esac; }
has_text "a quoted cell opens at line 4, column $col, and runs to line 6: if it should end on its line, its closing quote is missing" \
    "csv: a quoted cell over three lines"
has_text "decided 47, already decided (skipped) 0, rejected 2" "csv: a quoted cell over three lines"

# output files are checked when closed: a full disk (/dev/full) is an error naming the file
expect "--lines on a full disk" 5 "/dev/full: error: cannot write the lines file: No space left on device" \
    "$YZ" batch --province $P --as-of $D --no-record --quiet --lines /dev/full "$T/ledger.jsonl"
expect "--rejects on a full disk" 5 "/dev/full: error: cannot write the rejects file: No space left on device" \
    "$YZ" batch --province $P --as-of $D --no-record --quiet --rejects /dev/full "$T/ledger.jsonl"
head -n 1 "$T/ledger.jsonl" > "$T/good.jsonl"
expect "--lines - on a full disk" 70 "cannot write the output: No space left on device" \
    sh -c "'$YZ' batch --province $P --as-of $D --no-record --quiet --lines - '$T/good.jsonl' > /dev/full"

# killed with SIGKILL, run again: every record decided exactly once, a chain that verifies.
# 3,000 distinct applicants (the 50 good ones, names numbered), killed three times.
awk 'NR != 20 { for (k = 0; k < 60; k++) { l = $0; sub(/"name":"/, "\"name\":\"" k "号", l); print l } }' \
    $B/ledger.jsonl > "$T/big.jsonl"
n=$(wc -l < "$T/big.jsonl")
killed=0
for wait in 0.1 0.2 0.3; do
    "$YZ" batch --province $P --as-of $D --db "$T/k.db" --jobs 2 --commit-every 100 --quiet "$T/big.jsonl" > /dev/null 2>&1 &
    pid=$!
    sleep $wait
    kill -9 $pid 2> /dev/null && killed=$((killed + 1))
    wait $pid 2> /dev/null
    "$YZ" audit verify --db "$T/k.db" > /dev/null 2>&1 || [ ! -s "$T/k.db" ] || bad "store does not verify after kill at $wait s"
done
[ $killed -gt 0 ] || echo "note: the batch finished before every kill; the rerun checks still hold"
before=$(sqlite3 "$T/k.db" "SELECT count(*) FROM decisions" 2> /dev/null || echo 0)
echo "killed $killed times; $before of $n decided before the rerun"
expect "rerun after SIGKILL completes" 0 "rejected 0" "$YZ" batch --province $P --as-of $D --db "$T/k.db" "$T/big.jsonl"
got=$(sqlite3 "$T/k.db" "SELECT count(*), count(DISTINCT input) FROM decisions")
[ "$got" = "$n|$n" ] && ok || bad "after kills ($before decided before the rerun): decisions|distinct inputs = $got, expected $n|$n"
expect "killed store verifies" 0 "ok: $((n + 1)) events" "$YZ" audit verify --db "$T/k.db"

finish batch
