// Design space: TOML parsing/validation, candidate <-> ArchConfig decoding,
// constraints and objectives (see design_space.h and docs/dse.md).
#include "qaccel/dse/design_space.h"

#include <toml++/toml.h>

#include <cmath>
#include <set>

#include "qaccel/accel/dataflow_registry.h"
#include "qaccel/accel/limits.h"
#include "qaccel/core/error.h"
#include "qaccel/core/file_io.h"

namespace qaccel::dse {

Objective Objective::Metric(const std::string& metric) {
  Objective o;
  o.name = metric;
  o.terms = {{&accel::FindResourceMetric(metric), 1.0}};
  return o;
}

double Objective::Value(const accel::NetworkEvaluation& e) const {
  if (terms.size() == 1 && terms[0].weight == 1.0) return terms[0].metric->value(e);
  double v = 1;
  for (const Term& t : terms) v *= std::pow(t.metric->value(e), t.weight);
  return v;
}

void Constraints::SetMax(const std::string& metric, double max) {
  const accel::ResourceMetric& m = accel::FindResourceMetric(metric);
  if (m.source != accel::MetricSource::kConfig) {
    std::string allowed;
    for (const accel::ResourceMetric& r : accel::ResourceMetrics())
      if (r.source == accel::MetricSource::kConfig)
        allowed += (allowed.empty() ? "" : ", ") + std::string(r.name);
    throw Error("'" + metric + "' is not a metric of the configuration alone; constraints are " +
                "checked before simulating (use one of: " + allowed + ")");
  }
  if (!(max >= 0) || !std::isfinite(max))
    throw Error("limits must be finite and >= 0 (0 = unconstrained)");
  std::erase_if(limits, [&](const Limit& l) { return l.metric == &m; });
  if (max > 0) limits.push_back({&m, max});
}

double Constraints::Max(const std::string& metric) const {
  const accel::ResourceMetric& m = accel::FindResourceMetric(metric);
  for (const Limit& l : limits)
    if (l.metric == &m) return l.max;
  return 0;
}

bool Constraints::Satisfied(const accel::NetworkEvaluation& e) const {
  for (const Limit& l : limits)
    if (l.metric->value(e) > l.max) return false;
  return true;
}

std::vector<std::string> DesignSpace::DimensionNames() {
  return {"array_rows",
          "array_cols",
          "dataflow",
          "ifmap_sram_kb",
          "filter_sram_kb",
          "ofmap_sram_kb",
          "bandwidth_words_per_cycle",
          "bandwidth_mode"};
}

std::vector<int> DesignSpace::DimensionSizes() const {
  auto n = [](auto& v) { return static_cast<int>(v.size()); };
  return {n(rows),           n(cols),          n(dataflows),  n(ifmap_sram_kb),
          n(filter_sram_kb), n(ofmap_sram_kb), n(bandwidths), n(bw_modes)};
}

uint64_t DesignSpace::Size() const {
  uint64_t s = 1;
  for (int d : DimensionSizes())
    if (__builtin_mul_overflow(s, static_cast<uint64_t>(d), &s)) return UINT64_MAX;
  return s;
}

uint64_t DesignSpace::Flatten(const Candidate& c) const {
  auto sizes = DimensionSizes();
  Check(c.genes.size() == sizes.size(), "design space: candidate has the wrong number of genes");
  uint64_t idx = 0;
  for (size_t d = 0; d < sizes.size(); ++d) {
    Check(c.genes[d] >= 0 && c.genes[d] < sizes[d], "design space: gene out of range");
    idx = idx * static_cast<uint64_t>(sizes[d]) + static_cast<uint64_t>(c.genes[d]);
  }
  return idx;
}

uint64_t DesignSpace::ArrayKey(const Candidate& c) const {
  const auto sizes = DimensionSizes();
  Flatten(c);  // validates
  uint64_t key = 0;
  for (size_t d = 0; d < 3; ++d)  // rows, cols, dataflow: the first three genes (Decode)
    key = key * static_cast<uint64_t>(sizes[d]) + static_cast<uint64_t>(c.genes[d]);
  return key;
}

Candidate DesignSpace::Unflatten(uint64_t index) const {
  auto sizes = DimensionSizes();
  Candidate c;
  c.genes.resize(sizes.size());
  for (size_t d = sizes.size(); d-- > 0;) {
    c.genes[d] = static_cast<int>(index % static_cast<uint64_t>(sizes[d]));
    index /= static_cast<uint64_t>(sizes[d]);
  }
  return c;
}

accel::ArchConfig DesignSpace::Decode(const Candidate& c, const accel::ArchConfig& base) const {
  Flatten(c);  // validates
  accel::ArchConfig a = base;
  a.array_rows = rows[c.genes[0]];
  a.array_cols = cols[c.genes[1]];
  a.dataflow = dataflows[c.genes[2]];
  a.ifmap_sram_kb = ifmap_sram_kb[c.genes[3]];
  a.filter_sram_kb = filter_sram_kb[c.genes[4]];
  a.ofmap_sram_kb = ofmap_sram_kb[c.genes[5]];
  a.bandwidth_words_per_cycle = bandwidths[c.genes[6]];
  a.bw_mode = bw_modes[c.genes[7]];
  if (word_bytes > 0) a.word_bytes = word_bytes;
  return a;
}

bool DesignSpace::Feasible(const accel::ArchConfig& a) const {
  return constraints.Satisfied(accel::EvaluateWithoutSimulation(a, area));
}

// ---------------------------------------------------------------- parsing --
namespace {

// Sanity bounds on what a space file may ask for: the values one range may
// expand to, and an integer option of the genetic search (population,
// generations, ...). Dimension values have the cost model's limits
// (accel/limits.h).
constexpr size_t kMaxRangeValues = 1000000;
constexpr int64_t kMaxGeneticOption = 1000000;

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void Fail(const toml::node* n, const std::string& key,
                         const std::string& msg) const {
    std::string where = file_;
    if (n && n->source().begin.line > 0) where += ":" + std::to_string(n->source().begin.line);
    throw Error(where + ": key '" + key + "': " + msg);
  }
  [[noreturn]] void FailFile(const std::string& msg) const { throw Error(file_ + ": " + msg); }

