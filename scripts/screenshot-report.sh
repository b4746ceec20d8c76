#!/usr/bin/env bash
# Plays the demo suite, writes its HTML report and takes a screenshot of it
# in headless Chromium (Debian's package, installed when missing), so a
# person can see the timeline as a browser shows it.
#   scripts/screenshot-report.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/report.png}
if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
make -s build
bin/enrollsim run demo --report html=bin/report.html >/dev/null
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags keep Chromium off the network: this machine has none but loopback.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1280,1600 --hide-scrollbars \
  --screenshot="$PWD/$out" "file://$PWD/bin/report.html" 2>/dev/null
test -s "$out"
echo "wrote $out"
