#!/bin/sh
# router-bad-reply.sh - a malformed reply after a 4 092-octet greeting: the recorded reason quotes its line, printable and bounded, and nothing past the input (issue 19 audit: heap bytes reached the reply and DSNs).
. "$(dirname "$0")/lib.sh"

plan 5
BAD_PORT=$(free_port)
# A peer whose greeting (two 2 046-octet lines) fills the router's first read; the bad line, with a
# control octet, comes in a read of its own: the input then ends 16 octets after it begins.
python3 - "$BAD_PORT" > "$T_DIR/bad.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("ready", flush=True)
conns = []
while True:
    c, _ = s.accept()
    c.sendall((b"220-" + b"x" * 2040 + b"\r\n") * 2)
    time.sleep(0.5)
    c.sendall(b"999 bad\x01reply\r\n")
    conns.append(c)
    print("served", flush=True)
PY
T_BG_PIDS="${T_BG_PIDS:-} $!"
wait_for 10 grep -q '^ready' "$T_DIR/bad.out" || bail "the peer does not start"
write_router_config "bad.test smtp:[127.0.0.1]:$BAD_PORT" "retry_first = 1h
retry_max = 1h"
start_store; ok $? "spoolgate-store starts"
start_router; ok $? "spoolgate-router starts"
Q=$(printf 'Subject: t\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f alice@sender.test bob@bad.test | awk '{print $NF}')
queue_shows 15 "$Q" "deferred"; ok $? "the recipient is deferred"
WANT="reply=4.5.0 malformed reply from [127.0.0.1]:$BAD_PORT: 999 bad?reply"
"$SPOOLCTL" -s "$T_SOCKET" list --match "$Q" > "$T_DIR/list.out"
grep -qF "$WANT" "$T_DIR/list.out" && ! grep -qF "$WANT?" "$T_DIR/list.out" &&
    [ "$(grep -F "$WANT" "$T_DIR/list.out" | sed 's/.*reply=//' | LC_ALL=C tr -d '[:print:]' | wc -c)" -le 1 ]
r=$?; [ $r -eq 0 ] || diag < "$T_DIR/list.out"
ok $r "its reason quotes the bad line up to its end, control octets as '?', nothing after it"
kill -0 "$ROUTER_PID"; ok $? "the router still runs"
