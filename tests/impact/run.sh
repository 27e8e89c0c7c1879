#!/bin/sh
# tests/impact/run.sh: yuanzhu impact against what can be worked out without it.
#  - the null reform on every province (the folder itself, and a copy of it elsewhere): nothing
#    changes anywhere in the report, on a ledger where many are targets;
#  - Guangdong's 大龄 threshold for women raised from 40 to 45 in a copy of the folder: who
#    crosses it is counted here in Python from the birth dates and the baseline's canonical lines
#    (batch --lines), and the report must say exactly that: the category's transitions, the
#    targets lost, every subsidy lost and the change of the whole-period cost, and the first
#    example is the first such record of the ledger;
#  - the same records as CSV and as JSON Lines give the same report; the report is the same with
#    1 and 2 worker threads; the population's SHA-256 is the file's (sha256sum);
#  - --store: each person's newest record (a person recorded again with another record counts
#    once, with the new record);
#  - a reform with errors (one only lint finds, which check would still use) is refused;
#    usage and input errors; a rejected record is listed and the rest reported;
#  - the HTML report loads nothing, and opens in headless Chromium with its SVG charts in the DOM and
#    in the screenshot and no console message (tests/impact/test_html.py).
# Ledgers come from tests/impact/gen.py (deterministic); nothing here reads ../shared.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init impact
D=2026-06-15
GEN="python3 tests/impact/gen.py"
export YUANZHU_OPERATOR=impact-test

# json FILE EXPR: evaluates a Python expression over the report d (prints it)
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- the null reform, every province ----------------------------------------------------------
cat > "$T/zero.py" << 'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
def matrix(name, m):
    for b in m:
        for r in m[b]:
            if b != r and m[b][r]:
                bad.append("%s: %s -> %s: %d" % (name, b, r, m[b][r]))
matrix("target", d["target"]["transitions"])
for it in d["categories"] + d["subsidies"]:
    matrix(it["id"], it["transitions"])
    for k in ("monthly_fen", "whole_period_fen"):
        if k in it and it[k]["change"]:
            bad.append("%s %s change %d" % (it["id"], k, it[k]["change"]))
    if it.get("amount_lower") or it.get("amount_higher"):
        bad.append(it["id"] + " amounts changed")
for c in d["changes"]:
    if c["bucket"] not in ("unchanged", "undetermined") and c["persons"]:
        bad.append("bucket " + c["bucket"])
    if c["whole_period_change_fen"] or c["monthly_change_fen"]:
        bad.append("bucket %s changes money" % c["bucket"])
if d["cost"]["monthly_fen"]["change"] or d["cost"]["whole_period_fen"]["change"]:
    bad.append("cost changes")
if d["examples"]:
    bad.append("examples of changes: %d" % len(d["examples"]))
if not (d["self_check"]["null_reform"] and d["self_check"]["zero_change"] and d["reconciliation"]["ok"]):
    bad.append("self check / reconciliation: %r %r" % (d["self_check"], d["reconciliation"]["ok"]))
# not vacuous: many decided, some of them targets, some money
if d["population"]["decided"] < 150 or d["target"]["before"]["met"] < 20 or not d["cost"]["monthly_fen"]["baseline"]:
    bad.append("the ledger decides too little to show anything: %r" % d["target"]["before"])
print("; ".join(bad))
EOF
for p in guangdong guangdong/guangzhou guangdong/zhuhai zhejiang sichuan shandong/qingdao shanghai; do
    f=$T/$(echo $p | tr / -).jsonl
    $GEN $p 200 > "$f"
    "$YZ" impact --quiet --baseline $p --reform provinces/$p --as-of $D --json "$f" > "$T/null.json" 2> "$T/null.err"
    rc=$?
    problems=$(python3 "$T/zero.py" "$T/null.json" 2>&1)
    [ $rc = 0 ] && [ -z "$problems" ] && ok || bad "null reform $p (exit $rc): $problems $(head -c 300 "$T/null.err")"
    # the same rules from a copy of the folder: another path, the same ruleset id
    mkdir -p "$T/copy/$p" && cp -R provinces/$p/. "$T/copy/$p/"
    "$YZ" impact --quiet --baseline $p --reform "$T/copy/$p" --as-of $D --json "$f" > "$T/null2.json" 2>&1
    rc=$?
    problems=$(python3 "$T/zero.py" "$T/null2.json" 2>&1)
    [ $rc = 0 ] && [ -z "$problems" ] && ok || bad "null reform from a copy of $p (exit $rc): $problems"
