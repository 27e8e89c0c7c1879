#!/usr/bin/env python3
"""tests/impact/gen.py: applicant records (format version 1) for one province's impact tests.

usage: gen.py PROVINCE N [--seed S] > OUT

Writes N records as JSON Lines (tests/records/to-csv.py makes a CSV ledger of them).
Deterministic for a seed.  Most applicants live in the province (its county codes below), are of
working age with ages spread around the 大龄 thresholds (women 35-50, men 45-55), and about half
are registered unemployed, so that categories and subsidies are met often enough for a policy
change to show.  Standard library only.
"""
import argparse, datetime, json, random, sys

D = datetime.date
AS_OF = D(2026, 6, 15)
COUNTIES = {
    "guangdong": ["440103", "440104", "440106", "440111", "440305", "440307", "440402", "440604", "441900", "445102"],
    "guangdong/guangzhou": ["440103", "440104", "440106", "440111", "440113"],
    "guangdong/zhuhai": ["440402", "440403", "440404"],
    "zhejiang": ["330102", "330106", "330212", "330302", "330402"],
    "sichuan": ["510104", "510107", "510703", "511302"],
    "shandong/qingdao": ["370202", "370203", "370211", "370212"],
    "shanghai": ["310101", "310104", "310110", "310115"],
}
ELSEWHERE = ["110101", "120103", "320102", "420106", "500103", "610113"]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
FAMILY = "李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["华", "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "建国", "海燕"]


def id_number(r, region, birth, male):
    body = "%s%s%03d" % (region, birth.strftime("%Y%m%d"), r.randint(0, 499) * 2 + (1 if male else 0))
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]


def day(r, lo, hi):
    return lo + datetime.timedelta(days=r.randint(0, (hi - lo).days))


def age_on(b, ref=AS_OF):
    return ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day))


def record(r, counties):
    male = r.random() < 0.5
    lo, hi = (45, 56) if male else (35, 51)
    if r.random() < 0.25:
        lo, hi = 18, 35
    birth = AS_OF - datetime.timedelta(days=r.randint(lo * 365, hi * 365))
    region = r.choice(counties) if r.random() < 0.9 else r.choice(ELSEWHERE)
    htype = "urban" if r.random() < 0.7 else "rural"
    registered = r.random() < 0.6
    reg_on = day(r, D(2022, 1, 1), D(2026, 5, 31)) if registered else None
    if registered:
        status = r.choices(["unemployed", "flexible"], weights=[85, 15])[0]
    else:
        status = r.choices(["unemployed", "flexible", "employed", "self_employed"], weights=[45, 15, 30, 10])[0]
    since = reg_on if reg_on and r.random() < 0.8 else day(r, D(2018, 1, 1), D(2026, 5, 31))
    cert = "disabled_person" if r.random() < 0.06 else "none"
    dibao = r.random() < 0.06
    expropriated = htype == "rural" and r.random() < 0.15
    members = []
    for k in range(r.choice([0, 1, 1, 2, 3])):
        rel = "spouse" if k == 0 else "child"
        mb = day(r, D(birth.year - 3, 1, 1), D(birth.year + 3, 12, 31)) if rel == "spouse" else day(r, D(2000, 1, 1), D(2020, 12, 31))
        a = age_on(mb)
        st = "student" if a < 22 else r.choices(["unemployed", "employed"], weights=[40, 60])[0]
        members.append({
            "id_number": id_number(r, region, mb, r.random() < 0.5), "relation": rel, "employment_status": st,
            "ability_to_work": "none" if a < 16 else "full", "willing_to_work": st != "student" and a >= 16,
            "receiving_pension": False, "student": st == "student",
        })
    history = []
    if r.random() < 0.05:
        start = day(r, D(2021, 1, 1), D(2024, 1, 1))
        history.append({"subsidy": "public_welfare_post", "first_approved_on": start.isoformat(), "from": start.isoformat(),
                        "to": (start + datetime.timedelta(days=364)).isoformat(), "months": 12})
    evidence = ["id_card", "hukou_book"] + (["employment_card"] if registered else []) + \
        (["disability_certificate"] if cert != "none" else []) + (["dibao_certificate"] if dibao else [])
    rec = {
        "schema": 1,
        "id_number": id_number(r, region, birth, male),
        "name": r.choice(FAMILY) + r.choice(GIVEN),
        "sex": "M" if male else "F",
        "birth_date": birth.isoformat(),
        "retirement_group": "male" if male else r.choice(["female_worker", "female_cadre"]),
        "hukou": {"region": region, "type": htype, "household_id": "H%s%06d" % (region, r.randint(0, 999999))},
    }
    if r.random() < 0.15:
        rec["residence"] = {"region": r.choice(counties), "since": day(r, D(2012, 1, 1), D(2025, 1, 1)).isoformat(),
                            "residence_permit": True}
    rec.update({
        "ability_to_work": "full" if r.random() < 0.95 else "partial",
        "willing_to_work": r.random() < 0.97,
        "employment": {"status": status, "since": since.isoformat()},
        "unemployment_registration": {"registered": registered, "region": region if registered else None,
                                      "registered_on": reg_on.isoformat() if reg_on else None,
                                      "card_number": "%s%d%06d" % (region, reg_on.year, r.randint(0, 999999)) if reg_on else None},
        "unemployment_insurance": {"receiving": False, "consecutive_months_received": 0},
        "local_insurance_months": r.randint(0, 200),
        "pension": {"receiving": False},
        "disability": {"certificate": cert, "grade": r.choice([2, 3, 4]) if cert != "none" else None},
        "social_assistance": {"dibao": dibao, "dibao_edge": False, "tekun": False,
                              "formerly_registered_poor": htype == "rural" and r.random() < 0.05},
        "land": {"expropriated": expropriated, "all_lost": expropriated and r.random() < 0.7,
                 "expropriated_on": day(r, D(2010, 1, 1), D(2025, 1, 1)).isoformat() if expropriated else None,
                 "remaining_mu_per_person": 0 if expropriated else None},
        "veteran": {"discharged_on": None},
        "released_prisoner": {"released_on": None},
        "drug_rehab": {"completed_on": None},
        "mental_rehab": {"completed_on": None},
        "family": {"single_parent": r.random() < 0.04,
                   "children_under_18": sum(1 for m in members if m["relation"] == "child" and age_on(D.fromisoformat(m["id_number"][6:10] + "-" + m["id_number"][10:12] + "-" + m["id_number"][12:14])) < 18),
                   "caring_for_critically_ill_relative": False},
        "household": {"address_type": htype, "business_or_investment_income": r.random() < 0.05, "members": members},
        "graduate": {"level": None, "graduated_on": None},
        "service_refusals": [],
        "subsidy_history": history,
        "public_welfare_post": {"placements": 0},
        "company_officer": r.random() < 0.02,
        "flexible_contribution_monthly_fen": r.randint(800, 1600) * 100 if status == "flexible" else 0,
        "last_contact_on": day(r, D(2026, 1, 1), D(2026, 6, 1)).isoformat(),
        "evidence": evidence,
    })
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("province", choices=sorted(COUNTIES))
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    r = random.Random("%s/%d" % (a.province, a.seed))
    recs = [record(r, COUNTIES[a.province]) for _ in range(a.n)]
    for rec in recs:
        sys.stdout.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
