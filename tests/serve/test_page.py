#!/usr/bin/python3
# tests/serve/test_page.py: the caseworker's page of `yuanzhu serve` in Debian's headless
# Chromium, driven through chromedriver's WebDriver protocol (plain HTTP, Python's standard
# library): sign in with a token, fill the form, record, read the answer from the DOM and compare
# it with `yuanzhu check`; paste a YAML record; a record with errors; the printed notice (print
# media and a PDF); no console errors, nothing loaded from elsewhere.  Screenshots and the PDF are
# left in build/serve-page/ for a person to look at.  Ends with "N passed, M failed".
import base64, json, os, re, shutil, signal, subprocess, sys, tempfile

from common import ROOT, YZ, check, counts, start_serve

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from browser import ELEM, Browser  # noqa: E402

OUT = os.path.join(ROOT, "build/serve-page")
T = tempfile.mkdtemp(prefix="yz-page.")
os.makedirs(OUT, exist_ok=True)

procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


# ---- the server ----
TOK = os.path.join(T, "tokens")
token = subprocess.run([YZ, "token", "add", "--tokens", TOK, "--operator", "gz-0042", "--role", "caseworker",
                        "--province", "guangdong"], capture_output=True, text=True).stdout.strip()
DB = os.path.join(T, "store.db")
LOG = os.path.join(T, "serve.log")
srv, URL = start_serve(["--listen", "127.0.0.1:0", "--db", DB, "--tokens", TOK, "--web", os.path.join(ROOT, "engine/web")], LOG)
procs.append(srv)
if not check("server starts", URL, open(LOG).read()):
    cleanup()
    sys.exit(1)

# ---- chromedriver and a session (tests/browser.py) ----
try:
    B = Browser(T, ["--window-size=1200,2600", "--lang=zh-CN"])
except Exception as e:  # noqa
    check("chromium starts under chromedriver", False, e)
    cleanup()
    sys.exit(1)
wd, js, wait, console, S = B.wd, B.js, B.wait, B.console, B.S


def find(css):
    v = wd("POST", S + "/element", {"using": "css selector", "value": css})
    if ELEM not in v:
        raise RuntimeError("no element %s: %s" % (css, v))
    return v[ELEM]


def click(css):
    wd("POST", S + "/element/%s/click" % find(css))


def type_in(css, text):
    e = find(css)
    wd("POST", S + "/element/%s/clear" % e)
    wd("POST", S + "/element/%s/value" % e, {"text": text})


def choose(select_css, value):
    click('%s option[value="%s"]' % (select_css, value))


def set_value(css, value):  # date inputs: typing depends on the locale's format
    js("const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change'));", css, value)


def screenshot(name):
    png = B.screenshot()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(png)
    return png


def cli_check(path, as_of):
    r = subprocess.run([YZ, "check", "--province", "guangdong", "--as-of", as_of, "--json", "--no-record", path],
                       capture_output=True, text=True)
    return json.loads(r.stdout)


