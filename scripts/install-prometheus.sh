#!/usr/bin/env bash
# Puts the prometheus and promtool binaries into .tools/bin/ (repo-relative) for the monitoring tests.
#
# Debian's package is unpacked rather than installed: `apt-get install prometheus` also pulls about
# 230 MB of web-UI JavaScript packages that the tests never use. Needs apt-get and dpkg-deb (Debian 12).
# Does nothing when both binaries are already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/bin"

if [[ -x "$BIN/prometheus" && -x "$BIN/promtool" ]]; then
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# A fresh machine has no package lists yet: refresh them only when the first download fails.
if ! apt-get download -qq prometheus >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download -qq prometheus
fi

dpkg-deb -x prometheus_*.deb root
mkdir -p "$BIN"
install -m 0755 root/usr/bin/prometheus root/usr/bin/promtool "$BIN/"
echo "installed $("$BIN/promtool" --version 2>&1 | head -n 1) into $BIN"
