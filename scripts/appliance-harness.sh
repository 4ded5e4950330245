# shellcheck shell=bash
# appliance-harness.sh — the appliance check's harness: named steps and checks with their times,
# figures, the failure report, the guest over ssh, and host-side stream watchers.
# Sourced by scripts/appliance-check.sh (not run): it uses that script's settings and globals.

# ---- steps, timings, figures, failure report ------------------------------------------------

# Two kinds of steps. `step`: what the rest needs (roots, build, boot, install); its failure
# ends the run. `check`: one behaviour of the appliance, run in a subshell; its failure prints
# the guest's state and the run goes on with the next check (so one run shows every broken
# behaviour), then ends non-zero. Timings and figures go to files, which subshells can append to.
step() { # step LABEL FUNCTION...: a failure ends the script (set -e) and the EXIT trap reports
    local label=$1 t0=$SECONDS; shift
    CURRENT_STEP=$label
    echo "=== appliance-check: $label"
    "$@"
    printf '%-56s %4ss  ok\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
    CURRENT_STEP=""
}
FAILED_CHECKS=()
check() { # check LABEL FUNCTION...
    local label=$1 t0=$SECONDS rc=0; shift
    echo "=== appliance-check: $label"
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        printf '%-56s %4ss  ok\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
    else
        printf '%-56s %4ss  FAILED\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
        FAILED_CHECKS+=("$label")
        echo "=== appliance-check: check FAILED: $label" >&2
        guest_diagnostics
    fi
}
figure() { # figure LABEL VALUE
    printf '%-56s %s\n' "$1" "$2" >>"$WORK/figures"
    log "figure: $1: $2"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

guest_diagnostics() { # what the guest says, on stderr
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null && [ -n "$SSH_PORT" ]; then
        echo "--- guest: journalctl -u streamserver (tail)" >&2
        gssh_t 30 'sudo journalctl -u streamserver --no-pager -n 60' >&2
        echo "--- guest: systemctl status streamserver" >&2
        gssh_t 30 'sudo systemctl --no-pager --full status streamserver | head -n 12' >&2
        echo "--- guest: journalctl -b (tail)" >&2
        gssh_t 30 'sudo journalctl -b --no-pager -n 40' >&2
    fi
    if [ -f "$WORK/console.log" ]; then
        echo "--- guest: serial console (tail)" >&2
        tail -n 30 "$WORK/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2
    fi
}

finish() {
    local rc=$?
    set +e
    if [ "$rc" -ne 0 ] && [ -n "$CURRENT_STEP" ]; then
        echo "=== appliance-check: FAILED in step: $CURRENT_STEP (exit $rc)" >&2
        guest_diagnostics
    fi
    stop_watchers
    if [ -n "$QEMU_PID" ]; then
        [ -S "$WORK/ssh-control" ] && timeout 10 ssh -o ControlPath="$WORK/ssh-control" -O exit x >/dev/null 2>&1
        kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
    fi
    mkdir -p "$LOGS"
    cp -f "$WORK"/*.log "$LOGS/" 2>/dev/null
    echo "=== appliance-check: timings"
    sed 's/^/    /' "$WORK/timings" 2>/dev/null
    if [ -s "$WORK/figures" ]; then
        echo "=== appliance-check: figures"
        sed 's/^/    /' "$WORK/figures"
        cp "$WORK/figures" "$LOGS/figures.txt"
    fi
    echo "(logs: $LOGS)"
    rm -rf "$WORK"
    exit "$rc"
}

# ---- the guest over ssh ------------------------------------------------------------------------

ssh_opts() {
    echo -F /dev/null -i "$KEY" -p "$SSH_PORT" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=15 \
        -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ControlPath="$WORK/ssh-control"
}
gssh_t() { # gssh_t SECONDS COMMAND: run COMMAND as pi in the guest, bounded, stdin closed
    local t=$1; shift
    # shellcheck disable=SC2046  # ssh_opts is a list of words without spaces in them
    timeout "$t" ssh $(ssh_opts) -o ControlMaster=no pi@127.0.0.1 "$@" </dev/null
}
gssh() { gssh_t 120 "$@"; }
gssh_in() { # gssh_in COMMAND: as gssh, with this script's stdin
    # shellcheck disable=SC2046
    timeout 120 ssh $(ssh_opts) -o ControlMaster=no pi@127.0.0.1 "$@"
}
ssh_master() { # one authenticated connection that the later commands share (TCG is slow at kex)
    # shellcheck disable=SC2046
    timeout 10 ssh $(ssh_opts) -O check x >/dev/null 2>&1 && return 0
    rm -f "$WORK/ssh-control"   # the socket of a master that died with the guest's reboot
    # shellcheck disable=SC2046
    timeout 60 ssh $(ssh_opts) -M -N -f -o ControlPersist=yes pi@127.0.0.1 </dev/null >/dev/null 2>&1 || true
}

# http PATH: prints the status code of GET PATH on the forwarded port ("000": no answer).
http_code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT$1" || true; }
# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND once a second.
wait_until() {
    local limit=$1 what=$2 t0=$SECONDS; shift 2
    until "$@"; do
        [ $((SECONDS - t0)) -lt "$limit" ] || die "timed out after ${limit}s waiting for: $what"
        kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited while waiting for: $what"
        sleep 1
    done
}
is_http() { [ "$(http_code "$2")" = "$1" ]; }
service_prop() { gssh "systemctl show -p $1 --value streamserver.service"; }
service_active() { [ "$(service_prop ActiveState 2>/dev/null)" = active ]; }

# ---- host-side stream watchers (scripts/mjpeg-watch.py) ----------------------------------------

start_watcher() { # start_watcher NAME PATH: records the stream at PATH in $WORK/watch-NAME
    local dir=$WORK/watch-$1
    rm -rf "$dir" && mkdir -p "$dir"
    python3 "$REPO/scripts/mjpeg-watch.py" "http://127.0.0.1:$HTTP_PORT$2" "$dir" 600 \
        >"$dir/out.log" 2>&1 &
    echo $! >"$dir/pid"
    echo "$1" >>"$WORK/watchers"
    wait_until 60 "a first part on the $1 watcher" grep -s -q '^part ' "$dir/parts.tsv"
}
watcher_alive() { # watcher_alive NAME: still connected
    local dir=$WORK/watch-$1
    kill -0 "$(cat "$dir/pid")" 2>/dev/null && ! grep -q '^end ' "$dir/parts.tsv"
}
stop_watcher() { # stop_watcher NAME: ends it; fails if it had lost its connection
    local dir=$WORK/watch-$1 pid rc=0
    pid=$(cat "$dir/pid")
    touch "$dir/stop"
    timeout 30 tail --pid="$pid" -f /dev/null || kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    cp "$dir/parts.tsv" "$WORK/watch-$1.parts.log" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 3 "$dir/parts.tsv"; return 1; }
}
stop_watchers() {
    local name
    [ -f "$WORK/watchers" ] || return 0
    while read -r name; do
        [ -f "$WORK/watch-$name/stop" ] || stop_watcher "$name" >/dev/null 2>&1 || true
    done <"$WORK/watchers"
}
# first_part_after NAME TIME WANT: prints "time index" of the first newly sequenced part that
# arrived after TIME and is (WANT=live) or is not (WANT=placeholder) vimc's colour bars.
first_part_after() {
    local dir=$WORK/watch-$1 after=$2 want=$3 idx t jpg bars
    while read -r idx t; do
        jpg=$dir/part-$(printf '%06d' "$idx").jpg
        [ -f "$jpg" ] || continue
        if [ ! -f "$jpg.class" ]; then   # decoding takes a while: once per part
            if vimc_check_bars "$jpg" "$WORK" >/dev/null 2>&1; then
                echo live >"$jpg.class"
            else
                echo placeholder >"$jpg.class"
            fi
        fi
        bars=$(cat "$jpg.class")
        if [ "$bars" = "$want" ]; then
            echo "$t $idx"
            return 0
        fi
    done < <(awk -v a="$after" '$1 == "part" && $3 > a { print $2, $3 }' "$dir/parts.tsv")
    return 1
}
# wait_part NAME TIME WANT LIMIT: as first_part_after, waiting up to LIMIT seconds for it.
# Fails (status 1, a message on stderr) on timeout or when the client loses its connection.
wait_part() {
    local t0=$SECONDS found=""
    while ! found=$(first_part_after "$1" "$2" "$3"); do
        if [ $((SECONDS - t0)) -ge "$4" ]; then
            echo "appliance-check: no $3 frame on the $1 stream within ${4}s" >&2
            return 1
        fi
        if ! watcher_alive "$1"; then
            found=$(first_part_after "$1" "$2" "$3") && break
            echo "appliance-check: the $1 stream client lost its connection:" \
                "$(tail -n 1 "$WORK/watch-$1/parts.tsv")" >&2
            return 1
        fi
        sleep 1
    done
    echo "$found"
}
# The stream shows vimc now: a fresh snapshot from the host has the colour bars.
snapshot_is_vimc() {
    curl -s -f -m 15 -o "$WORK/snapshot.jpg" "http://127.0.0.1:$HTTP_PORT/snapshot.jpg" &&
        vimc_check_bars "$WORK/snapshot.jpg" "$WORK" >/dev/null 2>&1
}
