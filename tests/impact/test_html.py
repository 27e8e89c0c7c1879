#!/usr/bin/python3
# tests/impact/test_html.py REPORT.html TMPDIR: the HTML report of `yuanzhu impact` in Debian's
# headless Chromium (tests/browser.py, through chromedriver):
#  - the console check is shown first to catch a page that logs an error or is refused a fetch;
#  - the report: its four charts are SVG elements in the DOM (SVGSVGElement, not unknown tags),
#    each with its shapes and a size on the page; no console message; nothing loaded;
#  - the screenshot of each chart has ink in it (its pixels, read with PIL): a chart whose shapes
#    do not render leaves its box nearly blank (its labels alone ink under 4%, a chart over 9%);
#  - printed (print media, A4 PDF): the charts are still shown.
# Screenshots are left in build/impact-report/.  Ends with "html: N passed, M failed".
import base64, io, os, re, sys

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from browser import Browser  # noqa: E402
from checks import check, finish  # noqa: E402

REPORT, T = os.path.abspath(sys.argv[1]), sys.argv[2]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
OUT = os.path.join(ROOT, "build/impact-report")
os.makedirs(OUT, exist_ok=True)
CHARTS = ("chart-target", "chart-cost", "chart-regions", "chart-buckets")


def ink(png, rect, ratio):
    """the share of pixels of rect in the screenshot that are not the page's white, and the number
    of colours there"""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    box = tuple(int(round(v * ratio)) for v in (rect["x"], rect["y"], rect["x"] + rect["width"], rect["y"] + rect["height"]))
    crop = img.crop(box)
    px = list(crop.getdata())
    if not px:
        return 0.0, 0
    dark = sum(1 for r, g, b in px if min(r, g, b) < 235)
    return dark / len(px), len(set(px))


try:
    B = Browser(T, ["--window-size=1100,1000", "--lang=zh-CN"])
except Exception as e:  # noqa
    check("chromium starts under chromedriver", False, e)
    finish("html")
    sys.exit(1)
try:
    # the control page: the console check sees an error and a fetch the page's policy refuses
    control = os.path.join(T, "control.html")
    with open(control, "w") as f:
        f.write('<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                'content="default-src \'none\'"></head><body><img src="http://example.invalid/x.png">'
                '<script>console.error("x")</script></body></html>')
    B.goto("file://" + control)
    msgs = B.console()
    check("the console check sees a refused fetch and a script", len(msgs) >= 1, msgs)

    B.goto("file://" + REPORT)
    check("the report loads", B.wait("document.readyState === 'complete'"))
    charts = B.js("""return arguments[0].map(id => {
        const e = document.getElementById(id);
        if (!e) return [id, false, 0, 0, 0];
        const r = e.getBoundingClientRect();
        return [id, e instanceof SVGSVGElement, e.querySelectorAll('rect, line, path, polyline, circle').length,
                e.querySelectorAll('text').length, Math.round(r.width * r.height)];
    })""", list(CHARTS))
    for cid, is_svg, shapes, texts, area in charts:
        check(cid + " is an SVG element in the DOM", is_svg, charts)
        check(cid + " has its shapes and labels", shapes >= 2 and texts >= 1, (shapes, texts))  # a bar and the axis at least
        check(cid + " takes room on the page", area > 10000, area)
    check("the page has its sections", B.js("return document.querySelectorAll('h2').length") >= 7)
    check("the page says nothing was recorded", "模拟测算：未记录任何决定" in B.js("return document.body.innerText"))
    check("no console message while the report loads", not B.console())
    check("nothing loaded but the page", B.js("return performance.getEntriesByType('resource').length") == 0,
          B.js("return performance.getEntriesByType('resource').map(e => e.name)"))

    # what a person sees: each chart scrolled into view and read from the screenshot
    ratio = B.js("return window.devicePixelRatio") or 1
    for cid in CHARTS:
        rect = B.js("""const e = document.getElementById(arguments[0]); e.scrollIntoView({block: 'start'});
                       const r = e.getBoundingClientRect();
                       return {x: r.x, y: r.y, width: Math.min(r.width, innerWidth - r.x),
                               height: Math.min(r.height, innerHeight - r.y)};""", cid)
        png = B.screenshot()
        with open(os.path.join(OUT, cid + ".png"), "wb") as f:
            f.write(png)
        share, colours = ink(png, rect, ratio)
        if os.environ.get("YZ_HTML_DEBUG"):
            print("%s: %.3f inked, %d colours" % (cid, share, colours))
        check("the screenshot of %s shows a chart" % cid, share > 0.06 and colours >= 3,
              "%.3f of its pixels inked, %d colours" % (share, colours))
    B.js("window.scrollTo(0, 0)")
    with open(os.path.join(OUT, "top.png"), "wb") as f:
        f.write(B.screenshot())

    # printed: the charts stay, and Chromium makes an A4 PDF of the page
    B.wd("POST", B.S + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": "print"}})
    shown = B.js("return arguments[0].map(id => getComputedStyle(document.getElementById(id)).display)", list(CHARTS))
    check("printed, the charts are shown", all(d != "none" for d in shown), shown)
    B.wd("POST", B.S + "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"media": ""}})
    pdf = base64.b64decode(B.wd("POST", B.S + "/print", {"pageRanges": [], "background": True,
                                                         "page": {"width": 21.0, "height": 29.7}}))
    with open(os.path.join(OUT, "report.pdf"), "wb") as f:
        f.write(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    check("it prints as a PDF of a few A4 pages", pdf.startswith(b"%PDF") and 2 <= pages <= 40, pages)
finally:
    B.close()
sys.exit(finish("html", " (screenshots in build/impact-report/)"))
