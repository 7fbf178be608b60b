#!/bin/sh
# store-lifecycle.sh - recipient updates, the due index over time, removal when all are final, commit events.
. "$(dirname "$0")/lib.sh"

# At debug the store logs every recipient update (the router logs the outcomes operators read).
write_config "[global]
log_level = debug
"
start_store || bail "spoolgate-store did not start"
store_load_tap lifecycle 2
grep -q "\([^ ]*\): rcpt 1: state=failed attempts=1 route=smtp:\[127.0.0.1\]:25 reply=550 5.1.1 no such user; all recipients final, message removed" "$T_STORE_LOG" &&
    Q=$(sed -n 's/.* \([^ ]*\): rcpt 1: state=failed attempts=1 route=smtp:.*no such user; all recipients final.*/\1/p' "$T_STORE_LOG" | head -1) &&
    grep -q " $Q: removed$" "$T_STORE_LOG"
ok $? "at debug the store logs each state change with route and reply; at info the removal"
stop_store
