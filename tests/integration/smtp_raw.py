"""smtp_raw.py - a raw SMTP client for the Python test drivers: command by command, last reply line back, from any source address."""
import socket


class RawClient:
    """Connected and greeted on creation; greeting holds the 220 (or whatever came) line."""

    def __init__(self, port, source="127.0.0.1", timeout=15):
        self.s = socket.create_connection(("127.0.0.1", port), 10, source_address=(source, 0))
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        """The last line of the next (multi-line) reply, or "(connection closed)"."""
        while True:
            line = self.f.readline()
            if not line:
                return "(connection closed)"
            if line[3:4] != b"-":
                return line.decode(errors="replace").rstrip("\r\n")

    def say(self, cmd):
        """Send one command line (str or bytes) and return the last line of its reply."""
        self.s.sendall((cmd.encode() if isinstance(cmd, str) else cmd) + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.say("QUIT")
        except OSError:
            pass
        self.s.close()


def starttls_session(port, helo, timeout=10):
    """An smtplib session on 127.0.0.1:port in TLS after STARTTLS, the certificate not checked
    (the tests' own self-signed one), EHLO'd again: (session, the server certificate in DER)."""
    import smtplib
    import ssl

    s = smtplib.SMTP("127.0.0.1", port, timeout=timeout)
    s.ehlo(helo)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo(helo)
    return s, s.sock.getpeercert(binary_form=True)
