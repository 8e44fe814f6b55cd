// Pareto front by a sort-and-sweep: after sorting by (x, y, index), a point is
// on the front iff its y is strictly below every y seen before it.
#include "qaccel/dse/pareto.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "qaccel/core/error.h"

namespace qaccel::dse {

std::vector<size_t> ParetoFront(const std::vector<double>& x, const std::vector<double>& y) {
  Check(x.size() == y.size(), "ParetoFront: x and y differ in length");
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (x[a] != x[b]) return x[a] < x[b];
    if (y[a] != y[b]) return y[a] < y[b];
    return a < b;
  });
  std::vector<size_t> front;
  double best_y = std::numeric_limits<double>::infinity();
  for (size_t i : order) {
    if (y[i] < best_y) {
      front.push_back(i);
      best_y = y[i];
    }
  }
  return front;
}

}  // namespace qaccel::dse
