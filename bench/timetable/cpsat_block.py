#!/usr/bin/env python3
"""CP-SAT yardstick: the block ("slot-group") model of an eduplan-zouban/1 instance, solved by OR-Tools.

Same model as EduPlan's block method: each (elective, level) of length p runs in parallel blocks of p slots; every
student takes each of their items in a distinct block of its length; classes per (item, block) hold at most
max_class_size students; per block at most #rooms classes and at most #qualified teachers classes per subject;
minimise the number of teaching classes. Compulsory lessons: teachers pre-assigned round-robin (as a school would),
slots in the non-block periods with no class or teacher clash and no teacher-unavailable slot.

Usage: cpsat_block.py INSTANCE.json [--seconds 120] [--workers 2]
Prints one JSON line: status, objective, lower bound, wall time to first solution and to the end.
ortools is a benchmark-only dependency (pip install ortools), never a runtime one.
"""
import argparse
import json
import math
import sys
import time
from collections import defaultdict

from ortools.sat.python import cp_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("instance")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    inst = json.load(open(args.instance, encoding="utf-8"))
    started = time.time()
    P, D = inst["periods_per_day"], inst["days"]
    blocked = {tuple(s) for s in inst.get("blocked", [])}
    avail = [(d, p) for d in range(D) for p in range(P) if (d, p) not in blocked]

    items = []  # (elective id, level, periods, cap)
    for e in inst["electives"]:
        for level in ("selective", "proficiency"):
            if e["periods"][level] > 0:
                items.append((e["id"], level, e["periods"][level], e["max_class_size"]))
    takes = []  # per student: item indices
    for s in inst["students"]:
        sel = set(s["selective"])
        takes.append([i for i, (eid, level, _, _) in enumerate(items) if (level == "selective") == (eid in sel)])
    demand = [0] * len(items)
    for t in takes:
        for i in t:
            demand[i] += 1
    lower_bound = sum(math.ceil(demand[i] / items[i][3]) for i in range(len(items)) if demand[i] > 0)

    lengths = defaultdict(int)
    for t in takes:
        per = defaultdict(int)
        for i in t:
            per[items[i][2]] += 1
        for length, n in per.items():
            lengths[length] = max(lengths[length], n)
    blocks = [length for length, n in sorted(lengths.items(), reverse=True) for _ in range(n)]
    # Block slots: same greedy layout idea as EduPlan (spread over days).
    free = set(avail)
    block_slots = []
    for b, length in enumerate(blocks):
        chosen = []
        used_days = set()
        for _ in range(length):
            days = sorted(
                {d for d, p in free if d not in used_days} or {d for d, p in free},
                key=lambda d: (-sum(1 for x in free if x[0] == d), (d + b) % D),
            )
            if not days:
                break
            d = days[0]
            slot = min(x for x in free if x[0] == d)
            free.discard(slot)
            used_days.add(d)
            chosen.append(slot)
        block_slots.append(chosen)
    compulsory_slots = sorted(free)

    m = cp_model.CpModel()
    z = {}
    for s, t in enumerate(takes):
        for i in t:
            options = [b for b, length in enumerate(blocks) if length == items[i][2]]
            vs = []
            for b in options:
                v = m.NewBoolVar("")
                z[s, i, b] = v
                vs.append(v)
            m.AddExactlyOne(vs)
        for b in range(len(blocks)):
            vs = [z[s, i, b] for i in t if (s, i, b) in z]
            if len(vs) > 1:
                m.AddAtMostOne(vs)
    rooms = len(inst["rooms"])
    sections = {}
    for i, (eid, level, length, cap) in enumerate(items):
        for b, bl in enumerate(blocks):
            if bl != length or demand[i] == 0:
                continue
            k = m.NewIntVar(0, math.ceil(demand[i] / cap) + 2, "")
            sections[i, b] = k
            m.Add(sum(z[s, i, b] for s in range(len(takes)) if (s, i, b) in z) <= cap * k)
    # The counting bound (also what EduPlan proves): lets CP-SAT close the gap once it reaches it.
    for i in range(len(items)):
        if demand[i] > 0:
            m.Add(sum(k for (ii, b), k in sections.items() if ii == i) >= math.ceil(demand[i] / items[i][3]))
    for b in range(len(blocks)):
        m.Add(sum(k for (i, bb), k in sections.items() if bb == b) <= rooms)
        for e in inst["electives"]:
            qualified = [
                t for t in inst["teachers"]
                if e["id"] in t["subjects"] and not any(tuple(u) in set(block_slots[b]) for u in t.get("unavailable", []))
            ]
            m.Add(sum(k for (i, bb), k in sections.items() if bb == b and items[i][0] == e["id"]) <= len(qualified))
    for e in inst["electives"]:
        cap_periods = sum(t["max_periods"] for t in inst["teachers"] if e["id"] in t["subjects"])
        m.Add(sum(k * items[i][2] for (i, b), k in sections.items() if items[i][0] == e["id"]) <= cap_periods)

    # Compulsory lessons.
    teachers_of = defaultdict(list)
    for t in inst["teachers"]:
        for subj in t["subjects"]:
            teachers_of[subj].append(t)
    load = defaultdict(int)
    units = []
    for c in inst["compulsory"]:
        for a in inst["admin_classes"]:
            cands = [t for t in teachers_of[c["id"]] if load[t["id"]] + c["periods"] <= t["max_periods"]]
            if not cands:
                print(json.dumps({"status": "NO_TEACHER", "subject": c["id"]}))
                return
            t = max(cands, key=lambda t: t["max_periods"] - load[t["id"]])
            load[t["id"]] += c["periods"]
            units.append((a["id"], c["id"], t, c["periods"]))
    x = {}
    for u, (a, c, t, periods) in enumerate(units):
        unavailable = {tuple(s) for s in t.get("unavailable", [])}
        vs = []
        for slot in compulsory_slots:
            if slot in unavailable:
                continue
            v = m.NewBoolVar("")
            x[u, slot] = v
            vs.append(v)
        m.Add(sum(vs) == periods)
    for slot in compulsory_slots:
        by_class = defaultdict(list)
        by_teacher = defaultdict(list)
        for u, (a, c, t, _) in enumerate(units):
            if (u, slot) in x:
                by_class[a].append(x[u, slot])
                by_teacher[t["id"]].append(x[u, slot])
        for vs in list(by_class.values()) + list(by_teacher.values()):
            if len(vs) > 1:
                m.AddAtMostOne(vs)

    m.Minimize(sum(sections.values()))
    built = time.time()

    class Watch(cp_model.CpSolverSolutionCallback):
        def __init__(self):
            super().__init__()
            self.first = None

        def on_solution_callback(self):
            if self.first is None:
                self.first = time.time() - started

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = args.seconds
    solver.parameters.num_workers = args.workers
    solver.parameters.random_seed = 1
    watch = Watch()
    status = solver.Solve(m, watch)
    ended = time.time()
    print(json.dumps({
        "status": solver.StatusName(status),
        "objective": solver.ObjectiveValue() if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None,
        "lower_bound": lower_bound,
        "build_seconds": round(built - started, 3),
        "first_solution_seconds": None if watch.first is None else round(watch.first, 3),
        "total_seconds": round(ended - started, 3),
        "solve_seconds": round(ended - built, 3),
    }))


if __name__ == "__main__":
    sys.exit(main())
