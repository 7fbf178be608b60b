#!/bin/sh
# router-tls.sh - STARTTLS policies none/may/verify (the peer's name per RFC 6125), TLS logged per session, 8-bit refused clearly, and several messages over one connection.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/integration/dns_peer.sh"

plan 17
make_tls || bail "cannot make a certificate"
# Names for the certificate checks, all 127.0.0.1.
DNS_PORT=$(free_port)
start_dns "$DNS_PORT" --host-record=other.tls.test,127.0.0.1 --host-record=mx.ok.tls.test,127.0.0.1 \
    --host-record=mx.part.tls.test,127.0.0.1 --host-record=a.b.ok.tls.test,127.0.0.1
ok $? "dnsmasq answers on 127.0.0.1:$DNS_PORT"
# A third peer, trusted (its certificate is in the CA file) for wildcard names only.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=wild" -days 2 \
    -addext "subjectAltName=DNS:*.ok.tls.test,DNS:m*.part.tls.test" \
    -keyout "$T_DIR/key3.pem" -out "$T_DIR/cert3.pem" > /dev/null 2>&1
cat "$T_DIR/cert.pem" "$T_DIR/cert3.pem" > "$T_DIR/ca.pem"
start_peer wild sink 127.0.0.1 "$(free_port)" --tls-cert "$T_DIR/cert3.pem" --tls-key "$T_DIR/key3.pem"
start_peer tls sink 127.0.0.1 "$(free_port)" --tls-cert "$T_DIR/cert.pem" --tls-key "$T_DIR/key.pem"
# A second peer whose certificate no configured CA vouches for.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=localhost" -days 2 -addext "subjectAltName=DNS:localhost" \
    -keyout "$T_DIR/key2.pem" -out "$T_DIR/cert2.pem" > /dev/null 2>&1
start_peer untrusted sink 127.0.0.1 "$(free_port)" --tls-cert "$T_DIR/cert2.pem" --tls-key "$T_DIR/key2.pem"
start_peer plain sink; start_peer old no-8bit; start_peer sink sink
write_router_config "may.test       smtp:[127.0.0.1]:$tls_PORT
none.test      smtp:[127.0.0.1]:$tls_PORT      tls=none
verify.test    smtp:[localhost]:$tls_PORT      tls=verify
wrongca.test   smtp:[localhost]:$untrusted_PORT tls=verify
notls.test     smtp:[127.0.0.1]:$plain_PORT    tls=verify
othername.test smtp:[other.tls.test]:$tls_PORT tls=verify
fullwild.test  smtp:[mx.ok.tls.test]:$wild_PORT tls=verify
partwild.test  smtp:[mx.part.tls.test]:$wild_PORT tls=verify
twolabel.test  smtp:[a.b.ok.tls.test]:$wild_PORT tls=verify
old.test       smtp:[127.0.0.1]:$old_PORT
sender.test    smtp:[127.0.0.1]:$sink_PORT" "tls_ca_file = $T_DIR/ca.pem
dns_servers = 127.0.0.1:$DNS_PORT
retry_first = 30s"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
printf 'Subject: tls\n\nsecret\n' > "$T_DIR/msg.txt"
tls_of() { python3 -c "import json,glob,sys; print([json.load(open(f))['tls'] for f in glob.glob('$T_DIR/tls/*.json') if sys.argv[1] in json.load(open(f))['rcpt_tos']])" "$1"; }

