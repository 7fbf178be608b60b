#!/bin/sh
# smtpd-staging.sh - store.max_staging and store.min_free_space bound what submissions stage: past them 452 4.3.1, nothing stored, the other mail goes through.
. "$(dirname "$0")/lib.sh"
STAGING="python3 $top_srcdir/tests/integration/smtp_staging.py"

plan 16
write_smtpd_config "[store]
max_staging = 1m"
start_store; ok $? "spoolgate-store starts (max_staging 1m)"
start_smtpd; ok $? "spoolgate-smtpd starts"
export_smtp_env
$STAGING two 700000 > "$T_DIR/two.out" 2>&1
diag < "$T_DIR/two.out"
grep -q '^B 452 4.3.1' "$T_DIR/two.out"; ok $? "two concurrent 700 kB messages: the one past max_staging gets 452 4.3.1"
grep -q '^A 250 ' "$T_DIR/two.out"; ok $? "the other is accepted"
grep -q 'staging space full' "$T_STORE_LOG"; ok $? "the store logs why"
test "$(store_count)" = 1; ok $? "only the accepted one is stored"
"$SPOOLCTL" -s "$T_SOCKET" list --match b@sender.test | tail -1 | grep -q '^0 '; ok $? "nothing of the refused one"
R=$($STAGING one 700000); ok $(case "$R" in 250*) echo 0;; *) echo 1;; esac) "then a 700 kB message is accepted: the refused one's staging was given back ($R)"
test "$(store_count)" = 2; ok $? "and stored"

# A floor of free space that no file system has: no body can spill, memory-sized ones still pass.
stop_smtpd; stop_store
write_smtpd_config "[store]
min_free_space = 1000g
staging_memory = 64k"
start_store && start_smtpd; ok $? "restarted with min_free_space 1000g, staging_memory 64k"; export_smtp_env
R=$($STAGING one 300000); ok $(case "$R" in 452\ 4.3.1*) echo 0;; *) echo 1;; esac) "below min_free_space a body that has to spill gets 452 4.3.1 ($R)"
R=$($STAGING one 20000); ok $(case "$R" in 250*) echo 0;; *) echo 1;; esac) "a body within staging_memory is accepted ($R)"
test "$(store_count)" = 3; ok $? "only that one was added"

# A body past staging_memory spills to a file; committed, the chunks come from the file and from
# memory (the tail) and the message reads back whole.
stop_smtpd; stop_store
write_smtpd_config "[store]
staging_memory = 64k"
start_store && start_smtpd; ok $? "restarted with staging_memory 64k"; export_smtp_env
R=$($STAGING one 300000); ok $(case "$R" in 250*) echo 0;; *) echo 1;; esac) "a 300 kB body that spills is accepted ($R)"
"$SPOOLCTL" -s "$T_SOCKET" cat "${R##* }" > "$T_DIR/spilled.eml"
python3 -c '
import sys
line = b"c" * 76 + b"\r\n"
want = b"Subject: staging c\r\n\r\n" + line * (300000 // len(line))
got = open(sys.argv[1], "rb").read()
norm = lambda b: b.replace(b"\r\n", b"\n").rstrip(b"\n")
sys.exit(0 if norm(got).endswith(norm(want)) and len(norm(got)) - len(norm(want)) < 2000 else 1)' "$T_DIR/spilled.eml"
ok $? "it reads back octet for octet ($(wc -c < "$T_DIR/spilled.eml") octets with the trace header)"
