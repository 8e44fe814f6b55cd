// Pareto fronts of two objectives, both minimized.
#pragma once

#include <cstddef>
#include <vector>

namespace qaccel::dse {

// Indices of the non-dominated points, sorted by x ascending. A point is
// dominated if another is <= in both coordinates and < in at least one; of
// several identical points only the lowest index is kept. O(n log n).
std::vector<size_t> ParetoFront(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace qaccel::dse
