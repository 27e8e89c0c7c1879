#!/usr/bin/env python3
"""JSON Lines records -> the CSV layout of docs/batch.md, as a spreadsheet export would write it
(Python's csv module, not yuanzhu's code): dotted column names, lists of objects as NAME.count and
NAME.K.field, lists of texts joined with ';' and [] for an empty one, JSON null as null, an absent
field as an empty cell.

usage: to-csv.py IN.jsonl OUT.csv [--empty-list-as-blank]   (the option writes an empty list as an
       empty cell, i.e. unknown: what a ledger could only say before [] existed)
"""
import csv, json, sys

OBJECT_LISTS = {"household.members", "subsidy_history"}


def flatten(rec, blank_empty):
    out = {}

    def walk(prefix, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(prefix + "." + k if prefix else k, x)
        elif isinstance(v, list) and prefix in OBJECT_LISTS:
            out[prefix + ".count"] = str(len(v))
            for i, x in enumerate(v):
                walk("%s.%d" % (prefix, i), x)
        elif isinstance(v, list):
            out[prefix] = ";".join(v) if v or blank_empty else "[]"
        elif v is None:
            out[prefix] = "null"
        elif isinstance(v, bool):
            out[prefix] = "true" if v else "false"
        else:
            out[prefix] = str(v)
    walk("", rec)
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    blank = "--empty-list-as-blank" in sys.argv[3:]
    rows = [flatten(json.loads(l), blank) for l in open(src, encoding="utf-8") if l.strip()]
    cols = []
    for row in rows:
        for c in row:
            if c not in cols:
                cols.append(c)
    with open(dst, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for row in rows:
            w.writerow([row.get(c, "") for c in cols])


if __name__ == "__main__":
    main()