done
"$YZ" impact --quiet --baseline guangdong --reform provinces/guangdong --as-of $D "$T/guangdong.jsonl" > "$T/null.txt" 2>&1
grep -q "零改革自检.*结果无任何变化 ✔" "$T/null.txt" && grep -q "模拟测算：未记录任何决定" "$T/null.txt" && ok ||
    bad "the text does not say the null reform changed nothing, or that nothing was recorded: $(head -12 "$T/null.txt")"

# ---- a parameter change, worked out independently ----------------------------------------------
G=$T/guangdong.jsonl
R=$T/gd45
cp -R provinces/guangdong "$R"
python3 - "$R/policy.yaml" << 'EOF'
import sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
import re
# the reform: the women's threshold of 大龄失业人员 raised from 40 to 45
s, n = re.subn(r"(\n  older_age_female:\n(?:    .*\n)*?    value: )40\n", r"\g<1>45\n", s)
assert n == 1
open(p, "w", encoding="utf-8").write(s)
EOF
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json "$G" > "$T/gd45.json" 2> "$T/gd45.err"
expect_rc=$?
[ $expect_rc = 0 ] && ok || bad "impact of the 45 reform: exit $expect_rc: $(cat "$T/gd45.err")"
"$YZ" batch --quiet --no-record --province guangdong --as-of $D --lines "$T/base.tsv" "$G" || bad "batch --lines of the baseline"
cat > "$T/cross.py" << 'EOF'
import datetime, json, sys
ledger, lines, report = sys.argv[1:4]
d = json.load(open(report))
asof = datetime.date(2026, 6, 15)
loans = {s["id"] for s in d["subsidies"] if s["period"]["baseline"] == "loan"}
def age(b):
    b = datetime.date.fromisoformat(b)
    return asof.year - b.year - ((asof.month, asof.day) < (b.month, b.day))
cross = 0; lost = 0; to_und = 0; first = None; sub_lost = {}; whole = 0
for n, (rec, line) in enumerate(zip(open(ledger), open(lines)), 1):
    rec = json.loads(rec)
    _, cats, subs, _ = line.rstrip("\n").split("\t")
    met = {c for c in cats.split(",") if c != "-" and not c.endswith("?")}
    und = {c for c in cats.split(",") if c.endswith("?")}
    if "older_unemployed" not in met or rec["sex"] != "F" or not 40 <= age(rec["birth_date"]) < 45:
        continue
    cross += 1
    first = first or n
    if met - {"older_unemployed"}:
        continue  # still a target through another category
    if und:
        to_und += 1
        continue
    lost += 1
    for s in subs.split(","):
        if s == "-":
            continue
        sid, amount = s.split(":")
        sub_lost[sid] = sub_lost.get(sid, 0) + 1
        if sid not in loans:
            whole -= int(amount)
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append("%s: report %r, counted %r" % (what, got, exp))
older = [c for c in d["categories"] if c["id"] == "older_unemployed"][0]
want("older_unemployed met -> not_met", older["transitions"]["met"]["not_met"], cross)
want("older_unemployed lost", older["lost"], cross)
want("older_unemployed gained", older["gained"], 0)
for c in d["categories"]:
    if c["id"] != "older_unemployed":
        want(c["id"] + " changes", c["lost"] + c["gained"], 0)
want("targets met -> not_met", d["target"]["transitions"]["met"]["not_met"], lost)
want("targets met -> undetermined", d["target"]["transitions"]["met"]["undetermined"], to_und)
want("targets gained", d["target"]["gained"], 0)
for s in d["subsidies"]:
    want(s["id"] + " met -> not_met", s["transitions"]["eligible"]["not_eligible"], sub_lost.get(s["id"], 0))
want("whole-period cost change", d["cost"]["whole_period_fen"]["change"], whole)
ex = [e for e in d["examples"] if e.get("id") == "older_unemployed" and e["from"] == "met"]
want("first example's line", ex and ex[0]["records"][0]["line"], first)
if cross < 5 or lost < 1:
    bad.append("the ledger has too few women crossing the threshold to test: %d (%d lose the status)" % (cross, lost))
