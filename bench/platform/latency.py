#!/usr/bin/env python3
"""Latency of the registry pages and API on the full demo city (issue 2: pupil list and org tree < 100 ms).

Starts `eduplan demo` (release build) on the full city if no URL is given, signs in, and times each endpoint
over many sequential requests from a second process on loopback. Standard library only.

Usage: latency.py [--binary target/release/eduplan] [--db /tmp/eduplan-bench.db] [--requests 200]
"""
import argparse, json, os, statistics, subprocess, sys, time, urllib.request

PASSWORD = "Bench#2021x"

def request(url, token=None, data=None, cookie=None):
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        return r.status, body, r.headers

def timed(url, n, **kw):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        status, body, _ = request(url, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        assert status == 200, (url, status)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1], "n": n, "bytes": len(body)}

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default="target/release/eduplan")
    p.add_argument("--db", default="/tmp/eduplan-bench/demo.db")
    p.add_argument("--port", type=int, default=18099)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--password", default=PASSWORD, help="the demo password (when --db already exists)")
    a = p.parse_args()
    password = a.password
    os.makedirs(os.path.dirname(a.db), exist_ok=True)
    server = subprocess.Popen([a.binary, "demo", "--db", a.db, "--addr", f"127.0.0.1:{a.port}", "--password", password],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "EDUPLAN_LOG": "warn"})
    base = f"http://127.0.0.1:{a.port}"
    try:
        for _ in range(600):
            try:
                if request(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        token = json.loads(request(base + "/api/v1/login", data=json.dumps({"username": "city", "password": password}).encode())[1])["token"]
        schools = json.loads(request(base + "/api/v1/institutions?district=230602&kind=primary&per_page=5", token=token)[1])["items"]
        school = max(schools, key=lambda s: s["pupils"])
        # A web session for the HTML pages.
        req = urllib.request.Request(base + "/login", data=f"username=s{school['code']}&password={urllib.parse.quote(password)}".encode(), method="POST")
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(req)
        except urllib.error.HTTPError as e:
            cookie = e.headers["Set-Cookie"].split(";")[0]
        city_req = urllib.request.Request(base + "/login", data=f"username=city&password={urllib.parse.quote(password)}".encode(), method="POST")
        try:
            opener.open(city_req)
        except urllib.error.HTTPError as e:
            city_cookie = e.headers["Set-Cookie"].split(";")[0]
        results = {
            "api org tree (city)": timed(base + "/api/v1/org", a.requests, token=token),
            f"api pupils of {school['code']} ({school['pupils']} pupils, page 1)": timed(base + f"/api/v1/institutions/{school['code']}/pupils", a.requests, token=token),
            "api pupils, search by name prefix": timed(base + f"/api/v1/institutions/{school['code']}/pupils?q=%E7%8E%8B", a.requests, token=token),
            "page /org (city)": timed(base + "/org", a.requests, cookie=city_cookie),
            f"page /institutions/{school['code']}/pupils": timed(base + f"/institutions/{school['code']}/pupils", a.requests, cookie=cookie),
            "page /plan (city scorecard)": timed(base + "/plan", max(20, a.requests // 10), cookie=city_cookie),
            "api /api/v1/plan/targets (city)": timed(base + "/api/v1/plan/targets", max(20, a.requests // 10), token=token),
        }
        # A registry change shows on the next request: import one population row with another count (a separate
        # process writing the same database, as an operator would), then time the next scorecard request and check
        # that the kindergarten enrolment denominator moved by exactly the change.
        def gross():
            body = json.loads(request(base + "/api/v1/plan/targets", token=token)[1])
            return next(t for t in body if t["id"] == "kg-gross-enrolment")
        base_row = gross()
        csv_path = os.path.join(os.path.dirname(a.db), "population-change.csv")
        cold = []
        for k in range(1, 11):
            with open(csv_path, "w", encoding="utf-8") as f:
                f.write(f"区县代码,年份,年龄,口径,人数\n230602,2021,4,常住,{3000 + k}\n")
            subprocess.run([a.binary, "import", "population", csv_path, "--db", a.db], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "EDUPLAN_LOG": "warn"})
            t0 = time.perf_counter()
            row = gross()
            cold.append((time.perf_counter() - t0) * 1000)
            if k == 1:
                first = row
            assert row["denominator"] == first["denominator"] + (k - 1), (row, first, k)
        cold.sort()
        results["api /api/v1/plan/targets (city) right after a registry change"] = {
            "p50": statistics.median(cold), "p95": cold[-1], "max": cold[-1], "n": len(cold), "bytes": 0}
        results["api /api/v1/plan/targets (city)"]["note"] = "registry facts reused while the registry is unchanged"
        print(f"kg-gross-enrolment denominator before {base_row['denominator']}, after the changes {row['denominator']}: each change showed on the next request")
        print(f"{'endpoint':<58} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>5}")
        for name, r in results.items():
            print(f"{name:<58} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} {r['n']:5d}")
        json.dump(results, open(os.path.join(os.path.dirname(a.db), "latency.json"), "w"), indent=2)
    finally:
        server.terminate()
        server.wait()

if __name__ == "__main__":
    import urllib.parse, urllib.error
    main()
