#!/bin/sh
# libdoc.sh: writes docs/rules-library.md from the "---" comments of rules/lib/*.lua (stdout).
# tests/run.sh checks that the committed page matches.
set -eu
cd "$(dirname "$0")/.."
cat <<'HEAD'
# The rule library (`rules/lib`)

Functions every condition and formula may call, generated from the comments in `rules/lib/*.lua`
by `scripts/libdoc.sh` (do not edit by hand). The library is part of every ruleset: a change
here changes the ruleset id of every province. Dates are text `YYYY-MM-DD`; money is integer fen.
A function that needs a field the record lacks makes the condition unknown; one given a bad
argument raises an error that names it.

Lua helpers a condition may use too: `field(obj, key)` returns `value, true`, or `nil, false`
when the field is absent, without making the condition unknown; `try(f, ...)` returns `true` and
f's results, or `false` when f read something unknown; `unknown()` makes the condition unknown.
HEAD
for f in rules/lib/*.lua; do
    echo
    echo "## $(basename "$f")"
    echo
    sed -n '1,/^local M/p' "$f" | grep '^--' | sed -e 's/^-- \{0,1\}//' -e '1s/^[^:]*: //' | grep -v '^local M'
    echo
    awk '/^--- /{doc = doc substr($0, 5) "\n"; next}
         /^function M\./ { if (doc != "") { sig = $0; sub(/^function M\./, "", sig); print "- `" sig "`"; n = split(doc, lines, "\n"); for (i = 1; i < n; i++) print "  " lines[i]; } doc = ""; next }
         { doc = "" }' "$f"
done
