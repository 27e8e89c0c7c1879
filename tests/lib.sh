# tests/lib.sh: what the shell suites share (sourced, POSIX sh): the pass/fail counters, ok and
# bad, expect, and the closing line.  A suite that needs a stricter expect (tests/hostile: bounded
# time and memory) defines its own after sourcing this.
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect NAME WANT_EXIT TEXT COMMAND...: the exit status, and TEXT in stdout+stderr; returns 1 on
# a failure (the last lines of the output go with the message)
expect() {
    name=$1 want=$2 text=$3
    shift 3
    out=$("$@" 2>&1)
    code=$?
    if [ "$code" != "$want" ]; then bad "$name: exit $code, expected $want; output: $(echo "$out" | tail -n 5)"; return 1; fi
    case $out in *"$text"*) ok ;; *) bad "$name: output lacks '$text': $(echo "$out" | tail -n 5)"; return 1 ;; esac
}
# finish SUITE: the summary line; the exit status says whether anything failed
finish() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" = 0 ]
}
