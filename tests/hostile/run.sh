#!/bin/sh
# tests/hostile/run.sh: hostile rules and hostile files, with the real binary ($YZ_BIN, so make check
# runs them under the sanitizers).
#   rules  tests/hostile/evil: predicates that loop, recurse, allocate, reach for os/io/load/debug,
#          write to the record, raise errors that fight back, return what is not true or false, or
#          try to leave state for the next record; each must end quickly as 'undetermined' with an
#          error at its line (the line marked '--! <id>'), the honest items must still decide, a
#          second and third record must see nothing of the first, and lint must flag what it can.
#   files  policy files and records that are bombs, too deep, too big, not UTF-8, not files at
#          all, or the wrong shape: each gets a clear error and its exit status.
# Every command runs under `timeout` and /usr/bin/time: a hang or a memory blow-up fails the check
# instead of stalling CI.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init hostile
EVIL=tests/hostile/evil
FILES=tests/hostile/files
AS_OF=2025-06-15
LIMIT_S=20      # a command still running after this is killed: the check fails
SLOW_S=8        # ... and one that ends but takes longer than this fails too
MAX_KB=300000   # ... or that used more memory than this
case $YZ in
*asan*) # the sanitizers: shadow memory, and several times slower
    LIMIT_S=80 SLOW_S=40 MAX_KB=1500000 ;;
esac

# run COMMAND...: runs it bounded; sets code, secs, kb; stdout in $T/out, stderr in $T/err
run() {
    /usr/bin/time -f '%e %M' -o "$T/time" timeout "$LIMIT_S" "$@" > "$T/out" 2> "$T/err" < /dev/null
    code=$?
    set -- $(tail -n 1 "$T/time")
    secs=${1:-99}
    kb=${2:-0}
}
# bounded NAME: the last run ended in time and memory
bounded() {
    if [ "$code" = 124 ]; then bad "$1: still running after ${LIMIT_S}s (killed)"; return 1; fi
    if awk -v s="$secs" -v m="$SLOW_S" 'BEGIN { exit !(s > m) }'; then
        bad "$1: took ${secs}s (more than ${SLOW_S}s)"
        return 1
    fi
    if [ "$kb" -gt "$MAX_KB" ]; then bad "$1: used ${kb} KiB (more than $MAX_KB)"; return 1; fi
    return 0
}
# has FILE TEXT: FILE contains TEXT (fixed string)
has() { [ -z "$2" ] || grep -qF -- "$2" "$1"; }
# expect NAME WANT_EXIT TEXT COMMAND...: bounded, exit status, and TEXT in stdout or stderr
expect() {
    name=$1 want=$2 text=$3
    shift 3
    run "$@"
    bounded "$name" || return
    if [ "$code" != "$want" ]; then bad "$name: exit $code, expected $want; $(head -c 600 "$T/err")"; return; fi
    if has "$T/out" "$text" || has "$T/err" "$text"; then ok; else
        bad "$name: output lacks '$text': $(head -c 600 "$T/err") $(head -c 300 "$T/out")"
    fi
}
# json FILE PATH: a value of a JSON file (the sqlite3 shell reads JSON)
json() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"; }
# marker ID [FILE]: the line of FILE (the evil policy) marked '--! ID'
marker() { grep -nE -- "--! $1(\$|[^a-z_])" "${2:-$EVIL/policy.yaml}" | head -n 1 | cut -d: -f1; }
# col LINE TEXT [FILE]: the column (in characters) where TEXT starts on that line
col() {
    sed -n "${1}p" "${3:-$EVIL/policy.yaml}" | awk -v t="$2" '{ i = index($0, t); if (i) { p = substr($0, 1, i - 1); print length(p) + 1 } }'
}

printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15"}\n' > "$T/woman.json"
printf '{"schema":1,"id_number":"440106198301010010","sex":"M","birth_date":"1983-01-01"}\n' > "$T/man.json"

# ------------------------------------------------------------------------------------------------
# hostile rules: one check decides every item

expect "evil: one check decides despite every attack" 0 '"honest_female"' \
    "$YZ" check --province $EVIL --as-of $AS_OF --json --no-record "$T/woman.json"
cp "$T/out" "$T/woman.out.json"
if iconv -f UTF-8 -t UTF-8 "$T/woman.out.json" > /dev/null 2>&1; then ok; else bad "evil: the determination is not valid UTF-8"; fi
sqlite3 -separator '|' :memory: \
    "SELECT 'categories', key, json_extract(value, '\$.status'), json_extract(value, '\$.error') FROM json_each(readfile('$T/woman.out.json'), '\$.categories')
     UNION ALL
     SELECT 'subsidies', key, json_extract(value, '\$.status'), json_extract(value, '\$.error') FROM json_each(readfile('$T/woman.out.json'), '\$.subsidies')" \
    > "$T/items" 2> "$T/sqlerr" || bad "evil: cannot read the determination: $(cat "$T/sqlerr")"

