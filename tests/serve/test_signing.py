#!/usr/bin/python3
# tests/serve/test_signing.py: the service with signed rulesets and signed checkpoints on a timer
# (serve --ruleset-key/--require-signed, --checkpoint-every/--checkpoint-key/--checkpoint-file):
# only rulesets whose signature holds are used, at start and on SIGHUP; a decision names its
# ruleset's signer; checkpoints are made while it records and once more when it stops, and
# `audit verify --checkpoint` proves the store holds what each covered — the newest of them
# checked with `openssl pkeyutl` as well.  Ends with "N passed, M failed".
import base64, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile, time

from common import ROOT, YZ, check, counts, start_serve

T = tempfile.mkdtemp(prefix="yz-serve-sign.")
HOME = os.path.join(T, "home")
os.makedirs(os.path.join(HOME, "provinces"))
shutil.copytree(os.path.join(ROOT, "rules"), os.path.join(HOME, "rules"))
shutil.copytree(os.path.join(ROOT, "provinces/guangdong"), os.path.join(HOME, "provinces/guangdong"))
shutil.copytree(os.path.join(ROOT, "provinces/zhejiang"), os.path.join(HOME, "provinces/zhejiang"))
for city in os.listdir(os.path.join(HOME, "provinces/guangdong")):  # two provinces, no cities
    if os.path.isdir(os.path.join(HOME, "provinces/guangdong", city)) and city != "tests":
        shutil.rmtree(os.path.join(HOME, "provinces/guangdong", city))
ENV = dict(os.environ, YUANZHU_HOME=HOME)
ENV.pop("YUANZHU_RULESET_KEY", None)
ENV.pop("YUANZHU_CHAIN_KEY", None)
WEB = os.path.join(ROOT, "engine/web")


def run(*args):
    return subprocess.run([YZ, *args], capture_output=True, text=True, env=ENV)


def key(alg, name):
    r = run("key", "new", "--alg", alg, "--out", os.path.join(T, name))
    check("key new " + name, r.returncode == 0, r.stderr)
    return os.path.join(T, name + ".key"), os.path.join(T, name + ".pub")


RS_KEY, RS_PUB = key("ed25519", "policy-office")
CP_KEY, CP_PUB = key("sm2", "checkpoints")
OTHER_KEY, OTHER_PUB = key("ed25519", "someone-else")
r = run("sign", "--key", RS_KEY, "guangdong")
check("guangdong signed", r.returncode == 0 and os.path.exists(os.path.join(HOME, "provinces/guangdong/ruleset.sig")),
      r.stdout + r.stderr)
RS_NAME = re.search(r"ed25519:[0-9a-f]{16}", run("key", "show", RS_PUB).stdout).group(0)

TOK = os.path.join(T, "tokens")
TOKEN = run("token", "add", "--tokens", TOK, "--operator", "gz-0042", "--role", "admin").stdout.strip()
EXAMPLE = os.path.join(ROOT, "schemas/examples/applicant.yaml")
_db = os.path.join(T, "example.db")
_out = run("check", "--province", "guangdong", "--as-of", "2025-06-15", "--json", "--operator", "t", "--db", _db,
           "--ruleset-key", RS_PUB, EXAMPLE)
_id = re.search(r"recorded decision (\w+)", _out.stderr).group(1)
REC = json.loads(run("show", "--input", "--db", _db, _id).stdout)
ID_NUMBER = REC["id_number"]


class Server:
    def __init__(self, db, extra):
        self.log = os.path.join(T, "serve-%d.log" % len(os.listdir(T)))
        self.p, self.url = start_serve(["--listen", "127.0.0.1:0", "--db", db, "--tokens", TOK, "--web", WEB, *extra],
                                       self.log, env=ENV)

    def text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def call(self, method, path, body=None):
        host, port = self.url[7:].rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        h = {"Authorization": "Bearer " + TOKEN}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, data, h)
        resp = c.getresponse()
        raw = resp.read()
        c.close()
        return resp.status, json.loads(raw) if raw else None

    def decide(self, province="guangdong"):
        return self.call("POST", "/v1/determinations", {"province": province, "as_of": "2025-06-15", "record": REC})

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(30)
        return self.p.returncode


