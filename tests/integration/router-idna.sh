#!/bin/sh
# router-idna.sh - UTF-8 domains (issue 20, IDNA): anna@bücher.test is routed through the MX of its A-label (xn--bcher-kva.test, from a dnsmasq on loopback), the DNS server never sees the raw UTF-8 name; to a peer without SMTPUTF8 the envelope goes with its domains as A-labels and no SMTPUTF8 parameter; a UTF-8 local part, which has no ASCII form, fails there with 5.6.7 naming the address, and goes unchanged with SMTPUTF8 to a peer that has it.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/dns_peer.sh"

plan 9
DNS_PORT=$(free_port)
start_dns "$DNS_PORT" --mx-host=xn--bcher-kva.test,mx1.idn.test,10 --host-record=mx1.idn.test,127.0.0.2 \
    --mx-host=xn--mnchen-3ya.test,mx2.idn.test,10 --host-record=mx2.idn.test,127.0.0.3 \
    --log-queries
r=$?; [ $r -eq 2 ] && { echo "1..0 # SKIP dnsmasq is not installed"; exit 0; }
ok $r "dnsmasq answers on 127.0.0.1:$DNS_PORT (MX for the A-labels only)"
# mx1 lacks SMTPUTF8, mx2 has it; the sink takes the DSNs.
start_peers_on_one_port mx1:sink:127.0.0.2 || bail "a peer did not start"
start_peer mx2 sink 127.0.0.3 "$P" --smtputf8 || bail "the SMTPUTF8 peer did not start"
start_peer dsn sink
write_router_config "sender.test smtp:[127.0.0.1]:$dsn_PORT" "dns_servers = 127.0.0.1:$DNS_PORT
smtp_port = $P
tls_policy = none
retry_first = 1s
retry_max = 1s"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
python3 - "$SMTP_PORT" > "$T_DIR/sent" 2> "$T_DIR/sent.err" <<'PY'
import smtplib, sys
port = int(sys.argv[1])
for name, rcpt in (("alabel", "anna@b\u00fccher.test"), ("ulocal", "j\u00f6rg@b\u00fccher.test"),
                   ("utf8peer", "j\u00f6rg@m\u00fcnchen.test")):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("test.client")
        s.command_encoding = "utf-8"
        for cmd in ("MAIL FROM:<alice@sender.test> SMTPUTF8", f"RCPT TO:<{rcpt}>"):
            code, msg = s.docmd(cmd)
            if code != 250:
                sys.exit(f"{name}: {cmd}: {code} {msg!r}")
        code, msg = s.data(f"Subject: {name}\r\n\r\ntoken {name}\r\n".encode())
        if code != 250:
            sys.exit(f"{name}: DATA: {code} {msg!r}")
        print(name, msg.decode().split()[-1])
PY
ok $? "three messages to UTF-8 domains taken with SMTPUTF8 $(cat "$T_DIR/sent.err")"

wait_for 15 sh -c "cat '$T_DIR'/mx1/*.json 2>/dev/null | grep -q 'anna@xn--bcher-kva.test'"
r=$?; [ $r -eq 0 ] || { grep -v ' debug: ' "$T_ROUTER_LOG" | tail -10; cat "$T_DIR"/mx1/*.json; } 2> /dev/null | diag
ok $r "anna@bücher.test reached the A-label's MX, as RCPT TO:<anna@xn--bcher-kva.test>"
python3 -c "
import glob, json, sys
recs = [json.load(open(f)) for f in glob.glob('$T_DIR/mx1/*.json')]
sys.exit(0 if recs and all('SMTPUTF8' not in r['mail_options'] for r in recs) else 1)"
ok $? "without SMTPUTF8: the server (which has none) is not sent the parameter"
grep -q "query\[MX\] xn--bcher-kva.test" "$DNS_LOG" && ! grep -a "query" "$DNS_LOG" | grep -q "b.cher"
ok $? "the DNS server was asked for the A-label only, never the raw UTF-8 name"
q=$(sed -n 's/^ulocal //p' "$T_DIR/sent")
wait_for 15 grep -q "$q: to=<jörg@bücher.test>.*dsn=5.6.7, status=bounced (5.6.7 .* does not support SMTPUTF8 and <jörg@bücher.test> has a UTF-8 local part" "$T_ROUTER_LOG"
ok $? "a UTF-8 local part to that server fails with 5.6.7 naming the address"
peer_got dsn alice@sender.test; ok $? "and the sender gets a DSN"
wait_for 15 sh -c "cat '$T_DIR'/mx2/*.json 2>/dev/null | grep -q 'j\\\\u00f6rg@m\\\\u00fcnchen.test'"
r=$?; [ $r -eq 0 ] || cat "$T_DIR"/mx2/*.json 2> /dev/null | diag
ok $r "to a server with SMTPUTF8 the address goes unchanged"
