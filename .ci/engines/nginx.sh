#!/usr/bin/env bash
# Installs Debian's nginx-light for the CueNginx and HttpCage tests, then makes those tests mandatory
# (BPI_REQUIRE_NGINX=1 turns "no nginx binary" from a skip into a failure).
#
# Nothing is started here: every test starts its own nginx with its own prefix, config, pid file and ports chosen by
# the OS, and stops it. The package's system service is kept from starting while it installs (Debian's policy-rc.d
# convention), so no system nginx takes port 80; one that was already running before is left alone and reported.
#
# Sourced by .ci/run (so the export reaches the test run); also runnable on its own. Idempotent: installs only when
# nginx is missing.
set -euo pipefail

bpi_nginx_binary() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

# The stream module is for the routing benchmark (layer-4 proxy baseline) and for the EncCluster-on-Docker tests, which
# build their nginx sidecar image from this binary, this module and the libraries ldd lists (NginxStreamTestImage).
if [ -z "$(bpi_nginx_binary)" ] || [ ! -e /usr/lib/nginx/modules/ngx_stream_module.so ]; then
    export DEBIAN_FRONTEND=noninteractive
    # .ci/run provides ensure_apt_updated so apt-get update runs once for every engine; alone, update here.
    if declare -F ensure_apt_updated >/dev/null; then ensure_apt_updated; else apt-get update -qq; fi
    bpi_policy=/usr/sbin/policy-rc.d
    bpi_added_policy=0
    if [ ! -e "$bpi_policy" ]; then
        # "exit 101" = action forbidden: invoke-rc.d (and deb-systemd-invoke) will not start the service on install.
        printf '#!/bin/sh\nexit 101\n' >"$bpi_policy"
        chmod +x "$bpi_policy"
        bpi_added_policy=1
    fi
    bpi_install_status=0
    apt-get install -y -qq nginx-light libnginx-mod-stream >/dev/null || bpi_install_status=$?
    if [ "$bpi_added_policy" = 1 ]; then rm -f "$bpi_policy"; fi
    if [ "$bpi_install_status" != 0 ]; then
        echo "nginx.sh: apt-get install nginx-light failed ($bpi_install_status)" >&2
        exit "$bpi_install_status"
    fi
fi

bpi_nginx="$(bpi_nginx_binary)"
if [ -z "$bpi_nginx" ]; then
    echo "nginx.sh: nginx-light is installed but no nginx binary was found (PATH, /usr/sbin/nginx)" >&2
    exit 1
fi

if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    echo "nginx.sh: a system nginx runs (pid $(cat /run/nginx.pid)); left alone — the tests use their own instances and ports" >&2
fi

echo "nginx.sh: $("$bpi_nginx" -v 2>&1) at $bpi_nginx; tests start their own instances" >&2
export BPI_REQUIRE_NGINX=1
