#!/bin/sh
# tests/run.sh: every test, in order; the last line says whether all passed.
#   unit tests (C)  ->  CLI tests  ->  lint of every policy  ->  every province's YAML tests
#   ->  the documented example policy  ->  generated docs up to date
# YZ_BIN / YZ_UNIT select the binaries (make check runs this with the sanitizer build).
set -u
cd "$(dirname "$0")/.."
YZ=${YZ_BIN:-bin/yuanzhu}
UNIT=${YZ_UNIT:-build/unit}
export YZ_BIN="$YZ"
failed=""
step() {
    name=$1
    shift
    printf '\n== %s\n' "$name"
    if "$@"; then :; else failed="$failed $name"; fi
}
doc_example() {
    dir=$(mktemp -d "${TMPDIR:-/tmp}/yz-doc.XXXXXX")/example
    mkdir -p "$dir"
    awk '/^```yaml$/{n++; if (n == 1) {f = 1; next}} /^```$/{f = 0} f' docs/policy-format.md > "$dir/policy.yaml"
    awk '/^```lua$/{n++; if (n == 1) {f = 1; next}} /^```$/{f = 0} f' docs/policy-format.md > "$dir/helpers.lua"
    "$YZ" lint --today 2025-01-01 "$dir" && echo "docs/policy-format.md: the example policy is clean"
    rc=$?
    rm -rf "$(dirname "$dir")"
    return $rc
}
doc_batch() { # the CSV example of docs/batch.md is a valid ledger row
    f=$(mktemp "${TMPDIR:-/tmp}/yz-doc.XXXXXX.csv")
    awk '/^```csv$/{f = 1; next} /^```$/{f = 0} f' docs/batch.md > "$f"
    out=$("$YZ" batch --province guangdong --as-of 2026-06-15 --no-record "$f" 2>&1)
    rc=$?
    rm -f "$f"
    case $rc:$out in
    0:*"decided 1, already decided (skipped) 0, rejected 0"*) echo "docs/batch.md: the CSV example is a valid ledger" ;;
    *) echo "docs/batch.md: the CSV example does not decide (exit $rc): $out"; return 1 ;;
    esac
}
libdoc() {
    scripts/libdoc.sh | cmp -s - docs/rules-library.md && echo "docs/rules-library.md is up to date" && return 0
    echo "docs/rules-library.md is out of date: run scripts/libdoc.sh > docs/rules-library.md"
    return 1
}
step unit "$UNIT"
step embed tests/embed/run.sh
step serve tests/serve/run.sh
step install tests/install/run.sh
step cli tests/cli/run.sh
step store tests/store/run.sh
step sign tests/sign/run.sh
step store-edges tests/store/edges.sh
step records tests/records/run.sh
step schema tests/schema/run.sh
step batch tests/batch/run.sh
step crash tests/crash/run.sh
step ledger tests/ledger/run.sh
step impact tests/impact/run.sh
[ -x tests/hostile/run.sh ] && step hostile tests/hostile/run.sh
[ -x tests/faults/run.sh ] && step faults tests/faults/run.sh
[ -x tests/fuzz/regress.sh ] && step fuzz-regress tests/fuzz/regress.sh
step lint "$YZ" lint --today 2025-01-01 rules/national provinces
step provinces "$YZ" test provinces
step doc-example doc_example
step doc-batch doc_batch
step libdoc libdoc
echo
if [ -n "$failed" ]; then
    echo "FAILED:$failed"
    exit 1
fi
echo "all tests passed"
