#!/bin/sh
# smtpd-routes.sh - RCPT decided from the router's map (no local route: 550; error route: its reply), IPv6 listener, command timeout.
. "$(dirname "$0")/lib.sh"
SAY="python3 $top_srcdir/tests/integration/smtp_say.py"

plan 7
T_LOCAL_DOMAIN="local.test other.test"
T_ROUTES="local.test smtp:[127.0.0.1]:9
closed.test error:5.1.2 closed.test stopped taking mail in 2019" write_smtpd_config "command_timeout = 2s"
start_store; ok $? "spoolgate-store starts"
start_smtpd; ok $? "spoolgate-smtpd starts"
rcpt() { $SAY "$SMTP_PORT" "EHLO t" "MAIL FROM:<a@b.example>" "RCPT TO:<$1>" QUIT | sed -n 4p; }
out=$(rcpt x@local.test); test "${out%% *}" = 250; ok $? "a local domain with a route: 250 ($out)"
out=$(rcpt x@other.test)
case "$out" in "550 5.1.1 "*) ok 0 "a local domain without a route: 550 5.1.1 at RCPT, not a bounce later";;
    *) ok 1 "a local domain without a route: 550 5.1.1 (got: $out)";; esac
out=$(rcpt x@closed.test)
case "$out" in "550 5.1.2 closed.test stopped taking mail in 2019") ok 0 "an error: route is answered at RCPT with its text";;
    *) ok 1 "an error: route is answered at RCPT with its text (got: $out)";; esac
python3 -c "
import socket, sys
s = socket.create_connection(('::1', $SMTP_PORT), 5)
sys.exit(0 if s.recv(100).startswith(b'220 ') else 1)"
ok $? "the IPv6 listener greets on [::1]"
python3 -c "
import socket, sys, time
s = socket.create_connection(('127.0.0.1', $SMTP_PORT), 10)
s.recv(100); t = time.time(); data = s.recv(200)
sys.exit(0 if data.startswith(b'421 4.4.2') and 1.5 < time.time() - t < 6 else 1)"
ok $? "an idle session gets 421 4.4.2 after command_timeout"
