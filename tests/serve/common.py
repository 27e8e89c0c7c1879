# tests/serve/common.py: what the service's test scripts share: the counters and check(), where
# the binary is, and starting `yuanzhu serve` and waiting for the address it prints.
import os, re, subprocess, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
YZ = os.path.join(ROOT, os.environ.get("YZ_BIN", "bin/yuanzhu"))
counts = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    """counts one assertion; prints the failed ones with what was seen"""
    if cond:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print("FAIL: %s%s" % (name, (": " + str(detail)[:800]) if detail else ""), flush=True)
    return cond


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
