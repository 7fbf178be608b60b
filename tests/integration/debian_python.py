"""debian_python.py - for test helpers that need a Debian-packaged module (python3-aiosmtpd): run again under Debian's python3 when the python3 on PATH (a pyenv one) cannot import it."""
import os
import sys

DEBIAN = "/usr/bin/python3"


def reexec_or_exit(script, module, package):
    """Exec DEBIAN on script with the same arguments (same pid), once; else exit naming package."""
    if (os.path.exists(DEBIAN) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN)
            and not os.environ.get("SG_DEBIAN_REEXEC")):
        os.environ["SG_DEBIAN_REEXEC"] = "1"
        os.execv(DEBIAN, [DEBIAN, os.path.abspath(script)] + sys.argv[1:])
    sys.exit("%s: cannot import %s (apt-get install %s)" % (os.path.basename(script), module, package))
