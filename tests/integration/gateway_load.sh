# gateway_load.sh - the body of gateway-load.sh and gateway-load-sftp.sh: many messages into P1/ at once, a second writer, kill -9. Sourced, not run.
#
# The caller sets SHARE_CONFIG (the [gateway] lines that reach $T_SHARE) and sources this file.
# 4 000 messages over 16 SMTP sessions (SG_TEST_SCALE divides): exactly one transfer file each, found by a
# unique token; every name the gateway logged as written holds its message; a second writer taking the
# names the gateway will take next loses nothing and makes the gateway lose nothing; a kill -9 of the
# gateway mid-run leaves every accepted message in P1/ exactly once or still queued.
LOAD="python3 $top_srcdir/tests/integration/smtp_load.py"
CHECK="python3 $top_srcdir/tests/integration/p1_check.py"
N=$(scale 4000)
RCPTS="--rcpt jsmith@$T_PO_DOMAIN --rcpt adoe@$T_PO_DOMAIN --rcpt boss@$T_PO_DOMAIN --rcpt clerk@$T_PO_DOMAIN"

plan 12
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH --mailbox ADOE --mailbox BOSS \
    --mailbox CLERK > /dev/null
write_router_config "sender.test smtp:[127.0.0.1]:9" "[gateway]
$SHARE_CONFIG
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 20"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG" && wait_for 10 grep -q "postoffice directory ready" "$T_SMTPD_LOG"
ok $? "smtpd and the router reach the gateway"

# queued_qids FILE: the queue ids still in the store.
queued_qids() { "$SPOOLCTL" -s "$T_SOCKET" list | awk 'NF > 3 && $1 ~ /^[0-9A-F]+$/ { print $1 }' > "$1"; }
drained() { [ "$(store_count)" = 0 ]; }

# 0. One big message (many store chunks, more than the gateway holds at once): streamed, byte-identical.
python3 - "$T_DIR/big.eml" <<'PY'
import random, sys
rng = random.Random(7)
lines = ["From: big@sender.test", "To: jsmith@po.test", "Subject: big one", "Message-ID: <big@sender.test>", "",
         "token big-0"]