def wait_for(cond, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def head(db):
    return int(run("audit", "head", "--db", db).stdout.split(":")[0])


# ---- usage errors ----
for args, want in ((["--checkpoint-every", "5"], "--checkpoint-key"),
                   (["--checkpoint-every", "5", "--checkpoint-key", CP_PUB], "is a public key"),
                   (["--checkpoint-key", CP_KEY], "go with --checkpoint-every"),
                   (["--checkpoint-every", "0", "--checkpoint-key", CP_KEY], "--checkpoint-every"),
                   (["--ruleset-key", os.path.join(T, "nope.pub")], "nope.pub: error: cannot read the key")):
    r = run("serve", "--db", os.path.join(T, "never.db"), "--tokens", TOK, *args)
    code = run("check", "--ruleset-key", os.path.join(T, "nope.pub"), "--province", "zhejiang", "--as-of", "2025-06-15",
               "--no-record", EXAMPLE).returncode if "nope" in want else 2
    check("serve %s: error naming %s, exit %d" % (" ".join(args), want, code), r.returncode == code and want in r.stderr,
          (r.returncode, r.stderr))
check("... and no store was made", not os.path.exists(os.path.join(T, "never.db")))

# ---- a signed ruleset without its key is not used; an unsigned one only when not required ----
DB0 = os.path.join(T, "nokey.db")
s = Server(DB0, [])
check("without --ruleset-key the service starts", s.url is not None, s.text())
st, h = s.call("GET", "/health")
check("... guangdong (signed, its signature unchecked) is not in service, zhejiang is",
      st == 200 and h["rulesets"] == {"in_service": 1, "with_errors": 1} and h["status"] == "degraded" and
      any("guangdong" in p and "signature" in p for p in h["problems"]), h)
st, body = s.decide()
check("... a decision for guangdong is refused (409), nothing recorded", st == 409 and head(DB0) == 0, (st, body))
st, body = s.decide("zhejiang")
check("... zhejiang decides (unsigned, not required)", st == 201, (st, body))
s.stop()

s = Server(os.path.join(T, "required.db"), ["--require-signed", "--ruleset-key", RS_PUB])
st, h = s.call("GET", "/health")
check("--require-signed: only the signed province is in service",
      h["rulesets"] == {"in_service": 1, "with_errors": 1} and
      any("zhejiang" in p and "signed rulesets are required" in p for p in h["problems"]), h)
check("... the log names the signer", re.search(r"rules guangdong: ruleset \w+, signed by " + RS_NAME, s.text()),
      s.text())
s.stop()

r = subprocess.run([YZ, "serve", "--listen", "127.0.0.1:0", "--db", os.path.join(T, "r2.db"), "--tokens", TOK,
                    "--require-signed", "--ruleset-key", OTHER_PUB], capture_output=True, text=True, env=ENV, timeout=60)
check("signed by another key and required: no province usable, exit 3",
      r.returncode == 3 and "no province's rules can be used" in r.stderr, r.stderr)

# a store that trusts a key takes only rulesets it signed, even without --require-signed
DBT = os.path.join(T, "trusting.db")
run("init", "--db", DBT)
r = run("key", "trust", "--db", DBT, RS_PUB)
check("key trust", r.returncode == 0, r.stderr)
s = Server(DBT, ["--ruleset-key", RS_PUB])
st, h = s.call("GET", "/health")
check("a store that trusts a key: the unsigned province is not used",
      h["rulesets"]["in_service"] == 1 and any("zhejiang" in p and "trust" in p for p in h["problems"]), h)
s.stop()

# ---- recording with a signed ruleset and checkpoints on a timer ----
DB = os.path.join(T, "store.db")
CPS = os.path.join(T, "elsewhere", "checkpoints.txt")
os.makedirs(os.path.dirname(CPS))
s = Server(DB, ["--ruleset-key", RS_PUB, "--checkpoint-every", "1", "--checkpoint-key", CP_KEY,
                "--checkpoint-file", CPS])
check("serve with checkpoints starts", s.url is not None, s.text())
st, h = s.call("GET", "/health")
check("/health: checkpoints every second, none yet on an empty store",
      h["checkpoints"]["every_seconds"] == 1 and h["checkpoints"]["made"] == 0 and h["checkpoints"]["last_size"] == 0, h)
ids = []
for i in range(3):
    st, body = s.decide()
    check("decision %d recorded" % i, st == 201, (st, body))
    ids.append(body["decision"]["id"] if st == 201 else None)
n = head(DB)
check("a checkpoint covering all three follows within the period",
      wait_for(lambda: s.call("GET", "/health")[1]["checkpoints"]["last_size"] == n), s.call("GET", "/health")[1])
st, h = s.call("GET", "/health")
check("... /health says when and what", h["checkpoints"]["last_hash"] == run("audit", "head", "--db", DB).stdout.strip().split(":")[1]
      and h["checkpoints"]["failed"] == 0 and h["status"] == "ok", h)
made = h["checkpoints"]["made"]
time.sleep(2.2)
check("no new checkpoint while nothing is recorded", s.call("GET", "/health")[1]["checkpoints"]["made"] == made)
r = run("history", "--db", DB, "--json", ID_NUMBER)
lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
check("each decision names its ruleset's signer", len(lines) == 3 and all(l.get("ruleset_signer") == RS_NAME for l in lines),
      r.stdout + r.stderr)

# a signed file changed: the reload refuses it and the service keeps deciding with the rules it had
with open(os.path.join(HOME, "provinces/guangdong/policy.yaml"), "a", encoding="utf-8") as f:
    f.write("\n# changed after signing\n")
mark = len(s.text())
s.p.send_signal(signal.SIGHUP)
check("SIGHUP after a signed file changed: refused, the old ruleset stays",
      wait_for(lambda: re.search(r"reload: guangdong has errors; still deciding", s.text()[mark:])), s.text()[mark:])
st, h = s.call("GET", "/health")
check("... /health names the changed file", any("policy.yaml" in p for p in h["problems"]), h)
st, body = s.decide()
check("... and still decides with the ruleset it checked", st == 201, (st, body))
rc = s.stop()
check("SIGTERM stops it (exit 0)", rc == 0, s.text())
check("... after a last checkpoint of what it recorded since", re.findall(r"checkpoint: events 1\.\.(\d+)", s.text())[-1] == str(head(DB)),
      s.text())

# the checkpoints kept elsewhere prove the store's prefix; a forger's appended row shows
r = run("audit", "verify", "--db", DB, "--checkpoint", CPS, "--pubkey", CP_PUB)
check("audit verify --checkpoint the service's file: ok, nothing appended since",
      r.returncode == 0 and "covers %d events" % head(DB) in r.stdout and "appended since: nothing" in r.stdout,
      r.stdout + r.stderr)
r = run("audit", "verify", "--db", DB, "--checkpoint", CPS, "--pubkey", OTHER_PUB)
check("... with another key's public key: refused", r.returncode != 0, r.stdout + r.stderr)

# the newest checkpoint's SM2 signature checked by openssl itself
text = open(CPS, encoding="utf-8").read()
last = text.strip().split("\n\n")[-2:]
note, sigline = last[0] + "\n", last[1].strip().splitlines()[0]
blob = base64.b64decode(sigline.split()[-1])
open(os.path.join(T, "note.txt"), "wb").write(note.encode())
open(os.path.join(T, "note.sig"), "wb").write(blob[4:])
r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", CP_PUB, "-rawin", "-digest", "sm3",
                    "-pkeyopt", "distid:1234567812345678", "-in", os.path.join(T, "note.txt"),
                    "-sigfile", os.path.join(T, "note.sig")], capture_output=True, text=True)
