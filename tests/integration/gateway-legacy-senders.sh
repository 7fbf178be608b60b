#!/bin/sh
# gateway-legacy-senders.sh - real senders into the postoffice: quoted local parts, address literals, UTF-8 senders, odd Message-IDs, Dates and Subjects are carried in the transfer file (no 5.x); what cannot be carried fails with its own reason.
. "$(dirname "$0")/lib.sh"

plan 15
$PO_SIM create "$T_SHARE" --network CORPNET --postoffice HQPO --mailbox JSMITH:"John Smith" > /dev/null
ok $? "a postoffice tree from the simulator"
start_peer sink sink 127.0.0.1 "" --smtputf8
write_router_config "sender.test smtp:[127.0.0.1]:$sink_PORT" "[gateway]
share = $T_SHARE
poll_interval = 1s
open_retry_interval = 1s
max_open_retries = 5"
start_store && start_smtpd && start_router && start_gateway; ok $? "store, smtpd, router and gateway start"
wait_for 10 grep -q "postoffice directory ready" "$T_SMTPD_LOG" && wait_for 10 grep -q "postoffice gateway ready" "$T_ROUTER_LOG"
ok $? "smtpd and the router reach the gateway"

# One message per case: "NAME|MAIL FROM argument|header lines (\n between)".  Each body holds
# "token NAME" to find it again in the postoffice's mailbox.
python3 - "$SMTP_PORT" "jsmith@$T_PO_DOMAIN" > "$T_DIR/sent" 2> "$T_DIR/sent.err" <<'PY'
import smtplib, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
long_id = "<" + "x" * 300 + "@sender.test>"
words = ["long"] + ["word"] * 400
long_subject = "\n ".join(" ".join(words[i:i + 15]) for i in range(0, len(words), 15))
cases = [
    ("quoted", '"john smith"@sender.test', "",
     "Message-ID: <@sender.test>\nSubject: Gr\u00fc\u00dfe aus K\u00f6ln\nDate: Tue, 1 Jul 2003 10:52:37 +0200 (CEST)"),
    ("qpair", '"a\\"b"@sender.test', "", "Message-ID: <x@>\nDate: yesterday at 5\nSubject: plain"),
    ("lit4", "user@[192.0.2.1]", "", f"Message-ID: {long_id}\nSubject: {long_subject}"),
    ("lit6", "user@[IPv6:2001:db8::1]", "",
     "Message-ID:\n <folded.id@sender.test>\nSubject: folded\n over two lines\nDate: 2024-01-01 10:00"),
    ("utf8", "j\u00f6rg@sender.test", " SMTPUTF8",
     "Message-ID: <a b@sender.test>\nSubject: caf\u00e9 \u00e0 \x1b[1mParis\nDate: Mon, 1 Jan 2024 00:00:00 +0000"),
    ("utf8dom", "user+tag@b\u00fccher.sender.test", " SMTPUTF8",
     "Message-ID: <caf\u00e9@sender.test>\nSubject: \u7528\u6237"),
    ("utf8quoted", '"j\u00f6rg smith"@sender.test', " SMTPUTF8", "Subject: cannot be carried"),
]
for name, sender, opts, headers in cases:
    body = (f"From: x@sender.test\n{headers}\n\ntoken {name}\n").replace("\n", "\r\n").encode()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("test.client")
        s.command_encoding = "utf-8"
        for cmd in (f"MAIL FROM:<{sender}>{opts}", f"RCPT TO:<{rcpt}>"):
            code, msg = s.docmd(cmd)
            if code != 250:
                sys.exit(f"{name}: {cmd}: {code} {msg!r}")
        code, msg = s.data(body)
        if code != 250:
            sys.exit(f"{name}: DATA: {code} {msg!r}")
        print(name, msg.decode().split()[-1])
PY
ok $? "seven messages taken over SMTP $(tr '\n' ' ' < "$T_DIR/sent.err")"

# Each is answered by the gateway: six written, one failed with its own reason.
for q in $(cut -d' ' -f2 "$T_DIR/sent"); do
    wait_for 15 sh -c "[ \$($SPOOLCTL -s $T_SOCKET list --match $q | tail -1 | cut -d' ' -f1) = 0 ]" || echo "# $q still queued"
done
written=0
for q in $(grep -v utf8quoted "$T_DIR/sent" | cut -d' ' -f2); do
    grep -q "$q: written to the postoffice as P1/" "$T_GATEWAY_LOG" && written=$((written + 1))
done
test "$written" = 6; ok $? "six transfer files written, one per carried message ($written)"
test "$(ls "$T_SHARE"/P1/*.P1 | wc -l)" = 6; ok $? "six files in P1/"
! grep -E "5\.6\.0|5\.1\.7" "$T_GATEWAY_LOG" "$T_ROUTER_LOG"; ok $? "no 5.6.0 or 5.1.7 anywhere in the logs"
for s in '"john smith"@sender.test' '"a\"b"@sender.test' 'jörg@sender.test'; do
    $DSN_CHECK "$T_DIR/sink" --none --sender "$s" | grep -q '^ok' || echo "# a DSN to $s"
done > "$T_DIR/dsn.none"
test ! -s "$T_DIR/dsn.none"; ok $? "no DSN to any carried sender $(tr '\n' ' ' < "$T_DIR/dsn.none")"

