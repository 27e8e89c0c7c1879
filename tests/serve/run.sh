#!/bin/sh
# tests/serve/run.sh: yuanzhu serve end to end (tests/serve/test_serve.py), with signed rulesets
# and checkpoints (tests/serve/test_signing.py), and its web page in
# headless Chromium (tests/serve/test_page.py), with Debian's python3 (python3-jsonschema,
# python3-prometheus-client) whatever python3 comes first on PATH.
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
rc=0
"$PY" tests/serve/gen_openapi.py --check || { echo "FAIL: engine/serve/openapi.json is out of date: run $PY tests/serve/gen_openapi.py"; rc=1; }
"$PY" tests/serve/test_serve.py || rc=1
"$PY" tests/serve/test_signing.py || rc=1
[ -f tests/serve/test_page.py ] && { "$PY" tests/serve/test_page.py || rc=1; }
exit $rc
