#!/usr/bin/env bash
# Instructions per deployment, engine and direct loop: work counted, not timed, so two builds can be compared on a
# noisy machine to about 0.2 % (wall and CPU time on a shared VM move by 10-50 % from process to process).
#
# Counts the instructions the main thread executes (valgrind's callgrind, one output per thread) in `loop N` minus
# those of `loop 1` (start-up and JIT), divided by N-1. Tiered compilation is off (the code is compiled optimized once,
# no re-JIT in between), the collector non-concurrent with a 64 MB first generation (few or no collections, none on
# another thread): so the figure is the mutator's own work; bytes allocated (`allocs`) and the collector come on top.
#
# Usage: benchmarks/Bpi.Orchestration.Benchmarks/instructions.sh [rounds]   (needs valgrind: apt-get install valgrind)
# Build first: dotnet build -c Release benchmarks/Bpi.Orchestration.Benchmarks
set -euo pipefail
rounds="${1:-3001}"
here="$(cd "$(dirname "$0")" && pwd)"
dll="$here/bin/Release/net10.0/Bpi.Orchestration.Benchmarks.dll"
if ! command -v valgrind > /dev/null; then
  echo "valgrind is not installed (apt-get install valgrind)" >&2
  exit 2
fi

if [ ! -f "$dll" ]; then
  echo "build first: dotnet build -c Release $here" >&2
  exit 2
fi

main_thread_instructions() {
  local out
  out="$(mktemp -d)"
  DOTNET_TieredCompilation=0 DOTNET_gcServer=0 DOTNET_gcConcurrent=0 DOTNET_GCgen0size=0x4000000 \
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" dotnet "$dll" loop "$@" > /dev/null 2>&1
  grep -h '^totals:\|^summary:' "$out/cg-01" | head -1 | awk '{print $2}'
  rm -rf "$out"
}

for side in engine direct; do
  arg=""
  if [ "$side" = direct ]; then arg=direct; fi
  start="$(main_thread_instructions 1 $arg)"
  total="$(main_thread_instructions "$rounds" $arg)"
  echo "$side: $(( (total - start) / (rounds - 1) )) instructions per deployment (main thread, $((rounds - 1)) rounds)"
done
