#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test (tests/Bpi.Orchestration.AspNetCore.Tests, driven
# headless over the DevTools protocol), then makes that test mandatory (BPI_REQUIRE_CHROMIUM=1 turns "no browser"
# from a skip into a failure) and tells it where the browser is (BPI_CHROMIUM).
#
# Nothing is started here: the test starts its own headless browser with its own profile directory and a DevTools
# port chosen by the browser, and kills it at the end.
#
# Sourced by .ci/run (so the exports reach the test run); also runnable on its own. Idempotent: installs only when
# chromium is missing.
set -euo pipefail

bpi_chromium_binary() {
    command -v chromium 2>/dev/null || { [ -x /usr/bin/chromium ] && echo /usr/bin/chromium; } || true
}

if [ -z "$(bpi_chromium_binary)" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run provides ensure_apt_updated so apt-get update runs once for every engine; alone, update here.
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    apt-get install -y -qq chromium >/dev/null
fi

bpi_chromium="$(bpi_chromium_binary)"
if [ -z "$bpi_chromium" ]; then
    echo "chromium.sh: chromium is installed but no chromium binary was found (PATH, /usr/bin/chromium)" >&2
    exit 1
fi

echo "chromium.sh: $("$bpi_chromium" --version 2>/dev/null || echo chromium) at $bpi_chromium; the browser test starts its own headless instance" >&2
export BPI_CHROMIUM="$bpi_chromium"
export BPI_REQUIRE_CHROMIUM=1
