#!/usr/bin/env python3
"""Reads the SUMMARY lines of the Rust bench and of kplus_anchor.py and prints EduPlan / anchor ratios,
plus ratios against the anchor figures published in issue 5 (R anticlust, k-plus, local maximum).

Usage: ratios.py BALANCE_OUTPUT ANCHOR_OUTPUT
"""
import re
import sys

PUBLISHED = {  # size: (mean range, SD range, CPU seconds) from issue 5 (R anticlust, measured there)
    "600/12": (0.082, 0.071, 0.9),
    "1000/20": (0.070, 0.069, 2.6),
    "1500/30": (0.057, 0.062, 6.0),
}
PATTERN = re.compile(
    r"SUMMARY (balance|anchor) (\d+/\d+): seeds (\d+), median ([\d.]+) ms, max ([\d.]+) ms, "
    r"mean range per subject ([\d.]+) \(worst ([\d.]+)\), SD range per subject ([\d.]+) \(worst ([\d.]+)\)"
)


def read(path):
    found = {}
    for line in open(path, encoding="utf-8"):
        match = PATTERN.search(line)
        if match:
            found[match.group(2)] = {
                "median_ms": float(match.group(4)),
                "mean": float(match.group(6)),
                "sd": float(match.group(8)),
                "mean_worst": float(match.group(7)),
                "sd_worst": float(match.group(9)),
            }
    return found


def main():
    ours, anchor = read(sys.argv[1]), read(sys.argv[2])
    print("size     | EduPlan mean / SD range, median ms | anchor (numpy, same cohorts) | ratio mean, SD, time | published anchor | ratio mean, SD, time")
    for size, (pub_mean, pub_sd, pub_s) in PUBLISHED.items():
        if size not in ours:
            continue
        o = ours[size]
        a = anchor.get(size)
        same = (
            f"{a['mean']:.4f} / {a['sd']:.4f}, {a['median_ms']:.0f} ms | "
            f"{o['mean'] / a['mean']:.2f}, {o['sd'] / a['sd']:.2f}, {o['median_ms'] / a['median_ms']:.3f}"
            if a else "n/a | n/a"
        )
        print(
            f"{size:8} | {o['mean']:.4f} / {o['sd']:.4f}, {o['median_ms']:.1f} ms | {same} | "
            f"{pub_mean:.3f} / {pub_sd:.3f}, {pub_s:.1f} s | "
            f"{o['mean'] / pub_mean:.2f}, {o['sd'] / pub_sd:.2f}, {o['median_ms'] / (pub_s * 1e3):.4f}"
        )


if __name__ == "__main__":
    main()
