// SimulateLayer: validates the design point and the layer, then runs the
// layer on the mapping of its dataflow (the registry, dataflow_registry.h;
// the stages are in simulate_stages.h). Also the non-template pieces of the
// stages and the layer's address tables.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "qaccel/accel/cost_model.h"
#include "qaccel/accel/dataflow.h"
#include "qaccel/accel/dataflow_registry.h"
#include "qaccel/accel/limits.h"
#include "qaccel/accel/simulate_stages.h"
#include "qaccel/core/error.h"

namespace qaccel::accel {

OperandMatrices::OperandMatrices(const LayerSpec& l)
    : m_(l.ofmap_h() * l.ofmap_w()),
      k_(l.window_size()),
      n_(l.num_filters),
      ifmap_h_(l.ifmap_h),
      ifmap_w_(l.ifmap_w),
      channels_(l.channels),
      filter_h_(l.filter_h),
      filter_w_(l.filter_w) {
  const int64_t ow = l.ofmap_w(), oh = l.ofmap_h(), ch = l.channels;
  ofmap_h_ = oh;
  ofmap_w_ = ow;
  stride_h_ = l.stride_h;
  stride_w_ = l.stride_w;
  all_valid_ = (oh - 1) * l.stride_h + l.filter_h <= l.ifmap_h &&
               (ow - 1) * l.stride_w + l.filter_w <= l.ifmap_w;
  ifmap_space_ = l.ifmap_h * l.ifmap_w * ch;
  if (m_ <= kPixelTableMax) {
    pix_row_.resize(m_);
    pix_col_.resize(m_);
    pix_base_.resize(m_);
    for (int64_t p = 0; p < m_; ++p) {
      pix_row_[p] = (p / ow) * l.stride_h;
      pix_col_[p] = (p % ow) * l.stride_w;
      pix_base_[p] = (pix_row_[p] * l.ifmap_w + pix_col_[p]) * ch;
    }
  }
  win_row_.resize(k_);
  win_col_.resize(k_);
  win_ofs_.resize(k_);
  for (int64_t k = 0; k < k_; ++k) {
    win_row_[k] = k / (l.filter_w * ch);
    const int64_t rem = k % (l.filter_w * ch);
    win_col_[k] = rem / ch;
    win_ofs_[k] = (win_row_[k] * l.ifmap_w + win_col_[k]) * ch + rem % ch;
  }
  // Positions of [0, size) under at least one window [o * stride, o * stride
  // + filt): the windows start in increasing order, so each adds what lies
  // past the previous end. O(n_out) (a per-position mark costs n_out * filt,
  // up to 2^46 steps within the limits).
  auto covered = [](int64_t n_out, int64_t stride, int64_t filt, int64_t size) {
    int64_t c = 0, end = 0;
    for (int64_t o = 0; o < n_out; ++o) {
      const int64_t b = std::max(end, o * stride), e = std::min(size, o * stride + filt);
      if (e > b) c += e - b;
      end = std::max(end, e);
    }
    return c;
  };
  ifmap_distinct_ = covered(oh, l.stride_h, l.filter_h, l.ifmap_h) *
                    covered(ow, l.stride_w, l.filter_w, l.ifmap_w) * ch;
}

// The first later tap that tap ta meets, or filter_h x filter_w if none, in
// closed form: taps meet iff their offset (dy, dx) is (i sh, j sw) with
// |i| < oh and |j| < ow. The nearest later one is either in the same filter
// row, sw to the right, or in the row sh below, at the leftmost column j sw
// to the left that |j| < ow allows.
int64_t OperandMatrices::NextMeetingTap(int64_t ta) const {
  const int64_t fw = filter_w_, ky = ta / fw, kx = ta % fw;
  int64_t best = filter_h_ * fw;
  if (ofmap_w_ > 1 && kx + stride_w_ < fw) best = ta + stride_w_;
  if (ofmap_h_ > 1 && ky + stride_h_ < filter_h_) {
    const int64_t j = std::min(ofmap_w_ - 1, kx / stride_w_);
    best = std::min(best, (ky + stride_h_) * fw + kx - j * stride_w_);
  }
  return best;
}

// Two window elements of one channel (a = b mod C) at taps ta, tb sit at
// (t / fw, t % fw). Pixels sit at (i * sh, j * sw), 0 <= i < oh, 0 <= j < ow;
// the elements meet iff their tap offset is such a position difference.
bool OperandMatrices::TapsMeet(int64_t a, int64_t b) const {
  const int64_t ta = a / channels_, tb = b / channels_;
  const int64_t dy = tb / filter_w_ - ta / filter_w_, dx = tb % filter_w_ - ta % filter_w_;
  return dy % stride_h_ == 0 && dx % stride_w_ == 0 && std::abs(dy / stride_h_) < ofmap_h_ &&
         std::abs(dx / stride_w_) < ofmap_w_;
}

// Both predicates below ask whether two window elements of one channel at
// different taps meet. Element k is tap k / C, channel k % C; so instead of
// every element pair they visit every tap pair once, with the channels both
// ranges hold at those taps (an interval): O(taps^2), not O(elements^2 / C).
// The size guards (and so every answer) are the element-pair versions'.
bool OperandMatrices::WindowRangeDistinct(int64_t k0, int64_t k1) const {
  const int64_t ch = channels_, n = k1 - k0;
  if (n <= ch) return true;
  if (n / ch > (int64_t{1} << 20) / n) return false;  // too many pairs to check
  const int64_t t0 = k0 / ch, t1 = (k1 - 1) / ch;
  // Every tap pair inside [t0, t1] shares a channel in the range except
  // (t0, t1) itself, which does iff k0 - t0 C < k1 - t1 C; so one look at
  // each tap's first later meeting tap decides.
  for (int64_t ta = t0; ta < t1; ++ta) {
    const int64_t tb = NextMeetingTap(ta);
    if (tb < t1 || (tb == t1 && (ta > t0 || k0 - t0 * ch < k1 - t1 * ch))) return false;
  }
  return true;
}

bool OperandMatrices::WindowRangesDisjoint(int64_t a0, int64_t a1, int64_t b0, int64_t b1) const {
  if (a0 < b1 && b0 < a1) return false;  // a shared element meets itself
  const int64_t ch = channels_;
  if ((a1 - a0) * ((b1 - b0) / ch + 1) > (int64_t{1} << 20)) return false;
  if (a0 >= a1 || b0 >= b1) return true;
  for (int64_t ta = a0 / ch; ta <= (a1 - 1) / ch; ++ta)
    for (int64_t tb = b0 / ch; tb <= (b1 - 1) / ch; ++tb) {
      // Channels c with ta * C + c in [a0, a1) and tb * C + c in [b0, b1); the
      // ranges are disjoint, so ta == tb leaves none.
      const int64_t lo = std::max({int64_t{0}, a0 - ta * ch, b0 - tb * ch});
      const int64_t hi = std::min({ch, a1 - ta * ch, b1 - tb * ch});
      if (lo < hi && TapsMeet(ta * ch, tb * ch)) return false;
    }
  return true;
}

int64_t CheckedProduct(int64_t a, int64_t b, int64_t limit, const std::string& what) {
  int64_t p = 0;
  if (__builtin_mul_overflow(a, b, &p) || p > limit)
    throw Error(what + " = " + std::to_string(a) + " x " + std::to_string(b) +
                " is above the limit " + std::to_string(limit) +
                " (docs/simulator.md, Input limits)");
  return p;
}

namespace detail {

SimCacheKey MemoKey(MemoKind kind, const ArchConfig& c, const LayerSpec& l, int64_t words,
                    int64_t bw) {
  return {static_cast<int64_t>(kind),
          static_cast<int64_t>(c.dataflow),
          c.array_rows,
          c.array_cols,
          l.ifmap_h,
          l.ifmap_w,
          l.filter_h,
          l.filter_w,
          l.channels,
          l.num_filters,
          l.stride_h,
          l.stride_w,
          words,
          bw,
          0,
          0};
}

LayerBuffers LayerBuffers::Of(const ArchConfig& c) {
  // An operand width other than word_bytes * 8 changes how many elements the
  // buffer holds: 1024 * kB * 8 / bits (1-bit weights: 8x as many).
  auto size = [&](double kb, int bits) {
    if (bits <= 0 || bits == 8 * c.word_bytes)
      return BufferSize::FromBytes(1024.0 * kb, c.word_bytes);
    return BufferSize::FromBytes(1024.0 * kb * 8.0 / bits, 1);
  };
  return {size(c.ifmap_sram_kb, c.act_bits), size(c.filter_sram_kb, c.weight_bits),
          size(c.ofmap_sram_kb, c.act_bits)};
}

// A window takes one new address per position until it closes at `window`
// addresses, or until it has seen the whole block (then later repeats are hits).
WindowHistory BlockWindowHistory(const std::vector<std::pair<int64_t, int64_t>>& blocks,
                                 int64_t W) {
  WindowHistory h;
  int64_t g0 = 0;
  for (const auto& [lp, m] : blocks) {
    const int64_t g1 = g0 + lp * m - 1;
    if (h.open + lp >= W) {
      int64_t x = g0 + (W - h.open) - 1;
      ++h.closed;
      if (W <= lp) {
        const int64_t more = (g1 - x) / W;
        h.closed += more;
        x += more * W;
        h.open = g1 - x;
      } else {
        h.open = std::min(lp, g1 - x);
      }
      h.last_close_index = x;
    } else {
      h.open += lp;
    }
    g0 = g1 + 1;
  }
  return h;
}

void FinishReport(int64_t pe_count, LayerMetrics* m) {
  const double pes = static_cast<double>(pe_count);
  const double tc = static_cast<double>(m->total_cycles);
  if (m->total_cycles > 0) {
    // In double: macs may reach 2^62 (limits.h), macs * 100 would overflow
    // int64. Identical to the integer product while it is below 2^53.
    m->overall_util_pct = static_cast<double>(m->macs) * 100 / (tc * pes);
    m->avg_ifmap_sram_bw = static_cast<double>(m->ifmap_sram_reads) / tc;
    m->avg_filter_sram_bw = static_cast<double>(m->filter_sram_reads) / tc;
    m->avg_ofmap_sram_bw = static_cast<double>(m->ofmap_sram_writes) / tc;
  }
  auto dram_bw = [](int64_t n, int64_t start, int64_t stop) {
    return static_cast<double>(n) / static_cast<double>(stop - start + 1);
  };
  m->avg_ifmap_dram_bw =
      dram_bw(m->ifmap_dram_reads, m->ifmap_dram_start_cycle, m->ifmap_dram_stop_cycle);
  m->avg_filter_dram_bw =
      dram_bw(m->filter_dram_reads, m->filter_dram_start_cycle, m->filter_dram_stop_cycle);
  m->avg_ofmap_dram_bw =
      dram_bw(m->ofmap_dram_writes, m->ofmap_dram_start_cycle, m->ofmap_dram_stop_cycle);
}

}  // namespace detail

namespace {

// Messages are built only when a check fails (this runs once per layer and
// design point).
void ValidateLayer(const LayerSpec& l) {
  auto where = [&] { return "layer '" + l.name + "': "; };
  auto dim = [&](int64_t v, const char* what) {
    if (v < 1 || v > kMaxLayerDim)
      throw Error(where() + what + " must be in [1, " + std::to_string(kMaxLayerDim) + "] (got " +
                  std::to_string(v) + "; docs/simulator.md, Input limits)");
  };
  dim(l.ifmap_h, "IFMAP height");
  dim(l.ifmap_w, "IFMAP width");
  dim(l.filter_h, "filter height");
  dim(l.filter_w, "filter width");
  dim(l.channels, "channels");
  dim(l.num_filters, "number of filters");
  dim(l.stride_h, "stride height");
  dim(l.stride_w, "stride width");
  if (l.filter_h > l.ifmap_h)
    throw Error(where() + "filter height is larger than the IFMAP height");
  if (l.filter_w > l.ifmap_w) throw Error(where() + "filter width is larger than the IFMAP width");
  // Each dimension is <= 2^24, so the products of two fit; the checks name what is too large.
  const int64_t m = l.ofmap_h() * l.ofmap_w(), window = l.filter_h * l.filter_w;
  const int64_t pixels = l.ifmap_h * l.ifmap_w;
  if (m > kMaxOperandDim)
    CheckedProduct(l.ofmap_h(), l.ofmap_w(), kMaxOperandDim, where() + "OFMAP pixels (M)");
  if (window > kMaxOperandDim || window * l.channels > kMaxOperandDim)
    CheckedProduct(window, l.channels, kMaxOperandDim,
                   where() + "window size filter_h x filter_w x channels (K)");
  if (pixels > kMaxIfmapElements || pixels * l.channels > kMaxIfmapElements)
    CheckedProduct(
        CheckedProduct(l.ifmap_h, l.ifmap_w, kMaxIfmapElements, where() + "IFMAP pixels"),
        l.channels, kMaxIfmapElements, where() + "IFMAP elements H x W x channels");
  // M, K <= 2^23 and N <= 2^24: M * K * N could exceed int64.
  const int64_t mk = m * window * l.channels;
  int64_t macs = 0;
  if (__builtin_mul_overflow(mk, l.num_filters, &macs) || macs > (int64_t{1} << 62))
    CheckedProduct(mk, l.num_filters, int64_t{1} << 62, where() + "MACs (M x K) x N");
}

void ValidateConfig(const ArchConfig& c) {
  const char* limits = " (docs/simulator.md, Input limits)";
  if (c.array_rows < 1 || c.array_rows > kMaxArrayDim || c.array_cols < 1 ||
      c.array_cols > kMaxArrayDim)
    throw Error("array rows and columns must be in [1, " + std::to_string(kMaxArrayDim) +
                "] (got " + std::to_string(c.array_rows) + " x " + std::to_string(c.array_cols) +
                ")" + limits);
  if (c.word_bytes < 1 || c.word_bytes > kMaxWordBytes)
    throw Error("word_bytes must be in [1, " + std::to_string(kMaxWordBytes) + "] (got " +
                std::to_string(c.word_bytes) + ")");
  for (double kb : {c.ifmap_sram_kb, c.filter_sram_kb, c.ofmap_sram_kb})
    if (!(kb > 0 && kb <= kMaxSramKb))
      throw Error(
          "SRAM sizes must be > 0 and <= " + std::to_string(static_cast<int64_t>(kMaxSramKb)) +
          " kB (got " + std::to_string(kb) + ")" + limits);
  if (c.bw_mode == BandwidthMode::kUser) {
    const double bw = c.bandwidth_words_per_cycle;
    if (!(bw >= 1 && bw <= kMaxBandwidthWordsPerCycle && bw == std::floor(bw)))
      throw Error("USER bandwidth must be a whole number of words/cycle in [1, " +
                  std::to_string(static_cast<int64_t>(kMaxBandwidthWordsPerCycle)) + "]" + limits);
  }
}

// Validates, then the layer's address tables (they depend on its shape only;
// memoized, sim_cache.h).
std::shared_ptr<const OperandMatrices> ValidatedOperands(const ArchConfig& config,
                                                         const LayerSpec& layer) {
  ValidateConfig(config);
  ValidateLayer(layer);
  return detail::OperandMatricesMemo(
      detail::MemoKey(detail::MemoKind::kOperandMatrices, ArchConfig{}, layer, 0, 0),
      [&] { return std::make_shared<const OperandMatrices>(layer); });
}

}  // namespace

// An upper bound on kMaxSimulatedWork's measure for any dataflow, from the
// shape alone: the mapped matrix is two of M, K, N (the third is T), so
// folds <= max ceil(X / R) ceil(Y / C), fold length <= T + 2R + C, and each
// demand row replays at most max(R, C) addresses per read operand. In double
// (overflow-free; only compared with the limit).
double WorkUpperBound(const ArchConfig& c, const LayerSpec& l) {
  const double dims[3] = {static_cast<double>(l.ofmap_h() * l.ofmap_w()),
                          static_cast<double>(l.window_size()), static_cast<double>(l.num_filters)};
  const double R = c.array_rows, C = c.array_cols;
  double folds = 0, t = 0;
  for (int i = 0; i < 3; ++i) {
    t = std::max(t, dims[i]);
    for (int j = 0; j < 3; ++j)
      if (i != j) folds = std::max(folds, std::ceil(dims[i] / R) * std::ceil(dims[j] / C));
  }
  return folds * (t + 2 * R + C) * (1 + 2 * std::max(R, C));
}

void CheckSimulationLimits(const ArchConfig& config, const LayerSpec& layer) {
  ValidateConfig(config);
  ValidateLayer(layer);
  // Most layers are far below the limit: no need to build their address tables.
  if (config.bw_mode == BandwidthMode::kCalc &&
      WorkUpperBound(config, layer) <= static_cast<double>(kMaxSimulatedWork))
    return;
  const auto op = ValidatedOperands(config, layer);
  GetDataflow(config.dataflow).check_limits(config, layer, *op);
}

LayerMetrics SimulateLayer(const ArchConfig& config, const LayerSpec& layer) {
  if (layer.weight_bits > 0 || layer.act_bits > 0) {  // the layer's own operand widths
    ArchConfig c = config;
    if (layer.weight_bits > 0) c.weight_bits = layer.weight_bits;
    if (layer.act_bits > 0) c.act_bits = layer.act_bits;
    const auto op = ValidatedOperands(c, layer);
    return GetDataflow(c.dataflow).simulate(c, layer, *op);
  }
  const auto op = ValidatedOperands(config, layer);
  return GetDataflow(config.dataflow).simulate(config, layer, *op);
}

}  // namespace qaccel::accel
