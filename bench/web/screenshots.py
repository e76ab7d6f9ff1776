#!/usr/bin/env python3
"""Screenshots of EduPlan pages in headless Chromium, for looking at what users see.

Speaks the WebDriver protocol to chromedriver directly (standard library only).
Usage: screenshots.py BASE_URL USERNAME PASSWORD OUTDIR PATH [PATH ...]
"""
import base64, json, os, subprocess, sys, time, urllib.request

def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["value"]

def main():
    base, user, password, out = sys.argv[1:5]
    paths = sys.argv[5:]
    os.makedirs(out, exist_ok=True)
    port = 9515
    driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        wd = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,900", "--lang=zh-CN"]}}}}
        session = call("POST", f"{wd}/session", caps)["sessionId"]
        s = f"{wd}/session/{session}"
        call("POST", f"{s}/url", {"url": base + "/login"})
        def find(css):
            return list(call("POST", f"{s}/element", {"using": "css selector", "value": css}).values())[0]
        call("POST", f"{s}/element/{find('input[name=username]')}/value", {"text": user})
        call("POST", f"{s}/element/{find('input[name=password]')}/value", {"text": password})
        call("POST", f"{s}/element/{find('button[type=submit].primary')}/click", {})
        time.sleep(0.5)
        for i, path in enumerate(paths):
            width = 390 if path.endswith("#mobile") else 1280
            call("POST", f"{s}/window/rect", {"width": width, "height": 900})
            call("POST", f"{s}/url", {"url": base + path.replace("#mobile", "")})
            time.sleep(0.4)
            png = base64.b64decode(call("GET", f"{s}/screenshot"))
            name = os.path.join(out, f"{i:02d}.png")
            with open(name, "wb") as f:
                f.write(png)
            print(name, path, call("GET", f"{s}/title"))
        call("DELETE", s)
    finally:
        driver.terminate()

if __name__ == "__main__":
    main()
