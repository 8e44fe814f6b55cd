// Space files that used to hang or be accepted silently: nan and inf values,
// unbounded pow2 ranges, spaces too large to search. Each is one error naming
// the file, the key and the limit (docs/dse.md, "Limits").
#include <gtest/gtest.h>

#include <string>

#include "../common/error_of.h"
#include "qaccel/core/error.h"
#include "qaccel/dse/design_space.h"
#include "qaccel/dse/explore.h"

using namespace qaccel;
using namespace qaccel::dse;

namespace {

using qaccel::testing::ErrorOf;

std::string SpaceError(const std::string& toml) {
  return ErrorOf([&] { ParseDesignSpace(toml, "space.toml"); });
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const std::string kArray = "[array]\nrows = [8]\ncols = [8]\n";

TEST(DseLimits, InfiniteAndNanValuesAreRefused) {
  // {max = inf, pow2 = true} used to loop forever.
  EXPECT_EQ(SpaceError(kArray + "[memory]\nifmap_sram_kb = {min = 1, max = inf, pow2 = true}\n"),
            "space.toml:5: key 'memory.ifmap_sram_kb.max': must be a finite number, got inf");
  EXPECT_TRUE(Has(SpaceError(kArray + "[memory]\nofmap_sram_kb = nan\n"),
                  "key 'memory.ofmap_sram_kb': must be a finite number, got nan"));
  EXPECT_TRUE(Has(SpaceError(kArray + "[constraints]\nmax_area_mm2 = nan\n"),
                  "key 'constraints.max_area_mm2': must be a finite number"));
  EXPECT_TRUE(Has(SpaceError(kArray + "[objective]\nmetric = \"weighted\"\n"
                                      "weights = {total_cycles = nan}\n"),
                  "key 'objective.weights.total_cycles': must be a finite number"));
  EXPECT_TRUE(
      Has(SpaceError(kArray + "[energy]\ndram_read_pj = -inf\n"), "must be a finite number"));
}

TEST(DseLimits, DimensionValuesHaveTheCostModelsLimits) {
  EXPECT_EQ(SpaceError("[array]\nrows = [8, 100000]\ncols = [8]\n"),
            "space.toml:2: key 'array.rows[1]': value 100000 is above the maximum 65536 "
            "(docs/dse.md, limits)");
  EXPECT_TRUE(Has(SpaceError(kArray + "[memory]\nfilter_sram_kb = 1e21\n"),
                  "key 'memory.filter_sram_kb': value 1e+21 is above the maximum"));
  EXPECT_TRUE(Has(SpaceError(kArray + "[memory]\nbandwidth_words_per_cycle = {min = 1, max = 1e30, "
                                      "pow2 = true}\n"),
                  "is above the maximum"));
}

TEST(DseLimits, TooManyDesignPointsIsRefusedBeforeSearching) {
  // 10^12 points: 1000 values in four dimensions.
  const std::string big = R"([array]
rows = {min = 1, max = 1000}
cols = {min = 1, max = 1000}
[memory]
ifmap_sram_kb = {min = 1, max = 1000}
filter_sram_kb = {min = 1, max = 1000}
)";
  const DesignSpace s = ParseDesignSpace(big, "big.toml");
  EXPECT_EQ(s.Size(), 4000000000000ull);  // x 4 dataflows (os, ws, is, rs)
  EXPECT_EQ(ErrorOf([&] { CheckSearchSize(s, "exhaustive"); }),
            "big.toml: strategy 'exhaustive' would evaluate 4000000000000 design points, above "
            "the limit 1048576 per run (docs/dse.md, Limits); use fewer values per dimension or "
            "the genetic strategy with a smaller population x generations");
  EXPECT_EQ(ErrorOf([&] { CheckSearchSize(s, "genetic"); }), "");  // 24 x 20
  // Eight dimensions of 10^6 values would overflow 64 bits: reported, not wrapped.
  DesignSpace huge = s;
  huge.rows.assign(1000000, 8);
  huge.cols.assign(1000000, 8);
  huge.ifmap_sram_kb.assign(1000000, 8);
  huge.filter_sram_kb.assign(1000000, 8);
  EXPECT_TRUE(Has(ErrorOf([&] { CheckSearchSize(huge, "genetic"); }), "more than 2^64 points"));
}

}  // namespace

// Found by tests/fuzz/fuzz_design_space: toml++ 3.3 reaches undefined
// behaviour on U+048C between tokens. Non-ASCII input is refused first.
TEST(DseLimits, NonAsciiCharactersAreRefusedWithTheirLine) {
  const std::string e = SpaceError(kArray + "[obje\xd2\x8ctive]\nmetric = \"cycles\"\n");
  EXPECT_TRUE(Has(e, "space.toml:4")) << e;
  EXPECT_TRUE(Has(e, "non-ASCII")) << e;
  EXPECT_TRUE(Has(SpaceError("# caf\xc3\xa9\n" + kArray), "space.toml:1")) << "comments too";
}
