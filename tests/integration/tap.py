"""tap.py - TAP output for the Python test drivers: numbered ok/not ok lines, diagnostics, the plan at the end."""
import sys

_count = 0


def ok(cond, name, diag=()):
    """One check: 'ok N - name', or 'not ok N - name' followed by the diag lines as comments."""
    global _count
    _count += 1
    print(f"{'ok' if cond else 'not ok'} {_count} - {name}")
    if not cond:
        for d in diag:
            for line in str(d).splitlines():
                print(f"#   {line}")
    sys.stdout.flush()
    return cond


def diag(text):
    """A comment line (or several) in the TAP stream."""
    for line in str(text).splitlines():
        print(f"# {line}")
    sys.stdout.flush()


def plan():
    """The plan line for every check made so far (TAP allows it last)."""
    print(f"1..{_count}")
    sys.stdout.flush()


def run(name, fn):
    """Run a driver's checks: an exception becomes one failed check naming it; then the plan.  Returns 0."""
    try:
        fn()
    except Exception as e:  # the driver broke off: say how, keep the TAP stream whole
        ok(False, f"{name} broke off with {type(e).__name__}: {e}")
    plan()
    return 0
