#!/bin/sh
# store-body-8bit.sh - a local submission with 8-bit content and no BODY declared (spoolgate-sendmail without -B) is 8-bit all the same: the store marks it, the router declares BODY=8BITMIME to a peer that has 8BITMIME and does not send it raw to one that lacks it (a DSN says why); 7-bit mail still goes there (issue 20, item 5: it was relayed as-is).
. "$(dirname "$0")/lib.sh"

plan 5
start_peer sink sink; start_peer old no-8bit
write_router_config "new.test smtp:[127.0.0.1]:$sink_PORT
old.test smtp:[127.0.0.1]:$old_PORT
src.test smtp:[127.0.0.1]:$sink_PORT"
start_store && start_router; ok $? "store and router start"
printf 'Subject: 8bit\n\ncaf\303\251 cr\303\250me\n' > "$T_DIR/8bit.txt"
printf 'Subject: 7bit\n\nplain text\n' > "$T_DIR/7bit.txt"
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test a@new.test < "$T_DIR/8bit.txt" > /dev/null
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test b@old.test < "$T_DIR/8bit.txt" > /dev/null
"$SENDMAIL" -s "$T_SOCKET" -f s@src.test c@old.test < "$T_DIR/7bit.txt" > /dev/null
peer_got sink a@new.test
python3 -c "
import glob, json, sys
recs = [json.load(open(f)) for f in glob.glob('$T_DIR/sink/*.json')]
sys.exit(0 if any('a@new.test' in r['rcpt_tos'] and 'BODY=8BITMIME' in r['mail_options'] for r in recs) else 1)"
ok $? "to a peer with 8BITMIME: sent with BODY=8BITMIME"
wait_for 10 sh -c "$DSN_CHECK '$T_DIR/sink' --sender s@src.test --rcpt b@old.test --action failed --reason-contains 8BITMIME | grep -q '^ok'"
ok $? "to a peer without it: not sent, a DSN that says why"
peer_got old c@old.test; ok $? "7-bit mail still goes to that peer"
! cat "$T_DIR"/old/*.json | grep -q b@old.test; ok $? "the 8-bit message never reached it"
