#!/usr/bin/python3
"""The published applicant record schema against the engine, with a validator no one here wrote.

usage: check.py SCHEMA WORK_DIR build      writes WORK_DIR/corpus.jsonl (+ corpus.labels): the
                                           JSON records below, and the mutations of the example
       check.py SCHEMA WORK_DIR compare    reads the engine's verdicts (WORK_DIR/engine-rejects.jsonl
                                           from batch, WORK_DIR/files.verdicts from check) and
                                           validates every record with Debian's python3-jsonschema
                                           (draft 2020-12, formats asserted)

Both must accept and reject the same records.  The one allowed difference is the engine's checks
that JSON Schema cannot express, which the schema lists under x-checks (the ID number's check
digit and birth date, sex and birth_date agreeing with it, retirement_group agreeing with sex):
a record the engine rejects only for those, and the validator accepts, is counted apart.

Inputs of build (argument files after 'build'): JSON Lines files (one record per line: the
generated ledgers, the province test cases' records from `yuanzhu test --records`) and single
records in JSON or YAML (YAML read as the engine reads it: the YAML 1.2 core schema, except that
a plain scalar where the schema asks for text is text).
Runs with Debian's /usr/bin/python3, where python3-jsonschema and python3-yaml are installed.
"""
import copy
import json
import re
import sys

import jsonschema
import yaml


# YAML 1.2's core schema (PyYAML knows 1.1: yes/no booleans, dates, 0755 octal), read as the
# documentation says records are read: a plain scalar where the schema asks for text is that text
# (code: 440000); elsewhere it has the type the core schema gives it.
CORE = [(None, r"^(?:~|null|Null|NULL|)$"), ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$"),
        ("int", r"^[-+]?[0-9]+$"), ("float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")]


def scalar(node, s):
    text = node.value
    if node.style:  # quoted, literal or folded: text
        return text
    core = next(kind for kind, rx in CORE if re.match(rx, text)) if any(re.match(rx, text) for _, rx in CORE) else "str"
    if core is None:
        return None
    if [t for t in types_of(s or {}) if t != "null"] == ["string"] or core == "str":
        return text
    if core == "bool":
        return text.lower() == "true"
    return int(text, 10) if core == "int" else float(text)