# item KIND ID WANT_TEXT: undetermined, with an error at the marked line saying WANT_TEXT
item() {
    kind=$1 id=$2 want=$3
    line=$(grep "^$kind|$id|" "$T/items")
    if [ -z "$line" ]; then bad "evil $id: not in the determination"; return; fi
    status=$(echo "$line" | cut -d'|' -f3)
    err=$(echo "$line" | cut -d'|' -f4-)
    if [ "$status" != undetermined ]; then bad "evil $id: $status, expected undetermined"; return; fi
    at=$(marker "$id")
    case $err in
    "provinces/evil/policy.yaml:$at: "*) ;;
    *) bad "evil $id: the error does not start with its file and line (policy.yaml:$at): $err"; return ;;
    esac
    case $err in *"$want"*) ok ;; *) bad "evil $id: the error lacks '$want': $err" ;; esac
}
item categories infinite_loop "instruction budget of 1000000 per call was exceeded"
item categories swallowed_loop "instruction budget of 1000000 per call was exceeded"
item categories deep_recursion "stopped:"
item categories rep_gigabyte "memory cap of 64 MiB was exceeded"
item categories rep_empty_forever "must give true or false, this one gave string"
item categories table_growth "stopped:"
item categories churn_strings "stopped: the "
item categories patterns_repeated "exceeded by the work of library functions"
item categories table_move_forever "table.move: 9223372036854775806 elements are more than a rule may move"
item categories lying_length "table.insert: a list of 1152921504606846976 elements"
item categories pattern_backtrack "string.find: this pattern on a text of 40 bytes may take up to"
item categories load_bytecode "attempt to call a nil value (field 'dump')"
item categories reach_os "attempt to index a nil value (global 'os')"
item categories reach_io "attempt to index a nil value (global 'io')"
item categories reach_require "attempt to call a nil value (global 'require')"
item categories reach_debug "attempt to index a nil value (global 'debug')"
item categories reach_package "attempt to index a nil value (global 'package')"
item categories reach_via_g "attempt to index a nil value (global '_G')"
item categories reach_via_env "attempt to index a boolean value"
item categories reach_via_string_meta "attempt to index a boolean value"
item categories write_record "the record is read-only"
item categories finalizer "'__gc' is not allowed in rules"
item categories error_tostring_loops "the rule raised an error that is a table, not text"
item categories error_tostring_errors "the rule raised an error that is a table, not text"
item categories error_huge "长长长"
item categories error_not_utf8 "$(printf '\357\277\275\357\277\275') bad bytes"
budget="instruction budget of 1000000 per call was exceeded"
for id in handler_loop handler_after_stop handler_bounded handler_pcall handler_tostring close_loop close_after_stop \
    index_loop eq_loop lt_loop concat_loop gsub_callback sort_comparator pcall_nesting; do
    item categories $id "stopped: the $budget"
done
item categories handler_recursion "a condition must give true or false, this one gave string"
item categories coroutine_wrap "attempt to index a nil value (global 'coroutine')"
item categories returns_number "this one gave number"
item categories returns_nan "this one gave number"
item categories returns_table "this one gave table"
item categories returns_nothing "this one gave nothing (nil)"
item subsidies amount_float "the amount must be a whole number, got 33.3333333333333"
item subsidies amount_whole_float "the amount must be an integer, got the float 100"
item subsidies amount_nan "got NaN"
item subsidies amount_inf "got infinity"
item subsidies amount_huge "the amount 9223372036854775807 is out of range (0 to 1000000000000)"
item subsidies amount_negative "the amount -100 is out of range"
item subsidies amount_text "the amount must be a whole number, got string"
item subsidies months_negative "the number of months -1 is out of range (0 to 1200)"
item subsidies months_huge "the number of months 1099511627776 is out of range"
# a helper's error names the helper's line after the rule's
line=$(grep '^categories|leak_nested_table|' "$T/items")
case $line in
*"|undetermined|provinces/evil/policy.yaml:"*": provinces/evil/helpers.lua:$(marker bump_nested $EVIL/helpers.lua): cannot assign 'n'"*) ok ;;
*) bad "evil leak_nested_table: expected undetermined at helpers.lua:$(marker bump_nested $EVIL/helpers.lua): $line" ;;
esac
# the 6 MB error message is cut to 1,000 bytes and says so
n=$(json "$T/woman.out.json" '$.categories.error_huge.error' | wc -c)
if [ "$n" -gt 900 ] && [ "$n" -lt 1200 ]; then ok; else bad "evil error_huge: the message is $n bytes, expected about 1,000"; fi
json "$T/woman.out.json" '$.categories.error_huge.error' | grep -q '…$' && ok || bad "evil error_huge: a cut message ends with …"
# the honest items decide as if nothing else were there; the leak detectors see nothing
for want in "categories|honest_female|met|" "categories|honest_male|not_met|" "subsidies|honest_allowance|eligible|" \
    "categories|leak_global|met|" "categories|leak_string_meta|met|" "categories|leak_param|met|" \
    "categories|leak_upvalue|met|" "categories|leak_view|met|" "categories|leak_table_upvalue|met|" \
    "categories|finalizer_added_later|met|" "categories|honest_xpcall|met|"; do
    if grep -qx -- "$want" "$T/items"; then ok; else bad "evil: expected $want, got: $(grep "^${want%|*|}|" "$T/items")"; fi
