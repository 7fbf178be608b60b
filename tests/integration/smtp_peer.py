#!/usr/bin/env python3
"""smtp_peer.py - a loopback SMTP peer (aiosmtpd) with scripted behaviour that spoolgate-router delivers to in tests.

Usage:
    smtp_peer.py --host 127.0.0.1 --port N --mode MODE --dir DIR [--name NAME]
                 [--tls-cert F --tls-key K] [--size BYTES]

Prints "ready <host> <port>" (flushed) once listening (--port 0: the port the
kernel chose), then serves until SIGTERM/SIGINT (exit status 0).

Modes:
    sink              accept everything
    greylist          first attempt for each (mail_from, rcpt) pair: 451 4.7.1 at RCPT; later ones accepted
    reject            every RCPT: 550 5.1.1 <addr>: Recipient address rejected: User unknown
    tempfail          every RCPT: 451 4.3.2 Please try again later
    drop-after-data   store the message, answer 250 to the final dot, then close the connection at once
    slow-dot          like sink, but the reply to the final dot comes 3 s (--dot-delay) after the message is stored
    no-8bit           like sink, but 8BITMIME is not advertised; MAIL ... BODY=8BITMIME gets 555 5.5.4,
                      and 8-bit DATA sent anyway is stored with "eight_bit": true (a router bug to detect)

EHLO advertises PIPELINING, SIZE, 8BITMIME (not in no-8bit), STARTTLS (with --tls-cert/--tls-key) and
SMTPUTF8 (with --smtputf8).
It does not advertise DSN; aiosmtpd refuses any RCPT parameter (NOTIFY=, ORCPT=) and MAIL parameters
other than SIZE/BODY/SMTPUTF8 (RET=, ENVID=) with 555, as a server without DSN may.

Files written to DIR (several peers may share one DIR):
    <n>.eml   the DATA content exactly as received after dot-unstuffing, CRLF line ends kept
    <n>.json  {"mail_from", "rcpt_tos", "mail_options", "rcpt_options", "peer", "mode", "name", "time",
               "tls", "eight_bit"}; written after <n>.eml (a message is complete once its .json exists).
              mail_from is "" for the null sender; rcpt_tos are the accepted recipients; rcpt_options is
              one list of options per accepted recipient; time is Unix time (float).
    attempts.log  one JSON line per transaction attempt, refused ones too:
              {"mail_from", "rcpt_tos" (every RCPT tried), "rcpt_results" (the reply to each),
               "result" (the reply to the final dot, else the first refusal, else why it ended),
               "time", "name", "mode", "peer"}
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import time

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    from debian_python import reexec_or_exit
    reexec_or_exit(__file__, "aiosmtpd", "python3-aiosmtpd")

MODES = ("sink", "greylist", "reject", "tempfail", "drop-after-data", "no-8bit", "slow-dot")


def sender(addr):
    """aiosmtpd reports the null reverse-path as "<>"; we write it as ""."""
    return "" if addr in ("<>", None) else addr


class Peer:
    """aiosmtpd handler: the mode's answers and the files in DIR."""

    def __init__(self, mode, directory, name, dot_delay=3.0):
        self.mode = mode
        self.dot_delay = dot_delay
        self.dir = directory
        self.name = name
        self.seen = set()  # greylist: (mail_from, rcpt) pairs already tried
        self.tmp_seq = 0
        self.last_n = 0  # the last number this peer claimed in DIR

    # -- files ---------------------------------------------------------------
    def log_attempt(self, peer, mail_from, rcpts, results, result):
        rec = {"mail_from": sender(mail_from), "rcpt_tos": rcpts, "rcpt_results": results,
               "result": result, "time": time.time(), "name": self.name, "mode": self.mode,
               "peer": list(peer) if peer else None}
        line = (json.dumps(rec) + "\n").encode()
        fd = os.open(os.path.join(self.dir, "attempts.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write with O_APPEND: lines of concurrent peers do not mix
        finally:
            os.close(fd)

    def _tmp(self, suffix):
        self.tmp_seq += 1
        return os.path.join(self.dir, ".tmp-%d-%d%s" % (os.getpid(), self.tmp_seq, suffix))

    def store(self, content, meta):
        """Write <n>.eml then <n>.json atomically; n is the first free number in DIR. Returns n."""
        tmp = self._tmp(".eml")
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        n = self.last_n + 1  # numbers below it are taken: no walk from 1 (16 000 links a message)
        while True:  # claim n with link(): fails if another peer (or an earlier run) has it
            try:
                os.link(tmp, os.path.join(self.dir, "%d.eml" % n))
                break
            except FileExistsError:
                n += 1
        self.last_n = n
        os.unlink(tmp)
        tmp = self._tmp(".json")
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        os.rename(tmp, os.path.join(self.dir, "%d.json" % n))
        return n

    # -- aiosmtpd hooks ------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # aiosmtpd leaves this to the hook when there is one
        out = [responses[0], "250-PIPELINING"]
        for r in responses[1:]:
            if self.mode == "no-8bit" and r[4:].upper() == "8BITMIME":
                continue
            if r[4:].upper().startswith("AUTH"):  # aiosmtpd offers AUTH after STARTTLS; a peer has none
                continue
            out.append(r)
        return out

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "no-8bit" and "BODY=8BITMIME" in mail_options:
            return "555 5.5.4 BODY=8BITMIME not supported (8BITMIME not advertised)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject":
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.mode == "tempfail":
            return "451 4.3.2 Please try again later"
        if self.mode == "greylist":
            key = (sender(envelope.mail_from).lower(), address.lower())
            if key not in self.seen:
                self.seen.add(key)
                return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(list(rcpt_options))  # one list per recipient
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        meta = {"mail_from": sender(envelope.mail_from), "rcpt_tos": list(envelope.rcpt_tos),
                "mail_options": list(envelope.mail_options), "rcpt_options": list(envelope.rcpt_options),
                "peer": list(session.peer) if session.peer else None, "mode": self.mode,
                "name": self.name, "time": time.time(), "tls": session.ssl is not None,
                "eight_bit": any(b > 127 for b in content)}
        n = self.store(content, meta)
        if self.mode == "slow-dot":
            await asyncio.sleep(self.dot_delay)
        return "250 2.0.0 Ok: queued as %s-%d" % (self.name, n)


class PeerSMTP(SMTP):
    """aiosmtpd's SMTP, watched: every transaction attempt ends as one line in attempts.log."""

    def __init__(self, handler, **kw):
        super().__init__(handler, **kw)
        self.peer_handler = handler
        self._replies = []
        self._tx = None  # the transaction in progress: after a MAIL accepted
        self._dropped = False  # drop-after-data: FIN sent

    async def push(self, status):
        if self._dropped:  # drop-after-data: pipelined commands after the dot get no answer
            return
        self._replies.append(status.decode("utf-8", "replace") if isinstance(status, bytes) else status)
        await super().push(status)

    async def _run(self, coro):
        self._replies = []
        await coro
        return self._replies[-1] if self._replies else None

    def _addr(self, keyword, arg):
        rest = self._strip_command_keyword(keyword, arg or "")
        if rest is None:
            return arg, ""
        addr, params = self._getaddr(rest)
        return (rest if addr is None else addr), (params or "")

    def _end(self, result=None, why=None):
        """Log the transaction in progress (if any) with its result."""
        tx, self._tx = self._tx, None
        if tx is None:
            return
        if result is None:
            refused = [r for r in tx["results"] if not r.startswith("2")]
            result = refused[0] if refused else ("no DATA (%s)" % why if tx["rcpts"] else "no RCPT (%s)" % why)
        self.peer_handler.log_attempt(self.session.peer if self.session else None,
                                      tx["mail_from"], tx["rcpts"], tx["results"], result)

    async def smtp_EHLO(self, hostname):
        self._end(why="EHLO")
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self._end(why="HELO")
        await super().smtp_HELO(hostname)

    async def smtp_RSET(self, arg):
        self._end(why="RSET")
        await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg):
        self._end(why="QUIT")
        await super().smtp_QUIT(arg)

    async def smtp_MAIL(self, arg):
        nested = self._tx is not None
        reply = await self._run(super().smtp_MAIL(arg))
        if nested or reply is None:
            return
        addr, _ = self._addr("FROM:", arg)
        if reply.startswith("2"):
            self._tx = {"mail_from": addr, "rcpts": [], "results": []}
        else:  # a refused MAIL is an attempt too
            self.peer_handler.log_attempt(self.session.peer, addr, [], [], reply)

    async def smtp_RCPT(self, arg):
        reply = await self._run(super().smtp_RCPT(arg))
        if self._tx is not None and reply is not None:
            addr, _ = self._addr("TO:", arg)
            self._tx["rcpts"].append(addr)
            self._tx["results"].append(reply)

    async def smtp_DATA(self, arg):
        reply = await self._run(super().smtp_DATA(arg))
        if self._tx is None or reply is None:
            return
        if not self._replies[0].startswith("354"):
            if reply.startswith("503"):  # no accepted recipient: the RCPT refusal is the result
                self._end(why="DATA refused: " + reply)
            return  # other DATA syntax errors leave the transaction open
        self._end(result=reply)
        if self.peer_handler.mode == "drop-after-data" and reply.startswith("2"):
            # The 250 is written: send FIN now and answer nothing more. Whatever the client sends
            # after it (QUIT) is read and ignored until it closes (at most 5 s), so that unread input
            # cannot turn our close into a RST that might make the client lose the 250.
            self._dropped = True
            transport = self.transport
            if transport.can_write_eof():
                transport.write_eof()
                self.loop.call_later(5, transport.close)
            else:  # TLS: no half-close
                transport.close()
            self._handler_coroutine.cancel()

    def eof_received(self):
        keep_open = super().eof_received()
        return False if self._dropped else keep_open

    def connection_lost(self, error):
        self._end(why="connection lost")
        super().connection_lost(error)


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    handler = Peer(args.mode, args.dir, args.name, args.dot_delay)
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: PeerSMTP(handler, hostname=args.name, tls_context=tls, data_size_limit=args.size, loop=loop,
                         enable_SMTPUTF8=args.smtputf8),
        host=args.host, port=args.port, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print("ready %s %d" % (args.host, port), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=MODES, default="sink")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--name", default="peer.test")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--size", type=int, default=33554432, help="SIZE limit advertised and enforced")
    ap.add_argument("--dot-delay", type=float, default=3.0, help="slow-dot: seconds before the reply")
    ap.add_argument("--smtputf8", action="store_true", help="advertise and take SMTPUTF8 (RFC 6531)")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
