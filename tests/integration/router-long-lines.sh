#!/bin/sh
# router-long-lines.sh - a local submission with lines over 998 octets (a 2 519-octet header, body lines of 1 500 and 1 201 octets) relayed to a peer that refuses longer lines (aiosmtpd: "500 Line too long"): the router breaks each such line with CR LF SPACE as Postfix does, the peer takes the message, no line it got is over 998 octets, the text is all there, and the log counts the breaks (issue 20, item 5; it bounced before).
. "$(dirname "$0")/lib.sh"

plan 5
start_peer sink sink
write_router_config "dst.test smtp:[127.0.0.1]:$sink_PORT"
start_store && start_router; ok $? "store and router start"
python3 - "$T_DIR/msg.txt" <<'PY'
import sys
words = " ".join("w%04d" % i for i in range(420))  # 2 519 octets
with open(sys.argv[1], "w") as f:
    f.write("Subject: long lines\nX-Long: " + words + "\n\n")
    f.write("B" * 1500 + "\nshort line\n" + "." + "C" * 1200 + "\n")
PY
Q=$("$SENDMAIL" -s "$T_SOCKET" -f s@src.test r@dst.test < "$T_DIR/msg.txt" | awk '{print $NF}')
peer_got sink r@dst.test; ok $? "the peer that refuses long lines took the message ($Q)"
python3 - "$T_DIR/sink" "$T_DIR/msg.txt" <<'PY'
import glob, sys
eml = open(sorted(glob.glob(sys.argv[1] + "/*.eml"))[0], "rb").read()
lines = eml.replace(b"\r\n", b"\n").split(b"\n")
longest = max(len(l) for l in lines)
# undo the breaks: CR LF SPACE -> nothing gives the original text back
orig = open(sys.argv[2], "rb").read()
joined = eml.replace(b"\r\n ", b"").replace(b"\r\n", b"\n")
ok = longest <= 998 and orig.split(b"\n\n", 1)[1] in joined and b"w0419" in joined
print("# longest line %d, original text recovered: %s" % (longest, ok))
sys.exit(0 if ok else 1)
PY
ok $? "no line the peer got is over 998 octets, and the text is all there"
grep -q "$Q: 4 line(s) longer than 998 octets broken for " "$T_ROUTER_LOG"
ok $? "the router logs how many lines it broke"
grep -q "$Q: to=<r@dst.test>.*status=sent" "$T_ROUTER_LOG"; ok $? "recorded sent, no DSN"
