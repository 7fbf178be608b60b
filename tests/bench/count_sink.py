#!/usr/bin/env python3
"""count_sink.py - an SMTP server for benchmarks: 250 to every command and message, nothing kept; counts messages.

  count_sink.py --port P --count N --done FILE

When the N-th message has been accepted, the wall-clock time (seconds since the epoch) is written to FILE.
Speaks ESMTP with PIPELINING and 8BITMIME so the client can pipeline its commands.
"""
import argparse
import asyncio
import time


class Sink:
    def __init__(self, count, done):
        self.count, self.done, self.seen = count, done, 0

    def message(self):
        self.seen += 1
        if self.seen == self.count:
            with open(self.done, "w") as f:
                f.write(f"{time.time():.6f}\n")

    async def session(self, reader, writer):
        writer.write(b"220 sink ESMTP\r\n")
        in_data = False
        while True:
            line = await reader.readline()
            if not line:
                break
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.message()
                    writer.write(b"250 2.0.0 ok\r\n")
                    await writer.drain()
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--done", required=True)
    a = ap.parse_args()
    sink = Sink(a.count, a.done)
    server = await asyncio.start_server(sink.session, "127.0.0.1", a.port, limit=1 << 20)
    async with server:
        await server.serve_forever()


asyncio.run(main())
