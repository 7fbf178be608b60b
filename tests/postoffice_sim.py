#!/usr/bin/env python3
"""postoffice_sim.py - a small simulator of the legacy postoffice side of the share.

Plays the part of the postoffice's own agents on a share laid out as in
doc/POSTOFFICE.md, for the integration tests and the benchmark.  Python 3.11,
stdlib only.

  create  ROOT --network NET --postoffice PO --mailbox BOX[:Display Name] ...
          make GLB/NETWORK.GLB, GLB/ADDRESS.GLB (TAB, CRLF), P1/, OUT/,
          OUT/BAD/ and MAI/<BOX>/ for each mailbox.
  deliver ROOT [--once | --interval SECONDS]
          file every P1/*.P1 into MAI/<BOX>/<n>.MSG (the message, byte for
          byte) plus <n>.ENV (the control lines, byte for byte), then remove
          it.  A file that does not parse, or names a mailbox not in
          ADDRESS.GLB, goes to P1/BAD/ with the reason in P1/BAD/<name>.WHY;
          nothing of it is delivered (all recipients or none).  To: lines for
          another network/postoffice are skipped.  One line per action.
          --once (the default) exits when done; --interval loops until SIGTERM.
  send    ROOT --from BOX --to SMTP:addr [--to ...] [--subject S]
          [--body TEXT | --body-file F] [--message-id ID] [--name NAME]
          [--domain D]
          drop an outbound transfer file OUT/NAME.P1 (via NAME.TMP); prints it.
          D is the postoffice's SMTP domain used in the message's From header
          (default <po>.<net>.invalid, lower-cased).
  bad     ROOT KIND [--name NAME]
          drop a broken transfer file into OUT/; KIND is one of
          missing-headers, bad-address, truncated, binary, lf-only, no-to.
  list    ROOT
          "MAI/<BOX> <messages>" per mailbox, then "P1 n", "P1/BAD n", "OUT n",
          "OUT.GWK n", "OUT/BAD n": P1 and OUT count waiting *.P1 files,
          OUT.GWK the files the gateway has claimed, the BAD directories every
          file except *.WHY.
  show    ROOT BOX N
          write message N of BOX (MAI/<BOX>/<N>.MSG) to stdout, byte for byte.

parse_p1(data) -> (headers, body) is importable: headers is a list of
(name, value) str pairs in file order, body the bytes after the empty line.
It raises ValueError with the reason for anything the format does not allow.
Transfer file names come from the counter GLB/SIM.SEQ (under an flock) and
are checked against every file of that name in P1/, P1/BAD/, OUT/, OUT/BAD/.
Exit status: 0 done, 1 failure (message on stderr), 2 usage.
"""
import argparse
import email.utils
import fcntl
import os
import re
import secrets
import signal
import sys
import time
from email.header import Header

NAME_RE = re.compile(r"[A-Z0-9]{1,10}\Z")
FILE_RE = re.compile(r"[0-9A-F]{8}\Z")
MS_RE = re.compile(r"MS:([A-Z0-9]{1,10})/([A-Z0-9]{1,10})/([A-Z0-9]{1,10})\Z")
# What doc/POSTOFFICE.md lets an SMTP: address be: an RFC 5321 mailbox in US-ASCII (a dot-atom
# or a quoted local part; a dotted domain or an address literal), or a UTF-8 one written in the
# RFC 6533 form, each character outside QCHAR as \x{HEX}.  Simple, not exact: no label lengths.
_ATOM = r"[!#-'*+\-/-9=?A-Z^-~]+"
_LOCAL = rf"(?:{_ATOM}(?:\.{_ATOM})*|\"(?:[ !#-\[\]-~]|\\[ -~])+\")"
_DOMAIN = r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9.]+\]|\[IPv6:[0-9A-Fa-f:.]+\])"
_XTEXT = r"(?:[!-*,-<>-\[\]-~]|\\x\{[0-9A-F]{2,6}\})+"
SMTP_RE = re.compile(rf"SMTP:(?:{_LOCAL}@{_DOMAIN}|(?=.*@)(?=.*\\x\{{){_XTEXT})\Z")
FIELD_RE = re.compile(rb"([A-Za-z0-9-]+):[ \t]*(.*)\Z", re.S)
REQUIRED = ("P1-Version", "Message-Id", "From", "Date", "Subject")
MAX_LINE = 998
BAD_KINDS = ("missing-headers", "bad-address", "truncated", "binary", "lf-only", "no-to")


