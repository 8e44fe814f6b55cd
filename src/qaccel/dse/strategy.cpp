// The strategy registry: one line per search strategy.
#include "qaccel/dse/strategy.h"

#include "qaccel/core/error.h"

namespace qaccel::dse {
namespace {

struct StrategyEntry {
  const char* name;
  StrategyFactory factory;
};

constexpr StrategyEntry kStrategies[] = {
    {"exhaustive",
     &MakeExhaustiveStrategy},          // every point, in index order (the source's brute force)
    {"genetic", &MakeGeneticStrategy},  // seeded genetic algorithm
};

}  // namespace

std::vector<std::string> StrategyNames() {
  std::vector<std::string> n;
  for (auto& s : kStrategies) n.push_back(s.name);
  return n;
}

bool IsStrategy(const std::string& name) {
  for (auto& s : kStrategies)
    if (name == s.name) return true;
  return false;
}

std::unique_ptr<SearchStrategy> MakeStrategy(const std::string& name, const DesignSpace& space,
                                             uint64_t seed) {
  for (auto& s : kStrategies)
    if (name == s.name) return s.factory(space, seed);
  std::string names;
  for (auto& n : StrategyNames()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown search strategy '" + name + "' (available: " + names + ")");
}

}  // namespace qaccel::dse