check("openssl pkeyutl verifies the service's latest checkpoint (SM2, SM3, distid)",
      r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr + note)

# ---- a keyed chain: recording needs its secret ----
r = run("key", "new", "--alg", "hmac", "--out", os.path.join(T, "chain"))
CK = os.path.join(T, "chain.key")
DBK = os.path.join(T, "keyed.db")
run("init", "--db", DBK, "--chain-key", CK)
r = subprocess.run([YZ, "serve", "--listen", "127.0.0.1:0", "--db", DBK, "--tokens", TOK, "--ruleset-key", RS_PUB],
                   capture_output=True, text=True, env=ENV, timeout=60)
check("a keyed store without --chain-key: refused at start, naming the option",
      r.returncode == 5 and "keyed chain" in r.stderr and "--chain-key" in r.stderr, r.stderr)
s = Server(DBK, ["--ruleset-key", RS_PUB, "--chain-key", CK])
st, body = s.decide("zhejiang")  # guangdong's files were changed above
check("with --chain-key it records", st == 201, (st, body))
s.stop()
r = run("audit", "verify", "--db", DBK, "--chain-key", CK)
check("... and the keyed chain verifies with the secret", r.returncode == 0 and "hmac-sha256" in r.stdout, r.stdout + r.stderr)

print("serve-signing: %d passed, %d failed" % (counts["passed"], counts["failed"]))
shutil.rmtree(T, ignore_errors=True)
sys.exit(1 if counts["failed"] else 0)