send_mail alice@sender.test a@may.test < "$T_DIR/msg.txt" > /dev/null
peer_got tls a@may.test; ok $? "tls=may: delivered"
test "$(tls_of a@may.test)" = "[True]"; ok $? "tls=may: over TLS because the peer offers it"
send_mail alice@sender.test b@none.test < "$T_DIR/msg.txt" > /dev/null
peer_got tls b@none.test
test "$(tls_of b@none.test)" = "[False]"; ok $? "tls=none: delivered in plain text"
send_mail alice@sender.test c@verify.test < "$T_DIR/msg.txt" > /dev/null
peer_got tls c@verify.test
test "$(tls_of c@verify.test)" = "[True]"; ok $? "tls=verify with the right CA and name: delivered over TLS"
send_mail alice@sender.test d@wrongca.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "d@wrongca.test" "deferred.*4.7.5.*verification failed"
ok $? "tls=verify, certificate from an unknown CA: deferred with the verification failure"
send_mail alice@sender.test e@notls.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "e@notls.test" "deferred.*does not offer STARTTLS"
ok $? "tls=verify, peer without STARTTLS: deferred, nothing sent in plain text"
test -z "$(ls "$T_DIR/plain"/*.json "$T_DIR/untrusted"/*.json 2>/dev/null)"
ok $? "neither the plain-text nor the untrusted peer got anything"

# RFC 6125: the certificate must name the host we connect to.
send_mail alice@sender.test g@othername.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "g@othername.test" "deferred.*4.7.5.*hostname mismatch (the certificate is not for other.tls.test)"
ok $? "tls=verify, a certificate the CA vouches for but for another name: deferred, the reason says so"
send_mail alice@sender.test h@fullwild.test < "$T_DIR/msg.txt" > /dev/null
peer_got wild h@fullwild.test; ok $? "tls=verify, *.ok.tls.test for mx.ok.tls.test: delivered"
send_mail alice@sender.test i@partwild.test < "$T_DIR/msg.txt" > /dev/null
send_mail alice@sender.test j@twolabel.test < "$T_DIR/msg.txt" > /dev/null
queue_shows 10 "i@partwild.test" "deferred.*4.7.5.*hostname mismatch" &&
    queue_shows 10 "j@twolabel.test" "deferred.*4.7.5.*hostname mismatch" &&
    ! cat "$T_DIR"/wild/*.json | grep -q -e i@partwild.test -e j@twolabel.test
ok $? "tls=verify: no partial wildcard (m*.part.tls.test), a wildcard covers one label only"
grep -q "TLS established with .*127\.0\.0\.1.*: TLSv1\.[23] with cipher [A-Z]" "$T_ROUTER_LOG"
ok $? "the router logs the TLS protocol and cipher of a session"
python3 - "$SMTP_PORT" <<'PY'
import smtplib, ssl, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo("tls.client")
PY
wait_for 5 grep -q "session [0-9]*: TLS established: TLSv1\.[23] with cipher [A-Z]" "$T_SMTPD_LOG"
ok $? "smtpd logs the TLS protocol and cipher of a session"

printf 'Subject: 8bit\n\ncaf\303\251\n' > "$T_DIR/8bit.txt"
python3 - "$SMTP_PORT" "$T_DIR/8bit.txt" <<'PY'
import smtplib, sys
body = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.ehlo("t")
    s.mail("alice@sender.test", ["BODY=8BITMIME"])
    s.rcpt("f@old.test")
    s.data(body)
PY
peer_got old f@old.test
grep -q "^caf=C3=A9" "$T_DIR"/old/*.eml && grep -q "^Content-Transfer-Encoding: quoted-printable" "$T_DIR"/old/*.eml
ok $? "8-bit message to a peer without 8BITMIME: re-encoded quoted-printable and delivered"
! cat "$T_DIR"/old/*.json | grep -q "BODY=8BITMIME"; ok $? "and the 7-bit peer was not sent BODY=8BITMIME"

# Several messages for one next hop share connections.
stop_router
for i in 1 2 3 4 5 6; do send_mail alice@sender.test "r$i@none.test" < "$T_DIR/msg.txt" > /dev/null; done
start_router
wait_for 15 sh -c "[ \$(cat '$T_DIR'/tls/*.json | grep -c '@none.test') -ge 7 ]"
conns=$(python3 -c "import json,glob; print(len({tuple(json.load(open(f))['peer']) for f in glob.glob('$T_DIR/tls/*.json') if any(r.startswith('r') and r.endswith('@none.test') for r in json.load(open(f))['rcpt_tos'])}))")
test "$conns" -lt 6; ok $? "6 messages to one next hop went over $conns connections"
