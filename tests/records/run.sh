#!/bin/sh
# tests/records/run.sh: records and what a person reads about them, with the real binary.
#   id       one person, one id: an ID number typed with a lowercase x is recorded, shown,
#            deduplicated and found by history as the same person as with X
#   nul      a NUL in a record (a zero byte in JSON, YAML or a CSV cell, JSON's \u0000, YAML's
#            "\0") is refused with its field path, never cut short
#   none     CSV can say "none" ([] for a list of texts, a count of 0): 200 Guangdong records give
#            the same decisions from JSON Lines and from CSV
#   inject   operator ids are checked before anything is recorded, and record values, rule error
#            texts and file names are shown escaped: no forged lines, no escape sequences
set -u
. "$(dirname "$0")/../lib.sh"
suite_init records
export YUANZHU_OPERATOR=records-test
REC=schemas/examples/applicant.yaml
D=2025-06-15
# lacks NAME TEXT COMMAND...: the output of COMMAND does not contain TEXT
lacks() {
    name=$1 text=$2
    shift 2
    out=$("$@" 2>&1)
    case $out in *"$text"*) bad "$name: the output holds '$text'" ;; *) ok ;; esac
}
# has_byte NAME FILE OCTAL: FILE holds no byte OCTAL (e.g. 033 for ESC)
no_byte() {
    if od -An -c "$2" | grep -q "$3"; then bad "$1: $2 holds the byte $3"; else ok; fi
}

echo "-- one person, one id"
# a woman born 1985-06-15 whose check digit is X, typed as x (and a household member's too)
sed -e 's/440106198506150025/44010619850615048x/' -e 's/440106198301010010/44010619830101007x/' "$REC" > "$T/lower.yaml"
sed -e 's/440106198506150025/44010619850615048X/' -e 's/440106198301010010/44010619830101007X/' "$REC" > "$T/upper.yaml"
DB=$T/id.db
expect "check a lowercase x" 0 "身份号码 44010619850615048X" "$YZ" check --province guangdong --as-of $D --db "$DB" "$T/lower.yaml"
[ -s "$DB" ] && [ "$(sqlite3 "$DB" "SELECT id_number FROM decisions")" = 44010619850615048X ] && ok || bad "the decision's id_number is not canonical: $(sqlite3 "$DB" "SELECT id_number FROM decisions")"
ID=$(sqlite3 "$DB" "SELECT id FROM decisions")
expect "the stored input holds X" 0 '"id_number":"44010619850615048X"' "$YZ" show --db "$DB" --input "$ID"
lacks "the stored input holds no x" '5x"' "$YZ" show --db "$DB" --input "$ID"
expect "history with x" 0 "$ID" "$YZ" history --db "$DB" 44010619850615048x
expect "history with X" 0 "$ID" "$YZ" history --db "$DB" 44010619850615048X
expect "history --json with x" 0 "\"decision\":\"$ID\"" "$YZ" history --db "$DB" --json 44010619850615048x
expect "replay" 0 "match: decision $ID" "$YZ" replay --db "$DB" "$ID"
# the same person typed both ways is one input: a batch records it once, and says X
for f in lower upper; do
    "$YZ" check --province guangdong --as-of $D --no-record --json "$T/$f.yaml" > "$T/$f.det" || bad "check --json $f"
done
cmp -s "$T/lower.det" "$T/upper.det" && ok || bad "x and X give different determinations"
printf '%s\n%s\n' '{"schema":1,"id_number":"44010619850615048x","sex":"F","birth_date":"1985-06-15"}' \
    '{"schema":1,"id_number":"44010619850615048X","sex":"F","birth_date":"1985-06-15"}' > "$T/xx.jsonl"
expect "batch: one person once" 0 "decided 1, already decided (skipped) 1" "$YZ" batch --province guangdong --as-of $D --db "$T/b.db" --lines "$T/xx.lines" "$T/xx.jsonl"
[ "$(cut -f1 "$T/xx.lines" | sort -u)" = 44010619850615048X ] && ok || bad "batch --lines: $(cut -f1 "$T/xx.lines")"
[ "$(sqlite3 "$T/b.db" "SELECT count(*), count(DISTINCT input) FROM decisions")" = "1|1" ] && ok || bad "batch recorded the person twice"