  // Rejects keys of `t` not in `allowed` (typos).
  void OnlyKeys(const toml::table& t, const std::string& prefix,
                const std::set<std::string>& allowed) {
    for (auto&& [k, v] : t) {
      std::string key(k.str());
      if (!allowed.count(key)) {
        std::string names;
        for (auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
        Fail(&v, prefix + key, "unknown key (known here: " + names + ")");
      }
    }
  }

  const toml::table* Table(const toml::table& t, const std::string& name, const std::string& key) {
    const toml::node* n = t.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) Fail(n, key, "must be a table");
    return n->as_table();
  }

  // A finite number (TOML's nan and inf are refused).
  double Number(const toml::node& n, const std::string& key) {
    if (auto i = n.as_integer()) return static_cast<double>(i->get());
    if (auto f = n.as_floating_point()) {
      if (!std::isfinite(f->get())) Fail(&n, key, "must be a finite number, got " + Fmt(f->get()));
      return f->get();
    }
    Fail(&n, key, std::string("must be a number, got ") + TypeName(n));
  }
  int64_t Integer(const toml::node& n, const std::string& key) {
    if (auto i = n.as_integer()) return i->get();
    Fail(&n, key, std::string("must be an integer, got ") + TypeName(n));
  }
  std::string String(const toml::node& n, const std::string& key) {
    if (auto s = n.as_string()) return s->get();
    Fail(&n, key, std::string("must be a string, got ") + TypeName(n));
  }
  static const char* TypeName(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::table:
        return "a table";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      default:
        return "a date/time";
    }
  }

