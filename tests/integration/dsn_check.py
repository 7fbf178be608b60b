#!/usr/bin/env python3
"""dsn_check.py - check the delivery status notifications (RFC 3464) that smtp_peer.py stored in a sink DIR, as TAP.

Usage:
    dsn_check.py DIR --sender ADDR --rcpt ADDR [--rcpt ADDR ...] --action failed|delayed
                 [--status-class 5|4] [--reason-contains TEXT ...] [--count N] [--ret full|hdrs]
    dsn_check.py DIR --none [--sender ADDR]

A DSN is a message in DIR (<n>.json + <n>.eml, as smtp_peer.py writes them) with the null envelope
sender ("") and rcpt_tos == [sender]. It is "of that action for those recipients" when one of its
per-recipient groups has Action: <action> and a Final-Recipient among the --rcpt addresses (read from
its message/delivery-status part, or leniently from the raw text when that part is missing or broken,
so that a malformed DSN is still counted and then fails the checks below).

Prints "ok - ..." / "not ok - ..." lines with "# ..." diagnostics and no plan; exit status 0 always.
Checks: exactly --count (default 1) such DSNs; every --rcpt is reported with that action in one of
them; and for each such DSN: multipart/report; report-type=delivery-status; From contains
MAILER-DAEMON; Auto-Submitted present; parts text/plain, message/delivery-status, then
text/rfc822-headers (--ret hdrs, the default) or message/rfc822 (--ret full); Reporting-MTA present;
per --rcpt it names: Final-Recipient "rfc822; addr", Action, Status X.Y.Z of --status-class (default
5 for failed, 4 for delayed), and a specific reason (Diagnostic-Code or X-Spoolgate-Reason that is not
empty, only a status code, or a generic word like "unknown", "error", "failed"); each
--reason-contains TEXT appears (case-insensitive) in the text/plain part or the recipient's fields.
--none: one line, ok when DIR holds no null-sender message (to --sender, if given).
"""

import argparse
import email
import email.policy
import json
import os
import re
import sys

STATUS_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
GENERIC = {"", "unknown", "error", "failed", "failure", "unknown error", "error occurred",
           "delivery failed", "undeliverable", "temporary failure", "permanent failure", "none", "n/a"}

results = []  # every verdict printed, in order


def tap(ok, text, diag=()):
    print("%s - %s" % ("ok" if ok else "not ok", text))
    for d in (() if ok else diag):  # diagnostics only where a check failed
        for line in str(d).splitlines() or [""]:
            print("# " + line)
    results.append(ok)
    return ok


def note(text):
    for line in str(text).splitlines():
        print("# " + line)


def norm(v):
    """A header value unfolded, whitespace squeezed."""
    return " ".join(str(v).split()) if v is not None else ""


def bare(addr):
    addr = addr.strip()
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1]
    return addr.lower()


def load_messages(directory):
    """[(name, meta, raw bytes)] for every complete message in DIR, in number order."""
    out = []
    try:
        names = os.listdir(directory)
    except OSError as e:  # the peer creates DIR at start: a missing DIR is a wrong path
        tap(False, "sink directory %s readable" % directory, [e])
        return None
    for fn in sorted((n for n in names if re.fullmatch(r"\d+\.json", n)), key=lambda n: int(n[:-5])):
        base = fn[:-5]
        try:
            with open(os.path.join(directory, fn)) as f:
                meta = json.load(f)
            with open(os.path.join(directory, base + ".eml"), "rb") as f:
                raw = f.read()
        except (OSError, ValueError) as e:
            note("%s: unreadable: %s" % (fn, e))
            continue
        out.append((base + ".eml", meta, raw))
    return out


def parse_fields(text):
    """Blocks of "Name: value" lines (continuations folded in), separated by blank lines."""
    blocks, cur, last = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur, last = {}, None
        elif line[:1] in " \t" and last:
            cur[last] += " " + line.strip()
        elif ":" in line:
            k, v = line.split(":", 1)
            last = k.strip().lower()
            cur[last] = (cur[last] + " " if last in cur else "") + v.strip()
    if cur:
        blocks.append(cur)
    return blocks


def status_part(msg):
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return part
    return None