done
[ "$(json "$T/woman.out.json" '$.subsidies.honest_allowance.amount_fen')" = 50000 ] && ok || bad "evil: honest_allowance is not 50000 fen"
[ "$(json "$T/woman.out.json" '$.target.status')" = met ] && ok || bad "evil: the target is not met"
# every hostile item is accounted for above (a new one in the policy needs a check here)
n_items=$(grep -c '|undetermined|' "$T/items")
n_marked=$(grep -cE -- "--! [a-z0-9_]+('|\$)" $EVIL/policy.yaml)
[ "$n_items" = $((n_marked + 1)) ] && ok || bad "evil: $n_items undetermined items, $n_marked marked in the policy (+1 in helpers)"
[ ! -e /tmp/yz-hostile-pwned ] && ok || bad "evil: reach_os ran a program"

# the same as text for a person
expect "evil: text output names the failing rule and its line" 0 "死循环 —— 规则执行出错，无法确定：provinces/evil/policy.yaml:$(marker infinite_loop): stopped" \
    "$YZ" check --province $EVIL --as-of $AS_OF --no-record "$T/woman.json"

# state left by one record is not seen by the next: three people in one batch (one evaluator per
# worker: --jobs 1 puts them in the same Lua state), and the same as test cases
cat "$T/woman.json" "$T/man.json" "$T/woman.json" > "$T/three.jsonl"
expect "evil: batch of three in one state" 0 "decided 3" \
    "$YZ" batch --province $EVIL --as-of $AS_OF --no-record --jobs 1 --lines "$T/lines" "$T/three.jsonl"
first=$(sed -n 1p "$T/lines") second=$(sed -n 2p "$T/lines") third=$(sed -n 3p "$T/lines")
[ -n "$first" ] && [ "$first" = "$third" ] && ok || bad "evil batch: the third record (same as the first) decided differently: '$first' / '$third'"
for leak in leak_global leak_string_meta leak_param leak_upvalue leak_view leak_table_upvalue; do
    for l in "$first" "$second" "$third"; do
        case ",$(echo "$l" | cut -f2)," in *",$leak,"*) ok ;; *) bad "evil batch: $leak is not met in: $l" ;; esac
    done
done
case "$first|$second" in
*honest_female*"|"*honest_male*) ok ;;
*) bad "evil batch: the honest items did not follow the records: '$first' / '$second'" ;;
esac
case ",$(echo "$second" | cut -f2)," in *",honest_female,"*) bad "evil batch: the man is a woman: $second" ;; *) ok ;; esac
for id in infinite_loop rep_gigabyte reach_os leak_nested_table error_huge; do
    case ",$(echo "$second" | cut -f2)," in *",$id?,"*) ok ;; *) bad "evil batch: $id is not undetermined for the second record: $second" ;; esac
done
expect "evil: test cases, three records in a row" 0 "3 passed, 0 failed" "$YZ" test $EVIL
# the evil rules wear the state out (they allocate up to the cap), so each record above got a
# new Lua state; the leak detectors alone, with the honest items, keep one state for all three
LK=$T/leaks/evil
mkdir -p "$LK"
cp $EVIL/helpers.lua "$LK/"
awk '/^(categories|subsidies):/ { sect = 1; print; next }
     sect && /^  [a-z_]+:/ { keep = ($1 ~ /^(honest|leak)_/) }
     !sect || keep || /^$/ { print }' $EVIL/policy.yaml > "$LK/policy.yaml"
expect "leaks: batch of three in one state" 0 "decided 3" \
    "$YZ" batch --province "$LK" --as-of $AS_OF --no-record --jobs 1 --lines "$T/lines" "$T/three.jsonl"
want_w="440106198506150025	honest_female,honest_xpcall,leak_global,leak_string_meta,leak_param,leak_upvalue,leak_view,leak_table_upvalue,leak_nested_table?	honest_allowance:50000	50000"
want_m="440106198301010010	honest_male,honest_xpcall,leak_global,leak_string_meta,leak_param,leak_upvalue,leak_view,leak_table_upvalue,leak_nested_table?	honest_allowance:50000	50000"
if printf '%s\n%s\n%s\n' "$want_w" "$want_m" "$want_w" | cmp -s - "$T/lines"; then ok; else
    bad "leaks: three records in one state: $(cat "$T/lines")"
fi

