#!/bin/sh
# store-diskfull.sh - the store's file system fills up (a small tmpfs): new mail gets a 4xx, what was accepted is intact and delivered, mail flows again once there is room, without a restart, and Berkeley DB's storm of write errors is a few lines (issue 19 faults).
. "$(dirname "$0")/lib.sh"

FULL=$T_DIR/full
mkdir -p "$FULL"
mount -t tmpfs -o size=40m tmpfs "$FULL" 2> /dev/null || { echo "1..0 # SKIP cannot mount a tmpfs here"; exit 0; }
T_CLEANUP='umount "$FULL" 2>/dev/null || umount -l "$FULL" 2>/dev/null'
plan 9
start_peer sink sink
write_router_config "ok.test smtp:[127.0.0.1]:$sink_PORT" "[store]
db_dir = $FULL/store
log_file_size = 4m
cache_size = 64m
min_free_space = 0"
start_store && start_smtpd; ok $? "store (its database on a 40 MiB tmpfs) and smtpd start"
# Leave about 10 MiB.
fallocate -l 28m "$FULL/filler" || dd if=/dev/zero of="$FULL/filler" bs=1M count=28 2> /dev/null
head -c 750000 /dev/urandom | base64 > "$T_DIR/body.txt"
python3 - "$SMTP_PORT" "$T_DIR/body.txt" > "$T_DIR/send.out" <<'PY'
import smtplib, sys
body = open(sys.argv[2]).read()
for i in range(20):
    msg = f"Subject: full {i}\r\nMessage-ID: <full.{i}@src.test>\r\n\r\n{body}"
    try:
        with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
            s.sendmail("s@src.test", [f"r{i}@ok.test"], msg)
        print(f"250 {i}")
    except smtplib.SMTPResponseException as e:
        print(f"{e.smtp_code} {i} {e.smtp_error.decode(errors='replace')}")
    except smtplib.SMTPRecipientsRefused as e:
        print(f"rcpt {i} {e}")
PY
accepted=$(grep -c '^250 ' "$T_DIR/send.out")
refused=$(grep -c '^4[0-9][0-9] ' "$T_DIR/send.out")
grep -v '^250 ' "$T_DIR/send.out" | sort | uniq -c | head -3 | diag
[ "$accepted" -gt 0 ] && [ "$refused" -gt 0 ] && [ $((accepted + refused)) -eq 20 ]
ok $? "with the disk full: $accepted accepted, $refused refused with 4xx, none with 5xx or unanswered"
grep -q '^452 .* 4\.3\.1 ' "$T_DIR/send.out"; ok $? "the refusals include 452 4.3.1 (out of space)"
kill -0 "$STORE_PID" && kill -0 "$SMTPD_PID"; ok $? "store and smtpd still run"
"$SPOOLCTL" -s "$T_SOCKET" list > "$T_DIR/list.out" 2>&1
test "$(tail -1 "$T_DIR/list.out" | cut -d' ' -f1)" = "$accepted"; r=$?
[ $r -eq 0 ] || tail -3 "$T_DIR/list.out" | diag
ok $r "the store lists exactly the $accepted accepted messages (one committed as the disk filled was taken back)"
rm -f "$FULL/filler"
sleep 1
python3 - "$SMTP_PORT" "$T_DIR/body.txt" > "$T_DIR/send2.out" <<'PY'
import smtplib, sys
body = open(sys.argv[2]).read()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("s@src.test", ["after@ok.test"], f"Subject: after\r\n\r\n{body}")
print("250")
PY
grep -q '^250' "$T_DIR/send2.out"; ok $? "with room again new mail is accepted, no restart"
start_router || bail "the router does not start"
want=$((accepted + 1))
wait_for 60 sh -c "[ \$(ls '$T_DIR'/sink/*.json 2>/dev/null | wc -l) -ge $want ]"
ok $? "every accepted message is delivered ($want)"
python3 - "$T_DIR/sink" "$T_DIR/body.txt" <<'PY'
import glob, sys
body = open(sys.argv[2]).read().replace("\n", "\r\n")
bad = [f for f in glob.glob(sys.argv[1] + "/*.eml") if body not in open(f, newline="").read()]
sys.exit(1 if bad else 0)
PY
ok $? "each body arrived intact"
n=$(grep -c 'berkeley db:' "$T_STORE_LOG")
echo "$n berkeley db lines in the store's log" | diag
[ "$n" -lt 200 ] && { [ "$n" -lt 20 ] || grep -q "berkeley db: [0-9]* more like " "$T_STORE_LOG"; }
ok $? "Berkeley DB's write errors are folded: $n lines (repeats as counts)"