  // A numeric dimension: a number, a list of numbers, or a range table
  // {min, max, step} / {min, max, pow2 = true}. Integers only if `integral`.
  // Every value (and a range's min and max) must be in [lo, hi].
  std::vector<double> Values(const toml::node& n, const std::string& key, bool integral, double lo,
                             double hi) {
    std::vector<double> v;
    auto one = [&](const toml::node& e, const std::string& k) {
      double x = integral ? static_cast<double>(Integer(e, k)) : Number(e, k);
      if (x < lo) Fail(&e, k, "value " + Fmt(x) + " is below the minimum " + Fmt(lo));
      if (x > hi)
        Fail(&e, k,
             "value " + Fmt(x) + " is above the maximum " + Fmt(hi) + " (docs/dse.md, limits)");
      return x;
    };
    if (auto arr = n.as_array()) {
      for (size_t i = 0; i < arr->size(); ++i)
        v.push_back(one(*arr->get(i), key + "[" + std::to_string(i) + "]"));
      if (v.empty()) Fail(&n, key, "empty list (give at least one value)");
    } else if (auto t = n.as_table()) {
      OnlyKeys(*t, key + ".", {"min", "max", "step", "pow2"});
      const toml::node* mn = t->get("min");
      const toml::node* mx = t->get("max");
      if (!mn) Fail(&n, key + ".min", "missing (a range needs min and max)");
      if (!mx) Fail(&n, key + ".max", "missing (a range needs min and max)");
      double a = one(*mn, key + ".min"), b = one(*mx, key + ".max");
      bool pow2 = false;
      if (const toml::node* p = t->get("pow2")) {
        auto bv = p->as_boolean();
        if (!bv) Fail(p, key + ".pow2", std::string("must be a boolean, got ") + TypeName(*p));
        pow2 = bv->get();
      }
      const toml::node* st = t->get("step");
      if (pow2 && st) Fail(st, key + ".step", "give either step or pow2, not both");
      if (pow2) {
        for (double x = 1; x <= b; x *= 2)
          if (x >= a) v.push_back(x);
      } else {
        double step = st ? (integral ? static_cast<double>(Integer(*st, key + ".step"))
                                     : Number(*st, key + ".step"))
                         : 1;
        if (step <= 0) Fail(st, key + ".step", "must be positive");
        for (int64_t i = 0;; ++i) {
          double x = a + static_cast<double>(i) * step;
          if (x > b + 1e-9 * std::abs(b)) break;
          v.push_back(x);
          if (v.size() > kMaxRangeValues)
            Fail(&n, key, "range has more than " + std::to_string(kMaxRangeValues) + " values");
        }
      }
      if (v.empty())
        Fail(&n, key,
             "empty range {min = " + Fmt(a) + ", max = " + Fmt(b) + (pow2 ? ", pow2 = true" : "") +
                 "} (no value satisfies it)");
    } else {
      v.push_back(one(n, key));
    }
    return v;
  }

  std::vector<std::string> Strings(const toml::node& n, const std::string& key) {
    std::vector<std::string> v;
    if (auto arr = n.as_array()) {
      for (size_t i = 0; i < arr->size(); ++i)
        v.push_back(String(*arr->get(i), key + "[" + std::to_string(i) + "]"));
      if (v.empty()) Fail(&n, key, "empty list (give at least one value)");
    } else {
      v.push_back(String(n, key));
    }
    return v;
  }

  static std::string Fmt(double x) {
    char b[64];
    std::snprintf(b, sizeof b, "%g", x);
    return b;
  }

 private:
  std::string file_;
};

std::vector<int> ToInts(const std::vector<double>& v) {
  std::vector<int> r;
  r.reserve(v.size());
  for (double x : v) r.push_back(static_cast<int>(x));
  return r;
}

}  // namespace