def ds_blocks(part):
    """Field blocks of a message/delivery-status part: [per-message, per-recipient...]."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses it into header blocks
        blocks = []
        for sub in payload:
            blocks.append({k.lower(): norm(v) for k, v in sub.items()})
        return blocks
    if isinstance(payload, str):
        return parse_fields(payload)
    return []


class Dsn:
    def __init__(self, name, meta, raw):
        self.name, self.meta, self.raw = name, meta, raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        part = status_part(self.msg)
        self.strict = part is not None
        if part is not None:
            blocks = ds_blocks(part)
        else:  # lenient: any field blocks in the raw text
            blocks = parse_fields(raw.decode("utf-8", "replace"))
        self.per_message = blocks[0] if (part is not None and blocks) else {}
        self.groups = [b for b in blocks if "final-recipient" in b or "action" in b]
        if part is not None:
            self.groups = blocks[1:]

    def recipient(self, g):
        fr = g.get("final-recipient", "")
        return bare(fr.split(";", 1)[1]) if ";" in fr else bare(fr)

    def actions(self):
        return [(self.recipient(g), g.get("action", "").strip().lower()) for g in self.groups]

    def text_plain(self):
        for part in self.msg.walk():
            if part.get_content_type() == "text/plain" and not part.is_multipart():
                data = part.get_payload(decode=True) or b""
                return data.decode(part.get_content_charset() or "utf-8", "replace")
        return ""


def reason_is_specific(text):
    t = norm(text).lower()
    if ";" in t and t.split(";", 1)[0].strip() in ("smtp", "x-spoolgate", "x-unix", "x-local"):
        t = t.split(";", 1)[1]
    t = re.sub(r"\b\d{3}\b|\b\d\.\d{1,3}\.\d{1,3}\b", " ", t)
    t = " ".join(re.sub(r"[^\w@.<>\-]+", " ", t).split()).strip(" .-")
    return t not in GENERIC and len(t) >= 3, t


def check_dsn(d, args, rcpts, status_class):
    n = d.name
    msg = d.msg
    ctype = msg.get_content_type()
    tap(ctype == "multipart/report", "%s: is multipart/report" % n,
        ["Content-Type: %s" % norm(msg.get("Content-Type"))])
    rt = (msg.get_param("report-type") or "").lower()
    tap(rt == "delivery-status", "%s: report-type=delivery-status" % n, ["report-type: %r" % rt])
    frm = norm(msg.get("From"))
    tap("mailer-daemon" in frm.lower(), "%s: From contains MAILER-DAEMON" % n, ["From: %s" % frm])
    auto = msg.get("Auto-Submitted")
    tap(auto is not None and norm(auto).lower() != "no", "%s: Auto-Submitted present" % n,
        ["Auto-Submitted: %r" % (auto,)])
    parts = msg.get_payload() if msg.is_multipart() else []
    types = [p.get_content_type() for p in parts]
    want3 = "message/rfc822" if args.ret == "full" else "text/rfc822-headers"
    tap(types[:2] == ["text/plain", "message/delivery-status"],
        "%s: parts 1-2 are text/plain, message/delivery-status" % n, ["parts: %s" % types])
    tap(len(types) >= 3 and types[2] == want3, "%s: part 3 is %s (RET=%s)" % (n, want3, args.ret),
        ["parts: %s" % types])
    if len(types) > 3:
        note("%s: %d parts, expected 3" % (n, len(types)))
    rm = d.per_message.get("reporting-mta", "")
    tap(d.strict and bool(re.match(r"\s*\S+\s*;\s*\S", rm)), "%s: Reporting-MTA present" % n,
        ["Reporting-MTA: %r%s" % (rm, "" if d.strict else " (no message/delivery-status part)")])
    text = d.text_plain()
    by_rcpt = {}
    for g in d.groups:
        by_rcpt.setdefault(d.recipient(g), g)
    for r in rcpts:
        g = by_rcpt.get(r)
        if g is None or g.get("action", "").strip().lower() != args.action:
            continue  # reported in another DSN (checked there); coverage is checked by the caller
        fields = "\n".join("%s: %s" % (k, v) for k, v in g.items())
        diag = ["recipient fields:"] + ["  " + l for l in fields.splitlines()]
        fr = g.get("final-recipient", "")
        m = re.fullmatch(r"\s*rfc822\s*;\s*(\S+)\s*", fr, re.I)
        tap(bool(m) and bare(m.group(1)) == r, "%s: %s: Final-Recipient: rfc822; %s" % (n, r, r), diag)
        tap(True, "%s: %s: Action: %s" % (n, r, args.action))
        st = g.get("status", "").strip()
        sm = STATUS_RE.match(st)
        tap(bool(sm) and sm.group(1) == str(status_class),
            "%s: %s: Status %s.X.X (X.Y.Z syntax)" % (n, r, status_class), ["Status: %r" % st])
        reasons = [(k, g[k]) for k in ("diagnostic-code", "x-spoolgate-reason") if g.get(k, "").strip()]
        specific = [(k, v) for k, v in reasons if reason_is_specific(v)[0]]
        tap(bool(specific), "%s: %s: specific reason (Diagnostic-Code or X-Spoolgate-Reason)" % (n, r),
            ["%s: %r" % kv for kv in reasons] or ["neither Diagnostic-Code nor X-Spoolgate-Reason"])
        for want in args.reason_contains or []:
            hay = (text + "\n" + fields).lower()
            tap(want.lower() in hay, "%s: %s: reason contains %r" % (n, r, want),
                ["text/plain part:"] + ["  " + l for l in text.splitlines()[:20]] + diag)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--sender")
    ap.add_argument("--rcpt", action="append", default=[])
    ap.add_argument("--action", choices=("failed", "delayed"))
    ap.add_argument("--status-class", type=int, choices=(4, 5))
    ap.add_argument("--reason-contains", action="append", default=[])
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--ret", choices=("full", "hdrs"), default="hdrs")
    ap.add_argument("--none", action="store_true")
    args = ap.parse_args()

    msgs = load_messages(args.dir)
    if msgs is None:
        if args.none:
            return 0  # the one line is the "not ok" above
        msgs = []
    nulls = [(n, m, r) for n, m, r in msgs if (m.get("mail_from") or "") == ""]

    if args.none:
        who = [x for x in nulls if args.sender is None
               or [bare(a) for a in x[1].get("rcpt_tos", [])] == [bare(args.sender)]]
        diag = []
        for n, m, r in who:
            sub = email.message_from_bytes(r).get("Subject")
            diag.append("%s: null sender, to %s, Subject: %s" % (n, m.get("rcpt_tos"), norm(sub)))
        tap(not who, "no null-sender message in %s%s" % (
            args.dir, "" if args.sender is None else " to " + args.sender), diag)
        return 0

    if not args.sender or not args.rcpt or not args.action:
        ap.error("--sender, --rcpt and --action are required (or --none)")
    status_class = args.status_class or (5 if args.action == "failed" else 4)
    rcpts = [bare(r) for r in args.rcpt]
    sender = bare(args.sender)

    mine = [Dsn(n, m, r) for n, m, r in nulls if [bare(a) for a in m.get("rcpt_tos", [])] == [sender]]
    for n, m, r in nulls:
        note("%s: null sender, to %s" % (n, m.get("rcpt_tos")))
    matching = []
    for d in mine:
        acts = d.actions()
        note("%s: Subject: %s; recipients: %s" % (d.name, norm(d.msg.get("Subject")),
                                                 ", ".join("%s=%s" % a for a in acts) or "none found"))
        if not acts:
            tap(False, "%s: null-sender message to %s has recipient fields (Final-Recipient, Action)"
                % (d.name, args.sender))
        if any(a == args.action and r in rcpts for r, a in acts):
            matching.append(d)

    tap(len(matching) == args.count,
        "%d DSN(s) with Action: %s for %s to %s" % (args.count, args.action, ", ".join(rcpts), args.sender),
        ["found %d: %s" % (len(matching), ", ".join(d.name for d in matching) or "none"),
         "null-sender messages to %s: %d of %d in %s" % (args.sender, len(mine), len(msgs), args.dir)])
    covered = {r for d in matching for r, a in d.actions() if a == args.action}
    missing = [r for r in rcpts if r not in covered]
    tap(not missing and bool(matching), "every recipient reported with Action: %s" % args.action,
        ["not reported: %s" % ", ".join(missing)] if missing else [])
    for d in matching:
        others = [r for r, a in d.actions() if a == args.action and r not in rcpts]
        if others:
            note("%s: also reports %s with Action: %s" % (d.name, ", ".join(others), args.action))
        check_dsn(d, args, rcpts, status_class)
    return 0


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if e.code not in (0, None):  # argparse usage errors: report as TAP, still exit 0
            print("not ok - dsn_check.py usage: %s" % " ".join(sys.argv[1:]))
    except Exception as e:  # a crash is a failed check, not a script error
        print("not ok - dsn_check.py crashed: %s: %s" % (type(e).__name__, e))
    sys.exit(0)
