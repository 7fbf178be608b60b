#!/usr/bin/env python3
"""metrics_check.py - checks spoolctl metrics output against the Prometheus text format and against the queue.

  metrics_check.py METRICS_FILE LIST_JSON_FILE [NAME{LABELS}=VALUE | NAME{LABELS}>=VALUE ...]
Every line is a # HELP, a # TYPE or a sample of a declared family; histograms are cumulative with
+Inf equal to _count; the queue gauges equal what spoolctl list --json shows (messages, recipients by
state, recipients by state and age bucket); each further argument is one expected sample.  Prints TAP.
"""
import json
import re
import sys
import time

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')
BUCKETS = [5, 10, 20, 40, 80, 160, 320, 640, 1280]


def parse(text):
    """samples {name{labels}: value}, types {family: type}, errors [str]"""
    samples, types, errors = {}, {}, []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                errors.append(f"line {n}: short {parts[1]}")
            elif parts[1] == "TYPE":
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    errors.append(f"line {n}: bad type {parts[3]}")
                if parts[2] in types:
                    errors.append(f"line {n}: second TYPE for {parts[2]}")
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append(f"line {n}: not a sample: {line!r}")
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and not (family in types and types[family] == "histogram"):
            errors.append(f"line {n}: {name} has no TYPE")
        try:
            samples[name + labels] = float(value)
        except ValueError:
            errors.append(f"line {n}: bad value {value!r}")
    return samples, types, errors


def histogram_ok(samples, family):
    buckets = [(k, v) for k, v in samples.items() if k.startswith(family + "_bucket{")]
    les = [(float(re.search(r'le="([^"]+)"', k).group(1).replace("+Inf", "inf")), v) for k, v in buckets]
    les.sort()
    cumulative = all(a[1] <= b[1] for a, b in zip(les, les[1:]))
    return bool(les) and cumulative and les[-1][0] == float("inf") and les[-1][1] == samples.get(family + "_count")


def age_label(b):
    return f"{BUCKETS[b - 1] if b else 0}-{BUCKETS[b]}m" if b < len(BUCKETS) else f"{BUCKETS[-1]}m+"


def queue_expect(listing, now):
    """what the queue gauges must say, from spoolctl list --json"""
    want = {"spoolgate_queue_messages": len(listing["messages"])}
    states = ("queued", "active", "deferred", "delivered", "failed", "held")
    for s in states:
        want[f'spoolgate_queue_recipients{{state="{s}"}}'] = 0
    for s in ("queued", "active", "deferred", "held"):
        for b in range(len(BUCKETS) + 1):
            want[f'spoolgate_queue_age_recipients{{state="{s}",age="{age_label(b)}"}}'] = 0
    for m in listing["messages"]:
        minutes = (now - m["arrival_us"] / 1e6) / 60
        b = sum(1 for x in BUCKETS if minutes >= x)
        for r in m["recipients"]:
            want[f'spoolgate_queue_recipients{{state="{r["state"]}"}}'] += 1
            if r["state"] not in ("delivered", "failed"):
                want[f'spoolgate_queue_age_recipients{{state="{r["state"]}",age="{age_label(b)}"}}'] += 1
    return want


def main():
    samples, types, errors = parse(open(sys.argv[1]).read())
    listing = json.load(open(sys.argv[2]))
    results = [(not errors, "Prometheus text format" + (": " + "; ".join(errors[:5]) if errors else ""))]
    results.append((histogram_ok(samples, "spoolgate_store_commit_seconds"),
                    "the commit latency histogram is cumulative, +Inf = _count"))
    want = queue_expect(listing, time.time())
    bad = [f"{k}: {samples.get(k)} != {v}" for k, v in want.items() if samples.get(k) != v]
    results.append((not bad, "the queue gauges match spoolctl list" + (": " + "; ".join(bad[:5]) if bad else "")))
    for arg in sys.argv[3:]:
        key, op, value = re.match(r"(.*?)(>=|=)(\d+)$", arg).groups()
        got = samples.get(key)
        results.append((got is not None and (got >= int(value) if op == ">=" else got == int(value)),
                        f"{key} {op} {value} (got {got})"))
    for i, (ok, text) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {text}")


if __name__ == "__main__":
    main()
