#!/bin/sh
# hyperscaler-driver-libraries: run by the entrypoint. A GPU node with `devices` access has
# the host's driver libraries mounted where the host keeps them (gpus.driverFiles); their
# directories, in HYPERSCALER_DRIVER_LIBRARY_DIRS, go on the loader's path, as the
# toolkit's hook does. Nothing to do elsewhere.
set -eu
[ -n "${HYPERSCALER_DRIVER_LIBRARY_DIRS:-}" ] || exit 0
echo "$HYPERSCALER_DRIVER_LIBRARY_DIRS" | tr ':' '\n' >/etc/ld.so.conf.d/hyperscaler-gpu-driver.conf
ldconfig
