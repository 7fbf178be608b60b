#!/bin/sh
# store-body-8bit.sh - 8-bit mail and 7-bit servers (issue 20, item 5): a local submission with 8-bit content and no BODY declared (spoolgate-sendmail without -B) is 8-bit all the same (the store marks it); the router declares BODY=8BITMIME to a peer that has 8BITMIME, re-encodes it quoted-printable for one that lacks it (multipart structure and base64 parts kept), and with router.convert_8bit = no fails it there with a DSN that says why; 7-bit mail goes unchanged.
. "$(dirname "$0")/lib.sh"

plan 7
start_peer sink sink; start_peer old no-8bit
ROUTES="new.test smtp:[127.0.0.1]:$sink_PORT
old.test smtp:[127.0.0.1]:$old_PORT
src.test smtp:[127.0.0.1]:$sink_PORT"
write_router_config "$ROUTES"
start_store && start_router; ok $? "store and router start"
printf 'Subject: 8bit\n\ncaf\303\251 cr\303\250me\n' > "$T_DIR/8bit.txt"
printf 'Subject: 7bit\n\nplain text\n' > "$T_DIR/7bit.txt"
printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nK\303\266ln\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAECAw==\n--b1--\n' > "$T_DIR/multi.txt"
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test a@new.test < "$T_DIR/8bit.txt" > /dev/null
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test b@old.test < "$T_DIR/8bit.txt" > /dev/null
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test c@old.test < "$T_DIR/7bit.txt" > /dev/null
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test m@old.test < "$T_DIR/multi.txt" > /dev/null
peer_got sink a@new.test
python3 -c "
import glob, json, sys
recs = [json.load(open(f)) for f in glob.glob('$T_DIR/sink/*.json')]
sys.exit(0 if any('a@new.test' in r['rcpt_tos'] and 'BODY=8BITMIME' in r['mail_options'] for r in recs) else 1)"
ok $? "to a peer with 8BITMIME: sent with BODY=8BITMIME"
peer_got old b@old.test && peer_got old m@old.test && peer_got old c@old.test
ok $? "to a peer without it: all three delivered"
python3 - "$T_DIR/old" <<'PY'
import email, email.policy, glob, json, sys
got = {}
for j in glob.glob(sys.argv[1] + "/*.json"):
    rec = json.load(open(j))
    raw = open(j[:-5] + ".eml", "rb").read()
    got[rec["rcpt_tos"][0]] = (rec, raw)
ok = True
for rcpt, (rec, raw) in got.items():
    if any(b > 127 for b in raw) or "BODY=8BITMIME" in rec["mail_options"]:
        print("# %s: 8-bit octets or BODY=8BITMIME sent to the 7-bit peer" % rcpt); ok = False
msg = email.message_from_bytes(got["b@old.test"][1], policy=email.policy.default)
if msg["Content-Transfer-Encoding"] != "quoted-printable" or \
        "café crème".encode() not in msg.get_payload(decode=True):
    print("# b@old.test: not quoted-printable, or the text differs"); ok = False
m = email.message_from_bytes(got["m@old.test"][1], policy=email.policy.default)
parts = [p for p in m.walk() if not p.is_multipart()]
if [p["Content-Transfer-Encoding"] for p in parts] != ["quoted-printable", "base64"] or \
        parts[0].get_content().strip() != "Köln" or parts[1].get_content() != b"\x00\x01\x02\x03":
    print("# m@old.test: parts %r" % [(p["Content-Transfer-Encoding"], p.get_payload()) for p in parts]); ok = False
if b"plain text" not in got["c@old.test"][1] or b"quoted-printable" in got["c@old.test"][1]:
    print("# c@old.test: 7-bit mail changed"); ok = False
sys.exit(0 if ok else 1)
PY
ok $? "only 7-bit octets went there; the text reads the same decoded, the base64 part unchanged, 7-bit mail untouched"
grep -q "8-bit content re-encoded quoted-printable for .* which lacks 8BITMIME (1 part(s))" "$T_ROUTER_LOG"
ok $? "the router logs each conversion"

# convert_8bit = no: refused there, with a DSN that says why.
write_router_config "$ROUTES" "convert_8bit = no"
kill -HUP "$ROUTER_PID"
wait_for 10 grep -q "reloaded" "$T_ROUTER_LOG"
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test d@old.test < "$T_DIR/8bit.txt" > /dev/null
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/sink' --sender s@src.test --rcpt d@old.test --action failed --reason-contains convert_8bit | grep -q '^ok'"
ok $? "with router.convert_8bit = no: not sent, a DSN naming the setting"
! cat "$T_DIR"/old/*.json | grep -q d@old.test; ok $? "the 8-bit message never reached that peer"
