#!/bin/sh
# smtpd-users.sh - the AUTH users file takes crypt(3) hashes only: a plaintext password or a broken hash is refused at start and at SIGHUP, naming the file and line, never the password.
. "$(dirname "$0")/lib.sh"

plan 9
write_smtpd_config
USERS="$T_DIR/users"
GOOD=$(cat "$USERS")
start_store || bail "spoolgate-store does not start"
# auth USER PASS: AUTH PLAIN after STARTTLS; prints the reply code
auth() {
    python3 - "$SMTP_PORT" "$1" "$2" <<'PY'
import smtplib, ssl, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo("users.test")
    try:
        code, _ = s.login(sys.argv[2], sys.argv[3])
    except smtplib.SMTPAuthenticationError as e:
        code = e.smtp_code
    print(code)
PY
}
# refused_at_start LINE2 PATTERN: a users file whose second line is LINE2 stops smtpd at start with
# an error matching PATTERN that does not hold the password
refused_at_start() {
    printf '%s\n%s\n' "$GOOD" "$1" > "$USERS"
    : > "$T_DIR/start.log"
    "$SMTPD_BIN" -c "$T_CONFIG" --foreground $SG_ROOT_FLAG > "$T_DIR/start.log" 2>&1 &
    p=$!
    wait_alive "$p" 5 false
    kill "$p" 2>/dev/null && { wait "$p"; return 1; } # still running: it took the file
    grep -q "smtpd.auth_users_file: $USERS:2: $2" "$T_DIR/start.log" &&
        ! grep -q -e "s3cret" -e "ecret" "$T_DIR/start.log"
}

refused_at_start "bob:s3cret" "user bob: not a crypt(3) hash (a plaintext password?)"
ok $? "a plaintext password: smtpd does not start; the error names the file, line 2 and user, not the password"
refused_at_start 'carol:$ecret' "user carol: not a complete crypt(3) hash"
ok $? "a plaintext password that starts with \$: refused the same way"
refused_at_start 'dave:$6$s3cretsalt$' "user dave: not a complete crypt(3) hash"
ok $? "a salt without the hash: refused"
refused_at_start 'erin:$6$salt$s3cret' "user erin: not a complete crypt(3) hash (the hash part has the wrong length)"
ok $? "a SHA-512 hash of the wrong length: refused"
refused_at_start 'frank:$zz$salt$s3cretpassword' "user frank: not a crypt(3) hash this system's libcrypt can check"
ok $? "a method libcrypt does not know: refused"

# The good file, and other crypt(3) methods next to it, load; AUTH works.
printf '%s\nbob:%s\ncarol:%s\n' "$GOOD" "$(openssl passwd -5 builder)" "$(openssl passwd -1 legacy)" > "$USERS"
start_smtpd; ok $? "crypt(3) hashes of several methods load"
[ "$(auth "$T_USER" "$T_PASS")" = 235 ] && [ "$(auth bob builder)" = 235 ]
ok $? "AUTH with the SHA-512 and SHA-256 users works"

# A bad file at SIGHUP: the reload is refused, the users in use stay.
printf '%s\nbob:builder\n' "$GOOD" > "$USERS"
kill -HUP "$SMTPD_PID"
wait_for 10 grep -q "reload refused, the old config stays in force: smtpd.auth_users_file: $USERS:2: user bob: not a crypt(3) hash" "$T_SMTPD_LOG"
ok $? "SIGHUP with a plaintext password in the users file: the reload is refused, naming the line"
[ "$(auth bob builder)" = 235 ] && ! grep -q "builder" "$T_SMTPD_LOG"
ok $? "the users loaded before stay in use; the password is not logged"
