# tests/checks.py: the assertion counters the Python test scripts share (tests/serve, tests/impact,
# tests/ledger): check() counts one assertion and prints a failed one with what was seen, fail()
# counts a failure found otherwise, finish() prints the closing line and gives the exit status.
counts = {"passed": 0, "failed": 0}


def check(name, cond, detail=""):
    """counts one assertion; prints the failed ones with what was seen; returns cond"""
    if cond:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print("FAIL: %s%s" % (name, (": " + str(detail)[:800]) if detail else ""), flush=True)
    return cond


def fail(what):
    """counts a failure and prints it"""
    counts["failed"] += 1
    print("FAIL: %s" % what, flush=True)


def finish(suite, note=""):
    """prints "SUITE: N passed, M failed NOTE"; returns the exit status (1 when anything failed)"""
    print("%s: %d passed, %d failed%s" % (suite, counts["passed"], counts["failed"], note))
    return 1 if counts["failed"] else 0
