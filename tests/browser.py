# tests/browser.py: Debian's headless Chromium driven through chromedriver's WebDriver protocol
# (plain HTTP, Python's standard library), for the tests that look at a page in a real browser:
# the caseworker's page of `yuanzhu serve` (tests/serve/test_page.py) and the HTML report of
# `yuanzhu impact` (tests/impact/test_html.py).
import base64, json, os, socket, subprocess, time, urllib.error, urllib.request

# the flags of ../brief: headless, no sandbox (root), nothing fetched behind the test's back
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ELEM = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Browser:
    """one chromedriver and one Chromium session with a new empty profile under tmp; args are
    further Chromium flags (e.g. --window-size=1200,2600).  Raises when Chromium does not start."""

    def __init__(self, tmp, args=()):
        self.port = free_port()
        self.driver = subprocess.Popen(["chromedriver", "--port=%d" % self.port], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        self.S = None
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base + "/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        flags = FLAGS + ["--user-data-dir=" + os.path.join(tmp, "profile")] + list(args)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"},
                                                 "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": flags}}}}
        try:
            self.S = "/session/" + self.wd("POST", "/session", caps, timeout=120)["sessionId"]
        except Exception:
            self.close()
            raise

    def wd(self, method, path, body=None, timeout=60):
        """a WebDriver call (path from the driver's root: S + "/url" for the session's)"""
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("webdriver %s %s: %s" % (method, path, e.read()[:500]))

    def goto(self, url):
        self.wd("POST", self.S + "/url", {"url": url})

    def js(self, script, *args):
        return self.wd("POST", self.S + "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, cond_js, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.js("return !!(" + cond_js + ")"):
                return True
            time.sleep(0.1)
        return False

    def screenshot(self):
        """the viewport as PNG bytes"""
        return base64.b64decode(self.wd("GET", self.S + "/screenshot"))

    def console(self):
        """the console messages since the last call: [{"level", "message", ...}]"""
        return self.wd("POST", self.S + "/se/log", {"type": "browser"})

    def close(self):
        if self.S:
            try:
                self.wd("DELETE", self.S)
            except Exception:  # noqa
                pass
            self.S = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(20)
            except subprocess.TimeoutExpired:
                self.driver.kill()
