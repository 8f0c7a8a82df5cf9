#!/usr/bin/env bash
# BenchmarkDotNet in pairs: N invocations of the recreate benchmark, each running the engine and the direct loop with
# one launch of 10 iterations, so each ratio compares two measurements taken about a minute apart. One invocation with
# many launches runs every engine launch before any direct-loop launch; on a shared VM whose speed drifts from minute to
# minute (by half, at times) that ratio is a draw. Prints each pair's medians and ratio, then the median ratio.
#
# Usage: benchmarks/Bpi.Orchestration.Benchmarks/pairs.sh [pairs]   (~1.5 min per pair; output kept in a temp folder)
set -euo pipefail
pairs="${1:-6}"
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"
dotnet build -c Release "$here" > "$out/build.txt" 2>&1 || { cat "$out/build.txt"; exit 1; }

# Median of the WorkloadResult lines of one benchmark case in one BenchmarkDotNet output, in microseconds.
median_us() {
  awk -v want="$2" '
    /^\/\/ Benchmark: RecreateDeploymentBenchmarks\./ { on = index($0, "." "\x27" want) > 0 }
    on && /^WorkloadResult/ { v = $(NF-1); if ($NF == "ns/op") v /= 1000; a[n++] = v }
    END {
      if (n == 0) { print "none"; exit }
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      printf "%.2f\n", (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
    }' "$1"
}

ratios=()
for i in $(seq 1 "$pairs"); do
  dotnet run -c Release --no-build --project "$here" -- --filter '*RecreateDeploymentBenchmarks*' --iterationCount 10 --launchCount 1 \
    > "$out/pair-$i.txt" 2>&1
  engine="$(median_us "$out/pair-$i.txt" engine)"
  direct="$(median_us "$out/pair-$i.txt" direct)"
  if [ "$engine" = none ] || [ "$direct" = none ]; then
    echo "pair $i: no result; see $out/pair-$i.txt" >&2
    exit 1
  fi

  ratio="$(awk -v e="$engine" -v d="$direct" 'BEGIN { printf "%.2f", e / d }')"
  ratios+=("$ratio")
  echo "pair $i ($(date +%T)): engine $engine us, direct loop $direct us, ratio ${ratio}x"
done

printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[n++] = $1 } END {
  m = (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
  printf "median ratio %.2fx over %d pairs (lowest %.2fx, highest %.2fx)\n", m, n, a[0], a[n - 1] }'
echo "BenchmarkDotNet output: $out"
