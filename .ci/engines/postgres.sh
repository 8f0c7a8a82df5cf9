#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 and starts a private server for the Bpi.Orchestration.PostgreSql tests, then makes
# those tests mandatory (BPI_REQUIRE_POSTGRES=1 turns "no server" from a skip into a failure).
#
# The server runs as the postgres user (it refuses root) in a data directory of its own, on 127.0.0.1 and a private
# port, with trust authentication for local connections only; the package's own cluster and service are left alone.
# Tests connect with BPI_POSTGRES_CONNECTION and each test class creates (and drops) a database of its own.
#
# Sourced by .ci/run (so the exports reach the test run); also runnable on its own. Idempotent: installs only what is
# missing and starts the server only when nothing answers on the port.
set -euo pipefail

bpi_pg_port="${BPI_POSTGRES_PORT:-55433}"
bpi_pg_data="${BPI_POSTGRES_DATA:-/tmp/bpi-postgres-$bpi_pg_port}"
bpi_pg_bin="${BPI_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"

if [ ! -x "$bpi_pg_bin/pg_ctl" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run provides ensure_apt_updated so apt-get update runs once for every engine; alone, update here.
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    bpi_pg_policy=/usr/sbin/policy-rc.d
    bpi_pg_added_policy=0
    if [ ! -e "$bpi_pg_policy" ]; then
        # "exit 101" = action forbidden: the package's system cluster is not started on install.
        printf '#!/bin/sh\nexit 101\n' >"$bpi_pg_policy"
        chmod +x "$bpi_pg_policy"
        bpi_pg_added_policy=1
    fi
    apt-get install -y -qq postgresql >/dev/null
    if [ "$bpi_pg_added_policy" = 1 ]; then rm -f "$bpi_pg_policy"; fi
fi

bpi_pg_answers() {
    runuser -u postgres -- "$bpi_pg_bin/pg_isready" -q -h 127.0.0.1 -p "$bpi_pg_port" >/dev/null 2>&1
}

if ! bpi_pg_answers; then
    if [ ! -s "$bpi_pg_data/PG_VERSION" ]; then
        rm -rf "$bpi_pg_data"
        mkdir -p "$bpi_pg_data"
        chown postgres "$bpi_pg_data"
        runuser -u postgres -- "$bpi_pg_bin/initdb" -D "$bpi_pg_data" -A trust -U postgres >/dev/null
    fi
    echo "postgres.sh: starting PostgreSQL on 127.0.0.1:$bpi_pg_port (data and log: $bpi_pg_data)" >&2
    # -w waits until the server accepts connections; setsid keeps it out of this shell's job control.
    setsid runuser -u postgres -- "$bpi_pg_bin/pg_ctl" -D "$bpi_pg_data" -w -t 60 -l "$bpi_pg_data/log" \
        -o "-p $bpi_pg_port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" start >/dev/null </dev/null
    if ! bpi_pg_answers; then
        echo "postgres.sh: PostgreSQL did not answer on 127.0.0.1:$bpi_pg_port; last log lines:" >&2
        tail -n 30 "$bpi_pg_data/log" >&2 || true
        exit 1
    fi
fi

echo "postgres.sh: PostgreSQL $("$bpi_pg_bin/postgres" --version | awk '{print $3}') answers on 127.0.0.1:$bpi_pg_port" >&2
export BPI_POSTGRES_CONNECTION="Host=127.0.0.1;Port=$bpi_pg_port;Username=postgres"
export BPI_REQUIRE_POSTGRES=1
