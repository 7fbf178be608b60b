#!/bin/sh
# daemon-order.sh - the four daemons started in several orders and each restarted alone (SIGTERM, and SIGKILL) under a trickle of mail: nothing lost or doubled, no second restart needed, one log line per up/down change of a peer.
. "$(dirname "$0")/lib.sh"
ORDER_PY="python3 $top_srcdir/tests/integration/daemon_order.py"

plan 23
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH > /dev/null
start_peer sink sink; start_peer slow slow-dot
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT
slow.test smtp:[127.0.0.1]:$slow_PORT" "retry_first = 1s
retry_max = 1s
[smtpd]
$T_RATES_OFF
[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s"
touch "$T_STORE_LOG" "$T_SMTPD_LOG" "$T_ROUTER_LOG" "$T_GATEWAY_LOG"

bin_of() { case $1 in STORE) echo "$STORE_BIN";; SMTPD) echo "$SMTPD_BIN";; ROUTER) echo "$ROUTER_BIN";; GATEWAY) echo "$GATEWAY_BIN";; esac; }
log_of() { case $1 in STORE) echo "$T_STORE_LOG";; SMTPD) echo "$T_SMTPD_LOG";; ROUTER) echo "$T_ROUTER_LOG";; GATEWAY) echo "$T_GATEWAY_LOG";; esac; }
# The line each daemon logs once it serves (whether its peers are there or not).
up_line() { case $1 in STORE) echo "notice: ready on ";; GATEWAY) echo "notice: started: postoffice";; *) echo "notice: started, config";; esac; }
count() { grep -c "$2" "$1" 2>/dev/null || true; }

# launch NAME: start one daemon, wait until it says it serves.
launch() {
    l_log=$(log_of "$1"); l_line=$(up_line "$1"); l_before=$(count "$l_log" "$l_line")
    "$(bin_of "$1")" -c "$T_CONFIG" --foreground $SG_ROOT_FLAG >> "$l_log" 2>&1 &
    eval "${1}_PID=$!"
    T_BG_PIDS="${T_BG_PIDS:-} $!"
    wait_for 15 sh -c "[ \$(grep -c '$l_line' '$l_log') -gt $l_before ]"
}
# Every link a daemon keeps to another, its up and down lines in the client's log, and
# the changes it should have logged: one line for each time its peer came or went.
set_link() { eval "L$1_C=$2 L$1_S=$3 L$1_UPL='$4' L$1_DNL='$5' L$1_ST=none L$1_UP=0 L$1_DN=0"; }
set_link 1 SMTPD STORE "notice: mail store ready: " "warning: mail store unavailable ("
set_link 2 SMTPD GATEWAY "notice: postoffice directory ready: " "warning: postoffice directory unavailable ("
set_link 3 ROUTER STORE "notice: mail store ready: " "error: mail store unavailable ("
set_link 4 ROUTER GATEWAY "notice: postoffice gateway ready: " "warning: postoffice gateway unavailable ("
LINK_IDS="1 2 3 4"
running() { eval "[ -n \"\${${1}_PID:-}\" ]"; }
link_set() { eval "L$1_ST=$2; L$1_$3=\$((L$1_$3 + 1))"; }
# note_start NAME / note_stop NAME: what each link should log about it.
note_start() {
    for i in $LINK_IDS; do
        eval "c=\$L${i}_C s=\$L${i}_S st=\$L${i}_ST"
        if [ "$c" = "$1" ]; then
            if running "$s"; then link_set "$i" up UP; else link_set "$i" down DN; fi
        elif [ "$s" = "$1" ] && running "$c" && [ "$st" = down ]; then
            link_set "$i" up UP
        fi
    done
}
note_stop() {
    for i in $LINK_IDS; do
        eval "c=\$L${i}_C s=\$L${i}_S st=\$L${i}_ST"
        if [ "$c" = "$1" ]; then eval "L${i}_ST=none"
        elif [ "$s" = "$1" ] && [ "$st" = up ]; then link_set "$i" down DN
        fi
    done
}
start_one() { launch "$1"; l_rc=$?; note_start "$1"; return $l_rc; }
term() { stop_daemon "$1"; note_stop "$1"; }
kill9() { eval "k_pid=\$${1}_PID"; echo "$1 $(date +%s.%N)" >> "$T_DIR/kills"; kill -9 "$k_pid"; wait "$k_pid" 2>/dev/null; eval "${1}_PID="; note_stop "$1"; }
# linked: every link of two running daemons has its up line last.
linked() {
    for i in $LINK_IDS; do
        eval "c=\$L${i}_C s=\$L${i}_S up=\$L${i}_UPL dn=\$L${i}_DNL"
        running "$c" && running "$s" || continue
        last=$(grep -F -e "$up" -e "$dn" "$(log_of "$c")" | tail -1)
        case "$last" in *"$up"*) ;; *) return 1;; esac
    done
}
all_up() { wait_for 20 linked; }
# links_logged: each link logged as many up and down lines as its peer made changes.
links_logged() {
    l_bad=0
    for i in $LINK_IDS; do
        eval "c=\$L${i}_C s=\$L${i}_S up=\$L${i}_UPL dn=\$L${i}_DNL wu=\$L${i}_UP wd=\$L${i}_DN"
        gu=$(grep -c -F "$up" "$(log_of "$c")"); gd=$(grep -c -F "$dn" "$(log_of "$c")")
        echo "$c -> $s: up lines $gu (changes $wu), down lines $gd (changes $wd)"
        [ "$gu" = "$wu" ] && [ "$gd" = "$wd" ] || l_bad=1
    done
    return $l_bad
}

