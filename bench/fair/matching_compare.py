#!/usr/bin/env python3
"""Admission: EduPlan's `fair admit --mechanism da` against the Python `matching` package
(HospitalResident, resident-optimal), on random instances from fair_gen.

For each instance this script computes the spec's lottery keys itself (hashlib:
first 8 bytes big-endian of SHA-256(seed ‖ "admit" ‖ 0x00 ‖ id)), builds every school's ranking
(tier high first, then key small first), solves with `matching`, runs the eduplan binary on the
same files, and compares the two assignments applicant by applicant.

`matching` is a benchmark-only dependency (pip install matching), never a runtime one.

Usage: matching_compare.py EDUPLAN GEN_BINARY [--instances 20] [--size 2000/20/4] [--timing 10000/50/5]
"""
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from matching.games import HospitalResident


def key(seed, ident):
    digest = hashlib.sha256(seed + b"admit" + b"\x00" + ident.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def read_instance(directory):
    schools = {}
    for line in (directory / "schools.csv").read_text().strip().split("\n")[1:]:
        code, capacity = line.split(",")
        schools[code] = int(capacity)
    applicants = {}
    for line in (directory / "applicants.csv").read_text().strip().split("\n")[1:]:
        ident, choices, priorities = line.split(",")
        tiers = {}
        for pair in filter(None, priorities.split(";")):
            code, tier = pair.split(":")
            tiers[code] = int(tier)
        applicants[ident] = ([c for c in choices.split(";") if c], tiers)
    return schools, applicants


def solve_with_matching(schools, applicants, seed_hex):
    seed = bytes.fromhex(seed_hex)
    keys = {a: key(seed, a) for a in applicants}
    resident_prefs = {a: choices for a, (choices, _) in applicants.items() if choices}
    hospital_prefs = {}
    for code in schools:
        applying = [a for a, (choices, _) in applicants.items() if code in choices]
        applying.sort(key=lambda a: (-applicants[a][1].get(code, 0), keys[a], a))
        hospital_prefs[code] = applying
    start = time.process_time()
    game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, dict(schools))
    matching = game.solve(optimal="resident")
    elapsed = time.process_time() - start
    result = {a: "" for a in applicants}
    for hospital, residents in matching.items():
        for resident in residents:
            result[resident.name] = hospital.name
    return result, elapsed


def run_eduplan(eduplan, directory, seed_hex):
    out = directory / "out"
    start = time.perf_counter()
    subprocess.run(
        [eduplan, "fair", "admit", "--applicants", str(directory / "applicants.csv"), "--schools",
         str(directory / "schools.csv"), "--mechanism", "da", "--seed", seed_hex, "--out", str(out),
         "--draw-time", "2026-06-01T09:00:00+08:00"],
        check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    result = {}
    for line in (out / "assignment.csv").read_text().strip().split("\n")[1:]:
        ident, school = line.split(",")
        result[ident] = school
    return result, elapsed


def instance(gen, size, seed, directory):
    n, schools, choices = size.split("/")
    subprocess.run([gen, "admission", n, schools, choices, str(seed), str(directory)], check=True)


def main():
    eduplan, gen = sys.argv[1], sys.argv[2]
    count = int(sys.argv[sys.argv.index("--instances") + 1]) if "--instances" in sys.argv else 20
    size = sys.argv[sys.argv.index("--size") + 1] if "--size" in sys.argv else "2000/20/4"
    timing = sys.argv[sys.argv.index("--timing") + 1] if "--timing" in sys.argv else "10000/50/5"
    agree = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            directory = Path(tmp) / f"i{i}"
            instance(gen, size, 1000 + i, directory)
            seed_hex = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
            schools, applicants = read_instance(directory)
            theirs, _ = solve_with_matching(schools, applicants, seed_hex)
            ours, _ = run_eduplan(eduplan, directory, seed_hex)
            same = theirs == ours
            agree += same
            if not same:
                diff = [a for a in applicants if theirs[a] != ours.get(a)]
                print(f"instance {i}: DIFFERENT for {len(diff)} applicants, e.g. {diff[:5]}", flush=True)
        print(f"SUMMARY agreement: {agree}/{count} instances of {size} identical to matching's resident-optimal matching")
        directory = Path(tmp) / "timing"
        instance(gen, timing, 7, directory)
        seed_hex = hashlib.sha256(b"timing").hexdigest()
        schools, applicants = read_instance(directory)
        theirs, their_time = solve_with_matching(schools, applicants, seed_hex)
        ours, our_time = run_eduplan(eduplan, directory, seed_hex)
        print(
            f"SUMMARY timing {timing}: matching {their_time * 1e3:.0f} ms CPU (solve only), eduplan CLI "
            f"{our_time * 1e3:.0f} ms wall (process, parsing, keys, DA, writing, bundle); "
            f"ratio {their_time / our_time:.0f}x; identical: {theirs == ours}"
        )


if __name__ == "__main__":
    main()
