#!/usr/bin/env bash
# Runs every benchmark project once in its quickest mode, so a benchmark that builds but no longer starts or finishes
# fails CI. Figures from these runs mean nothing (one iteration, in process, on a busy machine): measure with the
# commands in each benchmark's README instead. Expects `dotnet build Bpi.Orchestration.sln -c Release` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke() {
    local project=$1; shift
    echo "== benchmark smoke: $project $*"
    local started=$SECONDS
    if ! timeout 600 dotnet run -c Release --no-build --project "benchmarks/$project" -- "$@" >"/tmp/bpi-bench-smoke-$project.log" 2>&1; then
        echo "benchmark smoke failed: $project $* (last lines of /tmp/bpi-bench-smoke-$project.log):" >&2
        tail -n 40 "/tmp/bpi-bench-smoke-$project.log" >&2
        return 1
    fi
    # BenchmarkDotNet exits 0 on bad arguments and on benchmarks that threw: read its log too.
    if grep -qE "^// (ERROR|\\*\\*\\*\\*\\* No benchmarks)|is invalid|Benchmarks with issues|Exception:" "/tmp/bpi-bench-smoke-$project.log"; then
        echo "benchmark smoke failed: $project $* reported errors:" >&2
        grep -nE "ERROR|is invalid|issues|Exception" "/tmp/bpi-bench-smoke-$project.log" | head -n 20 >&2
        return 1
    fi
    if grep -q "BenchmarkRunner: Start" "/tmp/bpi-bench-smoke-$project.log" \
        && ! grep -qE "executed benchmarks: [1-9]" "/tmp/bpi-bench-smoke-$project.log"; then
        echo "benchmark smoke failed: $project $* executed no benchmark" >&2
        return 1
    fi
    echo "   ok in $((SECONDS - started)) s"
}

# BenchmarkDotNet projects: the Dry job (one invocation, no pilot or warm-up) in this process (no generated project).
bdn=(--filter '*' --job Dry --inProcess)
smoke Bpi.Orchestration.Strategies.Benchmarks "${bdn[@]}"
smoke Bpi.Orchestration.Security.Benchmarks "${bdn[@]}"
smoke Bpi.Orchestration.Benchmarks "${bdn[@]}"
smoke Bpi.Orchestration.Benchmarks memory 200
smoke Bpi.Orchestration.Benchmarks profile 200
smoke Bpi.Orchestration.Benchmarks idle 50 2
smoke Bpi.Orchestration.Benchmarks idle-healing 50 2 1
smoke Bpi.Orchestration.Audit.Benchmarks --filter '*Inclusion*' --job Dry --inProcess
smoke Bpi.Orchestration.Audit.Benchmarks verify 10000
smoke Bpi.Orchestration.Audit.Benchmarks latency 4 1
smoke Bpi.Orchestration.Routing.Benchmarks --mode latency --requests 200 --rounds 1
smoke Bpi.Orchestration.Kubernetes.Benchmarks --smoke
smoke Bpi.Orchestration.Api.Benchmarks --quick
if [ "${BPI_REQUIRE_DOCKER:-}" = 1 ]; then
    smoke Bpi.Orchestration.Components.Benchmarks rolling 1 0
fi

# PostgreSQL harnesses: print "skipped: …" and exit 0 without a server (BPI_POSTGRES_CONNECTION unset or not answering).
smoke Bpi.Orchestration.PostgreSql.Benchmarks store 50
smoke Bpi.Orchestration.PostgreSql.Benchmarks audit 1 3 64
smoke Bpi.Orchestration.PostgreSql.Benchmarks takeover 2 1000
