#!/bin/sh
# tests/schema/run.sh: the published schema (schemas/applicant-record.v1.schema.json) and the
# engine accept and reject the same records, judged by a validator no one here wrote (Debian's
# python3-jsonschema, draft 2020-12, formats asserted; tests/schema/check.py).  The records: the
# example applicant and a few hundred mutations of it (every field of the schema given null,
# values of every wrong type, values outside its enum, length, pattern, range and item count, an
# unknown member; every required field left out), the CLI fixtures, every province test case's
# record (yuanzhu test --records), and the generated ledgers (tests/batch, tests/records).  The
# engine's verdicts come from batch --no-record (its rejects file) and, for single JSON and YAML
# files, from check --no-record.
set -u
. "$(dirname "$0")/../lib.sh"
suite_init schema
PY=/usr/bin/python3 # Debian's: python3-jsonschema and python3-yaml live there (make test installs them)
SCHEMA=schemas/applicant-record.v1.schema.json
"$PY" -c 'import jsonschema, yaml' || { echo "schema: FAIL: $PY has no jsonschema or yaml (python3-jsonschema, python3-yaml)"; exit 1; }

"$YZ" test --records "$T/cases.jsonl" provinces > /dev/null || { echo "schema: FAIL: yuanzhu test --records"; exit 1; }
FILES="schemas/examples/applicant.yaml $(ls tests/cli/fixtures/records/*.json tests/cli/fixtures/records/*.yaml)"
# shellcheck disable=SC2086
"$PY" tests/schema/check.py "$SCHEMA" "$T" build $FILES "$T/cases.jsonl" tests/batch/ledger.jsonl \
    tests/records/guangdong200.jsonl || exit 1
"$YZ" batch --province guangdong --as-of 2025-06-15 --no-record --quiet --rejects "$T/engine-rejects.jsonl" \
    "$T/corpus.jsonl" 2> /dev/null
code=$?
[ $code = 0 ] || [ $code = 4 ] || { echo "schema: FAIL: batch over the corpus exited $code"; exit 1; }
n=0
: > "$T/files.verdicts"
for f in $FILES; do
    n=$((n + 1))
    "$YZ" check --province guangdong --as-of 2025-06-15 --no-record --json "$f" > /dev/null 2> "$T/said.$n"
    printf '%s\t%s\t%s\n' "$f" $? "$T/said.$n" >> "$T/files.verdicts"
done
"$PY" tests/schema/check.py "$SCHEMA" "$T" compare