def from_yaml(node, s):
    if isinstance(node, yaml.MappingNode):
        props = (s or {}).get("properties", {})
        return {k.value: from_yaml(v, props.get(k.value)) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [from_yaml(v, (s or {}).get("items")) for v in node.value]
    return scalar(node, s)


def load_record(path, schema):
    text = open(path, encoding="utf-8").read()
    if text.lstrip().startswith(("{", "[")):
        return json.loads(text)
    return from_yaml(yaml.compose(text, Loader=yaml.SafeLoader), schema)


# ---- mutations: every field of the schema, given values of every kind ----

WRONG = {"string": "text", "integer": 7, "number": 2.5, "boolean": True, "object": {}, "array": []}


def types_of(s):
    t = s.get("type", [])
    return t if isinstance(t, list) else [t]


def put(rec, path, value):
    """a copy of rec with path (a list of keys and list indexes) set to value (DROP: removed);
    missing objects and lists on the way are made"""
    r = copy.deepcopy(rec)
    cur = r
    for i, k in enumerate(path[:-1]):
        want = list if isinstance(path[i + 1], int) else dict
        if isinstance(k, int):
            while len(cur) <= k:
                cur.append(None)
        if not isinstance(cur[k] if isinstance(k, int) else cur.get(k), want):
            cur[k] = want()
        cur = cur[k]
    last = path[-1]
    if value is DROP:
        if isinstance(cur, dict):
            cur.pop(last, None)
        return r
    if isinstance(last, int):
        while len(cur) <= last:
            cur.append(None)
    cur[last] = value
    return r


DROP = object()


def values_for(s, root):
    """values to try for a field of schema s: valid ones and wrong ones"""
    ts = types_of(s)
    vals = [None]
    vals += [v for t, v in WRONG.items() if t not in ts and not (t == "number" and "integer" in ts)]
    if "integer" in ts:
        vals += [7.0, 2.5]
    if "enum" in s:
        vals += [e for e in s["enum"] if e is not None] + ["zz_not_allowed"]
    if "maxLength" in s and "enum" not in s and "pattern" not in s:
        vals += ["字" * s["maxLength"], "字" * (s["maxLength"] + 1)]
    if "pattern" in s and s.get("format") not in ("date", "resident-id"):
        vals += ["abc", "4401"]
    if s.get("format") == "date":
        vals += ["2025-06-15", "2025-02-30", "2025-2-3", "20250203", "2025-W24-7", "2025/06/15", "2024-02-29", "2023-02-29"]
    if s.get("format") == "resident-id":
        vals += ["44010619850615048X", "44010619850615048x", "440106198506150026", "44010619850615002", "4401061985061500250"]
    for k in ("minimum", "maximum"):
        if k in s:
            m = s[k]
            vals += [m, m - 1 if k == "minimum" else m + 1]
    if "const" in s:
        vals += [s["const"], s["const"] + 1]
    if "array" in ts:
        item = s["items"]
        sample = {"string": "2025-01-01" if item.get("format") == "date" else
                  (item.get("enum") or ["x"])[0], "object": {}}
        it = sample.get(types_of(item)[0], None)
        vals += [[], [None], [7]]
        if "maxItems" in s:
            vals += [[it] * s["maxItems"], [it] * (s["maxItems"] + 1)]
    return vals


def walk(s, path, root, out):
    """(path, schema) of every field, objects and list items included"""
    out.append((path, s))
    if "properties" in s:
        for k, sub in s["properties"].items():
            walk(sub, path + [k], root, out)
    if "items" in s and "properties" in s["items"]:
        walk(s["items"], path + [0], root, out)


def mutations(schema, base):
    fields = []
    walk(schema, [], schema, fields)
    out = [("example", base)]
    for path, s in fields:
        name = ".".join(str(p) for p in path) or "(record)"
        if not path:
            for req in schema.get("required", []):
                out.append(("drop %s" % req, put(base, [req], DROP)))
            out.append(("unknown field", dict(base, zz_unknown=1)))
            continue
        for v in values_for(s, schema):
            out.append(("%s = %s" % (name, json.dumps(v, ensure_ascii=False)[:40]), put(base, path, v)))
        if "properties" in s and s.get("additionalProperties") is False:
            out.append(("%s.zz_unknown = 1" % name, put(base, path + ["zz_unknown"], 1)))
        if path[-1] not in schema.get("required", []) or len(path) > 1:
            out.append(("drop %s" % name, put(base, path, DROP)))
    return out


# ---- the engine's checks beyond JSON Schema (schema x-checks) ----

ENGINE_ONLY = [r"check digit is ", r"are not a real birth date", r"disagrees with id_number",
               r"does not fit sex"]


def engine_only(errors):
    return errors and all(any(re.search(p, e.get("message", "")) for p in ENGINE_ONLY) for e in errors)


def main():
    schema_path, work, what = sys.argv[1], sys.argv[2], sys.argv[3]
    schema = json.load(open(schema_path, encoding="utf-8"))
    if what == "build":
        lines, labels = [], []
        for src in sys.argv[4:]:
            if src.endswith(".jsonl"):
                for i, l in enumerate(open(src, encoding="utf-8"), 1):
                    if l.strip():
                        try:
                            lines.append(json.loads(l))
                            labels.append("%s:%d" % (src, i))
                        except ValueError:
                            pass  # not JSON at all: no schema question (batch says why)
            else:
                try:
                    base = load_record(src, schema)
                except (ValueError, yaml.YAMLError, UnicodeDecodeError):
                    continue
                if src.endswith("schemas/examples/applicant.yaml"):
                    for label, rec in mutations(schema, base):
                        lines.append(rec)
                        labels.append("%s (%s)" % (src, label))
        with open(work + "/corpus.jsonl", "w", encoding="utf-8") as f:
            for rec in lines:
                f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        with open(work + "/corpus.labels", "w", encoding="utf-8") as f:
            f.write("\n".join(labels) + "\n")
        return 0

    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.draft202012_format_checker)
    labels = open(work + "/corpus.labels", encoding="utf-8").read().splitlines()
    recs = [json.loads(l) for l in open(work + "/corpus.jsonl", encoding="utf-8")]
    rejected = {}
    for l in open(work + "/engine-rejects.jsonl", encoding="utf-8"):
        r = json.loads(l)
        rejected[r["line"]] = r["errors"]
    # single files, as the engine read them itself (check --no-record): PATH, its exit status, and
    # the file holding what it said
    files = []
    for l in open(work + "/files.verdicts", encoding="utf-8"):
        path, code, said = l.rstrip("\n").split("\t")
        errors = []
        for m in open(said, encoding="utf-8", errors="replace"):
            hit = re.match(r"^.*?: error: (?:([^ :]+): )?(.*)$", m.rstrip("\n"))
            if hit:
                errors.append({"field": hit.group(1) or "", "message": hit.group(2)})
        try:
            files.append((path, load_record(path, schema), None if code == "0" else errors or [{"message": "exit " + code}]))
        except (ValueError, yaml.YAMLError, UnicodeDecodeError):
            if code != "4":
                print("FAIL %s: not JSON or YAML to Python, but the engine read it (exit %s)" % (path, code))
                return 1
    counts = {"both accept": 0, "both reject": 0, "engine-only checks": 0}
    bad = []

    def judge(label, rec, engine_errors):
        errs = sorted(v.iter_errors(rec), key=lambda e: list(e.absolute_path))
        if engine_errors is None and not errs:
            counts["both accept"] += 1
        elif engine_errors is not None and errs:
            counts["both reject"] += 1
        elif engine_errors is not None and engine_only(engine_errors):
            counts["engine-only checks"] += 1
        elif engine_errors is None:
            bad.append("%s: the engine accepts it, the schema does not: %s" % (
                label, "; ".join("%s: %s" % (".".join(map(str, e.absolute_path)) or "(record)", e.message[:120]) for e in errs[:3])))
        else:
            bad.append("%s: the schema accepts it, the engine does not: %s" % (
                label, "; ".join("%s: %s" % (e.get("field", ""), e.get("message", "")) for e in engine_errors[:3])))

    for i, rec in enumerate(recs, 1):
        judge(labels[i - 1], rec, rejected.get(i))
    for path, rec, errors in files:
        judge(path, rec, errors)
    for b in bad:
        print("FAIL " + b)
    total = len(recs) + len(files)
    print("schema: %d records (%d files, %d lines): %d accepted by both, %d rejected by both, %d rejected only by "
          "the engine's x-checks; %d disagreements" % (total, len(files), len(recs), counts["both accept"],
                                                     counts["both reject"], counts["engine-only checks"], len(bad)))
    # a corpus that tests something: both verdicts occur, and the extra checks are exercised
    if counts["both accept"] < 100 or counts["both reject"] < 100 or counts["engine-only checks"] < 3:
        print("FAIL the corpus is too thin to say the two agree")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
