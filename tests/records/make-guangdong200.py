#!/usr/bin/env python3
"""Writes guangdong200.jsonl (checked in; run again only to change it): 200 applicants from the
shared benchmark kit's generator (seed 7), moved to Guangdong (hukou, residence and registration
regions), in contact with the employment service in the last months, and with service_refusals
that are mostly an empty list (a known "none"), sometimes one refusal, sometimes three within six
months of 2026-06-15 (which ends the status under 粤人社规〔2019〕7号), and in a few records absent
or null (unknown).

usage: tests/records/make-guangdong200.py [KIT]   (KIT: ../shared/bench by default)
"""
import datetime, json, os, random, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
kit = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "bench")
REGIONS = ["440106", "440104", "440303", "440305", "440402", "440604", "441302", "445102"]
with tempfile.TemporaryDirectory() as t:
    subprocess.run([sys.executable, os.path.join(kit, "gen.py"), "200", os.path.join(t, "a.jsonl"), "--seed", "7"], check=True)
    recs = [json.loads(l) for l in open(os.path.join(t, "a.jsonl"), encoding="utf-8")]
r = random.Random(2026)
day = lambda lo, hi: (lo + datetime.timedelta(days=r.randint(0, (hi - lo).days))).isoformat()
D = datetime.date
for rec in recs:
    region = r.choice(REGIONS)
    for k in ("hukou", "residence", "unemployment_registration"):
        if isinstance(rec.get(k), dict) and rec[k].get("region"):
            rec[k]["region"] = region
    rec["last_contact_on"] = day(D(2026, 2, 1), D(2026, 6, 10))
    u = r.random()
    if u < 0.70:
        rec["service_refusals"] = []
    elif u < 0.82:
        rec["service_refusals"] = [day(D(2025, 6, 1), D(2026, 6, 10))]
    elif u < 0.94:
        rec["service_refusals"] = sorted(day(D(2026, 1, 1), D(2026, 6, 10)) for _ in range(3))
    elif u < 0.97:
        rec["service_refusals"] = None
    else:
        del rec["service_refusals"]
with open(os.path.join(here, "guangdong200.jsonl"), "w", encoding="utf-8") as f:
    for rec in recs:
        f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
