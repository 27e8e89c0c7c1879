#!/bin/sh
# tests/install/run.sh: make install and make uninstall, as a packager and an admin use them.
#  1. built once with the default PREFIX, then installed with another PREFIX/DATADIR into the
#     same build folder: the installed binary must look for its rules where they were installed
#     (the engine is rebuilt when DATADIR changes), run from another folder without YUANZHU_HOME;
#  2. staged under DESTDIR (PREFIX=/opt/yuanzhu) and run from there: the binary finds
#     PREFIX/share/yuanzhu beside itself; its serve answers with the installed web page;
#  3. a C program built with the installed pkg-config file, against the shared and the static
#     library; the man pages format without warnings;
#  4. make uninstall leaves nothing of ours behind.
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d "${TMPDIR:-/tmp}/yz-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
B=$T/build
M="make --no-print-directory BUILD=$B BIN=$B/yuanzhu"
REC=$(pwd)/schemas/examples/applicant.yaml
unset YUANZHU_HOME YUANZHU_DB
$M -j2 all > "$T/make.log" 2>&1 || { cat "$T/make.log"; bad "make all"; finish install; exit 1; }

# 1. another PREFIX and DATADIR after a default build
$M PREFIX="$T/p" DATADIR="$T/data" install > "$T/install1.log" 2>&1 || { tail "$T/install1.log"; bad "install PREFIX/DATADIR"; }
[ -x "$T/p/bin/yuanzhu" ] && [ -f "$T/data/provinces/guangdong/policy.yaml" ] && ok || bad "install: files not where asked"
strings "$T/p/bin/yuanzhu" | grep -qx "$T/data" && ok || bad "the installed binary does not name its DATADIR $T/data"
mkdir -p "$T/elsewhere"
(cd "$T/elsewhere" && expect "installed binary finds its DATADIR" 0 "结论：是" \
    "$T/p/bin/yuanzhu" check --province guangdong --as-of 2025-06-15 --no-record "$REC")
$M PREFIX="$T/p" DATADIR="$T/data" uninstall > /dev/null 2>&1
left=$(find "$T/p" "$T/data" -type f 2>/dev/null | head -n 3)
[ -z "$left" ] && ok || bad "uninstall left files: $left"

# 2. staged under DESTDIR, run from the stage
S=$T/stage
$M PREFIX=/opt/yuanzhu DESTDIR="$S" install > "$T/install2.log" 2>&1 || { tail "$T/install2.log"; bad "install DESTDIR"; }
P=$S/opt/yuanzhu
for f in bin/yuanzhu lib/libyuanzhu.a lib/libyuanzhu.so lib/libyuanzhu.so.0 lib/pkgconfig/yuanzhu.pc include/yuanzhu.h \
         share/man/man1/yuanzhu.1 share/man/man1/yuanzhu-serve.1 share/yuanzhu/web/index.html share/yuanzhu/web/app.js \
         share/yuanzhu/examples/yuanzhu.service share/yuanzhu/schemas/applicant-record.v1.schema.json \
         share/yuanzhu/rules/lib/date.lua; do
    [ -e "$P/$f" ] && ok || bad "not installed: $f"
done
grep -q "^ExecStart=/opt/yuanzhu/bin/yuanzhu serve" "$P/share/yuanzhu/examples/yuanzhu.service" && ok || bad "the unit names the installed binary"
(cd "$T/elsewhere" && expect "staged binary finds share/yuanzhu beside it" 0 "结论：是" \
    "$P/bin/yuanzhu" check --province guangdong --as-of 2025-06-15 --no-record "$REC")
