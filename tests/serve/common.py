# tests/serve/common.py: what the service's test scripts share: the counters and check() (from
# tests/checks.py), where the binary is, and starting `yuanzhu serve` and waiting for the address
# it prints.
import os, re, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, counts  # noqa: E402,F401  (the serve scripts import them from here)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
YZ = os.path.join(ROOT, os.environ.get("YZ_BIN", "bin/yuanzhu"))


def start_serve(args, log_path, env=None):
    """starts yuanzhu serve with args, its output in log_path; returns (process, url or None)"""
    log = open(log_path, "w")
    p = subprocess.Popen([YZ, "serve", *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    for _ in range(300):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            m = re.search(r"listening on (\S+)", f.read())
        if m:
            return p, m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.05)
    return p, None