echo "-- NUL characters"
printf '{"schema":1,"id_number":"440106198506150025","sex":"F\0x","birth_date":"1985-06-15"}' > "$T/nul.json"
expect "JSON: a zero byte in a value" 4 "nul.json:1:54: error: sex: holds a NUL character (a zero byte)" "$YZ" check --province guangdong --no-record "$T/nul.json"
printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15","name":"李\0华"}' > "$T/nul2.json"
expect "JSON: a zero byte in a name" 4 "error: name: holds a NUL character" "$YZ" check --province guangdong --no-record "$T/nul2.json"
printf '{"schema":1,"id_number":"440106198506150025","sex":"F\\u0000x","birth_date":"1985-06-15"}' > "$T/esc.json"
expect "JSON: \\u0000" 4 "error: sex: holds a NUL character (\\u0000)" "$YZ" check --province guangdong --no-record "$T/esc.json"
printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15","household":{"members":[{"relation":"spouse"},{"relation":"ch\0ild"}]}}' > "$T/nul3.json"
expect "JSON: the path of a list item" 4 "error: household.members[1].relation: holds a NUL" "$YZ" check --province guangdong --no-record "$T/nul3.json"
printf 'schema: 1\nid_number: "440106198506150025"\nsex: "F\\0x"\nbirth_date: 1985-06-15\n' > "$T/esc.yaml"
expect "YAML: \\0" 4 "esc.yaml:3:6: error: sex: holds a NUL character (\\0)" "$YZ" check --province guangdong --no-record "$T/esc.yaml"
printf 'schema: 1\nid_number: "440106198506150025"\nsex: F\nbirth_date: 1985-06-15\nhukou:\n  type: "ur\0ban"\n' > "$T/nul.yaml"
expect "YAML: a zero byte" 4 "nul.yaml:6:12: error: hukou.type: holds a NUL character (a zero byte)" "$YZ" check --province guangdong --no-record "$T/nul.yaml"
printf 'schema,id_number,sex,birth_date,name\n1,440106198506150025,F,1985-06-15,李\0华\n1,440106198506150025,F,1985-06-15,李华\n' > "$T/nul.csv"
expect "CSV: a zero byte in a cell" 4 "nul.csv:2: error: name: holds a NUL character" "$YZ" batch --province guangdong --as-of $D --no-record --quiet "$T/nul.csv"
grep -q '"field":"name","message":"holds a NUL character' "$T/nul.csv.rejects.jsonl" && ok || bad "CSV: the rejects file lacks the field: $(cat "$T/nul.csv.rejects.jsonl")"
expect "CSV: the other row is decided" 4 "decided 1, already decided (skipped) 0, rejected 1" "$YZ" batch --province guangdong --as-of $D --no-record "$T/nul.csv"
printf 'schema,id_number,sex\0x,birth_date\n1,440106198506150025,F,1985-06-15\n' > "$T/nulh.csv"
expect "CSV: a zero byte in the header" 4 "nulh.csv:1: error: column 3 of the header holds a NUL character" "$YZ" batch --province guangdong --as-of $D --no-record --quiet "$T/nulh.csv"
tr -d '\n' < "$T/nul3.json" > "$T/nul.jsonl"; echo >> "$T/nul.jsonl"
expect "JSON Lines: a zero byte" 4 "nul.jsonl:1: error: household.members[1].relation: holds a NUL" "$YZ" batch --province guangdong --as-of $D --no-record --quiet "$T/nul.jsonl"

echo "-- CSV can say none"
G=tests/records/guangdong200.jsonl
tests/records/to-csv.py "$G" "$T/g.csv"
tests/records/to-csv.py "$G" "$T/blank.csv" --empty-list-as-blank
[ "$(grep -c '"service_refusals":\[\]' "$G")" -gt 100 ] && grep -q '"service_refusals":null' "$G" && grep -q ',\[\],' "$T/g.csv" && ok ||
    bad "test setup: the records lack empty, null or [] refusals"
"$YZ" batch --province guangdong --as-of 2026-06-15 --no-record --lines "$T/j.lines" "$G" > "$T/j.out" 2>&1 || bad "JSON Lines batch: $(tail -3 "$T/j.out")"
"$YZ" batch --province guangdong --as-of 2026-06-15 --no-record --lines "$T/c.lines" "$T/g.csv" > "$T/c.out" 2>&1 || bad "CSV batch: $(tail -3 "$T/c.out")"
cmp -s "$T/j.lines" "$T/c.lines" && ok || { bad "JSON Lines and CSV decide differently:"; diff "$T/j.lines" "$T/c.lines" | head -5; }
met=$(sed -n 's/.*targets: \([0-9]*\) met.*/\1/p' "$T/j.out")
[ "${met:-0}" -ge 30 ] && ok || bad "test setup: only ${met:-0} targets among the 200"
grep -q "targets: $met met" "$T/c.out" && ok || bad "CSV: $(grep targets "$T/c.out"), JSON Lines: $met met"
# the same inputs, byte for byte: recorded from JSON Lines, the CSV finds every one decided
"$YZ" batch --province guangdong --as-of 2026-06-15 --db "$T/n.db" --quiet "$G" || bad "recording the JSON Lines"
expect "CSV: the very inputs of the JSON Lines" 0 "decided 0, already decided (skipped) 200, rejected 0" "$YZ" batch --province guangdong --as-of 2026-06-15 --db "$T/n.db" "$T/g.csv"
# and an empty cell is unknown, not none: what a ledger said before [] (fewer targets)
"$YZ" batch --province guangdong --as-of 2026-06-15 --no-record "$T/blank.csv" > "$T/b.out" 2>&1
bmet=$(sed -n 's/.*targets: \([0-9]*\) met.*/\1/p' "$T/b.out")
[ "${bmet:-999}" -lt "$met" ] && ok || bad "empty cells should leave refusals unknown: $bmet met vs $met"
printf 'schema,id_number,sex,birth_date,household.members.count,household.members.0.relation\n1,440106198506150025,F,1985-06-15,two,spouse\n' > "$T/count.csv"
expect "CSV: a count that is not a number" 4 "household.members: expected a list, got the text 'two'" "$YZ" batch --province guangdong --as-of $D --no-record --quiet "$T/count.csv"

