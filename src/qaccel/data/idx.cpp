#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"
#include "qaccel/data/dataset.h"

namespace qaccel::data {
namespace fs = std::filesystem;

namespace {

// At most `limit` bytes of the decompressed stream: the caller knows from
// the IDX header how many it needs, so a gzip bomb costs no more memory than
// the data the header promises (plus one byte, to detect trailing data).
// Concatenated members (RFC 1952, as pigz or `cat a.gz b.gz` write them) are
// one stream.
std::vector<uint8_t> Gunzip(const std::vector<uint8_t>& in, const std::string& file, uint64_t limit) {
  z_stream zs{};
  Check(inflateInit2(&zs, 15 + 32) == Z_OK, file + ": zlib init failed");
  std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(limit, in.size() * 4 + 1024)));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  uint64_t produced = 0;
  while (produced < limit) {
    if (produced == out.size())
      out.resize(static_cast<size_t>(std::min<uint64_t>(out.size() * 2, limit)));
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    const uInt before = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;  // the last member
      Check(inflateReset(&zs) == Z_OK, file + ": zlib reset failed");
      continue;  // the next member
    }
    if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0)) {
      inflateEnd(&zs);
      throw Error(file + (rc == Z_OK ? ": truncated gzip data" : ": corrupt or truncated gzip data"));
    }
  }
  out.resize(static_cast<size_t>(produced));
  inflateEnd(&zs);
  return out;
}

}  // namespace

IdxArray ReadIdx(const fs::path& path) {
  const std::string file = path.string();
  std::vector<uint8_t> b = ReadBinaryFile(path);
  const bool gz = b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b;
  if (gz) {
    // The header first (4 + 4 x rank <= 20 bytes), then exactly what it promises + 1.
    const std::vector<uint8_t> head = Gunzip(b, file, 4 + 4 * 4);
    uint64_t want = 4 + 4 * 4;
    if (head.size() >= 4 && head[3] >= 1 && head[3] <= 4 &&
        head.size() >= 4 + 4 * static_cast<size_t>(head[3])) {
      want = 4 + 4 * static_cast<uint64_t>(head[3]);
      uint64_t count = 1;
      for (int i = 0; i < head[3] && count <= kMaxInputBytes; ++i) {
        const uint8_t* p = head.data() + 4 + 4 * i;
        count *= (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
      }
      want += std::min<uint64_t>(count, kMaxInputBytes) + 1;
    }
    b = Gunzip(b, file, want);  // the checks below report a bad header, truncation or trailing data
  }
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
                                     (gz ? " or more" : "") +
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