print("; ".join(bad))
print("crossing %d, losing the status %d, whole-period change %d fen" % (cross, lost, whole), file=sys.stderr)
EOF
problems=$(python3 "$T/cross.py" "$G" "$T/base.tsv" "$T/gd45.json" 2> "$T/cross.log") || problems="cross.py failed: $(tail -3 "$T/cross.log")"
[ -z "$problems" ] && ok || bad "the 45 reform: $problems"
cat "$T/cross.log"
# the reconciliation, added up here from the JSON
problems=$(python3 - "$T/gd45.json" 2>&1 << 'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = []
for side in ("baseline", "reform"):
    for k in ("monthly_fen", "whole_period_fen"):
        subs = sum(s[k][side] for s in d["subsidies"] if s["period"][side] != "loan" and s["period"][side])
        regs = sum(r[k][side] for r in d["regions"])
        if not subs == regs == d["cost"][k][side]:
            bad.append("%s %s: subsidies %d, regions %d, total %d" % (side, k, subs, regs, d["cost"][k][side]))
ch = sum(c["whole_period_change_fen"] for c in d["changes"])
if ch != d["cost"]["whole_period_fen"]["change"]:
    bad.append("buckets %d != total change %d" % (ch, d["cost"]["whole_period_fen"]["change"]))
if sum(c["persons"] for c in d["changes"]) != d["population"]["decided"]:
    bad.append("buckets do not count everyone")
if not d["reconciliation"]["ok"] or not all(c["ok"] for c in d["reconciliation"]["checks"]):
    bad.append("the report's own reconciliation failed")
for e in d["examples"]:
    for r in e["records"]:
        i = r["id_number"]
        if not (len(i) == 18 and i[:6].isdigit() and i[6:14] == "********" and i[14:17].isdigit()):
            bad.append("unmasked or malformed id " + i)
print("; ".join(bad))
EOF
)
[ -z "$problems" ] && ok || bad "reconciliation of the 45 reform: $problems"
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D "$G" > "$T/gd45.txt" 2>&1
# the reasons after the change say the new threshold (the policy's texts take it from the parameter)
grep -q "核对：通过 ✔" "$T/gd45.txt" && grep -q "大龄失业人员：符合→不符合" "$T/gd45.txt" && ! grep -q "零改革自检" "$T/gd45.txt" &&
    grep -q "后：✘ 大龄失业人员 —— 未达到大龄年龄条件（女45周岁、男50周岁）" "$T/gd45.txt" && ok ||
    bad "the text report of the 45 reform: $(sed -n '/二、/,/三、/p' "$T/gd45.txt" | tail -12)"

# ---- the same report whatever the format, the threads, the run ---------------------------------
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json --jobs 1 "$G" > "$T/j1.json" 2>&1
cmp -s "$T/j1.json" "$T/gd45.json" && ok || bad "--jobs 1 and --jobs 2 give different reports"
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json "$G" > "$T/again.json" 2>&1
cmp -s "$T/again.json" "$T/gd45.json" && ok || bad "two runs give different reports"
[ "$(json "$T/gd45.json" 'd["population"]["sha256"]')" = "$(sha256sum < "$G" | cut -c1-64)" ] && ok ||
    bad "the population's SHA-256 is not the file's"
python3 tests/records/to-csv.py "$G" "$T/g.csv" # the CSV layout of docs/batch.md
# the same records (empty lists written [] in CSV, as docs/batch.md says)
grep -q ',\[\],' "$T/g.csv" && ok || bad "test setup: the CSV has no empty list"
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json "$T/g.csv" > "$T/csv.json" 2>&1
problems=$(python3 - "$T/csv.json" "$T/gd45.json" 2>&1 << 'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
bad = []
for x, y in zip(a["examples"], b["examples"]):
    for r, s in zip(x["records"], y["records"]):
        if r["line"] != s["line"] + 1:  # the CSV's header is line 1
            bad.append("example line %d (CSV) for %d (JSON Lines)" % (r["line"], s["line"]))
        r["line"] = s["line"]
for k in set(a) | set(b):
    if k != "population" and a.get(k) != b.get(k):
        bad.append(k + " differs")
if a["population"]["decided"] != 200 or a["population"]["records"] != b["population"]["records"]:
    bad.append("population %r %r" % (a["population"], b["population"]))
if not a["examples"]:
    bad.append("no changes to compare")
print("; ".join(bad))
EOF
)
[ -z "$problems" ] && ok || bad "CSV and JSON Lines: $problems"

