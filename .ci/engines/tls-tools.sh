#!/usr/bin/env bash
# Installs Debian's tcpdump and openssl for the EncCluster tests (a loopback capture that must hold no plaintext, and
# `openssl s_client` showing TLS 1.3 with TLS_AES_256_GCM_SHA384 and refusing a client without a cluster certificate),
# then makes those tests mandatory (BPI_REQUIRE_TLS_TOOLS=1 turns "tool missing" from a skip into a failure).
#
# Nothing is started here: each test runs its own tcpdump and openssl. Sourced by .ci/run (so the export reaches the
# test run); also runnable on its own. Idempotent: installs only what is missing.
set -euo pipefail

if ! command -v tcpdump >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run provides ensure_apt_updated so apt-get update runs once for every engine; alone, update here.
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    apt-get install -y -qq tcpdump openssl >/dev/null
fi

echo "tls-tools.sh: $(tcpdump --version 2>&1 | head -n 1); $(openssl version)" >&2
export BPI_REQUIRE_TLS_TOOLS=1
