#!/usr/bin/env python3
"""Anchor for balanced classes: our own re-implementation of anticlust's k-plus objective with the
"local-maximum" exchange method (Papenberg & Klau 2021; Papenberg 2024, "K-plus anticlustering"),
sex as category. Written from the published description, not from anticlust's source.

- Features: every subject score and, for k-plus with moment 2, the squared deviation of each score
  from its mean; each feature standardised (z-scores).
- Objective: the k-means criterion (sum of squared distances of pupils to their class centroid in
  feature space), maximised; equivalently the between-class term Σ n_k ||c_k − c||² is minimised.
- Initial assignment: random, stratified by sex (categories): within each sex, pupils are dealt to
  classes in a random order so that every class gets floor/ceil of each sex.
- Exchange: for each pupil i in turn, evaluate swapping i with every pupil of the same sex in another
  class; perform the best swap if it improves the objective. "local-maximum": repeat full passes
  until a pass makes no swap.

Usage: kplus_anchor.py GEN_BINARY [--seeds 20] [--sizes 600/12,1000/20,1500/30]
Prints one line per cohort and a SUMMARY line per size in the same format as the Rust bench.
"""
import subprocess
import sys
import time

import numpy as np


def read_cohort(binary, n, seed):
    text = subprocess.run([binary, "cohort", str(n), str(seed)], check=True, capture_output=True, text=True).stdout
    lines = text.strip().split("\n")
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    sex = np.array([r[1] for r in rows])
    scores = np.array([[float(x) for x in r[2:]] for r in rows])
    return header[2:], sex, scores


def kplus_features(scores):
    squared = (scores - scores.mean(axis=0)) ** 2
    features = np.hstack([scores, squared])
    return (features - features.mean(axis=0)) / features.std(axis=0)


def stratified_random(sex, k, rng):
    classes = np.empty(len(sex), dtype=np.int64)
    offset = 0
    for value in sorted(set(sex)):
        members = np.flatnonzero(sex == value)
        members = members[rng.permutation(len(members))]
        classes[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)
    return classes


def local_maximum_exchange(features, sex, k, classes):
    n, f = features.shape
    sizes = np.bincount(classes, minlength=k).astype(float)
    sums = np.zeros((k, f))
    np.add.at(sums, classes, features)
    grand = features.mean(axis=0)
    same_sex = {value: np.flatnonzero(sex == value) for value in set(sex)}
    while True:
        swaps = 0
        for i in range(n):
            a = classes[i]
            candidates = same_sex[sex[i]]
            candidates = candidates[classes[candidates] != a]
            if len(candidates) == 0:
                continue
            b = classes[candidates]
            d = features[candidates] - features[i]  # moving j into a, i into b
            centroid_a = sums[a] / sizes[a]
            centroid_b = sums[b] / sizes[b][:, None]
            new_a = centroid_a + d / sizes[a]
            new_b = centroid_b - d / sizes[b][:, None]
            before = sizes[a] * np.sum((centroid_a - grand) ** 2) + sizes[b] * np.sum((centroid_b - grand) ** 2, axis=1)
            after = sizes[a] * np.sum((new_a - grand) ** 2, axis=1) + sizes[b] * np.sum((new_b - grand) ** 2, axis=1)
            delta = after - before  # change of the between-class term: negative = better anticlustering
            best = int(np.argmin(delta))
            if delta[best] < -1e-12:
                j = candidates[best]
                bj = classes[j]
                sums[a] += features[j] - features[i]
                sums[bj] += features[i] - features[j]
                classes[i], classes[j] = bj, a
                swaps += 1
        if swaps == 0:
            return classes


def ranges(scores, classes, k):
    means = np.array([scores[classes == c].mean(axis=0) for c in range(k)])
    sds = np.array([scores[classes == c].std(axis=0) for c in range(k)])  # population SD
    return means.max(axis=0) - means.min(axis=0), sds.max(axis=0) - sds.min(axis=0)


def main():
    binary = sys.argv[1]
    seeds = int(sys.argv[sys.argv.index("--seeds") + 1]) if "--seeds" in sys.argv else 20
    sizes = sys.argv[sys.argv.index("--sizes") + 1] if "--sizes" in sys.argv else "600/12,1000/20,1500/30"
    for size in sizes.split(","):
        n, k = (int(x) for x in size.split("/"))
        times, mean_ranges, sd_ranges, sex_ranges = [], [], [], []
        for seed in range(seeds):
            _, sex, scores = read_cohort(binary, n, seed)
            rng = np.random.default_rng(seed)
            start = time.process_time()
            features = kplus_features(scores)
            classes = local_maximum_exchange(features, sex, k, stratified_random(sex, k, rng))
            elapsed = (time.process_time() - start) * 1e3
            mean_range, sd_range = ranges(scores, classes, k)
            boys = np.bincount(classes[sex == "M"], minlength=k)
            times.append(elapsed)
            mean_ranges.append(mean_range)
            sd_ranges.append(sd_range)
            sex_ranges.append(int(boys.max() - boys.min()))
            print(f"anchor {n}/{k} {seed} {elapsed:.1f} {mean_range.max():.4f} {sd_range.max():.4f} {sex_ranges[-1]}", flush=True)
        times.sort()
        mean_ranges, sd_ranges = np.array(mean_ranges), np.array(sd_ranges)
        print(
            f"SUMMARY anchor {n}/{k}: seeds {seeds}, median {times[len(times) // 2]:.2f} ms, max {times[-1]:.2f} ms, "
            f"mean range per subject {mean_ranges.mean():.4f} (worst {mean_ranges.max():.4f}), "
            f"SD range per subject {sd_ranges.mean():.4f} (worst {sd_ranges.max():.4f}), sex range max {max(sex_ranges)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
