# dns_peer.sh - a throwaway DNS server (dnsmasq) on 127.0.0.1 for the router's MX/A tests. Sourced (POSIX sh), not run.
#
#   start_dns PORT [dnsmasq options...]   start it in the background; sets DNS_PID; waits until it answers
#   stop_dns                              SIGTERM it and wait
#   dns_query PORT NAME TYPE              print the answers, e.g. "MX 10 mx1.mx.test" (see dns_query.py)
#
# Records are dnsmasq options, e.g.
#   start_dns "$port" --mx-host=mx.test,mx1.mx.test,10 --mx-host=mx.test,mx2.mx.test,20 \
#       --host-record=mx1.mx.test,127.0.0.2 --host-record=mx2.mx.test,127.0.0.3 \
#       --dns-rr=nullmx.test,15,000000            # null MX: preference 0, root name (RFC 7505)
#       --host-record=implicit.test,127.0.0.4     # no MX: implicit MX (MX query gives NODATA)
#       --server=/slow.test/127.0.0.1#9           # never answered: the DNS timeout case
# Every name it has no record for gets NXDOMAIN (--local=/#/; without it dnsmasq answers REFUSED),
# a name with records of other types gets NODATA, except that a name defined only by --dns-rr gets
# NXDOMAIN for the other types (dnsmasq's way). Needs dnsmasq (Debian package dnsmasq-base, not the
# dnsmasq service package); start_dns returns 2 when it is missing, 1 when it does not come up.
# Its log (queries included) goes to $DNS_LOG (default: $T_DIR/dnsmasq-PORT.log, or under $TMPDIR).

DNS_PID=
DNS_QUERY_PY=${DNS_QUERY_PY:-${top_srcdir:+$top_srcdir/tests/integration/dns_query.py}}
: "${DNS_QUERY_PY:=$(dirname "$0")/dns_query.py}"

dns_query() {
    python3 "$DNS_QUERY_PY" "$@"
}

start_dns() {
    dns_port=$1
    shift
    dns_bin=$(command -v dnsmasq 2>/dev/null || true)
    [ -n "$dns_bin" ] || { [ -x /usr/sbin/dnsmasq ] && dns_bin=/usr/sbin/dnsmasq; }
    if [ -z "$dns_bin" ]; then
        echo "start_dns: dnsmasq not installed (apt-get install -y dnsmasq-base)" >&2
        return 2
    fi
    if [ ! -f "$DNS_QUERY_PY" ]; then
        echo "start_dns: no $DNS_QUERY_PY (set top_srcdir or DNS_QUERY_PY)" >&2
        return 1
    fi
    : "${DNS_LOG:=${T_DIR:-${TMPDIR:-/tmp}}/dnsmasq-$dns_port.log}"
    # -k: foreground, no fork; no config file, no /etc/hosts, no upstream, no pid file; log to stderr.
    "$dns_bin" --keep-in-foreground --conf-file=/dev/null --port="$dns_port" \
        --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts --pid-file \
        --log-facility=- --log-queries --local=/#/ "$@" >> "$DNS_LOG" 2>&1 &
    DNS_PID=$!
    dns_i=0
    while [ "$dns_i" -lt 100 ]; do
        # any reply (NXDOMAIN here) means a server is up; the name, logged by --log-queries, tells
        # that it is ours and not an older one on the same port
        if dns_query "$dns_port" "probe-$DNS_PID.invalid" A --timeout 0.2 > /dev/null 2>&1; then
            dns_j=0
            while [ "$dns_j" -lt 20 ]; do
                grep -q "probe-$DNS_PID\.invalid" "$DNS_LOG" 2>/dev/null && return 0
                kill -0 "$DNS_PID" 2>/dev/null || break
                sleep 0.05
                dns_j=$((dns_j + 1))
            done
        fi
        kill -0 "$DNS_PID" 2>/dev/null || { echo "start_dns: dnsmasq exited, see $DNS_LOG" >&2; DNS_PID=; return 1; }
        sleep 0.1
        dns_i=$((dns_i + 1))
    done
    echo "start_dns: dnsmasq on port $dns_port does not answer, see $DNS_LOG" >&2
    stop_dns
    return 1
}

stop_dns() {
    [ -n "$DNS_PID" ] || return 0
    kill -TERM "$DNS_PID" 2>/dev/null
    wait "$DNS_PID" 2>/dev/null
    DNS_PID=
}
