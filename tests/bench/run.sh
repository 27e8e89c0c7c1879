#!/bin/sh
# tests/bench/run.sh (make bench): yuanzhu's batch speed on the shared benchmark kit, side by side
# with the peer engines.  A measurement, not a test: nothing here is asserted except that the
# outputs agree.
#
#  1. generates BENCH_N (default 200,000) schema-v1 records with the kit's gen.py (seed 7);
#  2. checks that yuanzhu's canonical lines agree byte for byte with the four peers on the first
#     10,000 (the kit's verify.sh), both from a recording run and from --no-record;
#  3. times `batch` with full recording (validation, explanations, audit chain; a fresh store each
#     run) and with --no-record: records/s, CPU, peak RSS; store bytes per decision; `audit verify`
#     events/s on the store just written; `replay --all` of it against --no-record;
#     then times the ledger over that store: export (CSV, JSON Lines) and due (decisions/s);
#     then `impact` of a reform of the bench policy over the same records against --no-record;
#  4. runs the kit's compare.sh for the peers' figures in the same run (BENCH_COMPARE=0 skips it;
#     PEERS, SLOW_N and RUNS are passed through; SLOW_N defaults to 50000).
#  BENCH_MILLION=1 also measures peak RSS of both modes on 1,000,000 records, and of export over the
#  1,000,000-decision store.
#
# The kit lives in ../shared/bench next to the project (BENCH_KIT=PATH to point elsewhere).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
YZ=$ROOT/bin/yuanzhu
POLICY=$ROOT/tests/bench/policy
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
[ -f "$KIT/gen.py" ] || { echo "make bench: the benchmark kit is not at $KIT (set BENCH_KIT=/path/to/shared/bench)" >&2; exit 2; }
KIT=$(cd "$KIT" && pwd)
N=${BENCH_N:-200000}
W=$ROOT/build/bench
mkdir -p "$W"
DATA=$W/a$N.jsonl
export YUANZHU_OPERATOR=bench

command -v /usr/bin/time > /dev/null 2>&1 || "$KIT/setup.sh" --time > /dev/null
if [ ! -s "$DATA" ]; then
    echo "generating $N records into $DATA ..."
    python3 "$KIT/gen.py" "$N" "$DATA" --seed 7
fi
V=$W/a10k.jsonl
head -n 10000 "$DATA" > "$V"

# wrappers in the shape compare.sh wants: the data path comes last
cat > "$W/yz-record.sh" << EOF
#!/bin/sh
rm -f "$W/bench.db" "$W/bench.db-wal" "$W/bench.db-shm"
exec "$YZ" batch --quiet --province "$POLICY" --as-of 2026-07-01 --db "$W/bench.db" "\$@"
EOF
cat > "$W/yz-norecord.sh" << EOF
#!/bin/sh
exec "$YZ" batch --quiet --no-record --province "$POLICY" --as-of 2026-07-01 "\$@"
EOF
chmod +x "$W/yz-record.sh" "$W/yz-norecord.sh"

echo "== agreement with the peers (first 10,000 records)"
"$W/yz-record.sh" --lines "$W/yz-record.tsv" "$V"
"$W/yz-norecord.sh" --lines "$W/yz-norecord.tsv" "$V"
"$KIT/verify.sh" "$V" "$W/yz-record.tsv" "$W/yz-norecord.tsv"

timed() { # timed LABEL CMD...: prints records/s, wall, cpu, peak RSS
    label=$1
    shift
    /usr/bin/time -o "$W/time" -f '%e %U %S %M' "$@" > /dev/null
    awk -v n="$N" -v l="$label" '{ printf "  %-28s %9.0f records/s  wall %6.2f s  cpu %6.2f s  peak RSS %5.0f MB\n", l, n / $1, $1, $2 + $3, $4 / 1024 }' "$W/time"
}