namespace {

void ParseArray(Reader& r, const toml::table& root, DesignSpace* s) {
  const toml::table* array = r.Table(root, "array", "array");
  if (!array) r.FailFile("missing table [array] (it needs at least rows and cols)");
  r.OnlyKeys(*array, "array.", {"rows", "cols", "dataflows"});
  const toml::node* rows = array->get("rows");
  const toml::node* cols = array->get("cols");
  if (!rows)
    r.Fail(array, "array.rows",
           "missing (e.g. rows = [8, 16, 32] or {min = 8, max = 256, pow2 = true})");
  if (!cols)
    r.Fail(array, "array.cols",
           "missing (e.g. cols = [8, 16, 32] or {min = 8, max = 256, pow2 = true})");
  const auto max_dim = static_cast<double>(accel::kMaxArrayDim);
  s->rows = ToInts(r.Values(*rows, "array.rows", true, 1, max_dim));
  s->cols = ToInts(r.Values(*cols, "array.cols", true, 1, max_dim));
  if (const toml::node* df = array->get("dataflows")) {
    for (auto& name : r.Strings(*df, "array.dataflows")) {
      try {
        s->dataflows.push_back(accel::ParseDataflow(name));
      } catch (const Error& e) {
        r.Fail(df, "array.dataflows", e.what());
      }
    }
  } else {
    s->dataflows = accel::AllDataflows();
  }
}

void ParseMemory(Reader& r, const toml::table& root, DesignSpace* s) {
  const accel::ArchConfig defaults;
  s->ifmap_sram_kb = {defaults.ifmap_sram_kb};
  s->filter_sram_kb = {defaults.filter_sram_kb};
  s->ofmap_sram_kb = {defaults.ofmap_sram_kb};
  s->bandwidths = {defaults.bandwidth_words_per_cycle};
  s->bw_modes = {defaults.bw_mode};
  const toml::table* mem = r.Table(root, "memory", "memory");
  if (!mem) return;
  r.OnlyKeys(*mem, "memory.",
             {"ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "bandwidth_words_per_cycle",
              "bandwidth_mode", "word_bytes"});
  if (auto* n = mem->get("ifmap_sram_kb"))
    s->ifmap_sram_kb = r.Values(*n, "memory.ifmap_sram_kb", false, 1e-9, accel::kMaxSramKb);
  if (auto* n = mem->get("filter_sram_kb"))
    s->filter_sram_kb = r.Values(*n, "memory.filter_sram_kb", false, 1e-9, accel::kMaxSramKb);
  if (auto* n = mem->get("ofmap_sram_kb"))
    s->ofmap_sram_kb = r.Values(*n, "memory.ofmap_sram_kb", false, 1e-9, accel::kMaxSramKb);
  if (auto* n = mem->get("bandwidth_words_per_cycle"))
    s->bandwidths = r.Values(*n, "memory.bandwidth_words_per_cycle", false, 1e-9,
                             accel::kMaxBandwidthWordsPerCycle);
  if (auto* n = mem->get("bandwidth_mode")) {
    s->bw_modes.clear();
    for (auto& m : r.Strings(*n, "memory.bandwidth_mode")) {
      if (m == "calc")
        s->bw_modes.push_back(accel::BandwidthMode::kCalc);
      else if (m == "user")
        s->bw_modes.push_back(accel::BandwidthMode::kUser);
      else
        r.Fail(n, "memory.bandwidth_mode",
               "'" + m + "' is not a bandwidth mode (use \"calc\" or \"user\")");
    }
  }
  if (auto* n = mem->get("word_bytes")) {
    int64_t w = r.Integer(*n, "memory.word_bytes");
    if (w < 1 || w > 8) r.Fail(n, "memory.word_bytes", "must be in [1, 8]");
    s->word_bytes = static_cast<int>(w);
  }
}

// [constraints]: max_<metric> = limit, for metrics of the configuration.
void ParseConstraints(Reader& r, const toml::table& root, DesignSpace* s) {
  const toml::table* c = r.Table(root, "constraints", "constraints");
  if (!c) return;
  for (auto&& [k, v] : *c) {
    const std::string key(k.str()), full = "constraints." + key;
    if (key.rfind("max_", 0) != 0 || !accel::IsResourceMetric(key.substr(4)))
      r.Fail(&v, full,
             "unknown key (use max_<metric>, e.g. max_pes, max_sram_kb, max_area_mm2; metrics: " +
                 accel::ResourceMetricList() + ")");
    const double limit =
        key == "max_pes" ? static_cast<double>(r.Integer(v, full)) : r.Number(v, full);
    try {
      s->constraints.SetMax(key.substr(4), limit);
    } catch (const Error& e) {
      r.Fail(&v, full, e.what());
    }
  }
}

// [objective]: metric = a registered metric or "weighted" with weights.
void ParseObjective(Reader& r, const toml::table& root, DesignSpace* s) {
  const toml::table* o = r.Table(root, "objective", "objective");
  if (!o) return;
  r.OnlyKeys(*o, "objective.", {"metric", "weights"});
  const toml::node* m = o->get("metric");
  if (!m) r.Fail(o, "objective.metric", "missing (a metric or \"weighted\")");
  const std::string metric = r.String(*m, "objective.metric");
  const toml::table* w = r.Table(*o, "weights", "objective.weights");
  if (metric != "weighted") {
    try {
      s->objective = Objective::Metric(metric);
    } catch (const Error&) {
      r.Fail(m, "objective.metric",
             "'" + metric + "' is not an objective (a metric: " + accel::ResourceMetricList() +
                 "; or weighted)");
    }
    if (w) r.Fail(w, "objective.weights", "only used with metric = \"weighted\"");
    return;
  }
  if (!w)
    r.Fail(o, "objective.weights",
           "missing: metric = \"weighted\" needs weights = {total_cycles = .., energy_pj = .., "
           "area_mm2 = ..} (any metrics)");
  s->objective.name = "weighted";
  s->objective.terms.clear();
  for (auto&& [k, v] : *w) {
    const std::string key = "objective.weights." + std::string(k.str());
    const double weight = r.Number(v, key);
    try {
      s->objective.terms.push_back({&accel::FindResourceMetric(std::string(k.str())), weight});
    } catch (const Error& e) {
      r.Fail(&v, key, e.what());
    }
  }
}

void ParseSearch(Reader& r, const toml::table& root, DesignSpace* s) {
  const toml::table* se = r.Table(root, "search", "search");
  if (!se) return;
  r.OnlyKeys(*se, "search.", {"strategy", "seed", "genetic"});
  if (auto* n = se->get("strategy")) s->strategy = r.String(*n, "search.strategy");
  if (auto* n = se->get("seed")) {
    int64_t seed = r.Integer(*n, "search.seed");
    if (seed < 0) r.Fail(n, "search.seed", "must be >= 0");
    s->seed = static_cast<uint64_t>(seed);
  }
  if (const toml::table* g = r.Table(*se, "genetic", "search.genetic")) {
    r.OnlyKeys(
        *g, "search.genetic.",
        {"population", "generations", "mutation_rate", "crossover_rate", "elite", "tournament"});
    auto& go = s->genetic;
    auto int_in = [&](const char* k, int& dst, int64_t lo) {
      if (auto* n = g->get(k)) {
        int64_t v = r.Integer(*n, std::string("search.genetic.") + k);
        if (v < lo || v > kMaxGeneticOption)
          r.Fail(
              n, std::string("search.genetic.") + k,
              "must be in [" + std::to_string(lo) + ", " + std::to_string(kMaxGeneticOption) + "]");
        dst = static_cast<int>(v);
      }
    };
    auto prob = [&](const char* k, double& dst) {
      if (auto* n = g->get(k)) {
        double v = r.Number(*n, std::string("search.genetic.") + k);
        if (v < 0 || v > 1) r.Fail(n, std::string("search.genetic.") + k, "must be in [0, 1]");
        dst = v;
      }
    };
    int_in("population", go.population, 2);
    int_in("generations", go.generations, 1);
    int_in("elite", go.elite, 0);
    int_in("tournament", go.tournament, 1);
    prob("mutation_rate", go.mutation_rate);
    prob("crossover_rate", go.crossover_rate);
    if (go.elite >= go.population)
      r.Fail(g, "search.genetic.elite", "must be smaller than population");
  }
}

void ParseEnergyAndArea(Reader& r, const toml::table& root, DesignSpace* s) {
  if (const toml::table* e = r.Table(root, "energy", "energy")) {
    for (auto&& [k, v] : *e) {
      std::string key = "energy." + std::string(k.str());
      double x = r.Number(v, key);
      bool known = false;
      try {
        known = accel::SetEnergyKnob(s->energy, std::string(k.str()), x);
      } catch (const Error& err) {
        r.Fail(&v, key, err.what());
      }
      if (!known) {
        std::string names;
        for (auto& n : accel::EnergyKnobNames()) names += (names.empty() ? "" : ", ") + n;
        r.Fail(&v, key, "unknown key (known here: " + names + ")");
      }
    }
  }
  if (const toml::table* a = r.Table(root, "area", "area")) {
    r.OnlyKeys(*a, "area.", {"pe_mm2", "sram_mm2_per_kb"});
    for (auto&& [k, v] : *a) {
      std::string key = "area." + std::string(k.str());
      double x = r.Number(v, key);
      try {
        accel::SetAreaKnob(s->area, std::string(k.str()), x);
      } catch (const Error& err) {
        r.Fail(&v, key, err.what());
      }
    }
  }
}

}  // namespace

