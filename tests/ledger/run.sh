#!/bin/sh
# tests/ledger/run.sh: the real-name ledger (due, export, show, history) on a store built from
# fixtures whose changes of status fall on days known by construction; see check.py.
set -u
cd "$(dirname "$0")/../.."
exec python3 tests/ledger/check.py