# The one a control line cannot carry: 5.6.7 with what and why, in the DSN.
q=$(grep utf8quoted "$T_DIR/sent" | cut -d' ' -f2)
grep "$q: to=<jsmith@$T_PO_DOMAIN>" "$T_ROUTER_LOG" | grep -q "dsn=5.6.7, status=bounced (5.6.7 the sender address cannot be written in the postoffice's US-ASCII form: .*quoted local part"
ok $? "a UTF-8 sender with a quoted local part fails with 5.6.7 and why"
$DSN_CHECK "$T_DIR/sink" --sender '"jörg smith"@sender.test' --rcpt "jsmith@$T_PO_DOMAIN" --action failed \
    --reason-contains "5.6.7" --reason-contains "cannot be written in the postoffice's US-ASCII form" \
    --reason-contains "quoted local part" > "$T_DIR/dsn.out"
! grep -q "^not ok" "$T_DIR/dsn.out" && grep -q "^ok" "$T_DIR/dsn.out"
ok $? "and the DSN says so $(grep '^not ok' "$T_DIR/dsn.out" | tr '\n' ' ')"

# The postoffice takes every file; the control lines say what was mapped.
$PO_SIM deliver "$T_SHARE" --once > "$T_DIR/deliver.out" 2>&1
test "$(ls "$T_SHARE"/MAI/JSMITH/*.MSG 2>/dev/null | wc -l)" = 6 && ! ls "$T_SHARE"/P1/BAD/*.P1 2> /dev/null
ok $? "the postoffice simulator files all six, none in P1/BAD/ $(cat "$T_SHARE"/P1/BAD/*.WHY 2>/dev/null | tr '\r\n' '  ')"
python3 - "$T_SHARE/MAI/JSMITH" > "$T_DIR/env.check" 2>&1 <<'PY'
import base64, glob, os, re, sys
want = {
    "quoted": {"From": 'SMTP:"john smith"@sender.test', "Message-Id": "<QID@",
               "Date": "Tue, 1 Jul 2003 10:52:37 +0200",
               "Subject": "=?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?="},
    "qpair": {"From": 'SMTP:"a\\"b"@sender.test', "Message-Id": "<QID@", "Date": "NOW",
              "Subject": "plain"},
    "lit4": {"From": "SMTP:user@[192.0.2.1]", "Message-Id": "<QID@", "Date": "NOW",
             "Subject": " ".join(["long"] + ["word"] * 400)[:989]},
    "lit6": {"From": "SMTP:user@[IPv6:2001:db8::1]", "Message-Id": "<folded.id@sender.test>",
             "Date": "NOW", "Subject": "folded over two lines"},
    "utf8": {"From": "SMTP:j\\x{F6}rg@sender.test", "Message-Id": "<QID@",
             "Date": "Mon, 1 Jan 2024 00:00:00 +0000",
             "Subject": "=?UTF-8?B?Y2Fmw6kgw6A=?= [1mParis"},
    "utf8dom": {"From": "SMTP:user\\x{2B}tag@b\\x{FC}cher.sender.test", "Message-Id": "<QID@",
                "Subject": "=?UTF-8?B?" + base64.b64encode("\u7528\u6237".encode()).decode() + "?="},
}
seen = set()
bad = 0
for msg in glob.glob(os.path.join(sys.argv[1], "*.MSG")):
    body = open(msg, "rb").read()
    name = re.search(rb"token (\S+)", body).group(1).decode()
    env = open(msg[:-4] + ".ENV", "rb").read().decode("ascii")
    fields = dict(l.split(": ", 1) for l in env.split("\r\n") if ": " in l)
    seen.add(name)
    for k, v in want[name].items():
        got = fields.get(k, "")
        if v == "<QID@":
            okv = re.fullmatch(r"<[0-9A-Za-z]+@[^<>@ ]+>", got) is not None
        elif v == "NOW":
            okv = re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", got) is not None
        else:
            okv = got == v
        if not okv:
            print(f"{name}: {k}: {got!r}, want {v!r}")
            bad += 1
    if name == "quoted" and b"\r\nMessage-ID: <@sender.test>\r\n" not in body:
        print("quoted: the message lost its own Message-ID")
        bad += 1
missing = set(want) - seen
if missing:
    print("missing:", sorted(missing))
sys.exit(1 if bad or missing else 0)
PY
ok $? "From, Message-Id, Date, Subject of each as mapped $(cat "$T_DIR/env.check" | tr '\n' ';')"

# Outbound: a reply from the postoffice to a sender of each kind goes out (SMTPUTF8 for UTF-8).
$PO_SIM send "$T_SHARE" --from JSMITH --to 'SMTP:"john smith"@sender.test' --to 'SMTP:j\x{F6}rg@sender.test' \
    --subject "a reply" --body "reply" --domain "$T_PO_DOMAIN" > /dev/null
cat > "$T_DIR/reply.py" <<'PY'
import glob, json, sys
rcpt, utf8 = sys.argv[2], sys.argv[3] == "utf8"
for f in glob.glob(sys.argv[1] + "/*.json"):
    j = json.load(open(f))
    if (j["mail_from"].startswith("jsmith@") and rcpt in j["rcpt_tos"]
            and (not utf8 or "SMTPUTF8" in [o.upper() for o in j["mail_options"]])):
        sys.exit(0)
sys.exit(1)
PY
wait_for 15 python3 "$T_DIR/reply.py" "$T_DIR/sink" '"john smith"@sender.test' ascii
ok $? "a reply to the quoted sender leaves the postoffice"
wait_for 5 python3 "$T_DIR/reply.py" "$T_DIR/sink" "jörg@sender.test" utf8
ok $? "and to the UTF-8 sender, decoded from its RFC 6533 form, with SMTPUTF8"
test -z "$(ls "$T_SHARE"/OUT/BAD/ 2>/dev/null)"; ok $? "nothing in OUT/BAD/ $(cat "$T_SHARE"/OUT/BAD/*.WHY 2>/dev/null | tr '\r\n' '  ')"
