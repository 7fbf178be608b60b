#!/usr/bin/env python3
"""lmtp_server.py - a loopback LMTP server (aiosmtpd's LMTP, RFC 2033) with one outcome per recipient, for router-lmtp.sh.

Usage:
    lmtp_server.py (--unix PATH | --port N) --dir DIR

Prints "ready" (flushed) once listening, then serves until SIGTERM/SIGINT.
LHLO advertises PIPELINING (RFC 2033 requires it); EHLO and HELO get 500, as from any LMTP server.
The recipient's local part decides its outcome:
    norcpt...   refused at RCPT: 550 5.1.1
    full...     after the final dot: 452 4.2.2 mailbox full
    gone...     after the final dot: 550 5.2.1 mailbox disabled
    cut...      after the final dot the replies of the recipients before it, then the connection
                closes: it and those after it get none
    anything else: delivered, 250 2.0.0 after the final dot
Each delivered recipient gets DIR/<n>.eml and then DIR/<n>.json {"rcpt", "mail_from", "conn",
"lhlo"}: conn numbers the connections (1, 2, ...), so a test sees them reused.
"""
import argparse
import asyncio
import json
import os
import signal

try:
    from aiosmtpd.lmtp import LMTP
except ImportError:
    from debian_python import reexec_or_exit
    reexec_or_exit(__file__, "aiosmtpd", "python3-aiosmtpd")


class Boxes:
    def __init__(self, directory):
        self.dir = directory
        self.conns = 0
        self.n = 0

    def store(self, rcpt, envelope, server):
        self.n += 1
        base = os.path.join(self.dir, str(self.n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"rcpt": rcpt, "mail_from": envelope.mail_from, "conn": server.conn_no,
                       "lhlo": server.session.host_name}, f)
        os.rename(base + ".json.tmp", base + ".json")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [responses[0], "250-PIPELINING"] + responses[1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("norcpt"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        replies = []
        for rcpt in envelope.rcpt_tos:
            local = rcpt.lower()
            if local.startswith("cut"):
                for line in replies:
                    server._writer.write(line.encode() + b"\r\n")
                await server._writer.drain()
                server.transport.close()
                return "421 not sent"  # the connection is closed: nobody reads this
            if local.startswith("full"):
                replies.append("452 4.2.2 <%s>: mailbox full" % rcpt)
            elif local.startswith("gone"):
                replies.append("550 5.2.1 <%s>: mailbox disabled" % rcpt)
            else:
                self.store(rcpt, envelope, server)
                replies.append("250 2.0.0 <%s> delivered" % rcpt)
        return "\r\n".join(replies)  # one reply line for each recipient, in their order


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    boxes = Boxes(args.dir)
    loop = asyncio.get_running_loop()

    def connection():
        boxes.conns += 1
        s = LMTP(boxes, hostname="lmtp.test", loop=loop)
        s.conn_no = boxes.conns
        return s

    if args.unix:
        server = await loop.create_unix_server(connection, args.unix)
    else:
        server = await loop.create_server(connection, host="127.0.0.1", port=args.port,
                                          reuse_address=True)
    print("ready", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unix")
    ap.add_argument("--port", type=int)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    if bool(args.unix) == bool(args.port):
        ap.error("one of --unix and --port")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
