#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "qaccel/core/file_io.h"
#include "qaccel/core/rng.h"
#include "qaccel/core/svg_plot.h"
#include "qaccel/core/tensor.h"

namespace fs = std::filesystem;
using namespace qaccel;

TEST(Tensor, ShapeAndTypedAccess) {
  Tensor t = Tensor::From<int8_t>({2, 3}, {1, -2, 3, -4, 5, -128});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 6u);
  EXPECT_EQ(t.data<int8_t>()[5], -128);
  EXPECT_THROW(t.data<float>(), Error);
  EXPECT_EQ(t.ToFloat()[1], -2.0f);
  EXPECT_THROW(t.Reshaped({4}), Error);
  EXPECT_EQ(t.Reshaped({3, 2}).dim(0), 3);
}

TEST(FileIo, AtomicWriteLeavesNoTemporaryOnFailure) {
  fs::path dir = fs::temp_directory_path() / "qaccel_test_fileio";
  fs::remove_all(dir);
  fs::path p = dir / "out.txt";
  EXPECT_THROW(AtomicWriteStream(p,
                                 [](std::ostream& os) {
                                   os << "partial";
                                   throw Error("boom");
                                 }),
               Error);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(fs::is_empty(dir));
  AtomicWriteText(p, "hello");
  EXPECT_EQ(ReadTextFile(p), "hello");
  EXPECT_THROW(ReadTextFile(dir / "missing"), Error);
  fs::remove_all(dir);
}

TEST(Rng, DeterministicAndUnbiasedRange) {
  Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Below(7);
    EXPECT_EQ(x, b.Below(7));
    EXPECT_LT(x, 7u);
  }
}

TEST(SvgPlot, RendersSeriesAndEscapesText) {
  PlotSpec s;
  s.title = "loss <train>";
  s.series.push_back({"train", {1, 2, 3}, {0.5, 0.3, 0.2}});
  std::string svg = RenderSvg(s);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("polyline"), std::string::npos);
  EXPECT_NE(svg.find("loss &lt;train&gt;"), std::string::npos);
}

// Inputs that never end or are not files are refused at once, naming the path.
TEST(FileIo, RefusesFifosDevicesAndDirectories) {
  fs::path dir = fs::temp_directory_path() / "qaccel_test_fileio_special";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const fs::path& p : {fifo, fs::path("/dev/zero"), dir}) {
    try {
      ReadBinaryFile(p);
      ADD_FAILURE() << p << " was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

TEST(Tensor, ElementCountOverflowIsAnError) {
  EXPECT_THROW(NumElements({int64_t{1} << 40, int64_t{1} << 40}), Error);
  EXPECT_THROW(NumElements({3, -1}), Error);
  EXPECT_EQ(NumElements({int64_t{1} << 31, 4}), int64_t{1} << 33);
}
