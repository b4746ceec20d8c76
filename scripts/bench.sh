#!/usr/bin/env bash
# Issue 16's three figures, each next to its baseline measured in the same
# run (Go benchmarks, one process each, so a ratio holds on a noisy machine):
#   (a) one BYOD enrollment through the engine against a bare net/http client
#   (b) heap per in-flight simulated device at 1,000 at once, and per finished one
#   (c) enrollments per second, and the reference server's share of the CPU
# The raw benchmark lines go to bin/bench.txt.
#   scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
out=bin/bench.txt
: >"$out"
run() { go test -run '^$' -count 1 "$@" ./load/ | tee -a "$out" | grep '^Benchmark' || { echo "benchmark failed: $*" >&2; exit 1; }; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(go version | cut -d' ' -f3)"
run -bench 'EngineAgainstBareClient/probes=off' -benchtime 1000x
run -bench 'EngineAgainstBareClient/probes=on' -benchtime 300x
run -bench 'HeapPerDevice' -benchtime 1x
run -bench 'LoadThroughput' -benchtime 4x
run -bench 'WholeLifeThroughput' -benchtime 2x
run -bench 'WholeLifeAgainstBareClient' -benchtime 200x
# metric VALUE UNIT pairs follow the iteration count and ns/op
metric() { grep "^Benchmark$1" "$out" | awk -v u="$2" '{for (i = 1; i < NF; i++) if ($(i+1) == u) print $i}'; }
echo
echo "(a) engine vs bare client, one BYOD enrollment:"
printf '    probes off: %s ms against %s ms: %s× (target at most 1.5×), %s requests a case\n' \
  "$(metric 'EngineAgainstBareClient/probes=off' engine-ms/case)" "$(metric 'EngineAgainstBareClient/probes=off' bare-ms/case)" \
  "$(metric 'EngineAgainstBareClient/probes=off' engine/bare)" "$(metric 'EngineAgainstBareClient/probes=off' engine-req/case)"
printf '    probes on:  %s ms: %s×, %s requests a case (the bare client sends %s)\n' \
  "$(metric 'EngineAgainstBareClient/probes=on' engine-ms/case)" "$(metric 'EngineAgainstBareClient/probes=on' engine/bare)" \
  "$(metric 'EngineAgainstBareClient/probes=on' engine-req/case)" "$(metric 'EngineAgainstBareClient/probes=on' bare-req/case)"
echo "(b) heap per simulated device, 1,000 in flight:"
printf '    %s KiB against %s KiB for the bare client (target under 64 KiB); %s B per finished device (target 0)\n' \
  "$(metric HeapPerDevice engine-KiB/in-flight)" "$(metric HeapPerDevice bare-KiB/in-flight)" "$(metric HeapPerDevice B/finished)"
echo "(c) throughput, 200 at once, every check on:"
printf '    %s enrollments/s with the server in process: 10,000 in %s s (target 30 s)\n' \
  "$(metric 'LoadThroughput/server=in-process' enrollments/s)" "$(metric 'LoadThroughput/server=in-process' s/10k)"
printf '    server in its own process: %s enrollments/s; the server spends %s ms of CPU an enrollment, the tool %s ms: the server is %s%% of the CPU\n' \
  "$(metric 'LoadThroughput/server=own-process' enrollments/s)" "$(metric 'LoadThroughput/server=own-process' server-cpu-ms/enrollment)" \
  "$(metric 'LoadThroughput/server=own-process' tool-cpu-ms/enrollment)" "$(metric 'LoadThroughput/server=own-process' server-share-%)"
echo "(d) the whole life (identity, check-in, commands, token life; probes off), 200 at once, server in process:"
printf '    %s enrollments/s: 10,000 in %s s (issue 29 aims at 400/s); the same run to the profile only: %s/s, %s× as many\n' \
  "$(metric WholeLifeThroughput whole-life/s)" "$(metric WholeLifeThroughput whole-life-s/10k)" \
  "$(metric WholeLifeThroughput profile-only/s)" "$(metric WholeLifeThroughput profile/whole)"
printf '    a bare device living the same life, 200 at once against the same server: %s/s, %s× the engine (what this machine allows the life: its RSA-2048 work is most of it)\n' \
  "$(metric WholeLifeThroughput bare-whole-life/s)" "$(metric WholeLifeThroughput bare/engine)"
printf '    one whole life: %s ms through the engine against %s ms for a bare device living the same life (%s requests, the same cryptography, no checks): %s× (issue 29 aims at 2×)\n' \
  "$(metric WholeLifeAgainstBareClient engine-ms/case)" "$(metric WholeLifeAgainstBareClient bare-ms/case)" \
  "$(metric WholeLifeAgainstBareClient bare-req/case)" "$(metric WholeLifeAgainstBareClient engine/bare)"
