#!/usr/bin/env python3
"""smtp_hold.py - hold many concurrent idle SMTP sessions and measure smtpd's memory, as TAP.

Environment (lib.sh export_smtp_env): SG_HOST, SG_SMTP_PORT, SG_SMTPD_PID, SG_HOSTNAME;
SG_HOLD_SESSIONS (default 2000), SG_HOLD_BATCH (connections opened at once, default 200),
SG_RSS_PER_SESSION_MAX (KiB, default 20; sanitizer builds need more).
Opens the sessions, reads every greeting (220), sends EHLO on each (250), reads VmRSS
of the smtpd process, then QUITs all (221).  Memory goal: 10 000 sessions < 200 MiB,
i.e. under 20 KiB per session.  Always exits 0: TAP is the verdict.
"""

import asyncio
import os
import re
import resource
import sys

from tap import diag, ok, run

HOST = os.environ.get("SG_HOST", "127.0.0.1")
PORT = int(os.environ.get("SG_SMTP_PORT", "25"))
HOSTNAME = os.environ.get("SG_HOSTNAME", "mx.test.invalid")
PID = os.environ.get("SG_SMTPD_PID", "")
N = int(os.environ.get("SG_HOLD_SESSIONS", "2000"))
BATCH = int(os.environ.get("SG_HOLD_BATCH", "200"))
TIMEOUT = 10.0
# 10 000 sessions in 200 MiB (204 800 KiB); sanitizer builds raise it (SG_RSS_PER_SESSION_MAX).
KIB_PER_SESSION_MAX = float(os.environ.get("SG_RSS_PER_SESSION_MAX", "20"))
PROJECTED_MAX_KIB = max(200 * 1024, 10000 * KIB_PER_SESSION_MAX)

async def read_reply(reader):
    """One (multi-line) reply: (code, first line text), code None on close/timeout/garbage."""
    first = None
    while True:
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        if not line:
            return None, f"connection closed ({first or 'no reply'})"
        m = re.match(rb"^(\d{3})([ -])(.*?)\r?\n$", line, re.S)
        if not m:
            return None, f"malformed reply line {line[:100]!r}"
        if first is None:
            first = m.group(3).decode(errors="replace")
        if m.group(2) == b" ":
            return int(m.group(1)), first


class Session:
    def __init__(self, i):
        self.i = i
        self.reader = self.writer = None
        self.greeting = self.ehlo = self.quit = None     # (code, text)
        self.error = None

    async def open(self):
        try:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
            self.greeting = await read_reply(self.reader)
            if self.greeting[0] != 220:
                return
            self.writer.write(f"EHLO hold{self.i}.example\r\n".encode())
            await self.writer.drain()
            self.ehlo = await read_reply(self.reader)
        except (OSError, asyncio.TimeoutError) as e:
            self.error = f"{type(e).__name__}: {e}"

    async def close(self):
        if not self.writer:
            return
        try:
            self.writer.write(b"QUIT\r\n")
            await self.writer.drain()
            self.quit = await read_reply(self.reader)
        except (OSError, asyncio.TimeoutError) as e:
            self.error = self.error or f"QUIT: {type(e).__name__}: {e}"
        finally:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), TIMEOUT)
            except (OSError, asyncio.TimeoutError):
                pass


def vm_rss_kib(pid):
    """VmRSS of pid in KiB, or None with the reason."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]), ""
    except OSError as e:
        return None, f"cannot read /proc/{pid}/status: {e}"
    return None, "no VmRSS line"


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as e:
            diag(f"cannot raise RLIMIT_NOFILE to {hard}: {e}")
    if soft < need:
        diag(f"RLIMIT_NOFILE is {soft}, fewer than the {need} descriptors {N} sessions need")
    return soft


def summarize(sessions, attr, code):
    bad = [s for s in sessions if (getattr(s, attr) or (None,))[0] != code]
    examples = [f"session {s.i}: {attr} {getattr(s, attr)} {s.error or ''}" for s in bad[:5]]
    return bad, examples


async def main_async():
    limit = raise_nofile(N + 64)
    n = min(N, max(limit - 64, 1))
    if n < N:
        diag(f"holding {n} sessions instead of {N} (descriptor limit)")
    rss0, why0 = vm_rss_kib(PID) if PID else (None, "SG_SMTPD_PID is not set")
    sessions = [Session(i) for i in range(n)]
    for start in range(0, n, BATCH):
        await asyncio.gather(*(s.open() for s in sessions[start:start + BATCH]))
    await asyncio.sleep(0.2)    # let the daemon settle after the last EHLO
    rss, why = vm_rss_kib(PID) if PID else (None, "SG_SMTPD_PID is not set")

    bad_g, ex_g = summarize(sessions, "greeting", 220)
    bad_e, ex_e = summarize(sessions, "ehlo", 250)
    ok(not bad_g and not bad_e, f"all {n} concurrent sessions got 220 and an EHLO 250",
       [f"{len(bad_g)} without a 220 greeting, {len(bad_e)} without an EHLO 250; examples:"] + ex_g + ex_e)

    if rss is None:
        ok(False, f"smtpd RSS per session under {KIB_PER_SESSION_MAX:.0f} KiB", [why])
    else:
        base = rss0 if rss0 is not None else 0
        per = (rss - base) / n
        diag(f"smtpd RSS with {n} sessions: {rss} KiB ({per:.1f} KiB per session)")
        diag(f"(per session = (RSS now - RSS before the sessions {rss0 if rss0 is not None else '?'} KiB) / {n})")
        ok(per < KIB_PER_SESSION_MAX, f"smtpd RSS per session {per:.1f} KiB < {KIB_PER_SESSION_MAX:.0f} KiB",
           [f"RSS before {rss0} KiB, with {n} sessions {rss} KiB"])
        projected = base + per * 10000
        ok(projected < PROJECTED_MAX_KIB,
           f"projected RSS for 10000 sessions {projected / 1024:.0f} MiB < {PROJECTED_MAX_KIB / 1024:.0f} MiB",
           [f"baseline {base} KiB + 10000 x {per:.1f} KiB"])

    for start in range(0, n, BATCH):
        await asyncio.gather(*(s.close() for s in sessions[start:start + BATCH]))
    bad_q, ex_q = summarize(sessions, "quit", 221)
    ok(not bad_q, f"QUIT on each of the {n} sessions -> 221", [f"{len(bad_q)} without 221; examples:"] + ex_q)


def main():
    return run("smtp_hold", lambda: asyncio.run(main_async()))


if __name__ == "__main__":
    sys.exit(main())