# ---- order 1: router first, gateway, smtpd, the store last -----------------------------
start_one ROUTER && start_one GATEWAY && start_one SMTPD && start_one STORE
ok $? "router, gateway, smtpd started before the store; then the store"
all_up; ok $? "every daemon reaches its peers without a second restart"
$ORDER_PY send "$SMTP_PORT" "$T_DIR" "$T_DIR/stop" "bob@sender.test" "jsmith@$T_PO_DOMAIN" &
TRICKLE=$!
T_BG_PIDS="${T_BG_PIDS:-} $TRICKLE"
$PO_SIM deliver "$T_SHARE" --interval 0.5 > /dev/null 2>&1 &
T_BG_PIDS="${T_BG_PIDS:-} $!"
sleep 2

# ---- each one alone, under the trickle ---------------------------------------------------
for d in STORE SMTPD ROUTER GATEWAY; do
    term "$d"; sleep 1; start_one "$d"; r=$?
    all_up; ok $(( r + $? )) "$(echo "$d" | tr A-Z a-z) stopped (SIGTERM) and started alone: every link back"
    sleep 1
done
for d in STORE ROUTER GATEWAY SMTPD; do
    kill9 "$d"; sleep 1; start_one "$d"; r=$?
    all_up; ok $(( r + $? )) "$(echo "$d" | tr A-Z a-z) killed (SIGKILL) and started alone: every link back"
    sleep 1
done

# ---- order 2: gateway first, then the store, smtpd, the router last; order 3: store first --
for d in ROUTER SMTPD GATEWAY STORE; do term "$d"; done
start_one GATEWAY && start_one STORE && start_one SMTPD && start_one ROUTER
ok $? "all stopped, then gateway, store, smtpd and router started in that order"
all_up; ok $? "every link is up"
sleep 2
for d in GATEWAY STORE SMTPD ROUTER; do term "$d"; done
start_one STORE && start_one SMTPD && start_one ROUTER && start_one GATEWAY
ok $? "all stopped, then store, smtpd, router, gateway"
all_up; ok $? "every link is up"
sleep 2

# ---- the end: everything accepted arrives, once -----------------------------------------
touch "$T_DIR/stop"; wait "$TRICKLE"
wait_for 30 sh -c "[ \"\$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1)\" = 0 ]"
ok $? "the queue drains"
$PO_SIM deliver "$T_SHARE" --once > /dev/null
$ORDER_PY verify "$T_DIR" "$T_DIR/sink" "$T_SHARE/MAI/JSMITH" "$T_SHARE/P1" > "$T_DIR/verify.tap"
grep -E '^(not )?ok' "$T_DIR/verify.tap" | sed -E 's/^((not )?ok) [0-9]+ - /\1|/' > "$T_DIR/verify.lines"
while IFS='|' read -r verdict text; do
    case "$verdict" in ok) ok 0 "$text";; *) ok 1 "$text";; esac
done < "$T_DIR/verify.lines"
grep '^#' "$T_DIR/verify.tap"
read -r refused sent < "$T_DIR/refused"; echo "SMTP sessions refused or cut off while a daemon was away: $refused of $sent" | diag

# A delivery that ends while the store is away: its outcome is kept and recorded when the
# store is back, before anything is read again, so it is not delivered twice.
printf 'Subject: slow\n\nslow\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test sam@slow.test > /dev/null
wait_for 10 sh -c "ls '$T_DIR'/slow/*.json 2>/dev/null | grep -q ."
term STORE; sleep 3.5; start_one STORE
wait_for 10 grep -q "recipient outcome(s) kept while the store was away are recorded now" "$T_ROUTER_LOG"
ok $? "a delivery that ended while the store was away is recorded once it is back"
wait_for 10 sh -c "[ \"\$($SPOOLCTL -s $T_SOCKET list | tail -1 | cut -d' ' -f1)\" = 0 ]"; sleep 2
test "$(ls "$T_DIR"/slow/*.json | wc -l)" = 1; ok $? "and it was delivered once, not again"
all_up

# Each client logged one line per change of its peer: none per retry, none missing.
links_logged > "$T_DIR/links"; ok $? "each daemon logged one line per up/down change of each peer"
diag < "$T_DIR/links"
kill -0 "$STORE_PID" && kill -0 "$SMTPD_PID" && kill -0 "$ROUTER_PID" && kill -0 "$GATEWAY_PID"
ok $? "all four daemons still run"
