#!/usr/bin/env python3
"""FET yardstick: EduPlan and fet-cl side by side on the example schools of Debian's fet-data.

For every official-mode example file (`*_data_and_timetable.fet` skipped: same data as their base file plus a
locked timetable):
  1. `eduplan timetable import-fet` maps it to eduplan-zouban/1 and writes the *reduced* FET file: exactly the
     imported problem (each leaf students set one student, activities split into single periods, one teacher per
     activity, break times and teacher availability kept, every other constraint dropped, rooms not modelled).
  2. fet-cl solves the reduced file (the like-for-like run) and the original file (for reference: FET with all
     its constraints), each under `timeout`.
  3. `eduplan timetable solve` solves the import and `eduplan timetable check` checks it.
Prints a Markdown table and a summary; writes the raw rows as JSON next to the output directory.

Usage: run_fet.py EDUPLAN_BINARY [--seconds 30] [--out DIR] [--only SUBSTRING] [--limit N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def fet_files():
    listing = subprocess.run(["dpkg", "-L", "fet-data"], capture_output=True, text=True, check=True).stdout
    return sorted(line for line in listing.splitlines() if line.endswith(".fet"))


def run_fet(path, outdir, seconds):
    """fet-cl under timeout: (status, seconds). status: solved | unsolved | error."""
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir, exist_ok=True)
    started = time.time()
    try:
        proc = subprocess.run(
            ["fet-cl", f"--inputfile={path}", f"--outputdir={outdir}", f"--timelimitseconds={seconds}",
             "--htmllevel=0", "--writetimetablesxml=false", "--writetimetableconflicts=false",
             "--writetimetablesstatistics=false", "--writetimetablesdayshorizontal=false",
             "--writetimetablesdaysvertical=false", "--writetimetablestimehorizontal=false",
             "--writetimetablestimevertical=false"],
            capture_output=True, text=True, timeout=seconds + 30)
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        return "unsolved", time.time() - started
    elapsed = time.time() - started
    if "Simulation successful" in output:
        return "solved", elapsed
    if "ime exceeded" in output or "time limit" in output.lower():
        return "unsolved", elapsed
    return "error", elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("eduplan")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--out", default="/tmp/eduplan-fet-bench")
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    files = [f for f in fet_files() if args.only in f]
    if args.limit:
        files = files[: args.limit]
    for number, path in enumerate(files):
        name = path.split("examples/")[1]
        if "_data_and_timetable" in name:
            continue
        base = os.path.join(args.out, f"f{number:03d}")
        instance, notes, reduced = base + ".json", base + ".notes.json", base + ".reduced.fet"
        imported = subprocess.run([args.eduplan, "timetable", "import-fet", path, "--out", instance,
                                   "--notes", notes, "--reduced-fet", reduced], capture_output=True, text=True)
        row = {"file": name}
        if imported.returncode != 0:
            row["import"] = imported.stderr.strip().splitlines()[-1][:160] if imported.stderr else "failed"
            rows.append(row)
            print(f"skip {name}: {row['import']}", file=sys.stderr)
            continue
        note = json.load(open(notes))
        row.update(import_="ok", activities=note["activities"], groups=note["activity_groups"],
                   lessons=note["lessons"], leaves=note["leaves"], teachers=note["teachers"],
                   hard_dropped=sum(h for h, _ in note["dropped"].values()),
                   soft_dropped=sum(s for _, s in note["dropped"].values()),
                   relaxed=sum(note["relaxed"].values()))
        row["fet_reduced"], row["fet_reduced_s"] = run_fet(reduced, base + ".fet-reduced", args.seconds)
        row["fet_original"], row["fet_original_s"] = run_fet(path, base + ".fet-original", args.seconds)
        solution, report = base + ".solution.json", base + ".report.json"
        started = time.time()
        solved = subprocess.run([args.eduplan, "timetable", "solve", instance, "--out", solution, "--seconds",
                                 str(args.seconds), "--report", report], capture_output=True, text=True,
                                timeout=args.seconds * 3 + 60)
        row["eduplan_s"] = time.time() - started
        if solved.returncode == 0:
            checked = subprocess.run([args.eduplan, "timetable", "check", "--json", instance, solution],
                                     capture_output=True, text=True)
            result = json.loads(checked.stdout)
            row["eduplan"] = "solved" if result["valid"] else "INVALID"
            row["violations"] = len(result["violations"])
        else:
            row["eduplan"] = {1: "infeasible", 3: "unsolved"}.get(solved.returncode, f"error {solved.returncode}")
            row["violations"] = None
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    json.dump(rows, open(os.path.join(args.out, "rows.json"), "w"), indent=1)

    print("| file | activities | periods | hard constraints dropped | FET reduced | FET original | EduPlan | check |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("import_") != "ok":
            continue
        fmt = lambda status, secs: f"{status} {secs:.1f} s"
        print(f"| {r['file']} | {r['activities']} | {r['lessons']} | {r['hard_dropped']} | "
              f"{fmt(r['fet_reduced'], r['fet_reduced_s'])} | {fmt(r['fet_original'], r['fet_original_s'])} | "
              f"{fmt(r['eduplan'], r['eduplan_s'])} | {r['violations'] if r['violations'] is not None else '-'} |")
    ok = [r for r in rows if r.get("import_") == "ok"]
    count = lambda key, value: sum(1 for r in ok if r[key] == value)
    print()
    print(f"files: {len(rows)} considered, {len(ok)} imported, {len(rows) - len(ok)} not importable")
    print(f"FET on the reduced files: {count('fet_reduced', 'solved')} solved; "
          f"FET on the originals: {count('fet_original', 'solved')} solved; "
          f"EduPlan: {count('eduplan', 'solved')} solved, {count('eduplan', 'INVALID')} invalid "
          f"(limit {args.seconds} s each)")
    both = [r for r in ok if r["fet_reduced"] == "solved" and r["eduplan"] == "solved"]
    if both:
        ratios = sorted(r["eduplan_s"] / max(r["fet_reduced_s"], 0.01) for r in both)
        print(f"both solved the reduced problem: {len(both)}; EduPlan time ÷ FET time: median "
              f"{ratios[len(ratios) // 2]:.2f}, min {ratios[0]:.2f}, max {ratios[-1]:.2f}")


if __name__ == "__main__":
    main()
