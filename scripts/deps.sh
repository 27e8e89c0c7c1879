#!/bin/sh
# deps.sh: installs the Debian packages yuanzhu needs, if any is missing (used by make demo/test).
# Runs apt-get only when something is missing; uses sudo when not root.
set -eu
PKGS="${YZ_PACKAGES:-build-essential pkg-config liblua5.4-dev libyaml-dev libcjson-dev libsqlite3-dev libssl-dev libzstd-dev libcsv-dev libmicrohttpd-dev libjansson-dev libsimdjson-dev sqlite3 openssl time python3}"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "yuanzhu: installing missing Debian packages:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "yuanzhu: need root or sudo to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