class SimError(Exception):
    """A failure the command reports on stderr with exit status 1."""


# ---- the transfer file format ---------------------------------------------

def parse_address(value, kinds=("SMTP", "MS")):
    """Check a legacy or SMTP address; returns ("MS", (net, po, box)) or ("SMTP", addr)."""
    if "MS" in kinds:
        m = MS_RE.match(value)
        if m:
            return "MS", m.groups()
    if "SMTP" in kinds and SMTP_RE.match(value):
        return "SMTP", value[5:]
    raise ValueError(f"not a valid address: {value!r}")


def parse_p1(data: bytes):
    """Split a transfer file into its control lines and the message.

    Returns (headers, body): headers a list of (name, value) in file order
    with the names as written, body the bytes after the empty line.  Raises
    ValueError(reason) unless: every control line is US-ASCII "Name: value"
    ending in CRLF (no bare CR or LF), the control lines end with an empty
    line, P1-Version is 1, Message-Id, From, Date and Subject appear once
    each (Subject may be empty), there is at least one To:, every address is
    MS:NET/PO/BOX or SMTP:user@domain, and a message follows.  Field names
    compare case-insensitively; unknown fields are kept and not checked.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("parse_p1 wants bytes")
    headers = []
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            raise ValueError(f"control lines end without an empty line (line {len(headers) + 1} unterminated)")
        line = bytes(data[pos:end])
        pos = end + 2
        if line == b"":
            break
        lineno = len(headers) + 1
        if b"\n" in line or b"\r" in line:
            raise ValueError(f"control line {lineno}: bare LF or CR (lines must end in CRLF)")
        if len(line) > MAX_LINE:
            raise ValueError(f"control line {lineno}: longer than {MAX_LINE} bytes")
        if any(b > 0x7E or (b < 0x20 and b != 0x09) for b in line):
            raise ValueError(f"control line {lineno}: not printable US-ASCII")
        m = FIELD_RE.match(line)
        if not m:
            raise ValueError(f"control line {lineno}: not 'Name: value'")
        headers.append((m.group(1).decode("ascii"), m.group(2).decode("ascii").rstrip(" \t")))
    if not headers:
        raise ValueError("no control lines before the empty line")
    body = bytes(data[pos:])

    seen = {}
    for name, value in headers:
        seen.setdefault(name.lower(), []).append(value)
    for name in REQUIRED:
        values = seen.get(name.lower(), [])
        if not values:
            raise ValueError(f"missing {name}: line")
        if len(values) > 1:
            raise ValueError(f"{name}: appears {len(values)} times")
    if seen["p1-version"][0] != "1":
        raise ValueError(f"unsupported P1-Version {seen['p1-version'][0]!r}")
    if not re.fullmatch(r"<[^<>\s]+@[^<>\s]+>", seen["message-id"][0]):
        raise ValueError(f"Message-Id is not <id@host>: {seen['message-id'][0]!r}")
    if not seen["date"][0]:
        raise ValueError("empty Date:")
    if email.utils.parsedate_tz(seen["date"][0]) is None:
        raise ValueError(f"Date: is not an RFC 5322 date: {seen['date'][0]!r}")
    parse_address(seen["from"][0])
    if not seen.get("to"):
        raise ValueError("no To: line")
    for value in seen["to"]:
        parse_address(value)
    if not body:
        raise ValueError("no message after the empty line")
    return headers, body


def header_values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


# ---- the share ------------------------------------------------------------

def write_atomic(path, data):
    """Write path through path's stem + .TMP in the same directory, then rename."""
    tmp = os.path.splitext(path)[0] + ".TMP"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SimError(f"{path}: {e.strerror}") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise SimError(f"{path}: not US-ASCII") from None
    return [line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r")]


class Share:
    """A postoffice share at ROOT, with its names read from GLB/."""

    def __init__(self, root):
        self.root = root
        net = po = None
        for line in read_lines(self.path("GLB", "NETWORK.GLB")):
            key, _, value = line.partition("=")
            if key.strip() == "NETWORK":
                net = value.strip()
            elif key.strip() == "POSTOFFICE":
                po = value.strip()
        if not net or not po:
            raise SimError(f"{self.path('GLB', 'NETWORK.GLB')}: NETWORK= or POSTOFFICE= missing")
        self.network, self.postoffice = net, po
        self.mailboxes = {}
        for line in read_lines(self.path("GLB", "ADDRESS.GLB")):
            box, _, display = line.partition("\t")
            self.mailboxes[box] = display

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def ms_address(self, box):
        return f"MS:{self.network}/{self.postoffice}/{box}"

    def files(self, *parts, suffix=None, exclude=None):
        d = self.path(*parts)
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return []
        return [n for n in names if os.path.isfile(os.path.join(d, n))
                and (suffix is None or n.endswith(suffix))
                and (exclude is None or not n.endswith(exclude))]

    def name_taken(self, name):
        for d in (("P1",), ("P1", "BAD"), ("OUT",), ("OUT", "BAD")):
            if any(n.split(".")[0] == name for n in self.files(*d)):
                return True
        return False

    def new_name(self, wanted=None):
        """A file name (8 upper-case hex) not used anywhere on the share."""
        if wanted is not None:
            if not FILE_RE.match(wanted):
                raise SimError(f"--name {wanted!r}: must be 8 upper-case hex characters")
            if self.name_taken(wanted):
                raise SimError(f"--name {wanted}: already used on the share")
            return wanted
        with open(self.path("GLB", "SIM.SEQ"), "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            text = f.read().strip()
            seq = int(text, 16) if re.fullmatch(r"[0-9A-Fa-f]{1,8}", text) else 0
            for _ in range(0x10000):
                seq = (seq + 1) & 0xFFFFFFFF
                name = f"{seq:08X}"
                if not self.name_taken(name):
                    break
            else:
                raise SimError("no free transfer file name")
            f.seek(0)
            f.truncate()
            f.write(name + "\r\n")
            f.flush()
            os.fsync(f.fileno())
        return name


# ---- create ---------------------------------------------------------------

def check_name(kind, name):
    if not NAME_RE.match(name):
        raise SimError(f"{kind} {name!r}: must be 1-10 characters of A-Z, 0-9")
    return name


def cmd_create(args):
    net = check_name("network", args.network.upper())
    po = check_name("postoffice", args.postoffice.upper())
    boxes = []
    for spec in args.mailbox:
        box, _, display = spec.partition(":")
        box = check_name("mailbox", box.upper())
        display = display.strip() or box
        if not display.isascii() or any(c in display for c in "\t\r\n"):
            raise SimError(f"mailbox {box}: display name must be US-ASCII without TAB, CR or LF")
        if box in (b for b, _ in boxes):
            raise SimError(f"mailbox {box} given twice")
        boxes.append((box, display))
    if os.path.exists(os.path.join(args.root, "GLB", "NETWORK.GLB")):
        raise SimError(f"{args.root}: already holds a postoffice")
    for d in (("GLB",), ("P1",), ("OUT",), ("OUT", "BAD")) + tuple(("MAI", b) for b, _ in boxes):
        os.makedirs(os.path.join(args.root, *d), exist_ok=True)
    write_atomic(os.path.join(args.root, "GLB", "NETWORK.GLB"),
                 f"NETWORK={net}\r\nPOSTOFFICE={po}\r\n".encode("ascii"))
    write_atomic(os.path.join(args.root, "GLB", "ADDRESS.GLB"),
                 "".join(f"{b}\t{d}\r\n" for b, d in boxes).encode("ascii"))
    print(f"created {net}/{po} in {args.root} with {len(boxes)} mailboxes")
    return 0


# ---- deliver --------------------------------------------------------------

def say(text):
    print(text, flush=True)


def to_bad(share, name, reason):
    os.makedirs(share.path("P1", "BAD"), exist_ok=True)
    stem = name[:-3]
    with open(share.path("P1", "BAD", stem + ".WHY"), "wb") as f:
        f.write(reason.encode("ascii", "replace") + b"\r\n")
    os.replace(share.path("P1", name), share.path("P1", "BAD", name))
    say(f"bad {name}: {reason}")


def file_into(share, box, env, msg):
    """Put msg and its ENV sidecar into MAI/<box>/ under the next free number."""
    d = share.path("MAI", box)
    os.makedirs(d, exist_ok=True)
    numbers = [int(n[:-4]) for n in os.listdir(d) if re.fullmatch(r"[0-9]+\.(MSG|ENV)", n)]
    n = max(numbers, default=0) + 1
    tmp_env = os.path.join(d, f"SIM{os.getpid()}.TE")
    tmp_msg = os.path.join(d, f"SIM{os.getpid()}.TM")
    for tmp, data in ((tmp_env, env), (tmp_msg, msg)):
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    try:
        while True:
            # os.link never replaces: the number is ours once both links exist.
            # The ENV goes first so a reader that sees <n>.MSG finds its ENV.
            try:
                os.link(tmp_env, os.path.join(d, f"{n}.ENV"))
            except FileExistsError:
                n += 1
                continue
            try:
                os.link(tmp_msg, os.path.join(d, f"{n}.MSG"))
            except FileExistsError:
                os.unlink(os.path.join(d, f"{n}.ENV"))
                n += 1
                continue
            return n
    finally:
        os.unlink(tmp_env)
        os.unlink(tmp_msg)


def deliver_one(share, name):
    path = share.path("P1", name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return  # taken by someone else meanwhile
    try:
        headers, msg = parse_p1(data)
    except ValueError as e:
        to_bad(share, name, f"does not parse: {e}")
        return
    env = data[:len(data) - len(msg)]
    boxes = []
    for value in header_values(headers, "To"):
        kind, addr = parse_address(value)
        if kind != "MS" or addr[:2] != (share.network, share.postoffice):
            say(f"skip {name}: {value} is not on {share.network}/{share.postoffice}")
            continue
        if addr[2] not in share.mailboxes:
            to_bad(share, name, f"unknown mailbox {value}")
            return
        if addr[2] not in boxes:
            boxes.append(addr[2])
    if not boxes:
        to_bad(share, name, f"no recipient on {share.network}/{share.postoffice}")
        return
    for box in boxes:
        n = file_into(share, box, env, msg)
        say(f"delivered {name} to {share.ms_address(box)} as MAI/{box}/{n}.MSG")
    os.unlink(path)
    say(f"removed {name}")


def deliver_pass(share):
    for name in share.files("P1", suffix=".P1"):
        deliver_one(share, name)


def cmd_deliver(args):
    stop = []
    if args.interval is None:
        deliver_pass(Share(args.root))
        return 0
    if args.interval <= 0:
        raise SimError("--interval must be positive")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    say(f"delivering every {args.interval:g}s until SIGTERM")
    while not stop:
        # Re-read GLB/ each pass so a test may add mailboxes while we run.
        deliver_pass(Share(args.root))
        deadline = time.monotonic() + args.interval
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.05, args.interval))
    say("stopped")
    return 0


# ---- send and bad ---------------------------------------------------------

def crlf(data):
    """Bare LF and bare CR turned into CRLF; ends with CRLF."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def build_transfer(share, box, rcpts, subject, body, message_id, domain):
    """A valid transfer file: returns its bytes."""
    date = email.utils.formatdate(localtime=True)
    if message_id is None:
        message_id = f"<{time.time_ns():x}.{secrets.token_hex(4)}@{domain}>"
    elif not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    if subject.isascii():
        subj = subject
    else:
        subj = Header(subject, "utf-8").encode(maxlinelen=10**6)
    display = share.mailboxes.get(box) or box
    local = box.lower()
    smtp = [r[5:] for r in rcpts]
    head = [
        f"Date: {date}",
        f"Message-ID: {message_id}",
        f"From: {email.utils.formataddr((display, f'{local}@{domain}'))}",
        f"To: {', '.join(smtp)}",
        f"Subject: {subj}",
    ]
    if not body.isascii():  # bytes: UTF-8 text
        head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: 8bit"]
    msg = ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + crlf(body)
    control = [
        "P1-Version: 1",
        f"Message-Id: {message_id}",
        f"From: {share.ms_address(box)}",
    ] + [f"To: {r}" for r in rcpts] + [
        f"Date: {date}",
        f"Subject: {subj}",
    ]
    return ("\r\n".join(control) + "\r\n\r\n").encode("ascii") + msg


def drop_out(share, name, data):
    write_atomic(share.path("OUT", name + ".P1"), data)
    print(name + ".P1")


def cmd_send(args):
    share = Share(args.root)
    box = args.from_.upper()
    if box not in share.mailboxes:
        raise SimError(f"--from {args.from_}: not a mailbox in ADDRESS.GLB")
    rcpts = []
    for r in args.to:
        r = r if r.upper().startswith("SMTP:") else "SMTP:" + r
        r = "SMTP:" + r[5:]
        try:
            parse_address(r, kinds=("SMTP",))
        except ValueError as e:
            raise SimError(f"--to: {e}") from None
        rcpts.append(r)
    if args.message_id is not None and not re.fullmatch(r"<?[^<>\s]+@[^<>\s]+>?", args.message_id):
        raise SimError(f"--message-id {args.message_id!r}: must be id@host")
    if args.body_file is not None:
        with open(args.body_file, "rb") as f:
            body = f.read()
    else:
        body = (args.body if args.body is not None else "This is a test message.\n").encode("utf-8")
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise SimError("the body must be US-ASCII or UTF-8") from None
    subject = args.subject if args.subject is not None else f"Test message from {box}"
    if any(c in subject for c in "\r\n"):
        raise SimError("--subject: no line breaks")
    domain = args.domain or f"{share.postoffice}.{share.network}.invalid".lower()
    data = build_transfer(share, box, rcpts, subject, body, args.message_id, domain)
    parse_p1(data)  # what we send must be what we accept
    drop_out(share, share.new_name(args.name), data)
    return 0


def broken_transfer(share, kind):
    box = next(iter(share.mailboxes), "NOBODY")
    domain = f"{share.postoffice}.{share.network}.invalid".lower()
    good = build_transfer(share, box, ["SMTP:someone@example.org"],
                          f"broken: {kind}", b"This transfer file is broken on purpose.\n",
                          None, domain)
    control, _, msg = good.partition(b"\r\n\r\n")
    lines = control.split(b"\r\n")
    if kind == "missing-headers":
        lines = [ln for ln in lines if not ln.startswith(b"P1-Version:")]
        return b"\r\n".join(lines) + b"\r\n\r\n" + msg
    if kind == "bad-address":
        lines = [b"To: SMTP:not an address" if ln.startswith(b"To:") else ln for ln in lines]
        return b"\r\n".join(lines) + b"\r\n\r\n" + msg
    if kind == "truncated":
        # Cut in the middle of the Date: line, before the empty line.
        cut = control.index(b"\r\nDate: ") + 8
        return control[:cut]
    if kind == "binary":
        # A byte no control line may hold first, so it is rejected every time.
        return b"\xff\x00" + secrets.token_bytes(510)
    if kind == "lf-only":
        return b"\n".join(lines) + b"\n\n" + msg
    if kind == "no-to":
        lines = [ln for ln in lines if not ln.startswith(b"To:")]
        return b"\r\n".join(lines) + b"\r\n\r\n" + msg
    raise SimError(f"unknown kind {kind!r}")


def cmd_bad(args):
    share = Share(args.root)
    data = broken_transfer(share, args.kind)
    drop_out(share, share.new_name(args.name), data)
    return 0


# ---- list and show --------------------------------------------------------

def cmd_list(args):
    share = Share(args.root)
    for box in share.mailboxes:
        print(f"MAI/{box} {len(share.files('MAI', box, suffix='.MSG'))}")
    print(f"P1 {len(share.files('P1', suffix='.P1'))}")
    print(f"P1/BAD {len(share.files('P1', 'BAD', exclude='.WHY'))}")
    print(f"OUT {len(share.files('OUT', suffix='.P1'))}")
    print(f"OUT.GWK {len(share.files('OUT', suffix='.GWK'))}")
    print(f"OUT/BAD {len(share.files('OUT', 'BAD', exclude='.WHY'))}")
    return 0


def cmd_show(args):
    box = args.box.upper()
    if not NAME_RE.match(box) or not re.fullmatch(r"[0-9]+", args.n):
        raise SimError("usage: show ROOT BOX N (N a message number)")
    path = os.path.join(args.root, "MAI", box, f"{int(args.n)}.MSG")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SimError(f"{path}: {e.strerror}") from None
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


# ---- command line ---------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(prog="postoffice_sim.py",
                                description="Simulate the legacy postoffice side of a share.")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("create", help="make a postoffice tree")
    c.add_argument("root")
    c.add_argument("--network", required=True)
    c.add_argument("--postoffice", required=True)
    c.add_argument("--mailbox", action="append", required=True, metavar="BOX[:Display Name]")
    c.set_defaults(func=cmd_create)

    c = sub.add_parser("deliver", help="file P1/*.P1 into the mailboxes")
    c.add_argument("root")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--once", action="store_true", help="one pass, then exit (default)")
    g.add_argument("--interval", type=float, metavar="SECONDS", help="loop until SIGTERM")
    c.set_defaults(func=cmd_deliver)

    c = sub.add_parser("send", help="drop an outbound transfer file into OUT/")
    c.add_argument("root")
    c.add_argument("--from", dest="from_", required=True, metavar="BOX")
    c.add_argument("--to", action="append", required=True, metavar="SMTP:addr")
    c.add_argument("--subject")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--body", metavar="TEXT")
    g.add_argument("--body-file", metavar="F")
    c.add_argument("--message-id", metavar="ID")
    c.add_argument("--name", metavar="NAME", help="8 upper-case hex characters")
    c.add_argument("--domain", help="SMTP domain of the postoffice for the From header")
    c.set_defaults(func=cmd_send)

    c = sub.add_parser("bad", help="drop a broken transfer file into OUT/")
    c.add_argument("root")
    c.add_argument("kind", choices=BAD_KINDS)
    c.add_argument("--name", metavar="NAME", help="8 upper-case hex characters")
    c.set_defaults(func=cmd_bad)

    c = sub.add_parser("list", help="count messages and transfer files")
    c.add_argument("root")
    c.set_defaults(func=cmd_list)

    c = sub.add_parser("show", help="print a delivered message exactly")
    c.add_argument("root")
    c.add_argument("box")
    c.add_argument("n")
    c.set_defaults(func=cmd_show)

    args = p.parse_args(argv)
    try:
        return args.func(args)
    except (SimError, OSError) as e:
        print(f"postoffice_sim.py {args.cmd}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
