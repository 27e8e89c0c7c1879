#!/usr/bin/env python3
"""tests/ledger/check.py (run by tests/ledger/run.sh): the real-name ledger end to end.

A store is built from the fixtures of fixtures.py (people whose changes of status fall on days
known by construction), then:
  due      lists exactly those people, on those days, with those causes and actions (JSON, CSV and
           text agree); --province, --region and --from choose; only each person's newest
           decision counts;
  export   CSV and JSON Lines parsed back (Python's csv and json modules) equal the stored
           decisions field by field; GBK converts back with iconv; a character GBK lacks is
           reported; memory does not grow with the store;
  --mask   no full ID number (the applicants' or their household members') and no name appears in
           any export or report;
  show     prints what check printed; history has Chinese headings, the status loss with its
           reason and date, and JSON that parses whatever the operator's id holds.
"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402
from checks import check, fail, finish  # noqa: E402

YZ = os.environ.get("YZ_BIN", "bin/yuanzhu")
T = tempfile.mkdtemp(prefix="yz-ledger.")
DB = os.path.join(T, "ledger.db")
OPERATOR = 'gz"0042\\x'  # a quote and a backslash: history --json must still be JSON


def ok(cond, what, detail=""):
    """check() with the condition first, as this script's checks are written"""
    return check(what, cond, detail)


def yz(*args, check_rc=0, text=True):
    """Runs yuanzhu; stdout as text (UTF-8, line ends kept) or bytes, stderr as text."""
    r = subprocess.run([YZ] + list(args), capture_output=True, env=dict(os.environ, YUANZHU_OPERATOR=OPERATOR))
    r.stderr = r.stderr.decode("utf-8", "replace")
    if text:
        r.stdout = r.stdout.decode("utf-8")
    if check_rc is not None and r.returncode != check_rc:
        fail("yuanzhu %s: exit %d, expected %d: %s" % (" ".join(args), r.returncode, check_rc, r.stderr[-400:]))
    return r