namespace {

// Design-space files are ASCII. Debian's toml++ (3.3) reaches undefined
// behaviour (an "unreachable" in its Unicode whitespace table) on some
// non-ASCII characters, e.g. U+048C between tokens, found by
// tests/fuzz/fuzz_design_space; so such files are refused before it reads them.
// Returns the 1-based line of the first non-ASCII byte, or 0.
size_t FirstNonAsciiLine(const std::string& text) {
  size_t line = 1;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return line;
    line += c == '\n';
  }
  return 0;
}

}  // namespace

DesignSpace ParseDesignSpace(const std::string& text, const std::string& source_name) {
  Reader r(source_name);
  if (const size_t line = FirstNonAsciiLine(text); line != 0)
    throw Error(source_name + ":" + std::to_string(line) +
                ": a non-ASCII character; design-space files are ASCII (docs/dse.md)");
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw Error(source_name + ":" + std::to_string(e.source().begin.line) +
                ": TOML syntax error: " + std::string(e.description()));
  }
  DesignSpace s;
  s.source = source_name;
  r.OnlyKeys(root, "", {"array", "memory", "constraints", "objective", "search", "energy", "area"});
  ParseArray(r, root, &s);
  ParseMemory(r, root, &s);
  ParseConstraints(r, root, &s);
  ParseObjective(r, root, &s);
  ParseSearch(r, root, &s);
  ParseEnergyAndArea(r, root, &s);
  return s;
}

DesignSpace LoadDesignSpace(const std::filesystem::path& path) {
  return ParseDesignSpace(ReadTextFile(path), path.string());
}

}  // namespace qaccel::dse
