"""Drives Debian's Chromium (/usr/bin/chromium) with Playwright against a streamserver.

Modes:
  basic BASE USER:PASSWORD   the viewer page behind Basic auth (the context's HTTP credentials:
                             the browser answers the 401 challenge, as after a login prompt)
  token BASE TOKEN           the viewer page opened as /?token=…, then a page of its own with
                             <img src="BASE/stream.mjpg?token=…">

Waits (bounded) until every image shows a frame and, for the viewer, the status poll has
filled in the uptime. Prints one JSON line: image sizes, uptime text, and the status of every
response by path.
"""
import json
import sys

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ALL_IMAGES_SHOW = (
    "() => document.images.length > 0 && [...document.images].every(i => i.naturalWidth > 0)"
)
UPTIME_SHOWN = "() => /^(\\d+d )?\\d\\d:\\d\\d:\\d\\d$/.test(document.getElementById('uptime').textContent)"


def main():
    mode, base, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {"responses": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        if mode == "basic":
            user, password = secret.split(":", 1)
            context = browser.new_context(
                http_credentials={"username": user, "password": password}
            )
            url = base + "/"
        else:
            context = browser.new_context()
            url = base + "/?token=" + secret
        page = context.new_page()
        page.on(
            "response",
            lambda r: out["responses"].append([r.url.replace(base, "").split("?")[0], r.status]),
        )
        page.goto(url, timeout=10000)
        page.wait_for_function(ALL_IMAGES_SHOW, timeout=10000)
        page.wait_for_function(UPTIME_SHOWN, timeout=10000)
        out["viewer_images"] = page.evaluate(
            "() => [...document.images].map(i => [i.naturalWidth, i.naturalHeight])"
        )
        out["uptime"] = page.text_content("#uptime")
        out["clients"] = page.text_content("#clients")
        if mode == "token":
            other = context.new_page()
            other.set_content(f'<img src="{base}/stream.mjpg?token={secret}">')
            other.wait_for_function(ALL_IMAGES_SHOW, timeout=10000)
            out["img_page"] = other.evaluate(
                "() => [...document.images].map(i => [i.naturalWidth, i.naturalHeight])"
            )
        browser.close()
    print(json.dumps(out))


main()
