#!/bin/sh
# Installs the real Prometheus and Alertmanager that tests/daemon/test_e2e_prometheus.py drives.
# Idempotent: when both binaries are already on PATH it returns at once without touching apt.
# The Debian packages ship systemd units; nothing is started here (the test runs its own
# instances on free 127.0.0.1 ports with their own configs and data directories).
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101: the packages' post-install scripts must not start the system services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager
