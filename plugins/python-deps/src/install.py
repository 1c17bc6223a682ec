# Run by the virtualenv's python as `python - PIP-ARGS...`: `pip install
# PIP-ARGS` between two reads of the installed packages, which it prints as
# one JSON line. Its exit status is pip's.
import importlib, json, subprocess, sys
from importlib.metadata import distributions


def installed():
    importlib.invalidate_caches()
    out = {}
    # In sys.path order: the first of a name is the one Python imports.
    for d in distributions():
        name = d.metadata["Name"]
        if name:
            out.setdefault(name, d.version)
    return out


before = installed()
rc = subprocess.call([sys.executable, "-m", "pip", "install", *sys.argv[1:]],
                     stdin=subprocess.DEVNULL)
if rc == 0:
    print("CAIRN-DEPS-JSON " + json.dumps({"before": before, "after": installed()}), flush=True)
sys.exit(rc)