# lint flags what it can see
run "$YZ" lint $EVIL
bounded "evil: lint" && { [ "$code" = 3 ] && ok || bad "evil: lint exit $code, expected 3"; }
# flagged ID SEVERITY TEXT WORD: a diagnostic at the marked line, at the column where WORD starts
flagged() {
    at=$(marker "$1")
    c=$(col "$at" "$4")
    if has "$T/err" "$EVIL/policy.yaml:$at:$c: $2: $3"; then ok; else
        bad "lint: no '$EVIL/policy.yaml:$at:$c: $2: $3' in: $(grep ":$at:" "$T/err")"
    fi
}
flagged reach_os error "'os' is not available to rules" "os.execute"
flagged reach_io error "'io' is not available to rules" "io.open"
flagged reach_require error "'require' is not available to rules" "require("
flagged reach_debug error "'debug' is not available to rules" "debug."
flagged reach_package error "'package' is not available to rules" "package."
flagged reach_via_g error "'_G' is not available to rules" "_G."
flagged load_bytecode error "'load' is not available to rules" "load("
flagged load_bytecode error "string.dump is not available" "dump("
flagged write_record error "assigns to r.sex: the rule library, the record (r) and the parameters (P) are read-only" "r.sex ="
flagged finalizer error "a finalizer (__gc) is refused in rules" "__gc"
flagged infinite_loop error "'while true do' with no break, return or error inside never ends" "while"
flagged swallowed_loop error "'while true do' with no break, return or error inside never ends" "while"
flagged handler_loop error "'while true do' with no break, return or error inside never ends" "while"
flagged handler_bounded error "this loop runs 3000000000 times, more than the 1000000 instructions a rule call may run" "for"
flagged close_loop error "'while true do' with no break, return or error inside never ends" "while"
flagged coroutine_wrap error "'coroutine' is not available to rules" "coroutine"
flagged reach_via_env warning "uses _ENV" "_ENV"
flagged reach_via_string_meta warning "getmetatable of a string gives false in rules" "getmetatable"
flagged amount_float warning "'/' gives a float" "/ 3"
flagged amount_nan warning "'/' gives a float" "/0"
flagged amount_inf warning "math.huge is out of the range" "math.huge"
flagged amount_huge warning "math.maxinteger is out of the range" "math.maxinteger"
flagged amount_negative warning "a negative amount or number of months is refused" "-100"
flagged months_negative warning "a negative amount or number of months is refused" "-1"
flagged amount_text warning "an amount is a number, not text" '"100"'
at=$(grep -n 'leaked = true' $EVIL/policy.yaml | cut -d: -f1)
has "$T/err" "$EVIL/policy.yaml:$at:$(col "$at" leaked): error: assigns to 'leaked', which is not a local" && ok ||
    bad "lint: the global assignment at line $at is not flagged"
at=$(grep -n 'string.leak = true' $EVIL/policy.yaml | cut -d: -f1)
has "$T/err" "$EVIL/policy.yaml:$at:$(col "$at" string.leak): error: assigns to string.leak" && ok ||
    bad "lint: the assignment to string.leak at line $at is not flagged"
# ... and nothing on the honest items or the helpers, which are clean as text
for id in honest_female honest_male honest_allowance; do
    at=$(grep -n "^  $id:" $EVIL/policy.yaml | cut -d: -f1)
    grep -q "policy.yaml:$((at + 3)):" "$T/err" && bad "lint: flags the honest $id: $(grep "policy.yaml:$((at + 3)):" "$T/err")" || ok
done
grep -q "helpers.lua" "$T/err" && bad "lint: flags the helpers: $(grep helpers.lua "$T/err")" || ok

# ------------------------------------------------------------------------------------------------
# helpers that cannot be made safe, and rules that cannot compile: the ruleset is refused (exit 3)
# with the file named, before any record is decided

# policy DIR HELPER_TEXT [WHEN]: a one-category policy folder with a helper file
policy() {
    rm -rf "$1"
    mkdir -p "$1"
    cat > "$1/policy.yaml" <<EOF
format: 1
title: 助手测试
region: {code: "990000", name: 测试}
extends: none
effective: {from: 2020-01-01}
lua: [helpers.lua]
sources:
  t: {issuer: t, number: t}
categories:
  woman:
    name: 女性
    basis: {source: t}
    when: '${3:-r.sex == "F" and ok()}'
EOF
    printf '%s\n' "$2" > "$1/helpers.lua"
}
H=$T/h/helpers
policy "$H" 'local it = ("a b"):gmatch("%a")
return {ok = function() return it() ~= nil end}'
expect "helper keeping an iterator: check" 3 "provinces/helpers/helpers.lua: a helper keeps an iterator" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
expect "helper keeping an iterator: lint" 3 "$H/helpers.lua: error: the Lua helpers fail while loading: a helper keeps an iterator" \
    "$YZ" lint "$H"
policy "$H" 'local t = {} for i = 1, 100 do t = {t} end
return {ok = function() return t ~= nil end}'
expect "helper with 100 nested tables" 3 "helpers.lua: a table nested deeper than 32 levels cannot be made read-only" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
policy "$H" 'while true do end'
expect "helper looping while it loads" 3 "provinces/helpers/helpers.lua: stopped: the instruction budget of 50000000" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
policy "$H" 'local s = string.rep("x", 1 << 29) return {ok = function() return true end}'
expect "helper allocating while it loads" 3 "provinces/helpers/helpers.lua: stopped: the memory cap of 64 MiB was exceeded" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
policy "$H" 'leaked = 1 return {ok = function() return true end}'
expect "helper assigning a global: check" 3 "provinces/helpers/helpers.lua:1: cannot assign 'leaked'" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
expect "helper assigning a global: lint" 3 "$H/helpers.lua:1:1: error: assigns to 'leaked', which is not a local" \
    "$YZ" lint "$H"
