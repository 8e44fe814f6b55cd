// Pareto front on a hand-made point set.
#include <gtest/gtest.h>

#include "qaccel/core/error.h"
#include "qaccel/dse/pareto.h"

using qaccel::dse::ParetoFront;

TEST(DsePareto, HandMadeSet) {
  //              0  1  2  3  4  5  6  7  8
  std::vector<double> x = {1, 2, 2, 3, 4, 5, 5, 6, 1};
  std::vector<double> y = {9, 5, 7, 5, 2, 2, 1, 1, 9};
  // 0 (1,9) front; 8 duplicate of 0 (dropped, higher index); 1 (2,5) front;
  // 2 (2,7) dominated by 1; 3 (3,5) dominated by 1 (equal y, larger x);
  // 4 (4,2) front; 5 (5,2) dominated by 4; 6 (5,1) front; 7 (6,1) dominated by 6.
  EXPECT_EQ(ParetoFront(x, y), (std::vector<size_t>{0, 1, 4, 6}));
}

TEST(DsePareto, EdgeCases) {
  EXPECT_TRUE(ParetoFront({}, {}).empty());
  EXPECT_EQ(ParetoFront({3}, {4}), (std::vector<size_t>{0}));
  // One point dominates all the others.
  EXPECT_EQ(ParetoFront({2, 1, 3}, {2, 1, 3}), (std::vector<size_t>{1}));
  // Anti-correlated: every point is on the front, returned by increasing x.
  EXPECT_EQ(ParetoFront({3, 1, 2}, {1, 3, 2}), (std::vector<size_t>{1, 2, 0}));
  EXPECT_THROW(ParetoFront({1, 2}, {1}), qaccel::Error);
}

TEST(DsePareto, AgreesWithQuadraticDefinition) {
  std::vector<double> x, y;
  for (int i = 0; i < 60; ++i) {
    x.push_back((i * 37) % 17);
    y.push_back((i * 11) % 13);
  }
  auto front = ParetoFront(x, y);
  std::vector<bool> on(x.size(), false);
  for (size_t i : front) on[i] = true;
  for (size_t i = 0; i < x.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < x.size(); ++j) {
      bool weakly = x[j] <= x[i] && y[j] <= y[i];
      bool strictly = x[j] < x[i] || y[j] < y[i];
      bool same_earlier = x[j] == x[i] && y[j] == y[i] && j < i;
      if ((weakly && strictly) || same_earlier) dominated = true;
    }
    EXPECT_EQ(on[i], !dominated) << "point " << i;
  }
}
