#!/usr/bin/env bash
# The packages as a user consumes them: packs every package (src/*, and the CLI tool) with a CI version into
# tests/consumer/artifacts/packages, checks what the packages hold (symbols, SourceLink, no stray executables), then
# restores, builds and runs the consumer solution (tests/consumer) against those packages by version. A packaging or
# public-API regression fails here. Prints why on failure and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

consumer=tests/consumer
packages=$consumer/artifacts/packages
log_dir=$(mktemp -d /tmp/bpi-consumer.XXXXXX)
prefix=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
# A version no earlier run used, so the NuGet cache never serves a stale package of the same version.
version="$prefix-ci.$(date -u +%Y%m%d%H%M%S)"
export BPI_ORCHESTRATION_VERSION=$version

# Each run packs a new version: drop it from the NuGet cache on the way out (pass or fail), so the cache does not grow.
forget_version() {
    local cache
    cache=$(dotnet nuget locals global-packages --list 2>/dev/null | sed 's/^global-packages: //') || return 0
    [ -n "$cache" ] || return 0
    for p in "$packages"/*."$version".nupkg; do
        [ -e "$p" ] || continue
        rm -rf "${cache:?}/$(basename "$p" ".$version.nupkg" | tr '[:upper:]' '[:lower:]')/$version"
    done
}
trap forget_version EXIT

fail() {
    echo "consumer build failed: $1" >&2
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        echo "(last lines of $2)" >&2
        tail -n 40 "$2" >&2
    fi
    exit 1
}

echo "== consumer: dotnet pack (version $version) into $packages"
rm -rf "$packages"
mkdir -p "$packages"
projects=(src/*/*.csproj samples/Bpi.Orchestration.Cli/Bpi.Orchestration.Cli.csproj)
# One solution filter, so the packages build in one MSBuild invocation.
filter=$log_dir/packages.slnf
{
    printf '{ "solution": { "path": "%s", "projects": [' "$PWD/Bpi.Orchestration.sln"
    sep=""
    for p in "${projects[@]}"; do printf '%s"%s"' "$sep" "${p//\//\\\\}"; sep=", "; done
    printf '] } }\n'
} >"$filter"
dotnet pack "$filter" -c Release -o "$packages" -p:ContinuousIntegrationBuild=true -p:VersionSuffix="ci.${version##*-ci.}" -warnaserror >"$log_dir/pack.log" 2>&1 \
    || fail "dotnet pack" "$log_dir/pack.log"

echo "== consumer: package contents"
expected=${#projects[@]}
libraries=$(ls src/*/*.csproj | wc -l)
nupkgs=$(find "$packages" -name "*.$version.nupkg" | wc -l)
snupkgs=$(find "$packages" -name "*.$version.snupkg" | wc -l)
[ "$nupkgs" -eq "$expected" ] || fail "expected $expected packages of version $version, found $nupkgs"
# Every library has its symbol package; the CLI tool is a program and ships none.
[ "$snupkgs" -eq "$libraries" ] || fail "expected $libraries symbol packages (.snupkg) of version $version, found $snupkgs"
python3 .ci/check-packages.py "$packages" "$version" || fail "package contents (see above)"

echo "== consumer: build and test $consumer against the packages"
dotnet build "$consumer/Consumer.sln" -c Release >"$log_dir/build.log" 2>&1 || fail "dotnet build $consumer" "$log_dir/build.log"
echo "== consumer: the deployer host (deploy, canary, host stop destroys)"
timeout 300 dotnet run -c Release --no-build --project "$consumer/Consumer.Deployer" >"$log_dir/deployer.log" 2>&1 \
    || fail "the consumer deployer host" "$log_dir/deployer.log"
tail -n 3 "$log_dir/deployer.log"
echo "== consumer: manual-clock canary tests"
timeout 600 dotnet test "$consumer/Consumer.sln" -c Release --no-build >"$log_dir/test.log" 2>&1 \
    || fail "dotnet test $consumer" "$log_dir/test.log"
grep -E '(Passed|Failed)!  - Failed:' "$log_dir/test.log" || fail "no test summary from the consumer tests" "$log_dir/test.log"

echo "== consumer: ok ($version)"