policy "$H" ''
printf '\033Lua\124\000\031\223\r\n\032\n' > "$H/helpers.lua"
expect "helper that is bytecode" 3 "$H/helpers.lua: error: Lua syntax: attempt to load a binary chunk (mode is 't')" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"
# a NUL byte in a helper's comment compiles (Lua reads past it), but what is stored and hashed is
# text: the folder is refused where the byte is, and nothing is recorded
printf 'local x = 1\n-- 中文\000 trailing\nreturn x\n' > "$H/helpers.lua"
expect "helper with a NUL byte: check" 3 "$H/helpers.lua:2:6: error: the file contains a NUL byte; it is not a text file" \
    "$YZ" check --province "$H" --as-of $AS_OF --operator t --db "$T/nul.db" "$T/woman.json"
[ ! -e "$T/nul.db" ] && ok || bad "helper with a NUL byte: a store was written"
expect "helper with a NUL byte: lint" 3 "$H/helpers.lua:2:6: error: the file contains a NUL byte" "$YZ" lint "$H"
policy "$H" 'return {ok = function() return true end}' 'local x = 1 _ENV = nil return true'
expect "rule replacing _ENV" 3 "$H/policy.yaml:13:11: error: Lua syntax: attempt to assign to const variable '_ENV'" \
    "$YZ" check --province "$H" --as-of $AS_OF --no-record "$T/woman.json"

# a call that keeps C busy on few instructions: two 8 MB texts compared over and over (each
# comparison is one instruction).  Only the CPU-time backstop stops it, and since time depends on
# the machine the decision fails as a whole (exit 3) instead of recording an 'undetermined'.
S=$T/s/slow
policy "$S" 'return {ok = function() return true end}' 'local a, b = string.rep("x", 8 << 20) .. "a", string.rep("x", 8 << 20) .. "b" while true do if a == b then return false end end'
expect "comparing long texts for ever: check" 3 "provinces/slow/policy.yaml:13: stopped after 1 s of CPU time in one call" \
    "$YZ" check --province "$S" --as-of $AS_OF --no-record --cpu-seconds 1 "$T/woman.json"
has "$T/err" "nothing was decided" && ok || bad "slow rule: the message does not say nothing was decided: $(cat "$T/err")"
expect "comparing long texts for ever: recording check" 3 "stopped after 1 s of CPU time" \
    "$YZ" check --province "$S" --as-of $AS_OF --operator t --db "$T/slow.db" --cpu-seconds 1 "$T/woman.json"
n=$(sqlite3 "$T/slow.db" "SELECT count(*) FROM decisions" 2> /dev/null || echo 0)
[ "$n" = 0 ] && ok || bad "slow rule: $n decisions recorded"
cat "$T/woman.json" "$T/man.json" > "$T/two.jsonl"
expect "comparing long texts for ever: batch" 3 "failed 2" \
    "$YZ" batch --province "$S" --as-of $AS_OF --operator t --db "$T/slow.db" --cpu-seconds 1 --jobs 1 "$T/two.jsonl"
n=$(sqlite3 "$T/slow.db" "SELECT count(*) FROM decisions" 2> /dev/null || echo 0)
[ "$n" = 0 ] && ok || bad "slow rule in batch: $n decisions recorded"

