#!/usr/bin/env bash
# Installs and starts the Docker Engine the Bpi.Orchestration.Components tests run against, then makes those tests
# mandatory (BPI_REQUIRE_DOCKER=1 turns "no engine" from a skip into a failure).
#
# Sourced by .ci/run (so the export reaches the test run); also runnable on its own. Idempotent: installs only what
# is missing and starts dockerd only when nothing answers on the socket.
set -euo pipefail

bpi_docker_socket="${BPI_DOCKER_SOCKET:-/var/run/docker.sock}"
bpi_docker_log="${BPI_DOCKERD_LOG:-/tmp/bpi-dockerd.log}"

bpi_docker_answers() {
    # /_ping answers "OK" as soon as the daemon serves its API.
    [ -S "$bpi_docker_socket" ] && curl --silent --fail --max-time 2 --unix-socket "$bpi_docker_socket" http://localhost/_ping >/dev/null 2>&1
}

if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1 || ! [ -x /bin/busybox ] || ! command -v curl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run provides ensure_apt_updated so apt-get update runs once for every engine; alone, update here.
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    apt-get install -y -qq docker.io busybox-static curl >/dev/null
fi

if ! bpi_docker_answers; then
    echo "docker.sh: starting dockerd (log: $bpi_docker_log)" >&2
    # setsid detaches the daemon from this shell's job control so it outlives the script that sourced us.
    setsid dockerd --host "unix://$bpi_docker_socket" >"$bpi_docker_log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
        bpi_docker_answers && break
        sleep 1
    done
    if ! bpi_docker_answers; then
        echo "docker.sh: dockerd did not answer on $bpi_docker_socket within 60 s; last log lines:" >&2
        tail -n 30 "$bpi_docker_log" >&2 || true
        exit 1
    fi
fi

echo "docker.sh: Docker Engine answers on unix://$bpi_docker_socket (API $(curl --silent --unix-socket "$bpi_docker_socket" http://localhost/version | sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p'))" >&2
export BPI_REQUIRE_DOCKER=1
