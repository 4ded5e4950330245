# shellcheck shell=bash
# appliance-checks.sh — the appliance check's checks of the installed service: readiness and
# the camera, unplug/replug, wedged and crashed processes, reboot, the folder source under the
# sandbox, the logs, uninstall and purge.
# Sourced by scripts/appliance-check.sh (not run): it uses that script's settings and globals.

# ---- 7. the service, as installed ----------------------------------------------------------------

check_service() {
    wait_until 120 "streamserver.service active" service_active
    local props journal
    props=$(gssh 'systemctl show -p Type,ActiveState,SubState,NRestarts,MainPID streamserver.service' | tr '\n' ' ')
    log "$props"
    [[ $props == *Type=notify* && $props == *SubState=running* && $props == *NRestarts=0* ]] ||
        die "unexpected service state: $props"
    # LimitNOFILE= reached the process.
    local nofile
    nofile=$(gssh "sudo grep 'Max open files' /proc/$(service_prop MainPID)/limits" | awk '{ print $4 }')
    log "open-file limit of the server: $nofile"
    [ "$nofile" = "$(sed -n 's/^LimitNOFILE=//p' "$REPO/streamserver.service")" ] ||
        die "the server's open-file limit is $nofile, not the unit's LimitNOFILE"
    # Type=notify: "Started" is logged only after READY=1, and the server logs it sent READY=1.
    journal=$(gssh 'sudo journalctl -u streamserver.service -b --no-pager -o cat')
    grep -q 'streamserver ready' <<<"$journal" || die "no 'streamserver ready' in the journal"
    grep -q '^Started streamserver.service' <<<"$journal" || die "systemd never logged 'Started' (no READY=1?)"
    wait_until 90 "/health 200 from the host" is_http 200 /health
    wait_until 60 "vimc's colour bars on /snapshot.jpg" snapshot_is_vimc
    vimc_check_bars "$WORK/snapshot.jpg" "$WORK"
    start_watcher main /stream.mjpg
    sleep 5
    local parts
    parts=$(awk '$1 == "part" { n++ } END { print n + 0 }' "$WORK/watch-main/parts.tsv")
    figure "stream parts in the first ~5 s (TCG)" "$parts"
    vimc_check_bars "$WORK/watch-main/latest.jpg" "$WORK" >/dev/null ||
        die "the stream's newest frame is not vimc's camera"
    stop_watcher main
    log "the stream shows vimc's camera (colour bars in order)"
}

# ---- 8. camera unplugged and plugged in again ----------------------------------------------------

camera_unplug() {
    local dev pid t_unbind t_bind found state watcher=unplug problems=()
    pid=$(service_prop MainPID)
    dev=$(gssh 'ls /sys/bus/platform/drivers/vimc/ | grep "^vimc"' | head -n 1)
    [ -n "$dev" ] || die "vimc is not bound to its platform driver"
    # Whatever happens below, the camera is plugged in again for the checks after this one.
    # shellcheck disable=SC2064  # $dev is known now
    trap "gssh 'echo $dev | sudo tee /sys/bus/platform/drivers/vimc/bind' >/dev/null 2>&1 || true" EXIT
    start_watcher unplug /stream.mjpg
    t_unbind=$(now)
    gssh "echo $dev | sudo tee /sys/bus/platform/drivers/vimc/unbind >/dev/null"
    log "unbound $dev from the vimc driver"
    wait_until 60 "/health 503 with the camera gone" is_http 503 /health
    figure "unplug -> /health 503" "$(elapsed "$t_unbind" "$(now)") s"
    if found=$(wait_part unplug "$t_unbind" placeholder 60); then
        figure "unplug -> placeholder on the stream" "$(elapsed "$t_unbind" "${found%% *}") s"
    else
        problems+=("the stream client did not stay connected to see the placeholder")
        watcher=unplug-again
        start_watcher "$watcher" /stream.mjpg
        if found=$(wait_part "$watcher" "$t_unbind" placeholder 60); then
            figure "unplug -> placeholder (on a NEW connection)" "$(elapsed "$t_unbind" "${found%% *}") s"
        else
            problems+=("no placeholder on the stream")
        fi
    fi
    if [ "$(service_prop MainPID)" != "$pid" ]; then
        problems+=("the server process died when the camera went away ($(gssh \
            'sudo journalctl -u streamserver.service -b --no-pager -o cat -n 300' |
            grep -E 'FATAL|Main process exited' | tail -n 2 | sed 's/\x1b\[[0-9;]*m//g' | tr '\n' ' '))")
    fi
    state=$(curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/api/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)["streams"][0]
