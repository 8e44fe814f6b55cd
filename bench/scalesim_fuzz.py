#!/usr/bin/python3
"""Random differential test: SCALE-Sim v2 vs `qaccel sim` on random layers.

  SCALESIM_DIR=/path/to/scale-sim-v2 bench/scalesim_fuzz.py [--seed S] [--cases N]
      [--mode CALC|USER|any] [--big] [--qaccel build/qaccel] [--keep DIR]

Each case draws an array (rows x cols), a dataflow, SRAM sizes (1-4 kB, so
prefetch windows close and, in USER mode, the array stalls), a bandwidth and
two conv layers (strides 1-3, ragged edges included), runs both simulators and
compares the three report CSVs byte for byte, printing the differing columns.
Exit status 1 when any case differs.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

REPORTS = ["COMPUTE_REPORT", "BANDWIDTH_REPORT", "DETAILED_ACCESS_REPORT"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--mode", default="any", choices=["CALC", "USER", "any"])
    ap.add_argument("--big", action="store_true", help="larger layers and arrays (slower SCALE-Sim runs)")
    ap.add_argument("--qaccel", default=os.path.join(os.path.dirname(__file__), "..", "build", "qaccel"))
    ap.add_argument("--keep", help="keep the case directories here")
    args = ap.parse_args()
    ss_dir = os.environ.get("SCALESIM_DIR")
    if not ss_dir:
        sys.exit("set SCALESIM_DIR to a scale-sim-v2 checkout")
    rng = random.Random(args.seed)
    root = args.keep or tempfile.mkdtemp(prefix="qaccel_fuzz_")
    bad = 0
    for case in range(args.cases):
        d = os.path.join(root, f"case{args.seed}_{case}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        dims = [4, 8, 16, 32] if args.big else [2, 3, 4, 5, 8, 16]
        rows, cols = rng.choice(dims), rng.choice(dims)
        df = rng.choice(["os", "ws", "is"])
        mode = args.mode if args.mode != "any" else rng.choice(["CALC", "USER"])
        kb = [rng.choice([1, 2, 4]), rng.choice([1, 2, 4]), rng.choice([1, 2])]
        bw = rng.choice([1, 2, 4, 10])
        with open(os.path.join(d, "c.cfg"), "w") as f:
            f.write(f"[general]\nrun_name = r\n[architecture_presets]\nArrayHeight: {rows}\nArrayWidth: {cols}\n"
                    f"IfmapSramSzkB: {kb[0]}\nFilterSramSzkB: {kb[1]}\nOfmapSramSzkB: {kb[2]}\n"
                    f"IfmapOffset: 0\nFilterOffset: 10000000\nOfmapOffset: 20000000\nBandwidth : {bw}\n"
                    f"Dataflow : {df}\nMemoryBanks: 1\n[run_presets]\nInterfaceBandwidth: {mode}\n")
        lines = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"]
        for i in range(2):
            fh, fw = rng.randint(1, 5), rng.randint(1, 5)
            extra, ch, nf = (30, 40, 64) if args.big else (10, 12, 24)
            lines.append(f"l{i}, {rng.randint(fh, fh + extra)}, {rng.randint(fw, fw + extra)}, {fh}, {fw}, "
                         f"{rng.randint(1, ch)}, {rng.randint(1, nf)}, {rng.randint(1, 3)},")
        with open(os.path.join(d, "t.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        ss = subprocess.run(["/usr/bin/python3", "scalesim/scale.py",
                             "-c", f"{d}/c.cfg", "-t", f"{d}/t.csv", "-p", f"{d}/ss"],
                            cwd=ss_dir, env=dict(os.environ, PYTHONPATH="."), capture_output=True, text=True)
        if ss.returncode != 0 or not os.path.exists(f"{d}/ss/r/COMPUTE_REPORT.csv"):
            print(f"case {case}: SCALE-Sim failed, skipped ({ss.stderr.strip().splitlines()[-1:]})")
            continue
        qa = subprocess.run([args.qaccel, "sim", "-c", f"{d}/c.cfg", "-t", f"{d}/t.csv", "-p", f"{d}/qa"],
                            capture_output=True, text=True)
        if qa.returncode != 0:
            print(f"case {case}: qaccel failed: {qa.stderr.strip()}")
            bad += 1
            continue
        ok = True
        for rep in REPORTS:
            a = open(f"{d}/ss/r/{rep}.csv").read().splitlines()
            b = open(f"{d}/qa/r/{rep}.csv").read().splitlines()
            if a == b:
                continue
            ok = False
            header = a[0].split(", ")
            for la, lb in zip(a[1:], b[1:]):
                for h, x, y in zip(header, la.split(", "), lb.split(", ")):
                    if x != y:
                        print(f"case {case} ({df} {mode} {rows}x{cols}) {rep} [{h}]: scalesim {x} qaccel {y}")
        print(f"case {case} ({df} {mode} {rows}x{cols}): {'OK' if ok else 'NOT OK'}")
        bad += 0 if ok else 1
    print(f"{bad} of {args.cases} cases differ")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
