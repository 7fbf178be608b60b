#!/bin/sh
# store-db-confined.sh - Berkeley DB stays behind store_db*.c: no other store file includes <db.h> (itself or through a header) or uses its types and calls.
. "$(dirname "$0")/lib.sh"

# What only code that speaks to BDB itself writes: the header, its types, its
# handle and cursor calls.  "Berkeley DB" in a comment is fine.
BDB_PATTERN='#[[:space:]]*include[[:space:]]*<db\.h>|\<(DBT|DBC|DB_TXN|DB_ENV|DBTYPE)\>|\<DB[[:space:]]*\*|\<DB_[A-Z_]+\>|->(get|pget|put|del|cursor|txn_begin|txn_checkpoint|log_flush)\('

# uses_bdb FILE: 0 (with the lines on stdout) when FILE uses Berkeley DB.
uses_bdb() { grep -nE "$BDB_PATTERN" "$1"; }

# The only store files allowed to: the environment and records (store_db*.[ch]),
# and the pure codecs (store_records.[ch]).
confined() {
    case $(basename "$1") in
        store_db.[ch] | store_db_*.[ch] | store_records.[ch]) return 0 ;;
    esac
    return 1
}

# The check must catch what it is for, and pass what it should.
printf '#include <db.h>\n' > "$T_DIR/inc.c"
printf 'static int f(DB *db, DB_TXN *txn) { DBT k; return db->get(db, txn, &k, 0, DB_RMW); }\n' > "$T_DIR/use.c"
printf '/* Berkeley DB work, a DBTree, an ODB */\nint g(struct store_txn *t) { return store_db_put_rcpt(t, 1, 0, 0); }\n' > "$T_DIR/clean.c"
uses_bdb "$T_DIR/inc.c" > /dev/null; ok $? "self-test: an include of <db.h> is found"
uses_bdb "$T_DIR/use.c" > /dev/null; ok $? "self-test: DB, DB_TXN, DBT and db->get are found"
! uses_bdb "$T_DIR/clean.c" > /dev/null; ok $? "self-test: store_db_* calls and a comment naming Berkeley DB pass"

checked=0
for f in "$top_srcdir"/store/*.c "$top_srcdir"/store/*.h; do
    confined "$f" && continue
    checked=$((checked + 1))
    if uses_bdb "$f" > "$T_DIR/hits"; then
        ok 1 "store/$(basename "$f") uses Berkeley DB only through store_db.h"
        diag < "$T_DIR/hits"
    else
        ok 0 "store/$(basename "$f") uses Berkeley DB only through store_db.h"
    fi
done
[ "$checked" -gt 0 ] || bail "no store sources under $top_srcdir/store"

# Through headers: the compiler's dependency lists of the daemon's objects.
deps=0
for po in "$top_builddir"/store/.deps/spoolgate_store-*.Po; do
    [ -f "$po" ] || continue
    name=$(basename "$po" .Po | sed 's/^spoolgate_store-//')
    confined "$name.c" && continue
    grep -q '\.h' "$po" || continue # a placeholder: dependency tracking is off
    deps=$((deps + 1))
    ! grep -qE '/db\.h([[:space:]]|:|$)' "$po"
    ok $? "store/$name.c does not include <db.h> through a header"
done
[ "$deps" -gt 0 ] || echo "# no dependency lists under $top_builddir/store/.deps: includes through headers not checked"
plan "$T_NUM"
[ "$T_FAILED" -eq 0 ]
