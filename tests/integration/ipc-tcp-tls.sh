#!/bin/sh
# ipc-tcp-tls.sh - IPC over TCP with mutual TLS: smtpd and router reach the store at tcp:ADDRESS:PORT, certificates map to roles, and every wrong certificate, name or peer is refused with its reason.
. "$(dirname "$0")/lib.sh"

plan 19
# A private CA for the hosts; a second one nobody trusts.
make_ca ca && make_ca otherca || bail "openssl: no CA"
make_cert mx mx.test "DNS:mx.test,IP:127.0.0.1" && make_cert ops ops.test "DNS:ops.test" &&
    make_cert stranger stranger.test "DNS:stranger.test" &&
    make_cert forged ops.test "DNS:ops.test" otherca || bail "openssl: cannot make the certificates"

IPC_PORT=$(free_port)
start_peer sink sink
write_router_config "relay.test smtp:[127.0.0.1]:$sink_PORT" "retry_first = 30s
[global]
store = tcp:127.0.0.1:$IPC_PORT
ipc_tls_cert = $T_DIR/mx.pem
ipc_tls_key = $T_DIR/mx.key
ipc_tls_ca = $T_DIR/ca.pem
[store]
ipc_listen = 127.0.0.1:$IPC_PORT [::1]:$IPC_PORT
ipc_tls_peers = mx.test=smtpd mx.test=router ops.test=admin"
# A tool's config: this host's certificate replaced by CERT, or the CA by CA.
tool_config() { # tool_config FILE CERT [CA]
    sed -e "s|^ipc_tls_cert = .*|ipc_tls_cert = $T_DIR/$2.pem|" -e "s|^ipc_tls_key = .*|ipc_tls_key = $T_DIR/$2.key|" \
        -e "s|^ipc_tls_ca = .*|ipc_tls_ca = $T_DIR/${3:-ca}.pem|" "$T_CONFIG" > "$T_DIR/$1"
}
tool_config ops.ini ops; tool_config mx.ini mx; tool_config stranger.ini stranger
tool_config forged.ini forged; tool_config wrongca.ini ops otherca

start_mail_path "smtpd and router start with the store at tcp:127.0.0.1:$IPC_PORT"
grep -E "client 127\.0\.0\.1:[0-9]+ cert mx\.test spoolgate-smtpd/smtpd: connected" "$T_STORE_LOG" > /dev/null &&
    grep -E "client 127\.0\.0\.1:[0-9]+ cert mx\.test spoolgate-router/router: connected" "$T_STORE_LOG" > /dev/null
ok $? "the store names each TCP client by address and certificate"
grep -q "a certificate named mx.test may connect as smtpd,router" "$T_STORE_LOG" &&
    grep -q "a certificate named ops.test may connect as admin" "$T_STORE_LOG"
ok $? "the store logs which certificate names may connect as which roles"

printf 'Subject: over tcp\n\nthrough mutual TLS\n' > "$T_DIR/msg.txt"
QID=$(send_mail alice@sender.test bob@relay.test < "$T_DIR/msg.txt")
peer_got sink bob@relay.test
ok $? "a message accepted by smtpd over TCP is delivered by the router over TCP ($QID)"

out=$("$SPOOLCTL" -c "$T_DIR/ops.ini" stats 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "messages"
ok $? "spoolctl with the ops.test certificate (admin) over TCP" || echo "$out" | diag

out=$("$SPOOLCTL" -c "$T_DIR/mx.ini" stats 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "certificate may not have capability"
ok $? "the mx.test certificate may not have admin: refused, saying so" || echo "$out" | diag

out=$("$SPOOLCTL" -c "$T_DIR/stranger.ini" stats 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "no name of this client's certificate may use this store"
ok $? "a certificate of the CA with a name not in ipc_tls_peers: refused" || echo "$out" | diag

out=$("$SPOOLCTL" -c "$T_DIR/forged.ini" stats 2>&1)
[ $? -ne 0 ] && grep -q "cert.*ops.test\|certificate" "$T_STORE_LOG" && echo "$out" | grep -qi "tls\|alert\|certificate"
ok $? "a certificate named ops.test from another CA: the handshake fails" || echo "$out" | diag

out=$("$SPOOLCTL" -c "$T_DIR/wrongca.ini" stats 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "certificate verification failed"
ok $? "a client that does not trust the store's CA refuses the store" || echo "$out" | diag

out=$("$SPOOLCTL" -c "$T_DIR/ops.ini" -s "tcp:[::1]:$IPC_PORT" stats 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "not for ::1"
ok $? "the store's certificate must name the address connected to (::1 is not in it)" || echo "$out" | diag

# Not TLS at all: a hello frame in the clear, and garbage; the store stays up and serves.
python3 - "$IPC_PORT" <<'PY'
import socket, sys
for data in (b"\x00\x00\x00\x10hello in clear!!", b"GET / HTTP/1.0\r\n\r\n"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(data)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
PY
out=$("$SPOOLCTL" -c "$T_DIR/ops.ini" stats 2>&1)
[ $? -eq 0 ] && store_alive
ok $? "plain-text clients on the TLS port are closed; the store goes on serving" || echo "$out" | diag
grep -q "TLS handshake failed" "$T_STORE_LOG"
ok $? "the store logs why it closed them"

# The Unix socket still works as before, beside TCP.
"$SPOOLCTL" -s "$T_SOCKET" list > /dev/null
ok $? "the Unix socket serves beside ipc_listen"

# Configuration mistakes are refused with their reason.
printf '[global]\nstate_dir = %s\nstore = tcp:127.0.0.1:%s\n' "$T_DIR/x" "$IPC_PORT" > "$T_DIR/bad1.ini"
out=$("$SMTPD_BIN" -c "$T_DIR/bad1.ini" --check-config 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "needs global.ipc_tls_cert"
ok $? "a tcp: store address without ipc_tls_* is refused" || echo "$out" | diag
sed -e '/^ipc_tls_peers/d' "$T_CONFIG" > "$T_DIR/bad2.ini"
out=$("$STORE_BIN" -c "$T_DIR/bad2.ini" --check-config 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "needs store.ipc_tls_peers"
ok $? "ipc_listen without ipc_tls_peers is refused" || echo "$out" | diag
sed -e 's/ops.test=admin/ops.test=root/' "$T_CONFIG" > "$T_DIR/bad3.ini"
out=$("$STORE_BIN" -c "$T_DIR/bad3.ini" --check-config 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "unknown role"
ok $? "an unknown role in ipc_tls_peers is refused" || echo "$out" | diag
printf '[global]\nstate_dir = %s\nstore = tcp:mx.test:25\n' "$T_DIR/x" > "$T_DIR/bad4.ini"
out=$("$SMTPD_BIN" -c "$T_DIR/bad4.ini" --check-config 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "tcp: store address"
ok $? "a tcp: store address by name is refused (numeric only)" || echo "$out" | diag