print(s["state"], "placeholder" if s["showing_placeholder"] else "no-placeholder", s.get("last_error"))
') || state="(no /api/state)"
    log "/api/state while unplugged: $state"
    [[ $state == *" placeholder "* ]] || problems+=("/api/state does not report the placeholder: $state")
    sleep 5   # a few restart attempts that find no camera
    t_bind=$(now)
    gssh "echo $dev | sudo tee /sys/bus/platform/drivers/vimc/bind >/dev/null"
    log "bound $dev to the vimc driver again"
    if found=$(wait_part "$watcher" "$t_bind" live 120); then
        figure "replug -> live frames on the stream" "$(elapsed "$t_bind" "${found%% *}") s"
    else
        problems+=("no live frames on the stream after the replug")
    fi
    wait_until 30 "/health 200 after the replug" is_http 200 /health
    if watcher_alive "$watcher" && stop_watcher "$watcher"; then
        log "$watcher: $(grep -c '^part ' "$WORK/watch-$watcher.parts.log") parts in one connection"
    else
        problems+=("the stream client lost its connection after the replug")
    fi
    [ ${#problems[@]} = 0 ] || die "$(printf '%s; ' "${problems[@]}")"
}

# ---- 9./10. wedged and crashed -------------------------------------------------------------------

new_main_pid() { # new_main_pid OLD: the service is active with a main process other than OLD
    local p
    p=$(service_prop MainPID 2>/dev/null) && [ "$p" != "$1" ] && [ "$p" != 0 ] && service_active
}

# kill_and_wait SIGNAL LIMIT FIGURE: sends SIGNAL to the main process, waits for systemd to run a
# new one and for the stream to show the camera again.
kill_and_wait() {
    local sig=$1 limit=$2 label=$3 pid restarts t_kill t_guest t_new
    pid=$(service_prop MainPID)
    restarts=$(service_prop NRestarts)
    [ "$pid" -gt 0 ] || die "no main process"
    t_kill=$(now)
    t_guest=$(gssh "date +%s.%N; sudo kill -$sig $pid")
    log "SIG$sig to $pid"
    if [ "$sig" = SEGV ] && sleep 3 && [ "$(service_prop MainPID)" = "$pid" ]; then
        # Rust's std catches SIGSEGV (to report stack overflows); one that is not a fault in its
        # guard page resets the default action and returns, so a SIGSEGV sent by kill(1) is
        # survived once. A real fault repeats at once and kills; so does a second kill.
        figure "kill -SEGV: the first one survived" "yes (Rust std's SIGSEGV handler); sent twice"
        gssh "sudo kill -$sig $pid"
    fi
    wait_until "$limit" "a new main process after SIG$sig" new_main_pid "$pid"
    t_new=$(now)
    [ "$(service_prop NRestarts)" = $((restarts + 1)) ] || die "NRestarts did not go up by one"
    wait_until 90 "vimc's colour bars after SIG$sig" snapshot_is_vimc
    figure "$label -> service active again" "$(elapsed "$t_kill" "$t_new") s"
    figure "$label -> live stream again" "$(elapsed "$t_kill" "$(now)") s"
    KILL_GUEST_TIME=$t_guest
}
KILL_GUEST_TIME=""

process_wedged() {
    kill_and_wait STOP $((WATCHDOG_S + 5 + RESTART_S + 60)) "SIGSTOP (wedged)"
    # When systemd's watchdog fired, in the guest's clock.
    local fired
    fired=$(gssh "sudo journalctl -u streamserver.service -b --no-pager -o short-unix --since @${KILL_GUEST_TIME%.*}" |
        awk '/Watchdog timeout/ { print $1; exit }')
    [ -n "$fired" ] || die "no 'Watchdog timeout' in the journal"
    local after
    after=$(elapsed "$KILL_GUEST_TIME" "$fired")
    figure "SIGSTOP -> watchdog kill (WatchdogSec=${WATCHDOG_S}s)" "$after s"
    awk -v a="$after" -v l="$((WATCHDOG_S + 5))" 'BEGIN { exit !(a <= l) }' ||
        die "the watchdog fired after ${after}s, more than WatchdogSec + 5 s"
}

process_crash() {
    kill_and_wait SEGV $((RESTART_S + 60)) "SIGSEGV (crash)"
    gssh "sudo journalctl -u streamserver.service -b --no-pager -o cat --since @${KILL_GUEST_TIME%.*}" |
        grep -E 'status=11/SEGV|Scheduled restart' || die "the journal does not show the SEGV and the restart"
}

# ---- 11. reboot ----------------------------------------------------------------------------------

new_boot_id() { # new_boot_id OLD: the guest answers with a boot id other than OLD
    local b
    b=$(gssh_t 10 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null) && [ -n "$b" ] && [ "$b" != "$1" ]
}

reboot_vm() {
    local boot_id t0 booted
    boot_id=$(gssh 'cat /proc/sys/kernel/random/boot_id')
    t0=$(now)
    gssh_t 30 'sudo systemctl reboot' || true
    [ -S "$WORK/ssh-control" ] && timeout 10 ssh -o ControlPath="$WORK/ssh-control" -O exit x >/dev/null 2>&1
    wait_until 360 "the guest to come back with a new boot id" new_boot_id "$boot_id"
    ssh_master
    booted=$(now)
    log "$(gssh 'systemd-analyze | head -n 1')"
    wait_until 120 "streamserver.service active after the reboot" service_active
    [ "$(service_prop NRestarts)" = 0 ] || die "the service needed restarts after the reboot"
    wait_until 90 "vimc's colour bars after the reboot" snapshot_is_vimc
    figure "reboot -> ssh up" "$(elapsed "$t0" "$booted") s"
    figure "reboot -> live stream" "$(elapsed "$t0" "$(now)") s"
}

# ---- 12. folder source under the sandbox ---------------------------------------------------------

folder_snapshot_is() { # folder_snapshot_is NAME: the folder stream's snapshot is seed frame NAME
    curl -s -f -m 10 -o "$WORK/folder.jpg" "http://127.0.0.1:$HTTP_PORT/streams/folder/snapshot.jpg" &&
        cmp -s "$WORK/folder.jpg" "$WORK/seed/frames/$1"
}
folder_holds_only() { # folder_holds_only DIR NAME: DIR in the guest holds NAME and nothing else
    [ "$(gssh "sudo ls -A $1" | tr '\n' ' ')" = "$2 " ]
}

folder_source() {
    local frames=/var/lib/streamserver/frames owner
    # A second stream: a folder in the state directory (StateDirectory= in the unit).
    gssh_in 'sudo tee -a /etc/streamserver/config.toml >/dev/null' <<EOF

[[stream]]
id = "folder"
source = "folder"
[stream.folder]
path = "$frames"
stale_after = "300s"
max_frame_age = "3s"
EOF
    # ExecStartPre (check-config) creates the folder, in the sandbox, as the service user.
    gssh 'sudo systemctl restart streamserver.service'
    wait_until 90 "streamserver.service active with the folder stream" service_active
    owner=$(gssh "sudo stat -c '%U:%G %a' $frames")
    log "$frames: $owner"
    [ "${owner%% *}" = streamserver:streamserver ] || die "$frames is owned by ${owner%% *}, not the service user"
    # The producer writes under a temporary name and renames into place, as README asks.
    gssh "sudo cp /srv/seed/frames/a.jpg $frames/a.jpg.tmp && sudo mv $frames/a.jpg.tmp $frames/a.jpg"
    wait_until 30 "the producer's first frame on /streams/folder/snapshot.jpg" folder_snapshot_is a.jpg
    start_watcher folder /streams/folder/stream.mjpg
    local t0
    t0=$(now)
    gssh "sudo cp /srv/seed/frames/b.jpg $frames/b.jpg.tmp && sudo mv $frames/b.jpg.tmp $frames/b.jpg"
    wait_until 30 "the producer's second frame on the folder stream" \
        cmp -s "$WORK/watch-folder/latest.jpg" "$WORK/seed/frames/b.jpg"
    figure "folder: file renamed in -> on the stream client" "$(elapsed "$t0" "$(now)") s (host poll, 1 s)"
    stop_watcher folder
    # Cleanup (max_frame_age = 3s) deletes the old frame, never the one on air.
    wait_until 20 "the old frame cleaned up, the one on air kept" folder_holds_only "$frames" b.jpg
    curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/api/state" | python3 -c '
import json, sys
streams = {s["id"]: s for s in json.load(sys.stdin)["streams"]}
print("streams:", {k: (v["source"], v["state"], v["healthy"]) for k, v in streams.items()})
assert streams["main"]["healthy"] and streams["folder"]["state"] == "running", "unhealthy"
' || die "the camera stream is not healthy or the folder stream not running"
}

# ---- 13. logs ------------------------------------------------------------------------------------

check_logs() {
    local journal main errors pattern
    journal=$(gssh 'sudo journalctl -u streamserver.service --no-pager -o cat')
    main=$(gssh 'sudo cat /var/log/streamserver/main.log')
    errors=$(gssh 'sudo cat /var/log/streamserver/error.log')
    expect() { # expect NAME TEXT PATTERN
        local line
        line=$(grep -a -m 1 -E "$3" <<<"$2") || die "$1 has no line matching: $3"
        echo "    $1: $(cut -c1-150 <<<"$line")"
    }
    for pattern in 'streamserver ready' 'Watchdog timeout' 'status=11/SEGV' \
                   'Scheduled restart job' 'camera streaming'; do
        expect journal "$journal" "$pattern"
    done
    expect main.log "$main" 'streamserver ready'
    expect main.log "$main" 'camera streaming'
    expect main.log "$main" 'source starting'
    expect error.log "$errors" 'source failed; restarting'
    if grep -a -q -E ' (INFO|DEBUG) ' <<<"$errors"; then
        die "error.log holds lines below warning level"
    fi
}

# ---- 14. uninstall -------------------------------------------------------------------------------

# What a purge must leave behind: nothing named streamserver outside pi's checkout copy.
LEFTOVERS='find / -xdev -name "*streamserver*" -not -path "/home/pi/*" 2>/dev/null;
           getent passwd streamserver; getent group streamserver;
           systemctl show -p LoadState --value streamserver.service | grep -v "^not-found$" || true'

uninstall_service() {
    gssh_t 120 'cd ~/streamserver && ./uninstall-service.sh' >"$WORK/uninstall.log" 2>&1 ||
        { cat "$WORK/uninstall.log"; die "uninstall-service.sh failed"; }
    grep -E '^==>' "$WORK/uninstall.log"
    local kept
    kept=$(gssh 'sudo ls -d /etc/streamserver /var/log/streamserver /var/lib/streamserver; getent passwd streamserver | cut -d: -f1')
    [ "$(wc -l <<<"$kept")" = 4 ] || die "a plain uninstall must keep config, logs, state and user: $kept"
    gssh 'test ! -e /usr/local/bin/streamserver && test ! -e /etc/systemd/system/streamserver.service' ||
        die "the unit or the binary is still there"
    gssh_t 120 'cd ~/streamserver && PURGE_LOCAL_ARTIFACTS=1 ./uninstall-service.sh' >>"$WORK/uninstall.log" 2>&1 ||
        { cat "$WORK/uninstall.log"; die "PURGE_LOCAL_ARTIFACTS=1 uninstall-service.sh failed"; }
    local left
    left=$(gssh "sudo sh -c '$LEFTOVERS'")
    [ -z "$left" ] || die "left behind after the purge: $left"
    log "nothing named streamserver left (files, user, group, unit)"
}
