#!/usr/bin/env python3
"""tests/ledger/fixtures.py: applicants whose changes of status fall on days known by construction.

Each fixture is (name, province, as_of, record, expected) where expected lists the rows `due`
must give up to the fixture's `by` date: (date, cause, action, item ids that change).  The dates
are computed here from how the record is built (a birthday, a registration date, the documented
retirement formula, a period of months) and from the policy texts (Shanghai's period ends
2026-12-31; Zhejiang's women's age threshold rises on 2028-01-01; Guangdong's minimum wage changes
on 2026-09-01) -- never from yuanzhu's output.
"""
import datetime as dt
import json
import os
import sys

# Whether the record format tells a first recognition from a review (recognition.recognised_on):
# where it does, a person found to be a target is recognised from that decision on, and the
# recognition itself counts as a contact with the employment service.
_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "applicant-record.v1.schema.json")
with open(_SCHEMA, encoding="utf-8") as _f:
    HAS_RECOGNITION = "recognition" in json.load(_f)["properties"]

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def id_number(region, birth, seq, sex):
    """A valid GB 11643 number: the sequence's last digit odd for men, even for women."""
    s = seq * 10 + (1 if sex == "M" else 0) if seq < 100 else seq
    body = "%s%s%03d" % (region, birth.replace("-", ""), s % 1000)
    return body + CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]


def d(s):
    return dt.date.fromisoformat(s)


