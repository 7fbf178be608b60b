"""ipc_frames.py - the IPC wire format for the Python test peers: typed fields, frames, reading one frame.

Frames are u32 payload length, then u16 type and u32 request id, then tagged fields (common/ipc.h).
"""
import socket
import struct
import sys


def f_str(text):
    b = text.encode("utf-8", "surrogateescape")
    return b"S" + struct.pack(">I", len(b)) + b


def f_u32(v):
    return b"I" + struct.pack(">I", v)


def f_u64(v):
    return b"Q" + struct.pack(">Q", v)


def f_bytes(data):
    return b"B" + struct.pack(">I", len(data)) + data


def frame(msg_type, req, body):
    payload = struct.pack(">HI", msg_type, req) + body
    return struct.pack(">I", len(payload)) + payload


def connect_store(path, program, role, caps, minor, timeout):
    """A Unix socket to the store after the hello exchange: (socket, its file), or exit saying why."""
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(timeout)
    conn.connect(path)
    f = conn.makefile("rb")
    conn.sendall(frame(1, 0, f_str(program) + f_str(role) + f_u32(1) + f_u32(minor)
                       + f_str(caps) + f_str("") + f_u64(0)))
    got = read_frame(f)
    if not got or got[0] != 1:
        sys.exit("no hello from the store")
    return conn, f


def read_frame(f):
    """(type, request id, fields) of the next frame on the file f, or None at its end."""
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    payload = f.read(n)
    if len(payload) < n:
        return None
    msg_type, req = struct.unpack(">HI", payload[:6])
    return msg_type, req, payload[6:]


def fields(body):
    """The values of the tagged fields in a frame's body, in order."""
    out, i = [], 0
    while i < len(body):
        tag = body[i:i + 1]
        if tag == b"I":
            out.append(struct.unpack(">I", body[i + 1:i + 5])[0])
            i += 5
        elif tag == b"Q":
            out.append(struct.unpack(">Q", body[i + 1:i + 9])[0])
            i += 9
        else:
            (n,) = struct.unpack(">I", body[i + 1:i + 5])
            out.append(body[i + 5:i + 5 + n].decode(errors="replace"))
            i += 5 + n
    return out
