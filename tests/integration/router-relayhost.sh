#!/bin/sh
# router-relayhost.sh - everything not otherwise routed goes to the relayhost; the transport map still wins.
. "$(dirname "$0")/lib.sh"

plan 3
start_peer smart sink; start_peer direct sink
write_router_config "direct.test smtp:[127.0.0.1]:$direct_PORT" "relayhost = [127.0.0.1]:$smart_PORT
tls_policy = none"
start_store && start_smtpd && start_router; ok $? "store, smtpd and router start"
printf 'Subject: relay\n\nvia the smarthost\n' > "$T_DIR/msg.txt"
send_mail alice@sender.test a@anywhere.example < "$T_DIR/msg.txt" > /dev/null
peer_got smart a@anywhere.example
ok $? "an unrouted domain goes to the relayhost"
send_mail alice@sender.test b@direct.test < "$T_DIR/msg.txt" > /dev/null
peer_got direct b@direct.test
ok $? "a transport map entry wins over the relayhost"
