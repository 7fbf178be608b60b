#!/usr/bin/env python3
"""global_names.py - every daemon-global name carries its daemon's prefix, and no name is defined in two daemons.

  global_names.py DAEMON=SYMFILE ...     SYMFILE: the names `nm -g --defined-only` lists for that daemon's objects
  global_names.py --self-test            the check refuses a name in two daemons and a name without a prefix

Allowed prefixes: the daemon's own (store_, smtpd_, router_, gw_) and, until they move into common/ (issue 15),
the pure modules the daemon still holds: dsn_ (router/dsn.c), po_ (gateway/po_*.c).  The SMTP library (smtp_)
lives in common/libspoolgate.a, so no daemon's objects may define an smtp_ name.  Prints TAP.
"""
import sys

PREFIXES = {
    "store": ("store_",),
    "smtpd": ("smtpd_",),
    "router": ("router_", "dsn_"),
    "gateway": ("gw_", "po_"),
}


def check(names):
    """names: daemon -> set of symbols.  Returns a list of (ok, description)."""
    results = []
    for daemon, syms in sorted(names.items()):
        bad = sorted(s for s in syms if s != "main" and not s.startswith(PREFIXES.get(daemon, (daemon + "_",))))
        results.append((not bad, f"{daemon}: every global name starts with {' or '.join(PREFIXES.get(daemon, ()))}"
                        + (f" (not: {' '.join(bad[:20])})" if bad else f" ({len(syms)} names)")))
    seen = {}
    for daemon, syms in names.items():
        for s in syms:
            if s != "main":
                seen.setdefault(s, []).append(daemon)
    twice = sorted(f"{s} ({', '.join(sorted(d))})" for s, d in seen.items() if len(d) > 1)
    results.append((not twice, "no global name is defined in two daemons" + (f": {'; '.join(twice)}" if twice else "")))
    return results


def self_test():
    good = {"store": {"store_open", "main"}, "gateway": {"gw_x", "po_y", "main"}}
    dup = {"smtpd": {"smtpd_x"}, "router": {"smtpd_x"}}
    bare = {"router": {"queue_start"}}
    return [
        (all(ok for ok, _ in check(good)), "self-test: prefixed, distinct names pass"),
        (not check(dup)[-1][0], "self-test: a name defined in two daemons fails"),
        (not check(bare)[0][0], "self-test: a daemon name without its prefix fails"),
    ]


def main():
    if sys.argv[1:] == ["--self-test"]:
        results = self_test()
    else:
        names = {}
        for arg in sys.argv[1:]:
            daemon, path = arg.split("=", 1)
            names[daemon] = {line.strip() for line in open(path) if line.strip()}
        results = check(names)
    for i, (ok, text) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {text}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
