#!/usr/bin/env python3
"""smtp_dialogue.py - feature tests of spoolgate-smtpd against doc/SMTPD.md, as TAP.

Run with the SG_* environment of tests/integration/lib.sh (export_smtp_env):
    python3 smtp_dialogue.py
Every check prints "ok N - ..." or "not ok N - ..."; a failing check prints what
was expected, what came back and the tail of the SMTP transcript as "# ..." lines.
The plan "1..N" comes at the end.  The script always exits 0: TAP is the verdict.
"""

import base64
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import traceback

# ---- environment --------------------------------------------------------------

HOST = os.environ.get("SG_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("SG_SMTP_PORT", "25"))
SUBMIT_PORT = int(os.environ.get("SG_SUBMIT_PORT", "587"))
HOSTNAME = os.environ.get("SG_HOSTNAME", "mx.test.invalid")
LOCAL = os.environ.get("SG_LOCAL_DOMAIN", "local.test")
PO = os.environ.get("SG_PO_DOMAIN", "po.test")
CA_FILE = os.environ.get("SG_CA_FILE", "")
USER = os.environ.get("SG_USER", "alice")
PASS = os.environ.get("SG_PASS", "wonderland")
MAX_SIZE = int(os.environ.get("SG_MAX_SIZE", "1048576"))
SPOOLCTL = os.environ.get("SG_SPOOLCTL", "spoolctl")
STORE_SOCKET = os.environ.get("SG_STORE_SOCKET", "")
TIMEOUT = 10.0
REMOTE = "remote.example"          # a domain nobody here serves

# ---- TAP ----------------------------------------------------------------------


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=()):
        # The shell wrapper relays names with echo, which expands backslashes: keep none.
        name = name.replace("\\r\\n", "<CRLF>").replace("\\r", "<CR>").replace("\\n", "<LF>").replace("\\", "/")
        self.n += 1
        if not cond:
            self.failed += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}")
        if not cond:
            for item in diag:
                for line in str(item).splitlines() or [""]:
                    print(f"#   {line}")
        sys.stdout.flush()
        return bool(cond)

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}")
        sys.stdout.flush()

    def diag(self, text):
        for line in str(text).splitlines():
            print(f"# {line}")
        sys.stdout.flush()

    def done(self):
        print(f"1..{self.n}")
        sys.stdout.flush()


T = Tap()

# ---- SMTP replies and connections ---------------------------------------------