# ------------------------------------------------------------------------------------------------
# every record is decided as if it were alone: rules that allocate up to the memory cap and
# recurse without end (tests/hostile/alone) give the same line for a record whatever was decided
# before it in the same Lua state, in any order and with any --jobs, and every recorded decision
# replays, alone or with the others
AL=tests/hostile/alone
awk 'NR % 2 == 1' $AL/records.jsonl > "$T/women.jsonl"
awk 'NR % 2 == 0' $AL/records.jsonl > "$T/men.jsonl"
cp $AL/records.jsonl "$T/order-written.jsonl"
awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' $AL/records.jsonl > "$T/order-reversed.jsonl"
cat "$T/men.jsonl" "$T/women.jsonl" > "$T/order-men-first.jsonl"
cat "$T/women.jsonl" "$T/men.jsonl" > "$T/order-women-first.jsonl"
W=$(printf 'woman,edge_of_cap?,big_alloc,over_cap?,deep_recursion?\t-\t0')
{
    for id in $(cut -d'"' -f6 "$T/women.jsonl"); do printf '%s\t%s\n' "$id" "$W"; done
    for id in $(cut -d'"' -f6 "$T/men.jsonl"); do printf '%s\t-\t-\t0\n' "$id"; done
} | sort > "$T/alone.want"
for run in written:1 reversed:1 men-first:2 women-first:3; do
    order=${run%:*} jobs=${run#*:}
    expect "alone: $order, --jobs $jobs" 0 "decided 6, already decided (skipped) 0, rejected 0" \
        "$YZ" batch --province $AL --as-of $AS_OF --no-record --jobs "$jobs" --lines "$T/lines" "$T/order-$order.jsonl"
    if sort "$T/lines" | cmp -s - "$T/alone.want"; then ok; else
        bad "alone: $order, --jobs $jobs: the lines differ from each record decided alone: $(sort "$T/lines" | diff "$T/alone.want" - | head -n 6)"
    fi
done
# ... each as the only record of a batch (the first record of a new state), and check
for i in 1 2 3; do
    sed -n "${i}p" "$T/order-written.jsonl" > "$T/one.jsonl"
    expect "alone: record $i on its own" 0 "decided 1" "$YZ" batch --province $AL --as-of $AS_OF --no-record --lines "$T/lines" "$T/one.jsonl"
    id=$(cut -d'"' -f6 "$T/one.jsonl")
    grep -qxF -- "$(cat "$T/lines")" "$T/alone.want" && ok || bad "alone: record $i on its own: $(cat "$T/lines")"
done
expect "alone: check of the second woman" 0 "? 内存上限边缘 —— 规则执行出错，无法确定：provinces/alone/policy.yaml:" \
    "$YZ" check --province $AL --as-of $AS_OF --no-record "$T/one.jsonl"
has "$T/out" "✔ 大块内存" && ok || bad "alone: check of the second woman: big_alloc is not met: $(grep 大块内存 "$T/out")"
# recorded by two workers in the order written, then replayed all together and one by one
expect "alone: recorded" 0 "decided 6" "$YZ" batch --province $AL --as-of $AS_OF --operator t --db "$T/alone.db" --jobs 2 "$T/order-written.jsonl"
expect "alone: replay --all" 0 "replayed 6 decisions: 6 match, 0 mismatch, 0 failed" "$YZ" replay --all --db "$T/alone.db"
for id in $(sqlite3 "$T/alone.db" "SELECT id FROM decisions ORDER BY seq"); do
    expect "alone: replay $id" 0 "match: decision $id" "$YZ" replay --db "$T/alone.db" "$id"
done

# ------------------------------------------------------------------------------------------------
# hostile policy files: each in place of a folder's policy.yaml

P=$T/p/hostile
# as_policy FILE: a folder whose policy.yaml is FILE
as_policy() { rm -rf "$P" && mkdir -p "$P" && cp "$1" "$P/policy.yaml"; }
pcheck() { # pcheck NAME TEXT: check against $P refuses the policy (exit 3) with TEXT
    expect "$1" 3 "$2" "$YZ" check --province "$P" --as-of $AS_OF --no-record "$T/woman.json"
}
as_policy $FILES/alias-bomb.yaml
pcheck "policy: billion laughs" "$P/policy.yaml:4:8: error: aliases (*a) are not allowed"
expect "policy: billion laughs, lint" 3 "$P/policy.yaml:3:4: error: anchors (&a) are not allowed" "$YZ" lint "$P"
as_policy $FILES/duplicate-keys.yaml
pcheck "policy: duplicate keys" "$P/policy.yaml:3:1: error: duplicate key 'title' (first defined at line 2)"
as_policy $FILES/tabs.yaml
pcheck "policy: tabs" "$P/policy.yaml:4:1: error: YAML syntax:"
has "$T/err" "(the line contains a tab: YAML indents with spaces only)" && ok || bad "policy: tabs: no hint about the tab"
as_policy $FILES/bad-utf8.yaml
pcheck "policy: invalid UTF-8" "$P/policy.yaml:2:9: error: the file is not valid UTF-8 (byte 0xFF)"
as_policy $FILES/gbk.yaml
pcheck "policy: GBK" "$P/policy.yaml:2:8: error: the file is not valid UTF-8 (byte 0xB9); save it as UTF-8 (a file saved as GBK can be converted with iconv -f GBK -t UTF-8)"
as_policy $FILES/utf16.yaml
pcheck "policy: UTF-16" "$P/policy.yaml:1:1: error: the file is UTF-16; save it as UTF-8"
as_policy $FILES/nul.yaml
pcheck "policy: a NUL byte" "$P/policy.yaml:2: error: the file contains a NUL byte"
as_policy $FILES/empty.yaml
pcheck "policy: empty" "$P/policy.yaml:1:1: error: the policy file is empty"
rm -rf "$P" && mkdir -p "$P/policy.yaml"
pcheck "policy: a folder named policy.yaml" "$P/policy.yaml: error: is a folder, not a file"
rm -rf "$P" && mkdir -p "$P" && ln -s policy.yaml "$P/policy.yaml"
pcheck "policy: a symlink to itself" "$P/policy.yaml: error: cannot read: Too many levels of symbolic links (a broken or looping symbolic link?)"
rm -rf "$P" && mkdir -p "$P" && ln -s b.yaml "$P/policy.yaml" && ln -s policy.yaml "$P/b.yaml"
pcheck "policy: two symlinks in a loop" "$P/b.yaml: error: cannot read: Too many levels of symbolic links"
rm -rf "$P" && mkdir -p "$P" && mkfifo "$P/policy.yaml"
pcheck "policy: a FIFO (no writer: reading would block for ever)" "$P/policy.yaml: error: is a named pipe (FIFO), not a plain file"
rm -rf "$P" && mkdir -p "$P" && ln -s /dev/zero "$P/policy.yaml"
pcheck "policy: /dev/zero (endless)" "$P/policy.yaml: error: is a device, not a plain file"
rm -rf "$P" && mkdir -p "$P" && ln -s . "$P/loop" && cp tests/bench/policy/* "$P/"
expect "policy: a folder containing a link to itself (lint walks cities)" 0 "" "$YZ" lint --today 2026-06-01 "$P"
# generated: too deep, too big
rm -rf "$P" && mkdir -p "$P"
awk 'BEGIN { printf "format: 1\nx: "; for (i = 0; i < 10000; i++) printf "["; for (i = 0; i < 10000; i++) printf "]"; print "" }' > "$P/policy.yaml"
pcheck "policy: 10,000 nested lists" "$P/policy.yaml:2:68: error: nesting deeper than 64 levels"
awk 'BEGIN { print "format: 1"; for (i = 0; i < 2000; i++) { s = ""; for (j = 0; j < i; j++) s = s " "; print s "k" i ":" } }' > "$P/policy.yaml"
pcheck "policy: 2,000 nested mappings" "$P/policy.yaml:66:65: error: nesting deeper than 64 levels"
{ printf 'format: 1\ntitle: "'; head -c 104857600 /dev/zero | tr '\0' a; printf '"\n'; } > "$P/policy.yaml"
pcheck "policy: a 100 MB scalar" "$P/policy.yaml: error: $P/policy.yaml is larger than 8 MiB"
# just under the limit, the file loads (a 7 MB title) and decides
rm -rf "$P" && mkdir -p "$P" && cp tests/bench/policy/helpers.lua "$P/"
{ head -c 7000000 /dev/zero | tr '\0' a | sed 's/^/# /'; echo; sed 's/^title: .*/title: 长标题/' tests/bench/policy/policy.yaml; } > "$P/policy.yaml"
expect "policy: 7 MB just under the limit loads" 0 "核定日期 2026-06-15" "$YZ" check --province "$P" --as-of 2026-06-15 --no-record "$T/woman.json"
expect "policy: no such folder" 2 "unknown province" "$YZ" check --province "$T/none" --as-of $AS_OF --no-record "$T/woman.json"

# ------------------------------------------------------------------------------------------------
# hostile records

B=tests/bench/policy
rcheck() { # rcheck NAME TEXT FILE: check refuses the record (exit 4) with TEXT
    expect "$1" 4 "$2" "$YZ" check --province $B --as-of 2026-06-15 --no-record "$3"
}
rcheck "record: a number beyond double (1e400)" "local_insurance_months: number out of range" $FILES/record-1e400.json
rcheck "record: 2^70 as an integer" "local_insurance_months: expected a whole number, got 1.18059e+21" $FILES/record-2pow70.json
rcheck "record: below int64" "local_insurance_months: expected a whole number" $FILES/record-below-int64.json
rcheck "record: wrong types" "sex: expected text, got a list" $FILES/record-wrong-types.json
for f in "id_number: expected text, got a number" "birth_date: expected a date" "household: expected an object, got the text 'none'" \
    "local_insurance_months: expected a whole number, got the text '30'"; do
    has "$T/err" "$f" && ok || bad "record: wrong types: no '$f' in: $(cat "$T/err")"
done
rcheck "record: duplicate keys" "sex: field given twice" $FILES/record-duplicate-keys.json
rcheck "record: YAML alias bomb" "record-alias.yaml:7:8: error: aliases (*a) are not allowed" $FILES/record-alias.yaml
rcheck "record: invalid UTF-8" "record-bad-utf8.json:1:90: error: the record is not valid UTF-8 (byte 0xFF)" $FILES/record-bad-utf8.json
: > "$T/empty.json"
rcheck "record: empty" "$T/empty.json: error: the record is empty" "$T/empty.json"
rcheck "record: a folder" "cannot read $FILES: it is a directory" $FILES
rcheck "record: /dev/zero (endless)" "cannot read /dev/zero: larger than 16 MiB" /dev/zero
awk 'BEGIN { printf "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\",\"x\":"; for (i = 0; i < 10000; i++) printf "["; for (i = 0; i < 10000; i++) printf "]"; print "}" }' > "$T/deep.json"
rcheck "record: 10,000 nested lists" "deep.json:1:1085: error: nested deeper than 1000 levels: not a record" "$T/deep.json"
awk 'BEGIN { printf "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\",\"household\":{\"members\":["; for (i = 0; i < 10000; i++) printf "%s{\"relation\":\"child\",\"id_number\":\"440106198301010010\"}", (i ? "," : ""); print "]}}" }' > "$T/members.json"
rcheck "record: 10,000 household members" "household.members: 10000 items, more than the 1000 allowed" "$T/members.json"
{ printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15","name":"'; head -c 52428800 /dev/zero | tr '\0' a; printf '"}\n'; } > "$T/big.json"
rcheck "record: a 50 MB string" "cannot read $T/big.json: larger than 16 MiB" "$T/big.json"
expect "record: a pipe is read like a file" 0 "基准测试" sh -c "cat '$T/woman.json' | '$YZ' check --province $B --as-of 2026-06-15 --no-record /dev/stdin"

# batch: the rest of the file is decided around what is rejected
# (the first line that is not ASCII is UTF-8, so the file is taken for UTF-8 and the bad line is one reject)
printf '{"schema":1,"id_number":"440106198506150025","sex":"F","birth_date":"1985-06-15","name":"李华"}\n' > "$T/named.json"
cat "$T/named.json" "$T/big.json" $FILES/record-1e400.json "$T/deep.json" $FILES/record-bad-utf8.json "$T/man.json" > "$T/mixed.jsonl"
expect "batch: a 50 MB line among records" 4 "decided 2, already decided (skipped) 0, rejected 4" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/mixed.jsonl"
for want in "mixed.jsonl:2: error: the line is longer than 16 MiB ($(($(wc -c < "$T/big.json") - 1)) bytes) and was skipped" "mixed.jsonl:3: error: local_insurance_months: number out of range" \
    "mixed.jsonl:4: error: nested deeper than 1000 levels" "mixed.jsonl:5: error: the line is not valid UTF-8"; do
    has "$T/err" "$want" && ok || bad "batch: no '$want' in: $(head -c 800 "$T/err")"
done
[ "$kb" -lt 100000 ] && ok || bad "batch: a 50 MB line took $kb KiB (it is skipped as it arrives)"
# every rejected line is in the rejects file, in order; the long one by its length and first bytes
[ "$(cut -d, -f1 "$T/rejects.jsonl" | wc -l)" = 4 ] && ok || bad "batch: the rejects file has not the 4 rejected lines: $(cut -c1-200 "$T/rejects.jsonl")"
len=$(($(wc -c < "$T/big.json") - 1))
case $(sed -n 1p "$T/rejects.jsonl" | cut -c1-600) in
'{"errors":[{"message":"the line is longer than 16 MiB ('$len' bytes) and was skipped: each record must be on a line of its own"}],"file":"'"$T/mixed.jsonl"'","length":'$len',"line":2,"prefix":"{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\",\"name\":\"aaaa'*'aaaa…"}') ok ;;
*)
    bad "batch: the rejects file does not show the 50 MB line bounded: $(sed -n 1p "$T/rejects.jsonl" | cut -c1-600)" ;;
