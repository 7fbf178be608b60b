#!/usr/bin/env python3
"""smarthost_peer.py - a loopback smarthost (aiosmtpd) that requires AUTH, over STARTTLS or implicit TLS, for router-smarthost.sh.

Usage:
    smarthost_peer.py --port N --dir DIR --tls-cert F --tls-key K [--tls starttls|implicit|none]
                      [--user U --password P] [--mechs PLAIN,LOGIN] [--auth-reply "454 4.7.0 ..."]

Prints "ready" (flushed) once listening, then serves until SIGTERM/SIGINT.
    --tls starttls   (default) STARTTLS offered and required before anything; AUTH offered only after it
    --tls implicit   TLS from the connect on (RFC 8314, as on port 465)
    --tls none       no TLS at all, and AUTH offered in plain text: a client that sends its credentials
                     here has leaked them (the test checks the router never does)
MAIL before a successful AUTH gets 530 5.7.0.  --mechs: the mechanisms offered (none: "-").
--auth-reply: every AUTH, whatever the credentials, gets this reply (a temporary failure, say).

Files written to DIR:
    auth.log   one JSON line per AUTH attempt: {"mechanism", "user", "ok", "tls"} - the password is
               never written, only whether it matched
    <n>.eml, <n>.json  each message taken: {"mail_from", "rcpt_tos", "auth_user", "tls"}
"""
import argparse
import asyncio
import json
import os
import signal
import ssl

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:
    from debian_python import reexec_or_exit
    reexec_or_exit(__file__, "aiosmtpd", "python3-aiosmtpd")

MECHS = ("PLAIN", "LOGIN")


class Smarthost:
    def __init__(self, args):
        self.args = args
        self.n = 0

    def log_auth(self, mechanism, user, ok, tls):
        with open(os.path.join(self.args.dir, "auth.log"), "a") as f:
            f.write(json.dumps({"mechanism": mechanism, "user": user, "ok": ok, "tls": tls}) + "\n")

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        user = auth_data.login.decode("utf-8", "replace")
        ok = (self.args.auth_reply is None and auth_data.login == self.args.user.encode()
              and auth_data.password == self.args.password.encode())
        self.log_auth(mechanism, user, ok, server.is_tls(session))
        if self.args.auth_reply is not None:
            return AuthResult(success=False, handled=False, message=self.args.auth_reply)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.args.dir, str(self.n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or b"")
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "auth_user": session.login_data.decode() if session.login_data else None,
                "tls": server.is_tls(session)}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 taken"


class SmarthostSMTP(SMTP):
    def __init__(self, handler, implicit, **kw):
        self.implicit = implicit
        super().__init__(handler, **kw)

    def is_tls(self, session):
        return bool(self.implicit or session.ssl)


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    handler = Smarthost(args)
    ctx = None
    if args.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    mechs = [] if args.mechs == "-" else [m.strip().upper() for m in args.mechs.split(",")]
    kw = dict(hostname="smarthost.test", authenticator=handler.authenticator, auth_required=True,
              auth_exclude_mechanism=[m for m in MECHS if m not in mechs])
    if args.tls == "starttls":
        kw.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:  # implicit: the whole connection is TLS; none: AUTH offered in the clear
        kw.update(auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SmarthostSMTP(handler, args.tls == "implicit", loop=loop, **kw),
        host="127.0.0.1", port=args.port, reuse_address=True,
        ssl=ctx if args.tls == "implicit" else None)
    print("ready 127.0.0.1 %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", choices=("starttls", "implicit", "none"), default="starttls")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--user", default="anna@example.test")
    ap.add_argument("--password", default="s3cret pass")
    ap.add_argument("--mechs", default="PLAIN,LOGIN")
    ap.add_argument("--auth-reply")
    args = ap.parse_args()
    if args.tls != "none" and not (args.tls_cert and args.tls_key):
        ap.error("--tls %s needs --tls-cert and --tls-key" % args.tls)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
