#!/usr/bin/env bash
# Refreshes the README's pictures of the HTML report: the demo's JavaScript
# sign-in (grace's web-login step) and the top of the full suite's report
# (conformance, negative and thresholds: the index and its pivot of
# findings by check). Headless Chromium: Debian's package (make deps).
#   scripts/readme-shots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
mkdir -p bin
bin/enrollsim run demo --report html=bin/demo.html >/dev/null
bin/enrollsim run conformance negative thresholds --report html=bin/full.html >/dev/null
case=$(grep -B1 '<h2>byod-iphone-javascript/' bin/demo.html | grep -o 'id="case-[0-9]*"' | grep -o 'case-[0-9]*')
step=$(grep -o "href=\"#$case-step-[0-9]*\">web-login<" bin/demo.html | grep -o "$case-step-[0-9]*")
go run scripts/readme-shots.go "bin/demo.html#$step=docs/demo-javascript-login.png" "bin/full.html=docs/report-index.png"
ls -l bin/full.html
