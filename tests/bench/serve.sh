#!/bin/sh
# tests/bench/serve.sh (make bench, make bench-serve): yuanzhu serve over loopback, measured with
# wrk: determinations/s and latency percentiles (p50, p90, p99) of POST /v1/determinations for the
# example applicant, without recording (dry_run) and with recording (one writer, group commit),
# BENCH_SECONDS (default 5) each with BENCH_CONNECTIONS (default 8) connections.  A measurement,
# not a test (goal: p99 under 5 ms without recording on 2 cores; cite only figures from a quiet
# machine).  After the recording run, the chain is verified.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
YZ=$ROOT/bin/yuanzhu
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-8}
W=$(mktemp -d "${TMPDIR:-/tmp}/yz-bench-serve.XXXXXX")
spid=""
trap '[ -n "$spid" ] && kill -TERM $spid 2>/dev/null; rm -rf "$W"' EXIT
command -v wrk > /dev/null || { echo "make bench: wrk is missing (Debian's wrk; make deps-bench installs it)" >&2; exit 2; }
tok=$("$YZ" token add --tokens "$W/tokens" --operator bench --role admin 2>/dev/null)
# the example applicant as JSON (the record as stored), inside a request body
"$YZ" check --province guangdong --as-of 2025-06-15 --operator bench --db "$W/x.db" schemas/examples/applicant.yaml > /dev/null
id=$(sqlite3 "$W/x.db" "SELECT id FROM decisions LIMIT 1")
rec=$("$YZ" show --input --db "$W/x.db" "$id")
for dry in true false; do
    printf '{"province":"guangdong","as_of":"2025-06-15","dry_run":%s,"record":%s}' "$dry" "$rec" > "$W/body-$dry.json"
    cat > "$W/post-$dry.lua" <<LUA
local f = io.open("$W/body-$dry.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
done_status = {}
response = function(status, headers, body)
  done_status[status] = (done_status[status] or 0) + 1
end
LUA
done
. tests/lib.sh
serve_start "$W/serve.log" --listen 127.0.0.1:0 --db "$W/s.db" --tokens "$W/tokens" || true
spid=$serve_pid
url=$serve_url
[ -n "$url" ] || { cat "$W/serve.log"; exit 1; }
echo "yuanzhu serve on $url: $(nproc) CPUs, ${CONNS} connections, ${SECS} s each, wrk -t1"
for dry in true false; do
    # a short warm-up: every HTTP thread builds its evaluator once
    wrk -t1 -c"$CONNS" -d1s -s "$W/post-$dry.lua" "$url/v1/determinations" > /dev/null
    before=$(sqlite3 "$W/s.db" "SELECT count(*) FROM decisions" 2>/dev/null || echo 0)
    wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$W/post-$dry.lua" "$url/v1/determinations" > "$W/wrk-$dry.txt"
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$W/wrk-$dry.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$W/wrk-$dry.txt")
    p90=$(awk '$1 == "90%" {print $2}' "$W/wrk-$dry.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$W/wrk-$dry.txt")
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$W/wrk-$dry.txt")
    label=$([ $dry = true ] && echo "without recording" || echo "with recording   ")
    printf '  %s  %8s determinations/s   p50 %-8s p90 %-8s p99 %-8s  errors %s\n' "$label" "$rps" "$p50" "$p90" "$p99" "${non2xx:-0}"
    if [ $dry = false ]; then
        after=$(sqlite3 "$W/s.db" "SELECT count(*) FROM decisions")
        echo "  recorded $((after - before)) decisions in the measured run; $("$YZ" audit verify --db "$W/s.db")"
    fi
done
kill -TERM $spid
wait $spid || true
spid=""