lines += ["%06d %s" % (i, "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(70)))
          for i in range(40000)]
open(sys.argv[1], "wb").write(("\r\n".join(lines) + "\r\n").encode())
PY
send_mail big@sender.test "jsmith@$T_PO_DOMAIN" < "$T_DIR/big.eml" > /dev/null
wait_for 60 drained
python3 - "$T_SHARE/P1" "$T_DIR/big.eml" <<'PY'
import os, sys
want = open(sys.argv[2], "rb").read()
files = [f for f in os.listdir(sys.argv[1]) if f.endswith(".P1")]
got = [open(os.path.join(sys.argv[1], f), "rb").read() for f in files]
if len(got) != 1:
    sys.exit(f"{len(got)} transfer files")
head, sep, msg = got[0].partition(b"\r\n\r\n")
# our Received header comes first; the client's message follows unchanged
sys.exit(0 if msg.startswith(b"Received: ") and msg.endswith(want) and b"P1-Version: 1" in head else 1)
PY
ok $? "a $(($(wc -c < "$T_DIR/big.eml") / 1024)) KiB message is streamed into one transfer file, byte-identical"
rm -f "$T_SHARE"/P1/*.P1

# 1. Many at once.
$LOAD --port "$SMTP_PORT" --count "$N" --sessions 16 $RCPTS --tag run1 --out "$T_DIR/run1.accepted" > "$T_DIR/run1.out"
test "$(wc -l < "$T_DIR/run1.accepted")" = "$N"; ok $? "$N messages over 16 sessions accepted ($(cat "$T_DIR/run1.out"))"
wait_for 300 drained; ok $? "every recipient recorded delivered: the store is empty"
$CHECK --share "$T_SHARE" --accepted "$T_DIR/run1.accepted" --gateway-log "$T_GATEWAY_LOG" > "$T_DIR/run1.check"
ok $? "exactly $N transfer files, each message in exactly one: $(tail -1 "$T_DIR/run1.check")"
grep -v '^files' "$T_DIR/run1.check" | head -20 | diag
test "$(ls "$T_SHARE/P1" | grep -c '\.TMP$')" = 0; ok $? "no temporary file left behind"

# 2. A second writer (the postoffice's side) takes the names the gateway takes next.
python3 - "$T_SHARE/P1" "$T_DIR/writer.list" "$T_DIR/writer.stop" <<'PY' &
import hashlib, os, sys, time
p1, out, stop = sys.argv[1:4]
made = 0
def top():
    names = [n for n in os.listdir(p1) if n.endswith(".P1") and len(n) == 11]
    return max((int(n[:8], 16) for n in names), default=0)
def write_one(f, name):
    """Take P1/name the way a careful writer does (a link never replaces); False if it is taken."""
    global made
    data = f"second writer {made} as {name}\r\n".encode()
    tmp = os.path.join(p1, f"W{made:07d}.TMP")
    with open(tmp, "wb") as t:
        t.write(data)
    try:
        os.link(tmp, os.path.join(p1, name))
        f.write(f"{name} {hashlib.sha256(data).hexdigest()}\n")
        made += 1
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
with open(out, "w") as f:
    # First the very next 50 names, before the gateway writes again: it must step past them.
    start = top()
    for k in range(1, 51):
        if not write_one(f, f"{start + k:08X}.P1"):
            sys.exit("P1/ changed while the gateway was idle")
    f.flush()
    open(stop + ".ready", "w").close()
    # Then, while the gateway writes, always the next three names after the highest there is.
    while not os.path.exists(stop) and made < 400:
        t = top()
        for k in range(1, 4):
            write_one(f, f"{t + k:08X}.P1")
        f.flush()
        time.sleep(0.002)
PY
WRITER_PID=$!
T_BG_PIDS="${T_BG_PIDS:-} $WRITER_PID"
wait_for 10 test -e "$T_DIR/writer.stop.ready"
N2=$(scale 2000)
$LOAD --port "$SMTP_PORT" --count "$N2" --sessions 16 $RCPTS --tag run2 --out "$T_DIR/run2.accepted" > "$T_DIR/run2.out"
touch "$T_DIR/writer.stop"; wait "$WRITER_PID"
wait_for 300 drained
cat "$T_DIR/run1.accepted" >> "$T_DIR/run2.accepted"
$CHECK --share "$T_SHARE" --accepted "$T_DIR/run2.accepted" --writer "$T_DIR/writer.list" --gateway-log "$T_GATEWAY_LOG" > "$T_DIR/run2.check"
ok $? "with a second writer taking the same names ($(wc -l < "$T_DIR/writer.list") files): neither side loses one: $(tail -1 "$T_DIR/run2.check")"
grep -v '^files' "$T_DIR/run2.check" | head -20 | diag
skips=$(grep -c "names taken by another writer skipped" "$T_GATEWAY_LOG")
test "$skips" -gt 0; ok $? "the gateway stepped past the names the other writer took ($skips transfer files took a later name)"

# 3. kill -9 of the gateway in the middle of a run; restart; nothing lost, nothing twice.
N3=$(scale 3000)
$LOAD --port "$SMTP_PORT" --count "$N3" --sessions 16 $RCPTS --tag run3 --out "$T_DIR/run3.accepted" > "$T_DIR/run3.out" &
LOAD_PID=$!
before=$(ls "$T_SHARE/P1" | wc -l)
wait_for 60 sh -c "[ \$(ls '$T_SHARE/P1' | wc -l) -ge $((before + N3 / 3)) ]"
kill -9 "$GATEWAY_PID"; rc=$?; wait "$GATEWAY_PID" 2>/dev/null
ok $rc "the gateway is killed (-9) with $(( $(ls "$T_SHARE/P1" | wc -l) - before )) of $N3 written"
sleep 1
start_gateway; ok $? "and restarted"
wait "$LOAD_PID"
wait_for 300 drained
queued_qids "$T_DIR/queued"
cat "$T_DIR/run2.accepted" >> "$T_DIR/run3.accepted"
$CHECK --share "$T_SHARE" --accepted "$T_DIR/run3.accepted" --writer "$T_DIR/writer.list" --queued "$T_DIR/queued" \
    --allow-queued > "$T_DIR/run3.check"
ok $? "after the restart every accepted message is in P1/ exactly once or still queued: $(tail -1 "$T_DIR/run3.check")"
grep -v '^files' "$T_DIR/run3.check" | head -20 | diag