echo
echo "== yuanzhu batch on $N records ($(nproc) CPUs)"
timed "full recording" "$W/yz-record.sh" "$DATA"
sqlite3 "$W/bench.db" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
bytes=$(stat -c %s "$W/bench.db")
decisions=$(sqlite3 "$W/bench.db" "SELECT count(*) FROM decisions")
echo "  store: $bytes bytes, $((bytes / decisions)) bytes per decision (input and trace included)"
/usr/bin/time -o "$W/time" -f '%e' "$YZ" audit verify --db "$W/bench.db" | sed 's/^/  /'
awk -v n="$((decisions + 1))" '{ printf "  audit verify: %.0f events/s (%.2f s for %d events)\n", n / $1, $1, n }' "$W/time"
timed "--no-record" "$W/yz-norecord.sh" "$DATA"
norecord_first=$(cut -d' ' -f1 "$W/time")
# replay --all decides every stored decision again from the stored ruleset and input and compares
# the bytes (goal: at least half of --no-record's rate)
timed "replay --all" "$YZ" replay --all --db "$W/bench.db"
awk -v a="$norecord_first" '{ printf "  replay --all / --no-record: %.2fx the speed (goal: at least 0.5x)\n", a / $1 }' "$W/time"

# the ledger over the store just recorded: export streams every decision; due follows each person's
# newest decision (evaluations per person: the monthly grid of the window, the dates the rules
# expose, a bisection per change)
echo
echo "== the ledger over the $decisions decisions of that store"
timed "export csv" "$YZ" export --db "$W/bench.db" --output /dev/null
timed "export jsonl --mask" "$YZ" export --db "$W/bench.db" --format jsonl --mask --output /dev/null
timed "due --by 2026-12-31" "$YZ" due --db "$W/bench.db" --by 2026-12-31 --json
timed "due --by 2026-07-31" "$YZ" due --db "$W/bench.db" --by 2026-07-31 --json
"$YZ" due --db "$W/bench.db" --by 2026-12-31 --json | grep -o '"cause":"[a-z_]*"' | sort | uniq -c | sed 's/^ */  due rows by cause: /' 

# impact: every record decided under the bench policy and a reform of it (the minimum wage 2,300
# yuan instead of 2,100), nothing recorded; against --no-record in the same run (goal: at least
# half its speed, since impact decides every record twice)
echo
echo "== yuanzhu impact on $N records (reform: minimum wage 2,100 -> 2,300 yuan)"
rm -rf "$W/reform"
cp -R "$POLICY" "$W/reform"
sed -i 's/min_wage_fen: {\(.*\)value: 210000}/min_wage_fen: {\1value: 230000}/' "$W/reform/policy.yaml"
grep -q 'value: 230000' "$W/reform/policy.yaml" || { echo "make bench: the reform was not written" >&2; exit 1; }
timed "--no-record (beside impact)" "$W/yz-norecord.sh" "$DATA"
norecord=$(cut -d' ' -f1 "$W/time")
timed "impact (two rulesets)" "$YZ" impact --quiet --json --baseline "$POLICY" --reform "$W/reform" --as-of 2026-07-01 "$DATA"
awk -v a="$norecord" '{ printf "  impact / --no-record: %.2fx the speed (goal: at least 0.5x)\n", a / $1 }' "$W/time"
"$YZ" impact --quiet --baseline "$POLICY" --reform "$W/reform" --as-of 2026-07-01 --jobs 1 "$V" | sed -n '/^一、/,/^二、/p' | sed '$d; s/^/  /'

if [ "${BENCH_MILLION:-0}" = 1 ]; then
    M=$W/a1000000.jsonl
    [ -s "$M" ] || { echo "generating 1,000,000 records into $M ..."; python3 "$KIT/gen.py" 1000000 "$M" --seed 7; }
    echo
    echo "== peak RSS on 1,000,000 records"
    n0=$N
    N=1000000
    timed "full recording (1M)" "$W/yz-record.sh" "$M"
    timed "export csv (1M decisions)" "$YZ" export --db "$W/bench.db" --output /dev/null
    timed "--no-record (1M)" "$W/yz-norecord.sh" "$M"
    N=$n0
    rm -f "$W/bench.db" "$W/bench.db-wal" "$W/bench.db-shm"
fi

if [ "${BENCH_COMPARE:-1}" = 1 ]; then
    export SLOW_N=${SLOW_N:-50000}
    echo
    echo "== compare.sh: full recording against the peers"
    "$KIT/compare.sh" "$DATA" -- "$W/yz-record.sh"
    echo
    echo "== compare.sh: --no-record against the JavaScript baseline"
    PEERS=${PEERS_NORECORD:-parse plain} "$KIT/compare.sh" "$DATA" -- "$W/yz-norecord.sh"
fi
rm -f "$W/bench.db" "$W/bench.db-wal" "$W/bench.db-shm"
