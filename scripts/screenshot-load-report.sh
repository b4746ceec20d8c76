#!/usr/bin/env bash
# Plays a small load against the embedded server, writes its HTML report
# and takes a screenshot of it in headless Chromium (Debian's package,
# installed when missing), so a person can see the charts as a browser
# shows them.
#   scripts/screenshot-load-report.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/load-report.png}
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
make -s build
rc=0
bin/enrollsim load --devices 300 --concurrency 50 --report html=bin/load-report.html >/dev/null || rc=$?
# Exit 1 is enrollments that failed: the report shows them, so it is still worth a look.
[ "$rc" -le 1 ] || exit "$rc"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags keep Chromium off the network: this machine has none but loopback.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1280,2400 --hide-scrollbars \
  --screenshot="$PWD/$out" "file://$PWD/bin/load-report.html" 2>/dev/null
test -s "$out"
echo "wrote $out"