# ---- a store: each person's newest record -------------------------------------------------------
"$YZ" batch --quiet --province guangdong --as-of $D --db "$T/s.db" "$G" || bad "batch into the store"
# one woman of 41 whom the reform takes out of 大龄 is recorded again later, now employed (her
# birth date stays: it is in her ID number): the newest record counts, so she is in the category
# under neither ruleset and the store's run sees one fewer lose it
python3 - "$G" "$T/base.tsv" "$T/again.jsonl" << 'EOF'
import datetime, json, sys
asof = datetime.date(2026, 6, 15)
for line, out in zip(open(sys.argv[1]), open(sys.argv[2])):
    r = json.loads(line)
    b = datetime.date.fromisoformat(r["birth_date"])
    if r["sex"] == "F" and asof.year - b.year - ((asof.month, asof.day) < (b.month, b.day)) == 41 and \
            "older_unemployed" in out.split("\t")[1].split(","):
        r["employment"] = {"status": "employed", "since": "2026-06-01"}
        open(sys.argv[3], "w").write(json.dumps(r, ensure_ascii=False) + "\n")
        break
else:
    sys.exit("no woman of 41 in 大龄 in the ledger")
EOF
"$YZ" batch --quiet --province guangdong --as-of 2026-06-16 --db "$T/s.db" "$T/again.jsonl" || bad "batch of the newer record"
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json --store "$T/s.db" > "$T/store.json" 2> "$T/store.err" ||
    bad "impact --store: $(cat "$T/store.err")"
