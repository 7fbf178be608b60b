#!/bin/sh
# spoolctl-filters.sh - spoolctl's filters (--from, --to, --domain, --older-than, --state) on list and on ALL, --json of every listing parsed by Python, summary's numbers.
. "$(dirname "$0")/lib.sh"

plan 21
write_config
start_store; ok $? "spoolgate-store starts"
inject() { f=$1; shift; printf 'Subject: t\n\nbody\n' | "$SENDMAIL" -s "$T_SOCKET" -f "$f" "$@" | sed -n 's/^queued as //p'; }
sc() { "$SPOOLCTL" -s "$T_SOCKET" "$@"; }
# qids COMMAND...: the queue ids a text listing shows, sorted, on one line
qids() { "$@" | sed -n 's/^\([0-9A-V]\{13\}\)  .*/\1/p' | sort | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

OLD=$(inject old@one.test r@dest.test)
sleep 3 # the one message older than 2s
Q1=$(inject '"odd\"quote\\back"@one.test' r1@dest.test r2@Other.test)
Q2=$(inject x@two.test r3@dest.test)
Q3=$(inject '' r4@third.test)
test -n "$OLD" && test -n "$Q1" && test -n "$Q2" && test -n "$Q3"; ok $? "four messages queued"

test "$(qids sc list --from @one.test)" = "$(sorted "$OLD" "$Q1")"; ok $? "--from @one.test: the sender's domain"
test "$(qids sc list --from X@TWO.test)" = "$(sorted "$Q2")"; ok $? "--from ADDR: the address, case-insensitive"
test "$(qids sc list --from '<>')" = "$(sorted "$Q3")"; ok $? "--from '<>': the null sender"
test "$(qids sc list --to r2@other.test)" = "$(sorted "$Q1")"; ok $? "--to ADDR: a recipient"
test "$(qids sc list --domain dest.test)" = "$(sorted "$OLD" "$Q1" "$Q2")"; ok $? "--domain: a recipient's domain"
test "$(qids sc list --older-than 2s)" = "$(sorted "$OLD")"; ok $? "--older-than 2s: only the old one"
sc list --older-than soon > /dev/null 2>&1; test $? -eq 64; ok $? "--older-than with a bad duration is a usage error"
test "$(qids sc list --domain dest.test --from @two.test)" = "$(sorted "$Q2")"; ok $? "filters combine"

sc hold ALL --domain other.test > "$T_DIR/hold.out"
grep -q "^hold ALL: 1 recipients changed" "$T_DIR/hold.out"; ok $? "hold ALL --domain other.test holds one recipient"
test "$(qids sc list --state held)" = "$(sorted "$Q1")"; ok $? "--state held lists its message"
sc show "$Q1" | grep -q "<r1@dest.test>  queued" ; ok $? "and the other recipient of it is untouched"
sc release ALL --state held > /dev/null && test -z "$(qids sc list --state held)"; ok $? "release ALL --state held"

sc list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
senders = {m["qid"]: m["sender"] for m in d["messages"]}
ok = d["count"] == 4 and senders[sys.argv[1]] == "\"odd\\\"quote\\\\back\"@one.test" and senders[sys.argv[2]] == ""
ok = ok and sum(len(m["recipients"]) for m in d["messages"]) == 5
sys.exit(0 if ok else 1)' "$Q1" "$Q3"
ok $? "list --json parses, with the quote and backslash of a sender intact"
sc stats --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["messages"] == 4 and d["recipients"]["queued"] == 5 else 1)'
ok $? "stats --json: 4 messages, 5 recipients queued"
sc due --json | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["count"] == 5 else 1)'
ok $? "due --json: 5 recipients"

sc summary --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
doms = {x["domain"]: x for x in d["domains"]}
ok = d["total"] == 5 and doms["dest.test"]["total"] == 3 and doms["other.test"]["total"] == 1
ok = ok and doms["third.test"]["counts"][0] == 1 and sum(d["all"]) == 5 and len(d["bucket_minutes"]) == 9
sys.exit(0 if ok else 1)'
ok $? "summary --json: 5 recipients, dest.test 3, other.test 1, all younger than 5 minutes"
sc summary | awk '$1 == "TOTAL" && $2 == 5 && $3 == 5 { t = 1 } $1 == "dest.test" && $2 == 3 { d = 1 } END { exit !(t && d) }'
ok $? "summary as text: the same numbers"

sc delete ALL --from @one.test > "$T_DIR/del.out" && test "$(qids sc list)" = "$(sorted "$Q2" "$Q3")"
ok $? "delete ALL --from @one.test removes exactly those messages"
sc hold "$Q2" > /dev/null
metric_age=$(sc metrics | awk '/^spoolgate_queue_age_recipients/ { n += $2 } END { print n }')
shape=$(sc summary --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
test "$metric_age" = 2 && test "$shape" = 2
ok $? "after holds, releases and deletes the kept queue by age agrees with summary's walk ($metric_age, $shape)"