def add_months(day, n):
    """rules/lib/date.lua's add_months: the day clamped to the month's last."""
    total = day.year * 12 + day.month - 1 + n
    y, m = divmod(total, 12)
    m += 1
    last = [31, 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return dt.date(y, m, min(day.day, last))


def retirement_male(birth):
    """The 2025 reform for men (docs/rules-library.md): 60 years, delayed one month per 4 months
    of birth from the original retirement month 2025-01, at most 36."""
    orig = add_months(birth, 60 * 12)
    if (orig.year, orig.month) < (2025, 1):
        return orig
    delay = min(((orig.year - 2025) * 12 + orig.month - 1) // 4 + 1, 36)
    return add_months(birth, 60 * 12 + delay)


def base(region, birth, sex, seq, **over):
    r = {
        "schema": 1,
        "id_number": id_number(region, birth, seq, sex),
        "name": over.pop("name", "测试"),
        "sex": sex,
        "birth_date": birth,
        "retirement_group": "male" if sex == "M" else "female_worker",
        "hukou": {"region": region, "type": "urban"},
        "ability_to_work": "full",
        "willing_to_work": True,
        "employment": {"status": "unemployed", "since": "2024-01-01"},
        "unemployment_registration": {"registered": True, "region": region, "registered_on": "2024-01-10"},
        "unemployment_insurance": {"receiving": False, "consecutive_months_received": 0},
        "local_insurance_months": 24,
        "pension": {"receiving": False},
        "disability": {"certificate": "none", "grade": None},
        "social_assistance": {"dibao": False, "dibao_edge": False, "tekun": False, "formerly_registered_poor": False},
        "land": {"expropriated": False, "all_lost": False, "expropriated_on": None, "remaining_mu_per_person": None},
        "veteran": {"discharged_on": None},
        "released_prisoner": {"released_on": None},
        "drug_rehab": {"completed_on": None},
        "mental_rehab": {"completed_on": None},
        "family": {"single_parent": False, "children_under_18": 0, "caring_for_critically_ill_relative": False},
        # an employed spouse: never a zero-employment household
        "household": {"address_type": "urban", "business_or_investment_income": False,
                      "members": [{"id_number": id_number(region, "1980-01-01", 90, "M"), "relation": "spouse",
                                   "employment_status": "employed", "ability_to_work": "full",
                                   "willing_to_work": True, "receiving_pension": False, "student": False}]},
        "graduate": {"level": None, "graduated_on": None},
        "service_refusals": [],
        "subsidy_history": [],
        "public_welfare_post": {"placements": 0},
        "company_officer": False,
        "evidence": ["id_card", "hukou_book", "employment_card"],
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(r.get(k), dict):
            r[k].update(v)
        else:
            r[k] = v
    return r


def fixtures():
    out = []
    # Zhejiang, a man turning 55 (the province's 大龄 age for men), registered for over 6 months:
    # a target from his birthday.
    b = "1971-09-15"
    out.append(("zj_turns_55", "zhejiang", "2025-06-15", "2026-12-31",
                base("330106", b, "M", 1, name="赵五十五"),
                [(str(add_months(d(b), 55 * 12)), "age", "复核", {"older_unemployed"})]))
    # Zhejiang, a woman: 45 on 2027-03-01 (older from her birthday, the threshold being 45), the
    # threshold rises to 46 on 2028-01-01 (she is 45: no longer older), 46 on 2028-03-01.
    b = "1982-03-01"
    out.append(("zj_threshold_rises", "zhejiang", "2026-06-15", "2028-06-30",
                base("330106", b, "F", 2, name="钱四六", unemployment_registration={"registered_on": "2026-01-05"}),
                [(str(add_months(d(b), 45 * 12)), "age", "复核", {"older_unemployed"}),
                 ("2028-01-01", "parameter_changes", "停发", {"older_unemployed"}),
                 (str(add_months(d(b), 46 * 12)), "age", "复核", {"older_unemployed"})]))
    # Zhejiang, a man of 57 who already had 30 months of the employer social-insurance subsidy: the
    # 36-month limit (counted with the earlier months) is reached 6 months after the decision.
    asof = "2025-06-15"
    out.append(("zj_limit_36", "zhejiang", asof, "2026-06-30",
                base("330106", "1968-05-20", "M", 3, name="孙三六",
                     subsidy_history=[{"subsidy": "social_insurance_employer", "first_approved_on": "2020-01-01",
                                       "from": "2020-01-01", "to": "2022-06-30", "months": 30}]),
                [(str(add_months(d(asof), 6)), "limit_reached", "停发", {"social_insurance_employer"})]))
    # Zhejiang, a woman of 30 on 低保 (a category that does not change with time): the 36 months of
    # the public-welfare-post and employer social-insurance subsidies end together.
    asof = "2025-06-15"
    out.append(("zj_period_ends", "zhejiang", asof, "2028-12-31",
                base("330106", "1995-02-10", "F", 4, name="李期满", social_assistance={"dibao": True}),
                [(str(add_months(d(asof), 36)), "subsidy_ends", "停发", {"public_welfare_post", "social_insurance_employer"})]))
    # Zhejiang, a man of 60 in June 2026 whose reformed retirement date falls a month later: the
    # working-age prerequisite ends on it.  Every monthly subsidy was used up years ago, so no
    # payment stops: a review.
    b = "1966-03-10"
    used = [{"subsidy": sid, "first_approved_on": "2015-01-01", "from": "2015-01-01", "to": "2017-12-31", "months": 36}
            for sid in ("public_welfare_post", "social_insurance_employer", "social_insurance_flexible")]
    out.append(("zj_retires", "zhejiang", "2026-06-15", "2026-12-31",
                base("330106", b, "M", 5, name="周退休", subsidy_history=used),
                [(str(retirement_male(d(b))), "retirement", "复核", {"working_age"})]))
    # Sichuan, a man of 35 registered unemployed on 2025-03-20: 连续失业1年 on 2026-03-20.
    reg = "2025-03-20"
    out.append(("sc_unemployed_year", "sichuan", "2025-06-15", "2026-06-30",
                base("510104", "1990-08-08", "M", 6, name="吴一年", unemployment_registration={"registered_on": reg}),
                [(str(add_months(d(reg), 12)), "unemployment", "复核", {"long_term_unemployed"})]))
    # Shanghai, a man of 50: 沪人社规〔2022〕8号 is in force to 2026-12-31 only.
    out.append(("sh_policy_ends", "shanghai", "2026-10-01", "2027-01-31",
                base("310104", "1976-04-04", "M", 7, name="郑上海", unemployment_registration={"registered_on": "2025-01-02"}),
                [("2027-01-01", "policy_ends", "复核", set())]))
    # Guangdong, a woman of 40 seen on 2026-06-10 and found a target on 2026-06-15: the minimum
    # wage (so 公益性岗位补贴) rises on 2026-09-01; out of contact for more than 6 months from the
    # day after 6 months from her last contact (the recognition counts as one where the record
    # format has it).
    asof, seen = "2026-06-15", "2026-06-10"
    last = max(seen, asof) if HAS_RECOGNITION else seen
    out.append(("gd_wage_and_contact", "guangdong", asof, "2026-12-31",
                base("440106", "1985-06-15", "F", 8, name="冯广东", last_contact_on=seen,
                     unemployment_registration={"registered_on": "2025-01-10"}),
                [("2026-09-01", "amount_changes", "复核", {"public_welfare_post"}),
                 (str(add_months(d(last), 6) + dt.timedelta(days=1)), "status_loss", "停发", {"out_of_contact"})]))
    # The test province of tests/ledger/policy: a review every 12 months, and a living allowance
    # approved 12 months at a time (renewed when the period ends).
    asof = "2025-06-15"
    out.append(("test_review_renew", "tests/ledger/policy", asof, "2026-12-31",
                base("990101", "1980-05-05", "F", 10, name="陈复核"),
                [(str(add_months(d(asof), 12)), "review_due", "复核", set()),
                 (str(add_months(d(asof), 12)), "subsidy_ends", "续办", {"living_allowance"})]))
    # Zhejiang, a man of 40: nothing changes.
    out.append(("zj_nothing", "zhejiang", "2025-06-15", "2026-06-30",
                base("330106", "1985-01-01", "M", 9, name="王不变"), []))
    return out


if __name__ == "__main__":
    for name, prov, asof, by, rec, exp in fixtures():
        print(json.dumps({"name": name, "province": prov, "as_of": asof, "by": by, "record": rec,
                          "expect": [[a, b, c, sorted(e)] for a, b, c, e in exp]}, ensure_ascii=False))