def show(data, limit=300):
    """Printable form of wire bytes for diagnostics."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    text = repr(data[:limit])[2:-1]
    return text + (f"... ({len(data)} octets)" if len(data) > limit else "")


class Reply:
    """One (possibly multi-line) SMTP reply. code None: the connection closed instead."""

    def __init__(self, code, lines, raw=b""):
        self.code = code
        self.lines = lines          # the text after "NNN-" / "NNN " of each line
        self.raw = raw

    @property
    def text(self):
        return self.lines[0] if self.lines else ""

    def __str__(self):
        if self.code is None:
            return f"(no reply: {self.text})"
        return " | ".join(f"{self.code}{'-' if i < len(self.lines) - 1 else ' '}{l}"
                          for i, l in enumerate(self.lines))


def reply_matches(reply, want):
    """want is written like the table of doc/SMTPD.md: "250 2.0.0 Ok",
    "503 5.5.1 ..." (any text), "555 5.5.4 Unsupported parameter ..." (text
    prefix), "<host>" stands for the hostname.  Code, enhanced code and the
    text must match exactly; only the first line of a reply is compared."""
    want = want.replace("<host>", HOSTNAME)
    code, _, rest = want.partition(" ")
    if reply.code is None or str(reply.code) != code:
        return False
    got = reply.text
    if rest.endswith("..."):
        prefix = rest[:-3].rstrip(" ")
        return not prefix or got == prefix or got.startswith(prefix + " ")
    return got == rest


class Conn:
    """A raw SMTP client connection with a transcript for diagnostics."""

    last = None    # the most recent connection, for the diagnostics of an exception

    def __init__(self, port, greet=True, timeout=TIMEOUT):
        Conn.last = self
        self.transcript = []
        self.buf = b""
        self.dead = None
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.greeting = self.reply() if greet else None

    def note(self, who, data):
        self.transcript.append(f"{who}: {show(data)}")
        del self.transcript[:-40]

    def tail(self, n=25):
        return "transcript (C: client, S: server):\n" + "\n".join(self.transcript[-n:])

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.note("C", data)
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def readline(self):
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self):
        """Read one reply; returns Reply(None, [why]) when the server closed or timed out.
        After that every further read returns at once, so a dead daemon costs one timeout."""
        if self.dead:
            return Reply(None, [f"no reply: {self.dead} earlier"])
        lines, raw = [], b""
        try:
            while True:
                line = self.readline()
                raw += line
                self.note("S", line)
                m = re.match(rb"^(\d{3})([ -])(.*?)\r?\n$", line, re.S)
                if not m:
                    return Reply(-1, [f"malformed reply line {show(line)}"], raw)
                lines.append(m.group(3).decode("utf-8", "replace"))
                if m.group(2) == b" ":
                    return Reply(int(m.group(1)), lines, raw)
        except socket.timeout:
            self.note("S", f"<no reply within {self.sock.gettimeout()} s>")
            self.dead = f"timeout after {self.sock.gettimeout()} s"
            return Reply(None, [self.dead], raw)
        except (EOFError, OSError) as e:      # closed, reset, TLS alert
            self.note("S", f"<{e}>")
            self.dead = f"connection closed ({e})"
            return Reply(None, [f"{self.dead}{' after ' + show(raw) if raw else ''}"], raw)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def expect(self, line, want, name=None):
        """Send line (None: send nothing), read a reply and check it as a TAP test."""
        r = self.cmd(line) if line is not None else self.reply()
        name = name or f"{show(line) if line is not None else 'reply'} -> {want}"
        T.ok(reply_matches(r, want), name,
             [f"expected: {want.replace('<host>', HOSTNAME)}", f"got:      {r}", self.tail()])
        return r

    def starttls(self):
        """After a 220 to STARTTLS: the TLS handshake (certificate verified for localhost)."""
        if self.buf:
            raise RuntimeError(f"server sent data after the STARTTLS 220 before TLS: {show(self.buf)}")
        try:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="localhost")
        except ssl.SSLError as e:
            self.note("C", f"<TLS handshake failed: {e}>")
            raise RuntimeError(f"TLS handshake failed: {e} (plaintext from the server after the 220, "
                               "e.g. a reply to a pipelined command, breaks the handshake)") from e
        self.note("C", f"<TLS handshake done: {self.sock.version()}>")

    def closed_within(self, seconds=TIMEOUT):
        """True when the server closes the connection within seconds (pending data is read)."""
        self.sock.settimeout(seconds)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.note("S", chunk)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
            if isinstance(e, socket.timeout):
                return False
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_context():
    ctx = ssl.create_default_context(cafile=CA_FILE or None)
    return ctx


def ehlo_keywords(reply):
    """EHLO reply lines after the first, upper-cased."""
    return [l.strip().upper() for l in reply.lines[1:]]


def session(port=SMTP_PORT, helo="client.example"):
    c = Conn(port)
    c.cmd(f"EHLO {helo}")
    return c


def dot_stuff(msg):
    return re.sub(rb"(?m)^\.", b"..", msg)


def qid_of(reply):
    m = re.search(r"queued as (\S+)", reply.text)
    return m.group(1) if m else None


# ---- the store ----------------------------------------------------------------


def spoolctl(*args):
    p = subprocess.run([SPOOLCTL, "-s", STORE_SOCKET, *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def stored(qid):
    """The stored bytes of a message, or None (with the reason in the second item)."""
    rc, out, err = spoolctl("cat", qid)
    if rc != 0:
        return None, f"spoolctl cat {qid} failed ({rc}): {err.decode(errors='replace').strip()}"
    return out, ""


def envelope(qid):
    rc, out, err = spoolctl("show", qid)
    return out.decode("utf-8", "replace") if rc == 0 else f"(spoolctl show failed: {err!r})"


def split_received(data):
    """Split stored bytes into (the first Received: field as text, unfolded and with runs
    of spaces/tabs collapsed to one space, the rest)."""
    if not data.startswith(b"Received:"):
        return None, data
    end = 0
    while True:
        nl = data.find(b"\r\n", end)
        if nl < 0:
            return None, data
        end = nl + 2
        if data[end:end + 1] not in (b" ", b"\t"):
            break
    field = data[:end].decode("utf-8", "replace").rstrip("\r\n")
    return re.sub(r"[ \t]+", " ", re.sub(r"\r\n(?=[ \t])", "", field)), data[end:]


def diff_hint(want, got):
    """Where two byte strings first differ, for diagnostics."""
    if want == got:
        return "identical"
    i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
    return (f"lengths: sent {len(want)}, stored {len(got)}; first difference at offset {i}:\n"
            f"  sent:   {show(want[max(0, i - 40):i + 80])}\n  stored: {show(got[max(0, i - 40):i + 80])}")


def check_stored(name, qid, sent, proto=None):
    """The stored message must be a Received: field (with the given protocol) plus
    exactly the sent (unstuffed) message.  Returns the Received field."""
    if not qid:
        T.ok(False, name, ["no queue id in the end-of-data reply"])
        return None
    data, why = stored(qid)
    if data is None:
        T.ok(False, name, [why])
        return None
    rec, rest = split_received(data)
    T.ok(rec is not None and rest == sent, name,
         [f"queue id {qid}", f"first stored line: {show(data[:200])}",
          "stored message does not start with a Received: field" if rec is None else diff_hint(sent, rest)])
    if rec is not None and proto:
        want = [f" by {HOSTNAME} ", f"with {proto} ", f"id {qid}", "[127.0.0.1]"]
        missing = [w for w in want if w not in rec + " "]
        T.ok(not missing, f"Received field names host, protocol {proto}, queue id and client address",
             [f"missing: {missing}", f"Received: {rec}"])
    return rec


def send_data(c, msg, mail="a@b.example", rcpts=(None,), mail_params=""):
    """MAIL, RCPT(s), DATA, the dot-stuffed message and the final dot; returns the final reply."""
    rcpts = [r or f"x@{LOCAL}" for r in rcpts]
    c.expect(f"MAIL FROM:<{mail}>{mail_params}", "250 2.1.0 Ok")
    for r in rcpts:
        c.expect(f"RCPT TO:<{r}>", "250 2.1.5 Ok")
    c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>")
    c.send(dot_stuff(msg) + b".\r\n")
    return c.reply()


# ---- tests --------------------------------------------------------------------

MSG = (b"From: a@b.example\r\nTo: x@" + LOCAL.encode() + b"\r\nSubject: hello\r\n\r\n"
       b"Hello world.\r\n\r\nSecond paragraph with trailing spaces   \r\n\ttab line\r\n")


def t_greeting():
    """greeting"""
    c = Conn(SMTP_PORT, greet=False)
    c.expect(None, "220 <host> ESMTP spoolgate", "greeting on port 25 is '220 <host> ESMTP spoolgate'")
    c.close()
    c = Conn(SUBMIT_PORT, greet=False)
    c.expect(None, "220 <host> ESMTP spoolgate", "greeting on the submission port")
    c.close()


def t_ehlo():
    """EHLO keywords"""
    c = Conn(SMTP_PORT)
    r = c.cmd("EHLO client.example")
    T.ok(r.code == 250 and len(r.lines) > 1 and r.text == HOSTNAME,
         "EHLO: multi-line 250 whose first line is the hostname",
         [f"expected: 250-{HOSTNAME} ...", f"got: {r}", c.tail()])
    kw = ehlo_keywords(r)
    for want in ["PIPELINING", f"SIZE {MAX_SIZE}", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",
                 "SMTPUTF8", "CHUNKING", "STARTTLS"]:
        T.ok(want in kw, f"EHLO on port 25 advertises {want}", [f"keywords: {kw}"])
    T.ok(not any(k.startswith("AUTH") for k in kw), "EHLO on port 25 does not advertise AUTH before TLS",
         [f"keywords: {kw}"])
    c.expect("QUIT", "221 2.0.0 Bye")
    c = Conn(SUBMIT_PORT)
    kw = ehlo_keywords(c.cmd("EHLO client.example"))
    T.ok("STARTTLS" in kw and not any(k.startswith("AUTH") for k in kw),
         "EHLO on the submission port: STARTTLS, no AUTH before TLS", [f"keywords: {kw}", c.tail()])
    c.close()


def t_simple_commands():
    """simple commands"""
    c = Conn(SMTP_PORT)
    c.expect("HELO client.example", "250 <host>")
    c.expect("NOOP", "250 2.0.0 Ok")
    c.expect("RSET", "250 2.0.0 Ok")
    c.expect("HELP", "214 2.0.0 See RFC 5321")
    c.expect("VRFY postmaster", "252 2.5.0 Cannot VRFY user, but will accept message")
    c.expect("EXPN staff", "502 5.5.1 EXPN is not available")
    c.expect("FROBNICATE now", "500 5.5.1 Command unrecognized")
    c.expect("noop", "250 2.0.0 Ok", "verbs are case-insensitive: 'noop' -> 250 2.0.0 Ok")
    c.expect("QUIT", "221 2.0.0 Bye")
    T.ok(c.closed_within(), "the server closes the connection after 221", [c.tail()])
    c = Conn(SMTP_PORT)
    c.expect("EHLO", "501 5.5.4 Syntax: EHLO hostname")
    c.expect("HELO", "501 5.5.4 ...", "HELO without argument -> 501 5.5.4")
    c.close()


def t_helo_message():
    """a message after HELO"""
    c = Conn(SMTP_PORT)
    c.expect("HELO old.example", "250 <host>")
    r = send_data(c, MSG)
    rec = check_stored("message after HELO is stored unchanged", qid_of(r), MSG, proto="SMTP")
    T.ok(rec is not None and rec.startswith("Received: from old.example "),
         "Received field starts with 'Received: from <helo> '", [f"Received: {rec}"])
    c.close()


def t_order_and_syntax():
    """order and syntax errors"""
    c = Conn(SMTP_PORT)
    c.expect("MAIL FROM:<a@b.example>", "503 5.5.1 ...", "MAIL before EHLO -> 503 5.5.1")
    c.close()
    c = session()
    c.expect(f"RCPT TO:<x@{LOCAL}>", "503 5.5.1 Need MAIL command")
    c.expect("DATA", "503 5.5.1 ...", "DATA without MAIL -> 503 5.5.1")
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    c.expect("MAIL FROM:<a@b.example>", "503 5.5.1 ...", "MAIL inside a transaction -> 503 5.5.1")
    c.expect("DATA", "503 5.5.1 No valid recipients", "DATA with no recipient -> 503 5.5.1 No valid recipients")
    c.expect("RSET", "250 2.0.0 Ok")
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok", "MAIL after RSET is accepted again")
    c.close()
    c = session()
    c.expect("MAIL FROM", "501 5.5.4 ...", "MAIL without 'FROM:<path>' -> 501 5.5.4")
    c.expect("MAIL FROM:<a@@b.example>", "501 5.1.7 Bad sender address syntax")
    c.expect("MAIL FROM:<>", "250 2.1.0 Ok", "null sender MAIL FROM:<> is accepted")
    c.expect("RCPT TO", "501 5.5.4 ...", "RCPT without 'TO:<path>' -> 501 5.5.4")
    c.expect(f"RCPT TO:<x..y@{LOCAL}>", "501 5.1.3 Bad recipient address syntax")
    c.expect(f"EHLO again.example", "250 <host>", "EHLO inside a transaction is answered (and resets it)")
    c.expect(f"RCPT TO:<x@{LOCAL}>", "503 5.5.1 Need MAIL command", "after EHLO the transaction is gone")
    c.close()


def t_local_message():
    """message to the local domain stored byte-identical"""
    c = session()
    r = send_data(c, MSG)
    T.ok(reply_matches(r, "250 2.0.0 Ok: queued as ...") and qid_of(r),
         "end of DATA -> 250 2.0.0 Ok: queued as QID", [f"got: {r}", c.tail()])
    check_stored("message to the local domain is stored as Received: + the message, byte for byte",
                 qid_of(r), MSG, proto="ESMTP")
    env = envelope(qid_of(r) or "-")
    T.ok(f"from=<a@b.example>" in env and f"-> <x@{LOCAL}>" in env,
         "the store has the envelope sender and recipient", [env])
    c.expect("QUIT", "221 2.0.0 Bye")


def t_dot_stuffing():
    """dot-stuffed lines"""
    msg = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n. \r\n"
           b"a line\r\n.\r\nlast.\r\n")
    c = session()
    r = send_data(c, msg)
    T.ok(qid_of(r) is not None, "message with lines starting with '.' is accepted", [f"got: {r}", c.tail()])
    check_stored("dot-stuffed lines are stored unstuffed", qid_of(r), msg)
    c.close()


def t_8bitmime():
    """8BITMIME"""
    msg = (b"Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe \x80\x9f\xa0\xff\xfe end\r\n"
           + bytes(range(0x80, 0x100)) + b"\r\n")
    c = session()
    r = send_data(c, msg, mail_params=" BODY=8BITMIME")
    T.ok(qid_of(r) is not None, "BODY=8BITMIME message with octets 0x80-0xff is accepted", [f"got: {r}", c.tail()])
    check_stored("8-bit octets are stored unchanged", qid_of(r), msg)
    c.close()


def t_smtputf8():
    """SMTPUTF8"""
    sender, rcpt = "jörg@exämple.org", f"тест@{LOCAL}"
    msg = ("From: jörg@exämple.org\r\nTo: тест@" + LOCAL + "\r\nSubject: Grüße 日本\r\n\r\nÜnïcödé\r\n").encode()
    c = session()
    c.expect(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME", "250 2.1.0 Ok",
             "MAIL FROM with a UTF-8 address and SMTPUTF8 -> 250 2.1.0 Ok")
    c.expect(f"RCPT TO:<{rcpt}>", "250 2.1.5 Ok", "RCPT TO a UTF-8 local part -> 250 2.1.5 Ok")
    c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>")
    c.send(msg + b".\r\n")
    r = c.reply()
    T.ok(qid_of(r) is not None, "SMTPUTF8 message is accepted", [f"got: {r}", c.tail()])
    check_stored("SMTPUTF8 message is stored unchanged", qid_of(r), msg)
    env = envelope(qid_of(r) or "-")
    T.ok(f"-> <{rcpt}>" in env, "the UTF-8 recipient is stored as sent", [env])
    c.close()


def t_dsn():
    """DSN parameters"""
    c = session()
    c.expect("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159+2B", "250 2.1.0 Ok",
             "MAIL with RET=HDRS ENVID=... -> 250 2.1.0 Ok")
    c.expect(f"RCPT TO:<x@{LOCAL}> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;x@{LOCAL}", "250 2.1.5 Ok",
             "RCPT with NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;... -> 250 2.1.5 Ok")
    c.expect(f"RCPT TO:<y@{LOCAL}> NOTIFY=NEVER", "250 2.1.5 Ok", "RCPT with NOTIFY=NEVER -> 250 2.1.5 Ok")
    c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>")
    c.send(MSG + b".\r\n")
    c.expect(None, "250 2.0.0 Ok: queued as ...", "message with DSN parameters is queued")
    c.expect("MAIL FROM:<a@b.example> RET=FULL", "250 2.1.0 Ok", "MAIL with RET=FULL -> 250 2.1.0 Ok")
    c.close()


def t_pipelining():
    """pipelining"""
    c = session()
    c.send(f"MAIL FROM:<p@b.example>\r\nRCPT TO:<p1@{LOCAL}>\r\nRCPT TO:<p2@{LOCAL}>\r\nDATA\r\n")
    wants = ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]
    got = [c.reply() for _ in wants]
    T.ok(all(reply_matches(r, w) for r, w in zip(got, wants)),
         "pipelined MAIL/RCPT/RCPT/DATA in one send: four replies in order",
         [f"expected: {wants}", f"got:      {[str(r) for r in got]}", c.tail()])
    c.send(MSG + b".\r\n")
    r = c.reply()
    check_stored("pipelined message is stored", qid_of(r), MSG)
    env = envelope(qid_of(r) or "-")
    T.ok(f"-> <p1@{LOCAL}>" in env and f"-> <p2@{LOCAL}>" in env, "both pipelined recipients are stored", [env])
    # a whole transaction plus QUIT in one send
    c.send(f"RSET\r\nMAIL FROM:<p@b.example>\r\nRCPT TO:<p3@{LOCAL}>\r\nNOOP\r\nQUIT\r\n")
    wants = ["250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok", "221 2.0.0 Bye"]
    got = [c.reply() for _ in wants]
    T.ok(all(reply_matches(r, w) for r, w in zip(got, wants)), "RSET/MAIL/RCPT/NOOP/QUIT pipelined: replies in order",
         [f"expected: {wants}", f"got:      {[str(r) for r in got]}", c.tail()])
    c.close()


def t_bdat():
    """BDAT"""
    part1 = b"Subject: chunked\r\n\r\nfirst chunk\r\n.leading dot stays\r\n"
    part2 = b"second chunk, no dot-stuffing in BDAT\r\n.\r\nend\r\n"
    c = session()
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    c.expect(f"RCPT TO:<x@{LOCAL}>", "250 2.1.5 Ok")
    c.send(f"BDAT {len(part1)}\r\n".encode() + part1)
    c.expect(None, f"250 2.0.0 {len(part1)} octets received", f"BDAT {len(part1)} -> 250 2.0.0 <n> octets received")
    c.send(f"BDAT {len(part2)} LAST\r\n".encode() + part2)
    r = c.expect(None, "250 2.0.0 Ok: queued as ...", "BDAT n LAST -> 250 2.0.0 Ok: queued as QID")
    check_stored("BDAT message in 2 chunks is stored as sent (no unstuffing)", qid_of(r), part1 + part2)
    # a chunk, then BDAT 0 LAST
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    c.expect(f"RCPT TO:<x@{LOCAL}>", "250 2.1.5 Ok")
    c.send(f"BDAT {len(MSG)}\r\n".encode() + MSG)
    c.expect(None, f"250 2.0.0 {len(MSG)} octets received")
    r = c.expect("BDAT 0 LAST", "250 2.0.0 Ok: queued as ...", "BDAT 0 LAST ends the message")
    check_stored("message ended by BDAT 0 LAST is stored", qid_of(r), MSG)
    # pipelined: MAIL, RCPT and a single LAST chunk in one send
    c.send(f"MAIL FROM:<a@b.example>\r\nRCPT TO:<x@{LOCAL}>\r\nBDAT {len(MSG)} LAST\r\n".encode() + MSG)
    got = [c.reply() for _ in range(3)]
    T.ok(reply_matches(got[0], "250 2.1.0 Ok") and reply_matches(got[1], "250 2.1.5 Ok")
         and reply_matches(got[2], "250 2.0.0 Ok: queued as ..."),
         "MAIL/RCPT/BDAT LAST pipelined in one send", [f"got: {[str(r) for r in got]}", c.tail()])
    check_stored("pipelined BDAT message is stored", qid_of(got[2]), MSG)
    c.close()


def t_relay_and_postoffice():
    """relay rules and the postoffice domain"""
    c = session()
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    c.expect(f"RCPT TO:<x@{REMOTE}>", "554 5.7.1 Relay access denied",
             "port 25, not in mynetworks, no AUTH: RCPT to a remote domain -> 554 5.7.1 Relay access denied")
    c.expect(f"RCPT TO:<someone@{PO}>", "450 4.2.0 Postoffice directory unavailable, try again later",
             "postoffice domain with no gateway -> 450 4.2.0")
    c.expect(f"RCPT TO:<x@{LOCAL}>", "250 2.1.5 Ok", "a local recipient is still accepted after those")
    c.close()


def t_size():
    """SIZE"""
    c = session()
    c.expect(f"MAIL FROM:<a@b.example> SIZE={MAX_SIZE + 1}", "552 5.3.4 Message size exceeds fixed limit",
             f"MAIL SIZE={MAX_SIZE + 1} (over the limit) -> 552 5.3.4")
    c.expect(f"MAIL FROM:<a@b.example> SIZE={MAX_SIZE}", "250 2.1.0 Ok", f"MAIL SIZE={MAX_SIZE} -> 250 2.1.0 Ok")
    c.close()


def smtp_client(port):
    s = smtplib.SMTP(HOST, port, timeout=TIMEOUT)
    s._host = "localhost"      # smtplib uses it as server_hostname for STARTTLS
    return s


def t_submission_plain_auth():
    """submission: order, STARTTLS, AUTH PLAIN, relay, added headers"""
    c = session(SUBMIT_PORT)
    c.expect("MAIL FROM:<a@b.example>", "530 5.7.0 Authentication required",
             "submission port: MAIL before AUTH -> 530 5.7.0")
    c.expect("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode(),
             "538 5.7.11 Encryption required for requested authentication mechanism",
             "submission port: AUTH before TLS -> 538 5.7.11")
    c.close()

    s = smtp_client(SUBMIT_PORT)
    s.ehlo("client.example")
    code, resp = s.starttls(context=tls_context())
    T.ok(code == 220 and resp.startswith(b"2.0.0 Ready to start TLS"), "STARTTLS -> 220 2.0.0 Ready to start TLS",
         [f"got: {code} {resp!r}"])
    code, resp = s.ehlo("client.example")
    kw = [l.strip().upper() for l in resp.decode(errors="replace").splitlines()[1:]]
    T.ok("AUTH PLAIN LOGIN" in kw, "after STARTTLS EHLO advertises AUTH PLAIN LOGIN", [f"keywords: {kw}"])
    T.ok("STARTTLS" not in kw, "after STARTTLS EHLO no longer advertises STARTTLS", [f"keywords: {kw}"])
    s.user, s.password = USER, PASS + "x"
    try:
        code, resp = s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        code, resp = e.smtp_code, e.smtp_error
    T.ok(code == 535 and resp == b"5.7.8 Authentication credentials invalid", "wrong password -> 535 5.7.8",
         [f"got: {code} {resp!r}"])
    s.password = PASS
    try:
        code, resp = s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPException as e:
        code, resp = getattr(e, "smtp_code", None), getattr(e, "smtp_error", repr(e))
    T.ok(code == 235 and resp == b"2.7.0 Authentication successful", "AUTH PLAIN -> 235 2.7.0 Authentication successful",
         [f"got: {code} {resp!r}"])
    code, resp = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode())
    T.ok(code == 503 and resp.startswith(b"5.5.1"), "AUTH when already authenticated -> 503 5.5.1",
         [f"got: {code} {resp!r}"])
    msg = b"From: a@b.example\r\nTo: y@" + REMOTE.encode() + b"\r\nSubject: submitted\r\n\r\nbody text\r\n"
    code, resp = s.mail("a@b.example")
    T.ok(code == 250, "after AUTH: MAIL -> 250", [f"got: {code} {resp!r}"])
    code, resp = s.rcpt(f"y@{REMOTE}")
    T.ok(code == 250 and resp == b"2.1.5 Ok", "after AUTH: RCPT to a remote domain -> 250 2.1.5 Ok (relay allowed)",
         [f"got: {code} {resp!r}"])
    code, resp = s.data(msg)
    r = Reply(code, [resp.decode(errors="replace")])
    qid = qid_of(r)
    T.ok(code == 250 and qid, "authenticated relay message is queued", [f"got: {r}"])
    s.quit()
    data, why = stored(qid or "-")
    if data is None:
        T.ok(False, "submitted message is stored", [why])
        return
    rec, rest = split_received(data)
    T.ok(rec is not None and "with ESMTPSA" in rec, "Received field says ESMTPSA for TLS + AUTH",
         [f"Received: {rec}"])
    T.ok(rec is not None and "authenticated" in rec and "using TLS" in rec,
         "Received field has the '(using TLS...)' and '(authenticated ...)' comments", [f"Received: {rec}"])
    head, sep, body = rest.partition(b"\r\n\r\n")
    sent_head = msg.partition(b"\r\n\r\n")[0]
    added = head[len(sent_head):].split(b"\r\n")[1:] if head.startswith(sent_head + b"\r\n") else None
    dates = [a for a in (added or []) if a.lower().startswith(b"date:")]
    mids = [a for a in (added or []) if a.lower().startswith(b"message-id:")]
    T.ok(added is not None and len(added) == 2 and len(dates) == 1 and len(mids) == 1 and body == b"body text\r\n",
         "submission adds exactly a Date: and a Message-ID: at the end of the header section",
         [f"sent header section:   {show(sent_head)}", f"stored header section: {show(head)}",
          f"added fields: {added}", f"stored body: {show(body)}"])
    T.ok(mids and mids[0].split(b":", 1)[1].strip() == f"<{qid}@{HOSTNAME}>".encode(),
         "the added Message-ID is <QID@host>", [f"expected: Message-ID: <{qid}@{HOSTNAME}>", f"added: {mids}"])
    env = envelope(qid)
    T.ok(f"-> <y@{REMOTE}>" in env, "the remote recipient is in the store", [env])


def t_submission_login():
    """submission: AUTH LOGIN, headers present"""
    s = smtp_client(SUBMIT_PORT)
    s.ehlo("client.example")
    s.starttls(context=tls_context())
    s.ehlo("client.example")
    s.user, s.password = USER, PASS
    try:
        code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    except smtplib.SMTPException as e:
        code, resp = getattr(e, "smtp_code", None), getattr(e, "smtp_error", repr(e))
    T.ok(code == 235 and resp == b"2.7.0 Authentication successful",
         "AUTH LOGIN (user and password challenges) -> 235 2.7.0", [f"got: {code} {resp!r}"])
    msg = (b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <own.id@client.example>\r\n"
           b"From: a@b.example\r\nSubject: has both\r\n\r\nbody\r\n")
    s.mail("a@b.example")
    s.rcpt(f"z@{REMOTE}")
    code, resp = s.data(msg)
    s.quit()
    r = Reply(code, [resp.decode(errors="replace")])
    check_stored("submission adds no Date:/Message-ID: when both are present", qid_of(r), msg)


def t_port25_tls():
    """STARTTLS on port 25"""
    c = session()
    c.expect("STARTTLS", "220 2.0.0 Ready to start TLS")
    c.starttls()
    r = c.cmd("EHLO client.example")
    kw = ehlo_keywords(r)
    T.ok(r.code == 250 and "AUTH PLAIN LOGIN" in kw and "STARTTLS" not in kw,
         "port 25 after STARTTLS: EHLO advertises AUTH PLAIN LOGIN, not STARTTLS", [f"got: {r}", c.tail()])
    r = send_data(c, MSG)
    rec = check_stored("port 25 over TLS: message stored unchanged (no Date/Message-ID added)", qid_of(r), MSG,
                       proto="ESMTPS")
    c.expect(f"RCPT TO:<x@{REMOTE}>", "503 5.5.1 Need MAIL command")
    c.expect("MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    c.expect(f"RCPT TO:<x@{REMOTE}>", "554 5.7.1 Relay access denied", "TLS without AUTH does not allow relaying")
    c.close()


def swaks_output(args):
    p = subprocess.run(["swaks", "--server", HOST, "--timeout", "10", *args], capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def t_swaks():
    """swaks"""
    try:
        rc, out = swaks_output(["--port", str(SMTP_PORT), "--to", f"x@{LOCAL}", "--from", "a@b.example",
                                "--header", "Subject: swaks plain", "--body", "plain swaks body"])
    except FileNotFoundError:
        T.skip("swaks sends a message on port 25", "swaks not installed")
        T.skip("swaks -tls --auth PLAIN on the submission port", "swaks not installed")
        return
    m = re.search(r"queued as (\S+)", out)
    T.ok(rc == 0 and m, "swaks sends a message on port 25 (exit 0, 'queued as')",
         [f"exit code {rc}", "swaks output:"] + out.splitlines()[-30:])
    if m:
        data, why = stored(m.group(1))
        T.ok(data is not None and b"plain swaks body" in data, "the swaks message is in the store", [why])
    have_ssl = subprocess.run(["perl", "-MNet::SSLeay", "-e1"], capture_output=True).returncode == 0
    if not have_ssl:
        T.skip("swaks -tls --auth PLAIN on the submission port", "Net::SSLeay (libnet-ssleay-perl) not installed")
        return
    rc, out = swaks_output(["--port", str(SUBMIT_PORT), "-tls", "--auth", "PLAIN", "--auth-user", USER,
                            "--auth-password", PASS, "--to", f"y@{REMOTE}", "--from", "a@b.example",
                            "--header", "Subject: swaks tls", "--body", "tls swaks body"])
    m = re.search(r"queued as (\S+)", out)
    T.ok(rc == 0 and m, "swaks -tls --auth PLAIN relays via the submission port (self-signed cert not verified)",
         [f"exit code {rc}", "swaks output:"] + out.splitlines()[-40:])
    data, why = stored(m.group(1)) if m else (None, "no queue id")
    rec = split_received(data)[0] if data else None
    T.ok(rec is not None and "with ESMTPSA" in rec and b"tls swaks body" in data,
         "the swaks TLS message is in the store, received with ESMTPSA", [why, f"Received: {rec}"])


TESTS = [t_greeting, t_ehlo, t_simple_commands, t_helo_message, t_order_and_syntax, t_local_message, t_dot_stuffing,
         t_8bitmime, t_smtputf8, t_dsn, t_pipelining, t_bdat, t_relay_and_postoffice, t_size,
         t_submission_plain_auth, t_submission_login, t_port25_tls, t_swaks]


def main():
    T.diag(f"spoolgate-smtpd at {HOST} port {SMTP_PORT}, submission {SUBMIT_PORT}, host {HOSTNAME}")
    for test in TESTS:
        try:
            test()
        except Exception as e:     # a broken daemon must not stop the suite
            T.ok(False, f"{test.__doc__}: the dialogue broke off with {type(e).__name__}",
                 [f"{type(e).__name__}: {e}"] + traceback.format_exc().splitlines()[-4:]
                 + ([Conn.last.tail()] if Conn.last else []))
        Conn.last = None
    T.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
