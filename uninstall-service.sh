#!/usr/bin/env bash
# Remove the streamserver systemd service installed by install-service.sh.
#
# Keeps the config (/etc/streamserver), the logs (/var/log/streamserver), the
# state (/var/lib/streamserver) and the 'streamserver' user unless
# PURGE_LOCAL_ARTIFACTS=1. Safe to run twice.
set -euo pipefail

readonly SERVICE=streamserver.service
readonly SERVICE_USER=streamserver
readonly BIN_DEST=/usr/local/bin/streamserver
readonly HELPER_DEST=/usr/local/bin/streamserver-camera
readonly UNIT_DEST=/etc/systemd/system/$SERVICE
readonly CONF_DIR=/etc/streamserver
readonly LOG_DIR=/var/log/streamserver
readonly STATE_DIR=/var/lib/streamserver

# Prefix for every removed path (tests); see install-service.sh.
ROOT=${STREAMSERVER_ROOT:-}
PURGE=${PURGE_LOCAL_ARTIFACTS:-0}
readonly ROOT PURGE

usage() {
    cat <<EOF
Usage: ./uninstall-service.sh
       PURGE_LOCAL_ARTIFACTS=1 ./uninstall-service.sh

Stops and disables $SERVICE and removes its unit, $BIN_DEST and $HELPER_DEST.
Keeps $CONF_DIR, $LOG_DIR, $STATE_DIR and the user '$SERVICE_USER', unless
PURGE_LOCAL_ARTIFACTS=1, which removes them too (and any local unit
drop-ins in $UNIT_DEST.d).

Run it as your normal user: it asks sudo for the steps that need it.

Environment:
  PURGE_LOCAL_ARTIFACTS=1   also remove config, logs, state and the user
  STREAMSERVER_ROOT         prefix for every removed file (default: empty; for tests)
EOF
}

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'uninstall-service.sh: error: %s\n' "$*" >&2
    exit 1
}

case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
"") ;;
*) die "unknown argument '$1' (see --help)" ;;
esac
[[ "$PURGE" == 0 || "$PURGE" == 1 ]] || die "PURGE_LOCAL_ARTIFACTS must be 0 or 1, not '$PURGE'"

# `id -u`, not $EUID: it is what a test harness can fake.
if [[ "$(id -u)" == 0 ]]; then
    die "do not run this as root or with sudo: run it as your normal user, it asks sudo for the steps that need it"
fi
command -v sudo >/dev/null || die "sudo is not installed"

if [[ -e "$ROOT$UNIT_DEST" ]]; then
    log "stopping and disabling $SERVICE"
    sudo systemctl stop "$SERVICE"
    sudo systemctl disable "$SERVICE"
else
    log "$UNIT_DEST is not installed"
fi
# Forget a failed state (errors when systemd does not know the unit: fine).
sudo systemctl reset-failed "$SERVICE" 2>/dev/null || true

sudo rm -f "$ROOT$UNIT_DEST"
if [[ "$PURGE" == 1 ]]; then
    sudo rm -rf "$ROOT$UNIT_DEST.d"
fi
sudo systemctl daemon-reload
sudo rm -f "$ROOT$BIN_DEST" "$ROOT$HELPER_DEST"
log "removed $UNIT_DEST, $BIN_DEST and $HELPER_DEST"

if [[ "$PURGE" == 1 ]]; then
    sudo rm -rf "$ROOT$CONF_DIR" "$ROOT$LOG_DIR" "$ROOT$STATE_DIR"
    log "removed $CONF_DIR, $LOG_DIR and $STATE_DIR"
    if getent passwd "$SERVICE_USER" >/dev/null; then
        # Also removes its group (USERGROUPS_ENAB, the Debian default).
        sudo userdel "$SERVICE_USER"
        log "removed user $SERVICE_USER"
    fi
else
    log "kept $CONF_DIR, $LOG_DIR, $STATE_DIR and user $SERVICE_USER;" \
        "PURGE_LOCAL_ARTIFACTS=1 $0 removes them"
fi