def record(rec, province, as_of, db=DB):
    path = os.path.join(T, "rec.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rec, f, ensure_ascii=False)
    r = yz("check", "--province", province, "--as-of", as_of, "--db", db, "--json", path)
    return json.loads(r.stdout) if r.returncode == 0 else None


def due_rows(*args):
    r = yz("due", "--db", DB, "--json", *args)
    return [json.loads(line) for line in r.stdout.splitlines()]


FIX = fixtures.fixtures()
# an older decision of the first fixture's person, under other rules: only the newest counts
first = FIX[0]
older = json.loads(json.dumps(first[4]))
record(older, "sichuan", "2025-03-01")
for name, prov, as_of, by, rec, exp in FIX:
    det = record(rec, prov, as_of)
    ok(det is not None, "fixture %s is decided" % name)

# ---- due: exactly the rows known by construction ----
for name, prov, as_of, by, rec, exp in FIX:
    rows = [x for x in due_rows("--by", by) if x["id_number"] == rec["id_number"]]
    got = [(x["date"], x["cause"], x["action"]) for x in rows]
    want = [(a, b, c) for a, b, c, _ in exp]
    ok(got == want, "due %s: days, causes and actions" % name, "got %s, want %s" % (got, want))
    for x, (_, _, _, ids) in zip(rows, exp):
        changed = [c["id"] for c in x["changes"]]
        ok(not ids or (changed and changed[0] in ids and ids <= set(changed)),
           "due %s %s: the change names %s first" % (name, x["date"], sorted(ids)), changed)
        ok(x["summary"] and x["rule"] and re.match(r"^(rules|provinces|tests)/.*:\d+$", x["rule"]),
           "due %s %s: a summary and the rule it rests on" % (name, x["date"]), x)
        ok(x["decision_as_of" if "decision_as_of" in x else "as_of"] == as_of, "due %s: the newest decision" % name)

# every fixture's window at once: the union of what each expects up to its own date
latest = max(f[3] for f in FIX)
allrows = due_rows("--by", latest)
ok(all(x["province"] != "sichuan" or x["id_number"] != first[4]["id_number"] for x in allrows),
   "due reads only each person's newest decision", [x["province"] for x in allrows if x["id_number"] == first[4]["id_number"]])
ok([x["date"] for x in allrows] == sorted(x["date"] for x in allrows), "due rows come in date order")

# --province, --region, --from
zj = due_rows("--by", latest, "--province", "zhejiang")
ok(zj and all(x["province"] == "zhejiang" for x in zj), "due --province zhejiang")
gd_ids = {f[4]["id_number"] for f in FIX if f[1] == "guangdong"}
reg = due_rows("--by", latest, "--region", "440000")
ok(reg and {x["id_number"] for x in reg} == gd_ids, "due --region 440000: Guangdong's people only", reg)
reg = due_rows("--by", latest, "--region", "440106")
ok({x["id_number"] for x in reg} == gd_ids, "due --region 440106 (a district)")
ok(due_rows("--by", latest, "--region", "440300") == [], "due --region 440300: nobody")
gd = [f for f in FIX if f[0] == "gd_wage_and_contact"][0]
later = [x for x in due_rows("--by", gd[3], "--from", "2026-09-02") if x["id_number"] == gd[4]["id_number"]]
ok([(x["date"], x["cause"]) for x in later] == [(gd[5][1][0], "status_loss")],
   "due --from after a change leaves it out", later)

# the same report as CSV and as text
r = yz("due", "--db", DB, "--by", latest, "--csv")
rows = list(csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff"))))
ok(r.stdout.startswith("\ufeff"), "due --csv starts with a byte order mark")
ok([(x["date"], x["cause"], x["action"], x["id_number"], x["summary"]) for x in rows] ==
   [(x["date"], x["cause"], x["action"], x["id_number"], x["summary"]) for x in allrows], "due --csv = due --json")
r = yz("due", "--db", DB, "--by", latest)
ok("日期" in r.stdout and "办理" in r.stdout and "原因" in r.stdout, "due prints Chinese headings")
ok(all(x["date"] in r.stdout and x["summary"] in r.stdout for x in allrows), "due text shows every row")

# usage errors
for args, what in [((), "no --by"), (("--by", "2026-02-30"), "a date that does not exist"),
                   (("--by", "2026-01-01", "--from", "2026-02-01"), "--from after --by"),
                   (("--by", "2026-01-01", "--region", "44"), "a short region code"),
                   (("--by", "2026-01-01", "--json", "--csv"), "two formats")]:
    r = yz("due", "--db", DB, *args, check_rc=2)
    ok("error" in r.stderr, "due %s: exit 2 with an error" % what, r.stderr)

# ---- export: parsed back, it equals the stored decisions ----
stored = {}
for line in subprocess.run(["sqlite3", DB, "SELECT id FROM decisions ORDER BY seq"], capture_output=True,
                           text=True).stdout.split():
    stored[line] = (json.loads(yz("show", "--db", DB, "--json", line).stdout),
                    json.loads(yz("show", "--db", DB, "--input", line).stdout))
meta = {}
for line in yz("history", "--db", DB, "--json", first[4]["id_number"]).stdout.splitlines():
    meta[json.loads(line)["decision"]] = json.loads(line)
ok(len(meta) == 2 and all(m["operator"] == OPERATOR for m in meta.values()),
   "history --json parses, the operator's quote and backslash intact", meta)

r = yz("export", "--db", DB)
ok(r.stdout.startswith("\ufeff") and "\r\n" in r.stdout, "export: UTF-8 with a byte order mark, CRLF lines")
table = list(csv.DictReader(io.StringIO(r.stdout[1:], newline="")))
ok(len(table) == len(stored), "export: a row per decision", len(table))
cat_cols = {c[len("category."):] for c in table[0] if c.startswith("category.")} if table else set()
sub_cols = {c[len("subsidy."):] for c in table[0] if c.startswith("subsidy.") and c.count(".") == 1} if table else set()


def check_row(row, det, rec, masked, what):
    good = (row["decision"] in stored and row["as_of"] == det["as_of"] and row["province"] == det["province"] and
            row["ruleset"] == det["ruleset"] and row["target"] == det["target"]["status"] and
            row["region"] == rec["hukou"]["region"] and row["engine"] == det["engine"])
    good &= row["id_number"] == (masked if masked else det["id_number"])
    good &= ("name" not in row) if masked else row["name"] == rec["name"]
    loss = sorted(k for k, v in det.get("disqualifications", {}).items() if v["status"] == "met")
    good &= sorted(filter(None, row["status_loss"].split(";"))) == loss
    for c in cat_cols:
        good &= row["category." + c] == det["categories"].get(c, {}).get("status", "")
    for s in sub_cols:
        v = det["subsidies"].get(s, {})
        granted = v.get("status") == "eligible"
        good &= row["subsidy." + s] == v.get("status", "")
        good &= row["subsidy.%s.amount_fen" % s] == (str(v["amount_fen"]) if granted else "")
        good &= row["subsidy.%s.months" % s] == (str(v["months"]) if granted and v.get("months") is not None else "")
        good &= row["subsidy.%s.end" % s] == (v["end"] if granted else "")
    return ok(good, what, {k: v for k, v in row.items() if v})


every_cat = set().union(*(set(d["categories"]) for d, _ in stored.values()))
every_sub = set().union(*(set(d["subsidies"]) for d, _ in stored.values()))
ok(every_cat <= cat_cols and every_sub <= sub_cols, "export: a column for every category and subsidy decided",
   (every_cat - cat_cols, every_sub - sub_cols))
for row in table:
    det, rec = stored[row["decision"]]
    check_row(row, det, rec, None, "export csv row %s equals the stored decision" % row["seq"])
    if row["decision"] in meta:
        ok(row["operator"] == OPERATOR and row["recorded_at"] == meta[row["decision"]]["recorded_at"],
           "export csv row %s: operator and recording time" % row["seq"])
header = list(table[0].keys()) if table else []
again = list(csv.DictReader(io.StringIO(yz("export", "--db", DB).stdout[1:], newline="")))
ok(again == table and header[:4] == ["seq", "decision", "recorded_at", "as_of"], "export: the same bytes twice, stable columns")

r = yz("export", "--db", DB, "--format", "jsonl")
lines = [json.loads(x) for x in r.stdout.splitlines()]
ok(len(lines) == len(stored), "export jsonl: a line per decision")
for x in lines:
    det, rec = stored[x["decision"]]
    good = x["as_of"] == det["as_of"] and x["target"] == det["target"]["status"] and x["name"] == rec["name"]
    good &= x["categories"] == {k: v["status"] for k, v in det["categories"].items()}
    for k, v in det["subsidies"].items():
        want = {"status": v["status"]}
        if v["status"] == "eligible":
            want.update({f: v[f] for f in ("amount_fen", "end", "months", "period", "start") if f in v})
        good &= x["subsidies"].get(k) == want
    ok(good, "export jsonl %s equals the stored decision" % x["seq"], x)

# --from/--to and --province choose decisions
r = yz("export", "--db", DB, "--province", "zhejiang")
zrows = list(csv.DictReader(io.StringIO(r.stdout[1:], newline="")))
ok(zrows and all(x["province"] == "zhejiang" for x in zrows) and
   len(zrows) == sum(1 for d, _ in stored.values() if d["province"] == "zhejiang"), "export --province zhejiang")
r = yz("export", "--db", DB, "--from", "2999-01-01", "--to", "2999-12-31")
ok(len(r.stdout.splitlines()) == 1, "export of no decision: the header only")

# GBK: converts back with iconv to the UTF-8 export
g = yz("export", "--db", DB, "--encoding", "gbk", "--output", os.path.join(T, "gbk.csv"))
back = subprocess.run(["iconv", "-f", "GBK", "-t", "UTF-8", os.path.join(T, "gbk.csv")], capture_output=True)
ok(back.returncode == 0 and back.stdout.decode() == yz("export", "--db", DB).stdout[1:],
   "export --encoding gbk converts back with iconv to the UTF-8 export", back.stderr)
ok("exported %d decisions" % len(stored) in g.stderr, "export --output says how many", g.stderr)

# a name GBK cannot write: a warning naming gb18030, which writes it
rare = fixtures.base("330106", "1970-07-07", "M", 11, name="\U00020000甲")
record(rare, "zhejiang", "2025-06-15")
g = yz("export", "--db", DB, "--encoding", "gbk", text=False)
ok("gb18030" in g.stderr and "warning" in g.stderr, "export --encoding gbk warns of a character GBK lacks", g.stderr)
g = yz("export", "--db", DB, "--encoding", "gb18030", text=False)
ok("\U00020000甲" in g.stdout.decode("gb18030"), "export --encoding gb18030 holds it")

# memory does not grow with the store: exporting 60,000 decisions takes no more than 20,000 (both
# stores larger than SQLite's page cache, which is the part that fills up to its limit)
def store_of(n):
    import datetime as dt
    db = os.path.join(T, "m%d.db" % n)
    src = os.path.join(T, "m%d.jsonl" % n)
    with open(src, "w", encoding="utf-8") as f:
        for i in range(n):
            born = str(dt.date(1960, 1, 1) + dt.timedelta(days=i % 20000))
            sex = "M" if i % 2 else "F"
            f.write(json.dumps(fixtures.base("330106", born, sex, 1 + (i // 20000) * 7 + i % 5, name="批量%d" % i),
                               ensure_ascii=False) + "\n")
    yz("batch", "--quiet", "--province", "zhejiang", "--as-of", "2025-06-15", "--db", db, src)
    return db


def peak_kb(db):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", YZ, "export", "--db", db, "--output", os.devnull],
                       capture_output=True, text=True)
    return int(r.stderr.strip().splitlines()[-1])


if "ASAN_OPTIONS" in os.environ:
    print("ledger: export's memory not measured under AddressSanitizer (its quarantine keeps what is freed)")
else:
    small, big = peak_kb(store_of(20000)), peak_kb(store_of(60000))
    ok(big - small < 8192, "export: peak memory %d KB for 20,000 decisions, %d KB for 60,000" % (small, big),
       big - small)

for args, what in [(("--format", "xml"), "an unknown format"), (("--encoding", "latin1"), "an unknown encoding"),
                   (("--format", "jsonl", "--encoding", "gbk"), "GBK JSON"), (("--from", "2025-13-01"), "a bad date"),
                   (("--header", "fr"), "an unknown header")]:
    r = yz("export", "--db", DB, *args, check_rc=2)
    ok("error" in r.stderr, "export with %s: exit 2 with an error" % what, r.stderr)

# a full disk: an error and exit 4, and no half-written file under the name asked for
with open("/dev/full", "wb") as full:
    r = subprocess.run([YZ, "export", "--db", DB], stdout=full, stderr=subprocess.PIPE, text=True)
ok(r.returncode == 4 and "could not be written" in r.stderr, "export to a full disk: exit 4", (r.returncode, r.stderr))
with open("/dev/full", "wb") as full:
    r = subprocess.run([YZ, "due", "--db", DB, "--by", latest, "--json"], stdout=full, stderr=subprocess.PIPE, text=True)
ok(r.returncode != 0 and "error" in r.stderr, "due to a full disk: an error", (r.returncode, r.stderr))
r = yz("export", "--db", DB, "--output", os.path.join(T, "no", "such", "x.csv"), check_rc=4)
ok(not os.path.exists(os.path.join(T, "no")), "export to a folder that does not exist: exit 4, nothing written")

zh = yz("export", "--db", DB, "--header", "zh").stdout.splitlines()[0]
ok(zh.startswith("\ufeff\"序号\",\"决定编号\"") and "\"大龄失业人员\"" in zh and "公益性岗位补贴·每期金额（分）" in zh,
   "export --header zh: the header in Chinese", zh[:200])

# ---- masking: no full ID number and no name in any export or report ----
ids = set()
names = set()
for d, rec in stored.values():
    ids.add(rec["id_number"])
    names.add(rec["name"])
    ids.update(m["id_number"] for m in rec.get("household", {}).get("members", []))
outputs = {
    "export csv": yz("export", "--db", DB, "--mask").stdout,
    "export jsonl": yz("export", "--db", DB, "--mask", "--format", "jsonl").stdout,
    "export gbk": yz("export", "--db", DB, "--mask", "--encoding", "gb18030", text=False).stdout.decode("gb18030"),
    "export zh header": yz("export", "--db", DB, "--mask", "--header", "zh").stdout,
    "due text": yz("due", "--db", DB, "--by", latest, "--mask").stdout,
    "due json": yz("due", "--db", DB, "--by", latest, "--mask", "--json").stdout,
    "due csv": yz("due", "--db", DB, "--by", latest, "--mask", "--csv").stdout,
}
for what, out in outputs.items():
    leaks = [i for i in ids if i in out or i.lower() in out]
    ok(not leaks, "--mask: no full ID number in %s" % what, leaks)
    ok(not [n for n in names if n in out], "--mask: no name in %s" % what)
    ok(re.search(r"\b\d{6}\*{8}[0-9X]{4}\b", out), "--mask: %s shows masked ID numbers" % what)
ok(first[4]["id_number"][:6] + "********" + first[4]["id_number"][-4:] in outputs["export csv"],
   "--mask writes 440106********0025 style")

# ---- show and history ----
sid = [k for k, (d, rec) in stored.items() if rec["id_number"] == gd[4]["id_number"]][0]
path = os.path.join(T, "rec.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(gd[4], f, ensure_ascii=False)
checked = yz("check", "--no-record", "--province", "guangdong", "--as-of", gd[2], path).stdout
shown = yz("show", "--db", DB, sid).stdout
ok(shown.startswith(checked) and "决定编号 " + sid in shown, "show prints what check printed, then the decision", shown[-300:])
ok(yz("show", "--db", DB, "--json", sid).stdout == json.dumps(stored[sid][0], ensure_ascii=False, sort_keys=True,
                                                               separators=(",", ":")) + "\n",
   "show --json is the recorded JSON")
# a later review finds the contact lapsed: history shows the loss, its reason and date
lapse = gd[5][1][0]
review = json.loads(json.dumps(gd[4]))
if fixtures.HAS_RECOGNITION:
    review["recognition"] = {"recognised_on": gd[2]}  # recognised by the first decision: this one is a review
record(review, "guangdong", lapse)
h = yz("history", "--db", DB, gd[4]["id_number"]).stdout
ok("核定日期" in h and "结论" in h and "经办人" in h, "history has Chinese headings", h[:200])
ok("身份丧失（%s）：失去联系超过6个月" % lapse in h, "history shows the status loss with its date", h)
ok(re.search(r"公益性岗位补贴 每月 [\d,]+\.\d\d 元", h), "history shows the amounts granted")
hj = [json.loads(x) for x in yz("history", "--db", DB, "--json", gd[4]["id_number"]).stdout.splitlines()]
if fixtures.HAS_RECOGNITION:
    ok([x["review"] for x in hj] == [None, True] and "复核" in h, "history: the second decision is a review (复核)", hj)
else:
    ok([x["review"] for x in hj] == [None, None], "history: without recognition in the record, review is unknown", hj)
ok([x["target"] for x in hj] == ["met", "not_met"] and hj[1]["status_loss"][0]["id"] == "out_of_contact" and
   hj[1]["status_loss"][0]["reason"], "history --json: the loss with its reason", hj)

# a damaged decision is left out, named, and the rest still exported and followed (exit 5)
bad_db = os.path.join(T, "damaged.db")
subprocess.run(["cp", DB, bad_db])
bad_seq = subprocess.run(["sqlite3", bad_db, "SELECT max(seq) FROM decisions"], capture_output=True, text=True).stdout.strip()
subprocess.run(["sqlite3", bad_db, "DROP TRIGGER decisions_no_update; UPDATE decisions SET output = x'00' WHERE seq = %s" % bad_seq])
whole = len(yz("export", "--db", DB).stdout.splitlines())
r = yz("export", "--db", bad_db, check_rc=5)
ok(len(r.stdout.splitlines()) == whole - 1 and "seq %s" % bad_seq in r.stderr and "damaged" in r.stderr,
   "export of a store with a damaged decision: the others, the damaged one named, exit 5", r.stderr)
r = yz("due", "--db", bad_db, "--by", latest, check_rc=5)
ok("到期提醒" in r.stdout and "seq %s" % bad_seq in r.stderr, "due over a damaged decision: the report of the others, exit 5",
   r.stderr)

# text from a record cannot steer the terminal: an escape sequence in a name is shown escaped
evil = fixtures.base("330106", "1971-09-16", "M", 12, name="赵\x1b[2J\u202e伪")
record(evil, "zhejiang", "2025-06-15")
for what, out in [("due", yz("due", "--db", DB, "--by", "2026-12-31").stdout),
                  ("history", yz("history", "--db", DB, evil["id_number"]).stdout)]:
    ok("\x1b" not in out and "\u202e" not in out, "%s shows a name's control characters escaped" % what)
ok("赵" in yz("due", "--db", DB, "--by", "2026-12-31").stdout, "due still names the person")

status = finish("ledger")
subprocess.run(["rm", "-rf", T])
sys.exit(status)
