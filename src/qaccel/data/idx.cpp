#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"

namespace qaccel::data {
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> Gunzip(const std::vector<uint8_t>& in, const std::string& file) {
  z_stream zs{};
  Check(inflateInit2(&zs, 15 + 32) == Z_OK, file + ": zlib init failed");
  std::vector<uint8_t> out(in.size() * 4 + 1024);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    if (zs.total_out >= out.size()) {
      if (out.size() >= kMaxInputBytes) {
        inflateEnd(&zs);
        throw Error(file + ": decompresses to more than the input limit of 1 GiB (kMaxInputBytes)");
      }
      out.resize(std::min<uint64_t>(out.size() * 2, kMaxInputBytes));
    }
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw Error(file + ": corrupt or truncated gzip data");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw Error(file + ": truncated gzip data");
    }
  } while (rc != Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

}  // namespace

IdxArray ReadIdx(const fs::path& path) {
  const std::string file = path.string();
  std::vector<uint8_t> b = ReadBinaryFile(path);
  if (b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) b = Gunzip(b, file);
  Check(b.size() >= 4, file + ": too short for an IDX header");
  Check(b[0] == 0 && b[1] == 0,
        file + ": bad IDX magic (first two bytes must be zero; is this an IDX file?)");
  Check(b[2] == 0x08, file + ": IDX element type 0x" + std::to_string(b[2]) +
                          " is not supported (only unsigned byte, 0x08)");
  int ndim = b[3];
  Check(ndim >= 1 && ndim <= 4, file + ": IDX rank " + std::to_string(ndim) + " out of range 1..4");
  Check(b.size() >= 4 + 4 * static_cast<size_t>(ndim), file + ": truncated IDX header");
  IdxArray a;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const uint8_t* p = b.data() + 4 + 4 * i;
    uint32_t d = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    a.dims.push_back(d);
    Check(d == 0 || count <= kMaxInputBytes / d,
          file + ": IDX dimensions multiply past the input limit of 1 GiB (dimension " +
              std::to_string(i) + " is " + std::to_string(d) + ")");
    count *= d;
  }
  size_t off = 4 + 4 * static_cast<size_t>(ndim);
  Check(b.size() - off >= count, file + ": truncated: header promises " + std::to_string(count) +
                                     " bytes of data, file has " + std::to_string(b.size() - off));
  Check(b.size() - off == count, file + ": " + std::to_string(b.size() - off - count) +
                                     " unexpected trailing bytes after the data");
  a.data.assign(b.begin() + static_cast<int64_t>(off), b.end());
  return a;
}

Dataset ReadIdxPair(const fs::path& images, const fs::path& labels, const std::string& name) {
  IdxArray im = ReadIdx(images), lb = ReadIdx(labels);
  Check(im.dims.size() == 3, images.string() +
                                 ": expected an idx3 image file (N x H x W), got rank " +
                                 std::to_string(im.dims.size()));
  Check(lb.dims.size() == 1, labels.string() + ": expected an idx1 label file, got rank " +
                                 std::to_string(lb.dims.size()));
  Check(im.dims[0] == lb.dims[0], images.string() + " has " + std::to_string(im.dims[0]) +
                                      " images but " + labels.string() + " has " +
                                      std::to_string(lb.dims[0]) + " labels");
  Dataset d;
  d.name = name;
  d.n = im.dims[0];
  d.c = 1;
  d.h = im.dims[1];
  d.w = im.dims[2];
  d.pixels = std::move(im.data);
  d.labels = std::move(lb.data);
  int maxl = 0;
  for (uint8_t l : d.labels) maxl = std::max<int>(maxl, l);
  d.num_classes = std::max(10, maxl + 1);
  return d;
}

Dataset Dataset::Head(int64_t count) const {
  if (count <= 0 || count >= n) return *this;
  Dataset d = *this;
  d.n = count;
  d.pixels.resize(static_cast<size_t>(count * image_size()));
  d.labels.resize(static_cast<size_t>(count));
  return d;
}

}  // namespace qaccel::data
