#!/usr/bin/env bash
# Starts a real container registry for the Docker runtime's pull tests: Debian's docker-registry (the CNCF
# distribution registry) on a loopback port with htpasswd auth, plain HTTP (dockerd treats 127.0.0.0/8 registries as
# insecure by default, so no TLS is needed). Exports BPI_REGISTRY (host:port), BPI_REGISTRY_USER,
# BPI_REGISTRY_PASSWORD and BPI_REQUIRE_REGISTRY=1 (the registry tests then fail instead of skipping).
#
# Sourced by .ci/run after docker.sh (so the export reaches the test run); also runnable on its own. Idempotent: installs
# only what is missing and reuses a registry already answering on the port.
set -euo pipefail

bpi_registry_port="${BPI_REGISTRY_PORT:-5055}"
bpi_registry_dir=/var/lib/bpi-registry
bpi_registry_user=bpi
bpi_registry_password=bpi-registry-secret

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v htpasswd >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    bpi_policy=/usr/sbin/policy-rc.d
    bpi_added_policy=0
    if [ ! -e "$bpi_policy" ]; then
        # Keeps the package's own service (port 5000, no auth) from starting on install.
        printf '#!/bin/sh\nexit 101\n' >"$bpi_policy"
        chmod +x "$bpi_policy"
        bpi_added_policy=1
    fi
    bpi_install_status=0
    apt-get install -y -qq docker-registry apache2-utils >/dev/null || bpi_install_status=$?
    if [ "$bpi_added_policy" = 1 ]; then rm -f "$bpi_policy"; fi
    if [ "$bpi_install_status" != 0 ]; then
        echo "registry.sh: apt-get install docker-registry apache2-utils failed ($bpi_install_status)" >&2
        exit "$bpi_install_status"
    fi
fi

bpi_registry_answers() {
    # /v2/ answers 401 with htpasswd auth on: the registry is up.
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${bpi_registry_port}/v2/" 2>/dev/null || true)"
    [ "$code" = 401 ]
}

if ! bpi_registry_answers; then
    mkdir -p "$bpi_registry_dir/data"
    htpasswd -Bbc "$bpi_registry_dir/htpasswd" "$bpi_registry_user" "$bpi_registry_password" 2>/dev/null
    cat >"$bpi_registry_dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $bpi_registry_dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${bpi_registry_port}
auth:
  htpasswd:
    realm: bpi-registry
    path: $bpi_registry_dir/htpasswd
YAML
    nohup docker-registry serve "$bpi_registry_dir/config.yml" >"$bpi_registry_dir/registry.log" 2>&1 &
    echo $! >"$bpi_registry_dir/registry.pid"
    for _ in $(seq 1 50); do
        bpi_registry_answers && break
        sleep 0.2
    done
    if ! bpi_registry_answers; then
        echo "registry.sh: the registry did not answer on 127.0.0.1:${bpi_registry_port}; its log:" >&2
        cat "$bpi_registry_dir/registry.log" >&2 || true
        exit 1
    fi
fi

echo "registry.sh: $(docker-registry --version 2>/dev/null | head -1) on 127.0.0.1:${bpi_registry_port} (htpasswd user ${bpi_registry_user})" >&2
export BPI_REGISTRY="127.0.0.1:${bpi_registry_port}"
export BPI_REGISTRY_USER="$bpi_registry_user"
export BPI_REGISTRY_PASSWORD="$bpi_registry_password"
export BPI_REQUIRE_REGISTRY=1