esac
[ "$(wc -c < "$T/rejects.jsonl")" -lt 4000 ] && ok || bad "batch: the rejects file is $(wc -c < "$T/rejects.jsonl") bytes"
{ printf '['; i=0; while [ $i -lt 40 ]; do head -c 500000 /dev/zero | tr '\0' ' '; printf '{"a":1},'; i=$((i + 1)); done; printf ']'; } > "$T/oneline.jsonl"
expect "batch: a file without line ends" 4 "oneline.jsonl:1: error: the line is longer than 16 MiB (20000322 bytes) and was skipped" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/oneline.jsonl"
printf 'schema,id_number,sex,birth_date,household.members.99999999.relation\n1,440106198506150025,F,1985-06-15,child\n' > "$T/items.csv"
expect "batch: a CSV column naming list item 99999999" 4 "column 'household.members.99999999.relation' names item 99999999 of a list that has at most 1000 items" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/items.csv"
printf 'schema,id_number,sex,birth_date,household.members.count\n1,440106198506150025,F,1985-06-15,99999999999\n' > "$T/count.csv"
expect "batch: a CSV list count of 10^11" 4 "household.members: 1001 items, more than the 1000 allowed" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/count.csv"
printf 'schema,id_number,sex,birth_date,name\n1,440106198506150025,F,1985-06-15,张三\n' | iconv -f UTF-8 -t GBK > "$T/gbk.csv"
expect "batch: GBK CSV without --encoding" 4 "gbk.csv:2:35: error: not valid UTF-8 (byte 0xD5): Excel in China saves CSV as GBK; add --encoding gbk" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/gbk.csv"
{ printf 'schema,id_number,sex,birth_date,name\n1,440106198506150025,F,1985-06-15,李华\n'; tail -n 1 "$T/gbk.csv"; } > "$T/mixed.csv"
expect "batch: a GBK row in a UTF-8 CSV" 4 "mixed.csv:3: error: the row is not valid UTF-8 (use --encoding gbk for GBK files)" \
    "$YZ" batch --province $B --as-of 2026-06-15 --no-record --jobs 2 --rejects "$T/rejects.jsonl" "$T/mixed.csv"
