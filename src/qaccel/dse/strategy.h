// Search strategies: the two-method interface between the exploration driver
// and a search algorithm (Timeloop style), and the registry that picks one by
// name. A strategy sees only candidates (index vectors) and their scalar
// objective; it never sees the cost model, and the cost model never sees it.
//
// Protocol (driven by explore.cpp):
//   Next()   hands out a candidate to evaluate, or nullopt when the strategy
//            must first get the costs of everything it has handed out (a
//            generation boundary) or is finished (Done()).
//   Report() gives a candidate's objective (lower is better; +infinity for an
//            infeasible point). The driver reports in the order Next() handed
//            candidates out, whatever the number of threads, so a strategy
//            that seeds its randomness only from `seed` is deterministic.
// Adding a strategy = one file defining a factory + one line in kStrategies
// (strategy.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qaccel/dse/design_space.h"

namespace qaccel::dse {

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  virtual std::optional<Candidate> Next() = 0;
  virtual void Report(const Candidate& candidate, double objective) = 0;
  virtual bool Done() const = 0;
  // Upper bound on the candidates this strategy will hand out (progress bar).
  virtual uint64_t ExpectedEvaluations() const = 0;
};

using StrategyFactory = std::unique_ptr<SearchStrategy> (*)(const DesignSpace& space,
                                                            uint64_t seed);

std::unique_ptr<SearchStrategy> MakeStrategy(const std::string& name, const DesignSpace& space,
                                             uint64_t seed);
std::vector<std::string> StrategyNames();
bool IsStrategy(const std::string& name);

// Factories (one per strategy file).
std::unique_ptr<SearchStrategy> MakeExhaustiveStrategy(const DesignSpace& space, uint64_t seed);
std::unique_ptr<SearchStrategy> MakeGeneticStrategy(const DesignSpace& space, uint64_t seed);

}  // namespace qaccel::dse
