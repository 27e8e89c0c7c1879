# tests/lib.sh: what the shell suites share (sourced, POSIX sh): the set-up (suite_init), the
# pass/fail counters, ok and bad, expect, and the closing line.  A suite starts with
#     set -u
#     . "$(dirname "$0")/../lib.sh"
#     suite_init NAME  A suite that needs a stricter expect (tests/hostile: bounded
# time and memory) defines its own after sourcing this.
pass=0
fail=0
# suite_init NAME: the repository root as the working folder (and ROOT), YZ the binary under test
# (YZ_BIN, absolute or relative to the root; bin/yuanzhu by default, as an absolute path), T a new
# temporary folder yz-NAME.XXXXXX removed at exit (a suite with more to clean sets its own trap)
suite_init() {
    cd "$(dirname "$0")/../.." || exit 1
    ROOT=$(pwd)
    case ${YZ_BIN:-bin/yuanzhu} in
    /*) YZ=$YZ_BIN ;;
    *) YZ=$ROOT/${YZ_BIN:-bin/yuanzhu} ;;
    esac
    T=$(mktemp -d "${TMPDIR:-/tmp}/yz-$1.XXXXXX") || exit 1
    trap 'rm -rf "$T"' EXIT
}
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
# serve_start LOG ARGS...: starts `$YZ serve ARGS` in the background with its output in LOG; sets
# serve_pid, and serve_url once it says where it listens (returns 1 if it stopped first)
serve_start() {
    log=$1
    shift
    : > "$log"
    "$YZ" serve "$@" > "$log" 2>&1 &
    serve_pid=$!
    serve_url=""
    for i in $(seq 200); do
        serve_url=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' "$log")
        [ -n "$serve_url" ] && return 0
        kill -0 $serve_pid 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