has "$T/out" "decided 1, already decided (skipped) 0, rejected 1" && ok || bad "batch: a GBK row in a UTF-8 CSV: $(head -3 "$T/out")"
# the largest amounts a rule may grant, over many records: the sums stop instead of wrapping
A=$T/a/amounts
mkdir -p "$A"
cat > "$A/policy.yaml" <<'EOF'
format: 1
title: 最大金额
region: {code: "990000", name: 测试}
extends: none
effective: {from: 2020-01-01}
sources:
  t: {issuer: t, number: t}
categories:
  woman: {name: 女性, basis: {source: t}, when: 'r.sex == "F"'}
subsidies:
  most:
    name: 上限补贴
    basis: {source: t}
    for: targets
    when: 'true'
    amount: {fen: '1000000000000', per: month}
    months: '1200'
EOF
yes "$(cat "$T/woman.json")" | head -n 8000 > "$T/8000.jsonl"
expect "batch: 8,000 records granted the most" 0 "too large to add up" \
    "$YZ" batch --province "$A" --as-of $AS_OF --no-record --jobs 2 "$T/8000.jsonl"
grep -qE -- ' -[0-9]' "$T/out" && bad "batch: a negative sum: $(grep -E -- ' -[0-9]' "$T/out")" || ok

finish hostile
