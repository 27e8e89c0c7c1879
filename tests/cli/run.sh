#!/bin/sh
# tests/cli/run.sh: command-line tests.  Each folder under tests/cli/cases holds
#   cmd        one shell command, run from the project root with $YZ set to the binary
#   stdout     expected standard output        (optional: absent = not compared)
#   stderr     expected standard error         (optional)
#   exit       expected exit status            (required)
# Outputs are normalised before comparing: 64-hex ruleset ids become <ID>, their 12-hex prefix
# <ID12>.  `tests/cli/run.sh --update [CASE...]` rewrites the expected files from the actual output
# (review the diff before committing).
set -u
cd "$(dirname "$0")/../.."
YZ=${YZ_BIN:-bin/yuanzhu}
export YZ
update=0
if [ "${1:-}" = --update ]; then update=1; shift; fi
out=$(mktemp -d "${TMPDIR:-/tmp}/yz-cli.XXXXXX")
trap 'rm -rf "$out"' EXIT
norm() {
    sed -E -e 's/[0-9a-f]{64}/<ID>/g' -e 's/规则集 [0-9a-f]{12}/规则集 <ID12>/g' -e 's/决定编号 [0-9a-f]{16}/决定编号 <DECISION>/g' "$1"
}
pass=0
fail=0
for dir in tests/cli/cases/*/; do
    name=$(basename "$dir")
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    [ -f "$dir/cmd" ] || continue
    sh -c "$(cat "$dir/cmd")" > "$out/stdout" 2> "$out/stderr" < /dev/null
    code=$?
    norm "$out/stdout" > "$out/stdout.n"
    norm "$out/stderr" > "$out/stderr.n"
    if [ $update = 1 ]; then
        echo "$code" > "$dir/exit"
        cp "$out/stdout.n" "$dir/stdout"
        cp "$out/stderr.n" "$dir/stderr"
        echo "updated $name"
        continue
    fi
    ok=1
    want=$(cat "$dir/exit")
    if [ "$code" != "$want" ]; then
        echo "FAIL $name: exit $code, expected $want"
        ok=0
    fi
    for s in stdout stderr; do
        if [ -f "$dir/$s" ] && ! cmp -s "$dir/$s" "$out/$s.n"; then
            echo "FAIL $name: $s differs:"
            diff -u "$dir/$s" "$out/$s.n" | sed -n '3,40p'
            ok=0
        fi
    done
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
[ $update = 1 ] && exit 0
echo "cli: $pass passed, $fail failed"
[ $fail = 0 ]
