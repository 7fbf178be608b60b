#!/usr/bin/env python3
"""p1_check.py - account for every accepted message on the postoffice share: each token in exactly one transfer file.

  p1_check.py --share DIR --accepted FILE [--gateway-log LOG] [--queued FILE] [--writer FILE] [--allow-queued]

--accepted: lines "TOKEN QUEUEID" (smtp_load.py --out), every message answered 250.
--gateway-log: every "QID: written to the postoffice as P1/NAME" line must name a file that is on the
  share and holds that queue id's token (nothing reported delivered that is not there).
--queued: queue ids still in the store (one per line); with --allow-queued an accepted token that is
  in no file is fine when its queue id is still queued.
--writer: lines "NAME SHA256" of files a second writer put into P1/: each must be there, unchanged.
Prints one line per finding and a summary "files F accepted A once O missing M duplicated D queued Q";
exit 0 only when nothing is missing, nothing duplicated, every logged name checks out, and every
second-writer file is intact.
"""
import argparse
import hashlib
import os
import re
import sys

TOKEN_RE = re.compile(rb"^token (\S+)\r?$", re.M)
WRITTEN_RE = re.compile(r"(\S+): written to the postoffice as P1/(\S+) ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--share", required=True)
    ap.add_argument("--accepted", required=True)
    ap.add_argument("--gateway-log")
    ap.add_argument("--queued")
    ap.add_argument("--writer")
    ap.add_argument("--allow-queued", action="store_true")
    args = ap.parse_args()

    accepted = {}
    for line in open(args.accepted):
        token, qid = line.split()
        accepted[token] = qid
    qid_token = {q: t for t, q in accepted.items()}
    queued = set()
    if args.queued:
        queued = {line.strip() for line in open(args.queued) if line.strip()}

    p1 = os.path.join(args.share, "P1")
    where = {}  # token -> [file names]
    names = sorted(n for n in os.listdir(p1) if n.endswith(".P1"))
    writer = {}
    if args.writer:
        for line in open(args.writer):
            name, digest = line.split()
            writer[name] = digest
    bad = 0
    for name in names:
        data = open(os.path.join(p1, name), "rb").read()
        if name in writer:
            continue
        tokens = TOKEN_RE.findall(data)
        if len(tokens) != 1:
            print(f"P1/{name}: {len(tokens)} tokens in one transfer file")
            bad += 1
        for t in tokens:
            where.setdefault(t.decode(), []).append(name)

    for name, digest in writer.items():
        path = os.path.join(p1, name)
        if not os.path.exists(path):
            print(f"second writer's P1/{name} is gone")
            bad += 1
        elif hashlib.sha256(open(path, "rb").read()).hexdigest() != digest:
            print(f"second writer's P1/{name} was overwritten")
            bad += 1

    once = missing = dup = still = 0
    for token, qid in accepted.items():
        files = where.get(token, [])
        if len(files) == 1:
            once += 1
        elif not files:
            if args.allow_queued and qid in queued:
                still += 1
            else:
                print(f"lost: {token} ({qid}) is in no transfer file" + (" and not queued" if args.queued else ""))
                missing += 1
        else:
            print(f"duplicated: {token} ({qid}) in {' '.join(files)}")
            dup += 1
    for token in where:
        if token not in accepted:
            print(f"P1 holds {token}, never answered 250")

    if args.gateway_log:
        for line in open(args.gateway_log, errors="replace"):
            m = WRITTEN_RE.search(line)
            if not m:
                continue
            qid, name = m.group(1), m.group(2)
            token = qid_token.get(qid)
            if token is None:
                continue
            if name not in where.get(token, []):
                print(f"gateway said {qid} was written as P1/{name}, but that file does not hold {token}")
                bad += 1

    print(f"files {len(names)} accepted {len(accepted)} once {once} missing {missing} duplicated {dup} "
          f"queued {still}")
    return 0 if missing == 0 and dup == 0 and bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
