"""Drives Debian's Chromium (/usr/bin/chromium) with Playwright through the camera controls page.

  browser.py BASE ID   opens BASE/streams/ID/controls, waits (bounded) for the Brightness row,
                       moves its slider to 0.5 (a change event, as a user's drag ends), and waits
                       for the page to echo what the camera applied.

Prints one JSON line: the control rows, the message line, and Brightness's value cell.
"""
import json
import sys

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def main():
    base, stream = sys.argv[1], sys.argv[2]
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        page = browser.new_page()
        page.goto(base + "/streams/" + stream + "/controls", timeout=10000)
        page.wait_for_selector("#control-Brightness input", timeout=10000)
        out["rows"] = page.eval_on_selector_all("#controls tr", "rows => rows.map(r => r.id)")
        page.eval_on_selector(
            "#control-Brightness input",
            "i => { i.value = '0.5'; i.dispatchEvent(new Event('change')); }",
        )
        page.wait_for_function(
            "() => document.getElementById('message').textContent.startsWith('applied')",
            timeout=10000,
        )
        out["message"] = page.text_content("#message")
        out["value"] = page.text_content("#control-Brightness td.value")
        browser.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