(cd "$T/elsewhere" && expect "staged binary lints its installed provinces" 0 "" "$P/bin/yuanzhu" lint --today 2025-01-01 "$P/share/yuanzhu/provinces/guangdong")
tok=$("$P/bin/yuanzhu" token add --tokens "$T/tokens" --operator ad --role admin 2>/dev/null)
YZ_SAVED=${YZ:-}
YZ=$P/bin/yuanzhu
serve_start "$T/serve.log" --listen 127.0.0.1:0 --db "$T/s.db" --tokens "$T/tokens" || true
YZ=$YZ_SAVED
spid=$serve_pid
url=$serve_url
page=$(/usr/bin/python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1] + '/').read().decode())" "$url" 2>&1)
case $page in *就业援助资格核定*) ok ;; *) bad "the staged server's page: $page $(cat "$T/serve.log")" ;; esac
grep -q "web $P/share/yuanzhu/web" "$T/serve.log" && ok || bad "serve does not use the installed web folder: $(cat "$T/serve.log")"
kill -TERM $spid
wait $spid && ok || bad "the staged server did not stop cleanly"

# 3. the library through its pkg-config file
# the stage is where PREFIX will be: tell pkg-config (a relocated prefix, as for any staged .pc)
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
pc="pkg-config --define-variable=prefix=$P"
grep -q '^libdir=${prefix}/lib$' "$P/lib/pkgconfig/yuanzhu.pc" && ok || bad "yuanzhu.pc: libdir not under prefix: $(cat "$P/lib/pkgconfig/yuanzhu.pc")"
[ "$($pc --modversion yuanzhu)" = "$(sed -n 's/^#define YZ_VERSION "\(.*\)"/\1/p' engine/yuanzhu.h)" ] && ok || bad "pkg-config version"
cat > "$T/hello.c" <<'C'
#include <stdio.h>
#include <yuanzhu.h>
int main(int argc, char **argv)
{
    (void)argc;
    char *home = yz_home_default(argv[0]), **names;
    size_t n = yz_province_names(home, &names);
    printf("%s %zu %s\n", YZ_VERSION, n, n ? names[0] : "-");
    for (size_t i = 0; i < n; i++)
        yz_free(names[i]);
    yz_free(names);
    yz_free(home);
    return 0;
}
C
cc -o "$T/hello-shared" "$T/hello.c" $($pc --cflags --libs yuanzhu) 2> "$T/cc.log" && ok || bad "link against the shared library: $(cat "$T/cc.log")"
out=$(YUANZHU_HOME="$P/share/yuanzhu" LD_LIBRARY_PATH="$P/lib" "$T/hello-shared")
case $out in "0."*" guangdong") ok ;; *) bad "the shared library program: $out" ;; esac
LD_LIBRARY_PATH="$P/lib" ldd "$T/hello-shared" | grep -q "$P/lib/libyuanzhu.so.0" && ok || bad "not linked to the installed .so: $(ldd "$T/hello-shared")"
cc -static-libgcc -o "$T/hello-static" "$T/hello.c" $($pc --cflags yuanzhu) "$P/lib/libyuanzhu.a" $($pc --static --libs yuanzhu | sed 's/-lyuanzhu//') 2> "$T/cc2.log" \
    && ok || bad "link against the static library: $(cat "$T/cc2.log")"
out=$(YUANZHU_HOME="$P/share/yuanzhu" "$T/hello-static")
case $out in "0."*" guangdong") ok ;; *) bad "the static library program: $out" ;; esac
unset PKG_CONFIG_PATH
for m in yuanzhu yuanzhu-serve; do
    w=$(groff -k -man -Tutf8 -ww -z "$P/share/man/man1/$m.1" 2>&1)
    [ -z "$w" ] && ok || bad "man page $m: $w"
done
MANWIDTH=80 man -l "$P/share/man/man1/yuanzhu-serve.1" 2>/dev/null | grep -q "SIGHUP" && ok || bad "man yuanzhu-serve does not render"

# 4. uninstall
$M PREFIX=/opt/yuanzhu DESTDIR="$S" uninstall > /dev/null 2>&1
left=$(find "$S" -type f -o -type l | head -n 3)
[ -z "$left" ] && ok || bad "uninstall left: $left"
finish install