echo "-- no terminal injection"
FORGED='gz-1
已记录：决定编号 FAKE'
ESC=$(printf 'gz\033[2J\033[1;1H')
RLO=$(printf 'gz\342\200\256-1')
for op in "$FORGED" "$ESC" "$RLO" "$(printf '%070d' 0)" " gz-1"; do
    "$YZ" check --province guangdong --as-of $D --db "$T/inj.db" --operator "$op" "$REC" > "$T/out" 2> "$T/err"
    code=$?
    [ $code = 2 ] && ok || bad "operator $(printf '%s' "$op" | od -An -c | head -1): exit $code, expected 2"
    [ ! -e "$T/inj.db" ] && ok || bad "a store was made for a refused operator id"
    [ "$(wc -l < "$T/err")" = 1 ] && ok || bad "the refusal is not one line: $(cat "$T/err")"
    no_byte "operator refusal" "$T/err" '033'
    grep -q '^已记录' "$T/out" "$T/err" && bad "a forged confirmation line was printed" || ok
    "$YZ" batch --province guangdong --as-of $D --db "$T/inj.db" --operator "$op" --quiet --rejects "$T/inj.rejects" tests/batch/ledger.jsonl > /dev/null 2>&1
    [ $? = 2 ] && [ ! -e "$T/inj.db" ] && ok || bad "batch recorded with a refused operator id"
done
expect "the forged line is shown escaped" 2 'gz-1\n已记录：决定编号 FAKE' "$YZ" check --province guangdong --as-of $D --db "$T/inj.db" --operator "$FORGED" "$REC"
expect "a Chinese operator id is fine" 0 "经办人 张三" "$YZ" check --province guangdong --as-of $D --db "$T/ok.db" --operator 张三 "$REC"
# record values in error messages
printf '{"schema":1,"id_number":"440106198506150025","sex":"\\u001b[2J\\u001b[1;1H","birth_date":"1985-06-15","name":"\\u202eabc"}' > "$T/val.json"
"$YZ" check --province guangdong --as-of $D --no-record "$T/val.json" > "$T/out" 2> "$T/err"
no_byte "a record value in an error" "$T/err" '033'
grep -q "sex: '\\\\x1b\[2J\\\\x1b\[1;1H' is not allowed" "$T/err" && ok || bad "the value is not shown escaped: $(cat "$T/err")"
printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15","hukou":{"type":"ur\\nban\\u202e"}}\n' > "$T/val.jsonl"
"$YZ" batch --province guangdong --as-of $D --no-record --quiet "$T/val.jsonl" > "$T/out" 2> "$T/err"
[ "$(wc -l < "$T/err")" = 1 ] && grep -q "'ur\\\\nban\\\\u202e' is not allowed" "$T/err" && ok || bad "batch: the rejected value is not shown escaped: $(cat "$T/err")"
# a file name with a newline and an escape sequence
NAME=$(printf 'a\nb\033[2J.json')
cp "$T/val.json" "$T/$NAME"
"$YZ" check --province guangdong --as-of $D --no-record "$T/$NAME" > "$T/out" 2> "$T/err"
no_byte "a file name" "$T/err" '033'
grep -q 'a\\nb\\x1b\[2J.json: error:' "$T/err" && ok || bad "the file name is not shown escaped: $(cat "$T/err")"
# rule error texts and notes that quote a record value, in the answer, the test report and lint
sed 's/^name: 李华/name: "李华\\e[31m"/' "$REC" > "$T/red.yaml"
sed -e 's/^sex: F/sex: M/' -e 's/^retirement_group: female_worker/retirement_group: male/' -e 's/440106198506150025/440106198506150033/' "$T/red.yaml" > "$T/red-m.yaml"
for r in "$T/red.yaml" "$T/red-m.yaml"; do
    "$YZ" check --province tests/records/inject --as-of $D --no-record "$r" > "$T/out" 2> "$T/err" || bad "check under the inject rules: $(cat "$T/err")"
    no_byte "the answer" "$T/out" '033'
    no_byte "the answer" "$T/out" '007'
    grep -q '^已记录' "$T/out" && bad "the answer holds a forged confirmation line" || ok
done
grep -q '坏\\n已记录：决定编号 FAKE（经办人 gz-1）\\x1b\[2J\\x1b\[1;1H李华\\x1b\[31m' "$T/out" && ok || bad "the rule error is not shown escaped: $(grep 坏 "$T/out" | head -2)"
"$YZ" check --province tests/records/inject --as-of $D --no-record --json "$T/red.yaml" > "$T/out.json"
grep -q '\\n已记录：决定编号 FAKE' "$T/out.json" && ok || bad "--json should keep the rule's text (JSON-escaped) as it is"
finish records
