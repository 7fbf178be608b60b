#!/usr/bin/env python3
"""dns_query.py - ask a DNS server on loopback one question over UDP (hand-built packet, no dig needed) and print the answers.

Usage: dns_query.py PORT NAME TYPE [--server 127.0.0.1] [--timeout 1]

TYPE: A, AAAA, MX, CNAME, NS, PTR, TXT, SOA, ANY or a number. Prints one line per answer record,
e.g. "MX 10 mx1.mx.test", "MX 0 ." (null MX), "A 127.0.0.2", "CNAME x.test"; then, when there is no
answer, "NODATA" (NOERROR, no record of that type) or the rcode ("NXDOMAIN", "SERVFAIL", "REFUSED").
Exit status: 0 when the server replied (whatever it said), 1 when it did not (timeout), 2 on bad usage.
"""

import argparse
import os
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("idna" if not label.isascii() else "ascii")
    return out + b"\0"


def read_name(msg, off):
    """(name, offset after the name in place), following compression pointers."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return (".".join(labels) if labels else "."), (end if end is not None else off)


def rdata_text(msg, rtype, off, rdlen):
    rd = msg[off:off + rdlen]
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntop(socket.AF_INET, rd)
    if rtype == 28 and rdlen == 16:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype == 15:
        pref = struct.unpack("!H", rd[:2])[0]
        return "%d %s" % (pref, read_name(msg, off + 2)[0])
    if rtype in (2, 5, 12):
        return read_name(msg, off)[0]
    if rtype == 16:
        parts, i = [], 0
        while i < len(rd):
            parts.append('"%s"' % rd[i + 1:i + 1 + rd[i]].decode("utf-8", "replace"))
            i += 1 + rd[i]
        return " ".join(parts)
    if rtype == 6:
        mname, o = read_name(msg, off)
        rname, o = read_name(msg, o)
        return "%s %s %s" % (mname, rname, " ".join(str(x) for x in struct.unpack("!5I", msg[o:o + 20])))
    return rd.hex()


def query(port, name, qtype, server="127.0.0.1", timeout=1.0):
    """(rcode name, [(type name, text)]) or None on timeout."""
    qid = int.from_bytes(os.urandom(2), "big")
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        while True:
            try:
                msg, _ = s.recvfrom(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = read_name(msg, off)[1] + 4
    answers = []
    for _ in range(an):
        _, off = read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        answers.append((TYPE_NAMES.get(rtype, "TYPE%d" % rtype), rdata_text(msg, rtype, off, rdlen)))
        off += rdlen
    return RCODES.get(flags & 0xF, "RCODE%d" % (flags & 0xF)), answers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port", type=int)
    ap.add_argument("name")
    ap.add_argument("type")
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--timeout", type=float, default=1.0)
    args = ap.parse_args()
    t = args.type.upper()
    qtype = TYPES.get(t) or (int(t[4:]) if t.startswith("TYPE") and t[4:].isdigit() else None)
    if qtype is None and t.isdigit():
        qtype = int(t)
    if qtype is None:
        ap.error("unknown type %s" % args.type)
    res = query(args.port, args.name, qtype, args.server, args.timeout)
    if res is None:
        print("TIMEOUT")
        return 1
    rcode, answers = res
    for typ, text in answers:
        print("%s %s" % (typ, text))
    if not answers:
        print("NODATA" if rcode == "NOERROR" else rcode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
