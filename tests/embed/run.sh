#!/bin/sh
# tests/embed/run.sh: the library as an embedder links it.  The static and the shared library
# export exactly the YZ_API functions of engine/yuanzhu.h (no internal name such as arena_alloc
# can clash with the embedder's), and a program that defines such names and uses cJSON itself
# works linked either way (tests/embed/embed.c).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=$(dirname "${YZ_UNIT:-build/unit}")
api=$(mktemp) got=$(mktemp)
trap 'rm -f "$api" "$got"' EXIT
# the public API: every function declared YZ_API in the header
sed -n 's/^YZ_API [^(]*[ *]\(yz_[a-z0-9_]*\)(.*/\1/p' engine/yuanzhu.h | sort -u > "$api"
[ -s "$api" ] && ok || bad "no YZ_API declarations found in engine/yuanzhu.h"
nm -g --defined-only "$BUILD/libyuanzhu.a" | awk 'NF == 3 { print $3 }' | sort -u > "$got"
if cmp -s "$api" "$got"; then ok; else bad "libyuanzhu.a exports other symbols than yuanzhu.h declares: $(diff "$api" "$got" | grep '^[<>]' | head -n 8 | tr '\n' ' ')"; fi
nm -D --defined-only "$BUILD/libyuanzhu.so" | awk 'NF == 3 { print $3 }' | sort -u > "$got"
if cmp -s "$api" "$got"; then ok; else bad "libyuanzhu.so exports other symbols than yuanzhu.h declares: $(diff "$api" "$got" | grep '^[<>]' | head -n 8 | tr '\n' ' ')"; fi
expect "a program linking libyuanzhu.a" 0 "embed: ok" "$BUILD/embed-static" .
expect "a program linking libyuanzhu.so" 0 "embed: ok" "$BUILD/embed-shared" .
finish embed
