#!/bin/sh
# router-faults.sh - peers that fail mid-session (close after 354, an endless reply line, no answer to the dot, a hang in the body) and a DNS server that is gone: each recipient deferred with a specific reason within its timeout, none failed, the router serving other mail meanwhile (issue 19 faults).
. "$(dirname "$0")/lib.sh"

plan 9
FAULT_PY="$top_srcdir/tests/integration/smtp_fault_peer.py"
fault_peer() { # fault_peer NAME MODE: sets NAME_FPORT
    fp=$(free_port)
    python3 "$FAULT_PY" --port "$fp" --mode "$2" > "$T_DIR/$1.out" 2>&1 &
    T_BG_PIDS="${T_BG_PIDS:-} $!"
    eval "${1}_FPORT=$fp"
    wait_for 10 grep -q '^ready' "$T_DIR/$1.out"
}
fault_peer close close-after-354 && fault_peer endless endless-reply && fault_peer hangdot hang-after-dot &&
    fault_peer hangdata hang-in-data || bail "a fault peer does not start"
start_peer sink sink
DEAD_DNS=$(free_port)
write_router_config "close.test smtp:[127.0.0.1]:$close_FPORT
endless.test smtp:[127.0.0.1]:$endless_FPORT
hangdot.test smtp:[127.0.0.1]:$hangdot_FPORT
hangdata.test smtp:[127.0.0.1]:$hangdata_FPORT
ok.test smtp:[127.0.0.1]:$sink_PORT" "retry_first = 1h
retry_max = 1h
dns_servers = 127.0.0.1:$DEAD_DNS
tls_policy = none
greeting_timeout = 3s
command_timeout = 3s
data_timeout = 3s
block_timeout = 3s
dot_timeout = 3s"
start_store && start_router; ok $? "store and router start"
small() { printf 'Subject: fault\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f s@ok.test "$1" | awk '{print $NF}'; }
QC=$(small a@close.test); QE=$(small a@endless.test); QD=$(small a@hangdot.test)
QN=$(small a@nowhere.test)
# 8 MiB: more than the socket buffers hold while the peer reads nothing
python3 -c "import sys; sys.stdout.write('Subject: big\n\n' + ('y' * 76 + '\n') * 110000)" |
    "$SENDMAIL" -s "$T_SOCKET" -f s@ok.test a@hangdata.test > "$T_DIR/big.out"
QH=$(awk '{print $NF}' "$T_DIR/big.out")
reason() { "$SPOOLCTL" -s "$T_SOCKET" list --match "$1" | sed -n 's/.*  deferred .*reply=//p'; }
deferred_with() { # deferred_with QID SECONDS PATTERN
    wait_for "$2" sh -c "$SPOOLCTL -s $T_SOCKET list --match $1 | grep '  deferred ' | grep -q '$3'"
    r=$?; [ $r -eq 0 ] || echo "$1: $(reason "$1")" | diag
    return $r
}
deferred_with "$QC" 15 "4\.4\.2 write to \[127.0.0.1\]:$close_FPORT failed"
ok $? "a peer that closes after 354: deferred, the reason names the failed write ($(reason "$QC"))"
deferred_with "$QE" 15 "4\.[0-9.]* .*\[127.0.0.1\]:$endless_FPORT"
ok $? "a peer with an endless reply line: deferred, bounded ($(reason "$QE" | cut -c1-120))"
deferred_with "$QD" 20 "4\.[0-9.]* .*time"
ok $? "a peer that never answers the dot: deferred after dot_timeout ($(reason "$QD"))"
deferred_with "$QH" 25 "4\.[0-9.]* .*time"
ok $? "a peer that stops reading in the body: deferred after block_timeout ($(reason "$QH"))"
deferred_with "$QN" 25 "4\.4\.3 "
ok $? "the DNS server gone: deferred 4.4.3 with the lookup's reason ($(reason "$QN"))"
Q=$(small b@ok.test)
wait_for 10 sh -c "cat '$T_DIR'/sink/*.json 2>/dev/null | grep -q b@ok.test"; ok $? "meanwhile other mail is delivered"
! "$SPOOLCTL" -s "$T_SOCKET" list | grep -q '  failed  '; ok $? "nothing failed: no DSN for a fault of ours or theirs"
kill -0 "$ROUTER_PID"; ok $? "the router still runs"