problems=$(python3 - "$G" "$T/again.jsonl" "$T/store.json" "$T/gd45.json" 2>&1 << 'EOF'
import hashlib, json, sys
newer = json.loads(open(sys.argv[2]).read())
# each person's newest record, in the order those were recorded: the ledger's in its order
# without her, then her newer one
recs = [json.loads(line) for line in open(sys.argv[1])]
recs = [r for r in recs if r["id_number"] != newer["id_number"]] + [newer]
h = hashlib.sha256()
for r in recs:
    h.update(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")
s, l = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
bad = []
if s["population"]["kind"] != "store" or s["population"]["decided"] != len(recs):
    bad.append("population %r" % s["population"])
if s["population"]["sha256"] != h.hexdigest():
    bad.append("the SHA-256 is not that of each person's newest record in the order recorded")
# employed now: she is in the category under neither ruleset
so = [c for c in s["categories"] if c["id"] == "older_unemployed"][0]
lo = [c for c in l["categories"] if c["id"] == "older_unemployed"][0]
if so["lost"] != lo["lost"] - 1:
    bad.append("older_unemployed lost %d in the store, %d in the ledger" % (so["lost"], lo["lost"]))
print("; ".join(bad))
EOF
)
[ -z "$problems" ] && ok || bad "impact --store: $problems"
expect "a store that is not there" 5 "no decision store here" "$YZ" impact --baseline guangdong --reform "$R" --as-of $D --store "$T/none.db"
[ ! -e "$T/none.db" ] && ok || bad "impact --store created a store"
before=$(sqlite3 "$T/s.db" "SELECT count(*) FROM audit")
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --store "$T/s.db" > /dev/null 2>&1
[ "$(sqlite3 "$T/s.db" "SELECT count(*) FROM audit")" = "$before" ] && ok || bad "impact --store recorded something"

# ---- refusals and errors ----------------------------------------------------------------------
cp -R provinces/guangdong "$T/lintbad"
sed -i "s/lua: 'r.social_assistance.dibao == true'/lua: 'r.social_assistance.dibao == true and os.time() > 0'/" "$T/lintbad/policy.yaml"
grep -q "os.time" "$T/lintbad/policy.yaml" || bad "test setup: the lint error was not written"
# check still decides with it (only lint finds the error); impact refuses it, and prints no report
expect "check uses the ruleset lint refuses" 0 "就业援助资格核定" "$YZ" check --province "$T/lintbad" --as-of $D --no-record schemas/examples/applicant.yaml
expect "a reform with lint errors is refused" 3 "the reform rules ($T/lintbad) have errors and cannot be used" \
    "$YZ" impact --baseline guangdong --reform "$T/lintbad" --as-of $D "$G"
expect "the error is located" 3 "lintbad/policy.yaml:" "$YZ" impact --baseline guangdong --reform "$T/lintbad" --as-of $D "$G"
[ -z "$("$YZ" impact --baseline guangdong --reform "$T/lintbad" --as-of $D "$G" 2> /dev/null)" ] && ok || bad "a refused reform printed a report"
cp -R provinces/guangdong "$T/yamlbad"
printf 'categories:\n  older_unemployed: {reason: [}\n' >> "$T/yamlbad/policy.yaml"
expect "a baseline that does not load is refused" 3 "the baseline rules ($T/yamlbad) have errors" \
    "$YZ" impact --baseline "$T/yamlbad" --reform guangdong --as-of $D "$G"
expect "no reform" 2 "add --reform" "$YZ" impact --baseline guangdong "$G"
expect "no population" 2 "no population" "$YZ" impact --baseline guangdong --reform "$R"
expect "two populations" 2 "one population at a time" "$YZ" impact --baseline guangdong --reform "$R" --store "$T/s.db" "$G"
expect "bad date" 2 "is not a real date" "$YZ" impact --baseline guangdong --reform "$R" --as-of 2026-02-30 "$G"
expect "unknown province" 2 "unknown province 'nowhere'" "$YZ" impact --baseline guangdong --reform nowhere --as-of $D "$G"
expect "not in force" 3 "no shanghai policy is in force on 2027-06-15" "$YZ" impact --baseline shanghai --reform shanghai --as-of 2027-06-15 "$G"
[ "$("$YZ" impact --baseline shanghai --reform shanghai --as-of 2027-06-15 "$G" 2>&1 | grep -c 'in force')" = 1 ] && ok ||
    bad "the same ruleset out of force is reported twice"
expect "unreadable ledger" 4 "cannot read" "$YZ" impact --baseline guangdong --reform "$R" --as-of $D "$T/missing.jsonl"
expect "help" 0 "exit codes" "$YZ" impact --help
# a broken record: listed as batch lists it, the others reported, exit 4
cp tests/batch/ledger.jsonl "$T/broken.jsonl"
expect "a rejected record" 4 "broken.jsonl:20: error: birth_date: '1990-02-30' is not a real date" \
    "$YZ" impact --baseline guangdong --reform "$R" --as-of $D "$T/broken.jsonl"
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --json "$T/broken.jsonl" > "$T/broken.json" 2> /dev/null
[ "$(json "$T/broken.json" '(d["population"]["rejected"], d["population"]["decided"], d["not_decided"][0]["line"], d["not_decided"][0]["errors"][0]["field"])')" = "(1, 50, 20, 'birth_date')" ] && ok ||
    bad "the rejected record in the report: $(json "$T/broken.json" 'd["population"], d["not_decided"]')"

# ---- the HTML page, in a file and in a real browser --------------------------------------------
"$YZ" impact --quiet --baseline guangdong --reform "$R" --as-of $D --html "$T/report.html" "$G" > /dev/null 2>&1 ||
    bad "impact --html"
# nothing on the page loads anything: no attribute that fetches, no url() or @import in its
# style (test_html.py sees what Chromium loaded or refused; this, what it never tried)
problems=$(python3 - "$T/report.html" << 'EOF'
import re, sys
from html.parser import HTMLParser
LOADS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background", "manifest"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.bad = []; self.style = ""; self.in_style = False; self.tags = 0
    def handle_starttag(self, tag, attrs):
        self.tags += 1
        for k, v in attrs:
            if k in LOADS or (k == "style" and re.search(r"url\(|@import", v or "")):
                self.bad.append("<%s %s=%r>" % (tag, k, v))
        if tag in ("link", "iframe", "object", "embed", "img", "script", "base"):
            self.bad.append("<%s>" % tag)
        self.in_style = tag == "style"
    def handle_endtag(self, tag):
        self.in_style = False
    def handle_data(self, data):
        if self.in_style:
            self.style += data
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
if re.search(r"url\(|@import", p.style):
    p.bad.append("the style sheet loads something")
if p.tags < 100:
    p.bad.append("only %d tags: not the report" % p.tags)
print("; ".join(p.bad) or "clean")
EOF
)
[ "$problems" = clean ] && ok || bad "the page loads something: $problems"
# Chromium through chromedriver (tests/browser.py, shared with tests/serve): the SVG charts in the
# DOM and in the screenshot, no console message, printed as A4
if ! command -v chromedriver > /dev/null 2>&1; then
    bad "chromium is not installed (make test installs it: scripts/deps.sh with the test packages)"
else
    /usr/bin/python3 tests/impact/test_html.py "$T/report.html" "$T" > "$T/html.out" 2>&1
    grep -v '^html: ' "$T/html.out"
    counts=$(sed -n 's/^html: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$T/html.out")
    if [ -n "$counts" ]; then
        pass=$((pass + ${counts% *}))
        fail=$((fail + ${counts#* }))
    else
        bad "tests/impact/test_html.py did not finish: $(tail -5 "$T/html.out")"
    fi
fi

finish impact