try:
    # the log channel works: a console error is seen (so "no errors" below means something)
    wd("POST", S + "/url", {"url": URL + "/"})
    js("console.error('probe-' + 42)")
    check("console errors are captured", any("probe-42" in e["message"] for e in console()))

    # ---- sign in ----
    check("the page asks for a token", js("return document.getElementById('login').hidden") is False)
    type_in("#token", "yz_wrong")
    click("#login-form button")
    check("a wrong token is refused in Chinese", wait("!document.getElementById('login-error').hidden") and
          "令牌无效" in js("return document.getElementById('login-error').textContent"))
    errs = [e["message"] for e in console() if e["level"] == "SEVERE"]
    check("the only error: the refused token's 401", len(errs) == 1 and "/v1/whoami" in errs[0] and "401" in errs[0], errs)
    type_in("#token", token)
    click("#login-form button")
    check("signed in", wait("!document.getElementById('apply').hidden && document.querySelectorAll('#province option').length > 0"),
          js("return document.body.innerText")[:400])
    check("shows the operator", "gz-0042" in js("return document.getElementById('who').textContent"))
    provs = js("return [...document.querySelectorAll('#province option')].map(o => o.value)")
    check("only the caseworker's province and its cities", provs and all(p.startswith("guangdong") for p in provs) and "guangdong" in provs, provs)

    # ---- the form ----
    choose("#province", "guangdong")
    set_value("#as-of", "2025-06-15")
    type_in('[name="name"]', "李华")
    type_in('[name="id_number"]', "440106198506150025")
    choose('[name="sex"]', "F")
    set_value('[name="birth_date"]', "1985-06-15")
    choose('[name="retirement_group"]', "female_worker")
    type_in('[name="hukou.region"]', "440106")
    choose('[name="hukou.type"]', "urban")
    choose('[name="household.address_type"]', "urban")
    choose('[name="employment.status"]', "unemployed")
    set_value('[name="employment.since"]', "2024-06-15")
    choose('[name="ability_to_work"]', "full")
    choose('[name="willing_to_work"]', "true")
    choose('[name="unemployment_registration.registered"]', "true")
    set_value('[name="unemployment_registration.registered_on"]', "2024-06-15")
    type_in('[name="unemployment_registration.region"]', "440106")
    choose('[name="disability.certificate"]', "none")
    choose('[name="social_assistance.dibao"]', "false")
    choose('[name="pension.receiving"]', "false")
    set_value('[name="last_contact_on"]', "2025-05-20")
    for path in ("service_refusals", "released_prisoner.released_on", "drug_rehab.completed_on", "mental_rehab.completed_on",
                 "veteran.discharged_on", "land.expropriated"):
        click('input[data-path="%s"]' % path)
    click("#add-member")
    type_in('#members [data-m="id_number"]', "440106198301010010")
    choose('#members [data-m="relation"]', "spouse")
    choose('#members [data-m="employment_status"]', "unemployed")
    for doc in ("id_card", "hukou_book", "employment_card"):
        click('#evidence input[value="%s"]' % doc)
    screenshot("form.png")
    click("#record")
    check("the answer appears", wait("!document.getElementById('result').hidden"), js("return document.getElementById('problems').textContent"))
    conclusion = js("return document.getElementById('r-conclusion').textContent")
    decision = js("return document.getElementById('r-decision').textContent")
    items = js("return [...document.querySelectorAll('#r-categories li')].map(li => [li.className, li.querySelector('.name').textContent])")
    subs = js("return [...document.querySelectorAll('#r-subsidies li')].map(li => [li.className, li.textContent])")
    evidence = js("return [...document.querySelectorAll('#r-evidence li')].map(li => li.textContent)")
    boxes = js("return document.querySelectorAll('#r-evidence input[type=checkbox]').length")
    screenshot("result.png")
    m = re.match(r"([0-9a-f]{16})（序号 (\d+)）", decision)
    check("recorded: the decision id", m, decision)
    show = subprocess.run([YZ, "show", "--json", "--db", DB, m.group(1) if m else "none"], capture_output=True, text=True)
    inp = subprocess.run([YZ, "show", "--input", "--db", DB, m.group(1) if m else "none"], capture_output=True, text=True)
    check("the decision is in the store, by the token's operator",
          show.returncode == 0 and subprocess.run(["sqlite3", DB, "SELECT operator FROM decisions WHERE id='%s'" % (m.group(1) if m else "")],
                                                  capture_output=True, text=True).stdout.strip() == "gz-0042", show.stderr)
    stored = json.loads(show.stdout) if show.returncode == 0 else {}
    rec_file = os.path.join(T, "form-record.json")
    with open(rec_file, "w") as f:
        f.write(inp.stdout)
    want = cli_check(rec_file, "2025-06-15")
    check("the page shows what check decides", stored == want, "stored differs from check")
    check("conclusion", conclusion.startswith("结论：是") and want["target"]["reason"] in conclusion, conclusion)
    met = sorted(n for c, n in items if c == "met")
    want_met = sorted(v["name"] for v in want["categories"].values() if v["status"] == "met")
    check("each category as check has it", met == want_met and len(items) == len(want["categories"]), (met, want_met))
    elig = [t for c, t in subs if c == "eligible"]
    want_elig = [v for v in want["subsidies"].values() if v["status"] == "eligible"]

    def yuan(fen):
        return "{:,}.{:02d} 元".format(fen // 100, fen % 100)
    check("subsidies with amounts as check has them", len(elig) == len(want_elig) and len(subs) == len(want["subsidies"]) and
          all(any(v["name"] in t and yuan(v["amount_fen"]) in t for t in elig) for v in want_elig) and
          any("贷款额度最高 200,000.00 元" in t for t in elig), (elig, [v["name"] for v in want_elig]))
    check("the basis of each granted item", js("return document.querySelector('#r-categories li.met .basis').textContent").startswith("依据：粤人社规〔2023〕11号"))
    check("evidence as a checklist", boxes == len(evidence) and any("家庭成员就业状况证明" in e for e in evidence) and
          any("营业执照" in e for e in evidence), evidence)

    # ---- the printed notice ----
    wd("POST", S + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}})
    shown = js("""return {apply: getComputedStyle(document.getElementById('apply')).display,
                          title: getComputedStyle(document.querySelector('h2.print-only')).display,
                          button: getComputedStyle(document.getElementById('print').parentElement).display,
                          refused: getComputedStyle(document.querySelector('#r-categories li.not_met')).display}""")
    check("print: the notice without the form, buttons or refused items", shown == {"apply": "none", "title": "block", "button": "none", "refused": "none"}, shown)
    screenshot("notice.png")
    wd("POST", S + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": ""}})
    pdf = base64.b64decode(wd("POST", S + "/print", {"pageRanges": [], "background": True}))
    with open(os.path.join(OUT, "notice.pdf"), "wb") as f:
        f.write(pdf)
    check("print: a PDF notice", pdf.startswith(b"%PDF"), pdf[:10])
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", os.path.join(OUT, "notice.pdf"), os.path.join(OUT, "notice-pdf")])

    # ---- pasting YAML, without recording ----
    click("#again")
    click("#tab-paste")
    example = open(os.path.join(ROOT, "schemas/examples/applicant.yaml"), encoding="utf-8").read()
    js("document.getElementById('paste-text').value = arguments[0]", example)
    set_value("#as-of", "2025-06-15")
    js("document.getElementById('result').hidden = true")
    click("#decide")
    check("pasted YAML is decided", wait("!document.getElementById('result').hidden"), js("return document.getElementById('problems').textContent"))
    want = cli_check(os.path.join(ROOT, "schemas/examples/applicant.yaml"), "2025-06-15")
    items = js("return [...document.querySelectorAll('#r-categories li')].map(li => [li.className, li.querySelector('.name').textContent])")
    check("pasted: each category as check has it", sorted(items) == sorted([v["status"], v["name"]] for v in want["categories"].values()), items)
    check("pasted: not recorded", "未记录" in js("return document.getElementById('r-decision').textContent"))

    errs = [e for e in console() if e["level"] == "SEVERE"]
    check("no console errors signing in, filling, recording, printing, pasting", not errs, errs)

    # ---- a record with errors: every violation listed ----
    js("document.getElementById('paste-text').value = arguments[0]",
       open(os.path.join(ROOT, "tests/cli/fixtures/records/violations.yaml"), encoding="utf-8").read())
    js("document.getElementById('result').hidden = true")
    click("#decide")
    check("violations are listed", wait("!document.getElementById('problems').hidden"))
    probs = js("return [...document.querySelectorAll('#problems li')].map(li => li.textContent)")
    check("every violation with its field, in Chinese", len(probs) == 8 and any(p.startswith("户籍地区划代码（hukou.region）") for p in probs), probs)
    screenshot("violations.png")

    # ---- nothing from elsewhere, no console errors ----
    origins = js("return [...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).origin))]")
    check("everything comes from the server itself", origins and all(o == URL for o in origins), origins)
    errs = [e["message"] for e in console() if e["level"] == "SEVERE"]
    check("the only error: the refused record's 422", len(errs) == 1 and "/v1/determinations" in errs[0] and "422" in errs[0], errs)
finally:
    B.close()
    cleanup()

if counts["failed"] == 0:
    shutil.rmtree(T, ignore_errors=True)
else:
    print("kept " + T)
print("page: %d passed, %d failed (screenshots in build/serve-page/)" % (counts["passed"], counts["failed"]))
sys.exit(1 if counts["failed"] else 0)
