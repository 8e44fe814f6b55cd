// Engine implementation: per-layer Prepare through the op registry, buffer
// planning, the per-sample layer loop, batch parallelism, evaluation.
#include "qaccel/engine/engine.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>

#include "qaccel/core/error.h"
#include "qaccel/core/parallel.h"
#include "qaccel/graph/op_registry.h"
#include "qaccel/graph/quant_params_check.h"
#include "qaccel/kernels/reference/numeric_contract.h"
#include "qaccel/ops/op_helpers.h"

namespace qaccel::engine {
namespace {

constexpr int64_t kAlign = 64;

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
}

void CheckQuantized(const Layer& l) {
  Check(l.quant.quantized, Where(l) +
                               ": the graph is quantized but this layer has no quantization "
                               "parameters (re-run qaccel quantize)");
  Check(l.quant.act_min >= kernels::kInt8Min && l.quant.act_max <= kernels::kInt8Max &&
            l.quant.act_min <= l.quant.act_max,
        Where(l) + ": clamp [act_min, act_max] must lie within int8");
  // The same range checks as a model file gets on load, for graphs built in
  // memory: out-of-contract shifts or zero points are UB in the kernels.
  CheckQuantParams(l, Where(l) + ".quant");
}

}  // namespace

Engine::Engine(Graph graph, EngineOptions options) : graph_(std::move(graph)) {
  graph_.InferShapes();
  graph_.ValidateParameters();
  quantized_ = graph_.quantized();
  in_numel_ = NumElements(graph_.input_shape());
  out_numel_ = NumElements(graph_.output_shape());
  threads_ = options.threads > 0
                 ? options.threads
                 : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  isa_ = options.reference_kernels ? kernels::fast::Isa::kPortable : kernels::fast::SelectedIsa();
  PrepareKernels(options.reference_kernels);
  PrepareFusions(options.reference_kernels);
  PlanBuffers();
  const int64_t fit =
      std::max<int64_t>(1, kMaxChunkArenaBytes / std::max<int64_t>(1, scratch_offset_));
  Check(options.chunk <= fit,
        "engine: a chunk of " + std::to_string(options.chunk) + " images needs " +
            std::to_string(options.chunk * scratch_offset_ >> 20) +
            " MB of activations per "
            "worker for '" +
            graph_.name + "', above the limit of " + std::to_string(kMaxChunkArenaBytes >> 20) +
            " MB; use a chunk of at most " + std::to_string(fit));
  chunk_ = options.chunk > 0 ? options.chunk : std::min(kDefaultChunk, fit);
  PrepareInputTables();
}

// The input layer's value of every pixel value, per channel: the graph's
// input transform (float), then quantized with the input's QuantParams
// (int8; for the default transform at scale 1/255, zero point -128 this is
// exactly pixel - 128).
void Engine::PrepareInputTables() {
  const InputTransform& t = graph_.input_transform;
  const int64_t channels = graph_.input_channels();
  if (!quantized_) {
    input_float_table_ = t.FloatTable(channels);
    return;
  }
  const QuantParams& iq = graph_.layers[0].quant;
  input_int8_table_.resize(static_cast<size_t>(channels) * 256);
  for (int64_t c = 0; c < channels; ++c)
    for (int p = 0; p < 256; ++p)
      input_int8_table_[static_cast<size_t>(c * 256 + p)] =
          static_cast<int8_t>(kernels::QuantizeValue(t.Real(p, c), iq.out_scale, iq.out_zero_point,
                                                     iq.act_min, iq.act_max));
  input_minus_128_ = true;
  for (size_t i = 0; i < input_int8_table_.size(); ++i)
    input_minus_128_ = input_minus_128_ && input_int8_table_[i] == static_cast<int>(i % 256) - 128;
}

// Every layer but the input gets its op's kernel (the op validates the layer
// and picks the fast or the reference variant); the largest scratch wins.
void Engine::PrepareKernels(bool reference_kernels) {
  kernels_.resize(graph_.layers.size());
  for (size_t i = 0; i < graph_.layers.size(); ++i) {
    const Layer& l = graph_.layers[i];
    if (quantized_) CheckQuantized(l);
    if (i == 0) continue;  // the input: filled from the pixels by the engine
    const OpDef& def = FindOp(l.kind);
    Check(def.prepare != nullptr, Where(l) + ": this op has no engine kernel");
    Check(l.inputs.size() <= kMaxOpInputs, Where(l) + ": too many inputs for the engine");
    kernels_[i] = def.prepare(PrepareContext{graph_, i, quantized_, reference_kernels, isa_});
    scratch_bytes_ = std::max(scratch_bytes_, kernels_[i]->scratch_bytes());
  }
}

// Conv [-> identity ReLU] -> avgpool 2x2 stride 2 (unpadded), where nothing
// else reads the conv or the ReLU and the fused kernel covers the conv
// (kernels::fast::ConvPoolApplies): the batched path runs them as one kernel.
void Engine::PrepareFusions(bool reference_kernels) {
  const size_t nl = graph_.layers.size();
  fused_at_.assign(nl, -1);
  if (!quantized_ || reference_kernels || isa_ != kernels::fast::Isa::kAvx512Vnni) return;
  std::vector<int> readers(nl, 0);
  for (const Layer& l : graph_.layers)
    for (int in : l.inputs) ++readers[static_cast<size_t>(in)];
  for (size_t k = 1; k < nl; ++k) {
    const Layer& pool = graph_.layers[k];
    if (pool.kind != OpKind::kAvgPool2d || pool.inputs.size() != 1 || pool.kernel_h != 2 ||
        pool.kernel_w != 2 || pool.stride_h != 2 || pool.stride_w != 2 || pool.pad_h != 0 ||
        pool.pad_w != 0)
      continue;
    const auto mid = static_cast<size_t>(pool.inputs[0]);
    size_t conv = mid;
    if (IsIdentity(mid)) conv = static_cast<size_t>(graph_.layers[mid].inputs[0]);
    const Layer& c = graph_.layers[conv];
    if (c.kind != OpKind::kConv2d || c.inputs.size() != 1 || readers[mid] != 1 ||
        (conv != mid && readers[conv] != 1) || conv == 0)
      continue;
    // Adjacent layers only: the batched loop then skips exactly the fused ones.
    if (k != mid + 1 || (conv != mid && mid != conv + 1)) continue;
    const Layer& src = graph_.layers[static_cast<size_t>(c.inputs[0])];
    const ops::Int8Weights w(c, src.quant);
    FusedConvPool f;
    f.packed = kernels::fast::PackConvInt8(ops::MakeConvShape(c, src.out_shape), w.requant,
                                           w.weight, w.bias, c.quant.weight_bits == 1, isa_);
    if (!kernels::fast::ConvPoolApplies(f.packed)) continue;
    f.conv = conv;
    f.mid = mid;
    f.pool = k;
    f.lo = pool.quant.act_min;
    f.hi = pool.quant.act_max;
    scratch_bytes_ = std::max(scratch_bytes_, kernels::fast::ScratchBytes(f.packed));
    fused_at_[conv] = static_cast<int>(fused_.size());
    fused_.push_back(std::move(f));
  }
}

// A quantized ReLU right after a conv / linear whose clamp already starts at
// or above the zero point (the quantizer folded it: act_min = max(-128, zp))
// outputs exactly its input: max(q, zp) = q for every q in [act_min, act_max].
// Such a layer gets no buffer and no kernel call; it reads as its producer.
bool Engine::IsIdentity(size_t i) const {
  if (!quantized_ || i == 0) return false;
  const Layer& l = graph_.layers[i];
  if (l.kind != OpKind::kRelu || l.inputs.size() != 1) return false;
  const Layer& in = graph_.layers[static_cast<size_t>(l.inputs[0])];
  return (in.kind == OpKind::kConv2d || in.kind == OpKind::kLinear) &&
         in.quant.act_min >= in.quant.out_zero_point;
}

// Liveness over the layer order, first-fit offsets; the kernel scratch
// follows the activations. Identity layers share their producer's block.
void Engine::PlanBuffers() {
  const size_t nl = graph_.layers.size();
  const int64_t elem = quantized_ ? 1 : 4;
  identity_.assign(nl, false);
  std::vector<size_t> root(nl);
  for (size_t i = 0; i < nl; ++i) {
    identity_[i] = IsIdentity(i);
    root[i] = identity_[i] ? root[static_cast<size_t>(graph_.layers[i].inputs[0])] : i;
  }
  std::vector<size_t> last_use(nl);
  for (size_t i = 0; i < nl; ++i) {
    last_use[i] = i;
    for (int in : graph_.layers[i].inputs)
      last_use[root[static_cast<size_t>(in)]] =
          std::max(last_use[root[static_cast<size_t>(in)]], i);
  }
  last_use[root[nl - 1]] = nl;  // the output stays live to the end
  // A fused conv + pool writes the pool's buffer image by image while later
  // images of the chunk still read the conv's input: keep it live till then.
  for (const FusedConvPool& f : fused_) {
    const size_t src = root[static_cast<size_t>(graph_.layers[f.conv].inputs[0])];
    last_use[src] = std::max(last_use[src], f.pool);
  }
  numel_.resize(nl);
  offset_.resize(nl);
  bytes_.resize(nl);
  struct Block {
    int64_t begin, end;
    size_t layer;
  };
  std::vector<Block> live;
  for (size_t i = 0; i < nl; ++i) {
    numel_[i] = NumElements(graph_.layers[i].out_shape);
    const int64_t bytes = (numel_[i] * elem + kAlign - 1) / kAlign * kAlign;
    unplanned_bytes_ += bytes;
    bytes_[i] = bytes;
    if (identity_[i]) {
      offset_[i] = offset_[root[i]];
    } else {
      std::sort(live.begin(), live.end(),
                [](const Block& a, const Block& b) { return a.begin < b.begin; });
      int64_t pos = 0;
      for (const Block& b : live) {
        if (b.begin - pos >= bytes) break;
        pos = std::max(pos, b.end);
      }
      offset_[i] = pos;
      arena_bytes_ = std::max(arena_bytes_, pos + bytes);
      live.push_back({pos, pos + bytes, i});
    }
    // Free the outputs whose last consumer is this layer.
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Block& b) { return last_use[b.layer] == i; }),
               live.end());
  }
  scratch_offset_ = arena_bytes_;
  arena_bytes_ += (scratch_bytes_ + kAlign - 1) / kAlign * kAlign;
}

namespace {
// A worker's arena, kept by its thread between runs (the calling thread runs
// one worker, so a batch-1 run allocates nothing after the first); contents
// are undefined on entry.
uint8_t* ThreadArena(int64_t bytes) {
  thread_local std::unique_ptr<uint8_t[]> buf;
  thread_local int64_t cap = 0;
  if (cap < bytes) {
    buf.reset(new uint8_t[static_cast<size_t>(bytes + kAlign)]);
    cap = bytes;
  }
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.get()) + kAlign - 1) / kAlign *
                                    kAlign);
}
}  // namespace

// The batch's images over core/parallel's ParallelFor (the one thread pool of
// the library), each worker with its own arena.
template <typename Fn>
void Engine::ParallelOverBatch(int64_t n, Fn&& fn) const {
  ParallelFor(n, threads_, [&](int64_t i, int) { fn(i, ThreadArena(arena_bytes_)); });
}

template <typename Fn>
void Engine::ParallelOverChunks(int64_t n, Fn&& fn) const {
  const int64_t chunks = (n + chunk_ - 1) / chunk_;
  const int64_t bytes = scratch_offset_ * chunk_ + (scratch_bytes_ + kAlign - 1) / kAlign * kAlign;
  ParallelFor(chunks, threads_, [&](int64_t c, int) {
    const int64_t first = c * chunk_;
    fn(first, std::min(chunk_, n - first), ThreadArena(bytes));
  });
}

std::vector<float> Engine::Run(const uint8_t* pixels, int64_t n) const {
  std::vector<float> logits(static_cast<size_t>(n * out_numel_));
  if (!quantized_) {
    ParallelOverBatch(n, [&](int64_t i, uint8_t* arena) {
      RunOneFloat(pixels + i * in_numel_, arena, logits.data() + i * out_numel_, nullptr);
    });
    return logits;
  }
  std::vector<int8_t> q = RunInt8(pixels, n);
  const QuantParams& oq = graph_.layers.back().quant;
  for (size_t i = 0; i < q.size(); ++i)
    logits[i] = oq.out_scale * static_cast<float>(q[i] - oq.out_zero_point);
  return logits;
}

// Chunks of chunk_ images over the threads; every image's result is the
// same whatever the chunk or thread count (exact integer kernels, no state
// shared between images).
std::vector<int8_t> Engine::RunInt8(const uint8_t* pixels, int64_t n) const {
  Check(quantized_,
        "RunInt8: graph '" + graph_.name + "' is not quantized (run qaccel quantize first)");
  std::vector<int8_t> out(static_cast<size_t>(n * out_numel_));
  ParallelOverChunks(n, [&](int64_t first, int64_t m, uint8_t* arena) {
    RunChunkInt8(pixels + first * in_numel_, m, arena, out.data() + first * out_numel_);
  });
  return out;
}

void Engine::RunInt8Exits(
    const uint8_t* pixels, int64_t n, const std::vector<char>& check,
    const std::function<bool(int, int64_t, const int8_t*, int64_t)>& stop) const {
  Check(quantized_, "RunInt8Exits: graph '" + graph_.name + "' is not quantized");
  Check(check.size() == graph_.layers.size(), "RunInt8Exits: one check flag per layer");
  ParallelOverChunks(n, [&](int64_t first, int64_t m, uint8_t* arena) {
    RunChunkInt8(pixels + first * in_numel_, m, arena, nullptr, first, &check, &stop);
  });
}

void Engine::RunChunkInt8(
    const uint8_t* pixels, int64_t m, uint8_t* arena, int8_t* logits, int64_t first,
    const std::vector<char>* check,
    const std::function<bool(int, int64_t, const int8_t*, int64_t)>* stop) const {
  auto buf = [&](size_t j) { return reinterpret_cast<int8_t*>(arena + offset_[j] * chunk_); };
  if (input_minus_128_) {  // the default transform: q = pixel - 128 = pixel XOR 0x80
    // Locals, not members: the byte stores may alias `this` for the compiler,
    // which then reloads in_numel_ per byte and keeps the loop scalar (it was
    // ~8% of an early-exit LeNet run).
    const int64_t n = in_numel_, stride = bytes_[0];
    int8_t* dst = buf(0);
    for (int64_t j = 0; j < m; ++j) {
      const uint8_t* px = pixels + j * n;
      auto* q = reinterpret_cast<uint8_t*>(dst + j * stride);
      for (int64_t k = 0; k < n; ++k) q[k] = static_cast<uint8_t>(px[k] ^ 0x80u);
    }
  } else {
    for (int64_t j = 0; j < m; ++j)
      FillInput(pixels + j * in_numel_, input_int8_table_, buf(0) + j * bytes_[0]);
  }
  std::array<char, 1024> active_store;
  std::vector<char> active_heap;
  char* active = active_store.data();
  if (m > static_cast<int64_t>(active_store.size())) {
    active_heap.assign(static_cast<size_t>(m), 1);
    active = active_heap.data();
  } else {
    std::fill(active, active + m, 1);
  }
  int64_t running = m;
  size_t skip_to = 0;  // layers < skip_to were computed by a fused conv + pool
  for (size_t i = 1; i < graph_.layers.size() && running > 0; ++i) {
    const Layer& l = graph_.layers[i];
    const int fi = fused_at_[i];
    if (fi >= 0 && !(check && ((*check)[i] || (*check)[fused_[static_cast<size_t>(fi)].mid]))) {
      const FusedConvPool& f = fused_[static_cast<size_t>(fi)];
      const auto src = static_cast<size_t>(l.inputs[0]);
      for (int64_t j = 0; j < m; ++j)
        if (active[j])
          kernels::fast::RunConvInt8Pool2x2(f.packed, buf(src) + j * bytes_[src], f.lo, f.hi,
                                            buf(f.pool) + j * bytes_[f.pool],
                                            arena + scratch_offset_ * chunk_);
      skip_to = f.pool + 1;
      i = f.pool - 1;  // resume at the pool: its kernel is skipped, its check is not
      continue;
    }
    KernelIO<int8_t> io;
    std::array<int64_t, kMaxOpInputs> in_stride{};
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const auto src = static_cast<size_t>(l.inputs[k]);
      io.in[k] = buf(src);
      in_stride[k] = bytes_[src];
    }
    io.out = buf(i);
    io.scratch = arena + scratch_offset_ * chunk_;
    if (!identity_[i] && i >= skip_to) {
      if (running == m) {
        kernels_[i]->EvalInt8Batch(io, m, in_stride, bytes_[i]);
      } else {  // each run of consecutive active images
        for (int64_t a = 0; a < m;) {
          if (!active[a]) {
            ++a;
            continue;
          }
          int64_t b = a;
          while (b < m && active[b]) ++b;
          KernelIO<int8_t> part = io;
          for (size_t k = 0; k < l.inputs.size(); ++k) part.in[k] = io.in[k] + a * in_stride[k];
          part.out = io.out + a * bytes_[i];
          kernels_[i]->EvalInt8Batch(part, b - a, in_stride, bytes_[i]);
          a = b;
        }
      }
    }
    if (check && (*check)[i])
      for (int64_t j = 0; j < m; ++j)
        if (active[j] &&
            (*stop)(static_cast<int>(i), first + j, buf(i) + j * bytes_[i], numel_[i])) {
          active[j] = 0;
          --running;
        }
  }
  if (!logits) return;
  const size_t last = graph_.layers.size() - 1;
  for (int64_t j = 0; j < m; ++j)
    std::memcpy(logits + j * out_numel_, buf(last) + j * bytes_[last],
                static_cast<size_t>(out_numel_));
}

void Engine::RunTapped(const uint8_t* pixels,
                       const std::function<void(int, const float*, int64_t)>& tap) const {
  Check(!quantized_, "RunTapped: graph '" + graph_.name + "' is quantized; use RunTappedInt8");
  std::vector<uint8_t> arena(static_cast<size_t>(arena_bytes_));
  std::vector<float> logits(static_cast<size_t>(out_numel_));
  RunOneFloat(pixels, arena.data(), logits.data(), &tap);
}

void Engine::RunTappedInt8(const uint8_t* pixels,
                           const std::function<void(int, const int8_t*, int64_t)>& tap) const {
  Check(quantized_, "RunTappedInt8: graph '" + graph_.name + "' is not quantized");
  std::vector<uint8_t> arena(static_cast<size_t>(arena_bytes_));
  std::vector<int8_t> logits(static_cast<size_t>(out_numel_));
  RunOneInt8(pixels, arena.data(), logits.data(), &tap);
}

template <typename T>
T* Engine::EvalLayer(uint8_t* arena, size_t i) const {
  auto buf = [&](size_t j) { return reinterpret_cast<T*>(arena + offset_[j]); };
  const Layer& l = graph_.layers[i];
  KernelIO<T> io;
  for (size_t k = 0; k < l.inputs.size(); ++k) io.in[k] = buf(static_cast<size_t>(l.inputs[k]));
  io.out = buf(i);
  io.scratch = arena + scratch_offset_;
  if (identity_[i]) return io.out;  // the producer's buffer, already the result
  if constexpr (std::is_same_v<T, float>)
    kernels_[i]->EvalFloat(io);
  else
    kernels_[i]->EvalInt8(io);
  return io.out;
}

template <typename T>
void Engine::RunLayers(uint8_t* arena, T* logits,
                       const std::function<void(int, const T*, int64_t)>* tap) const {
  if (tap) (*tap)(0, reinterpret_cast<const T*>(arena + offset_[0]), numel_[0]);
  for (size_t i = 1; i < graph_.layers.size(); ++i) {
    const T* out = EvalLayer<T>(arena, i);
    if (tap) (*tap)(static_cast<int>(i), out, numel_[i]);
  }
  std::memcpy(logits, arena + offset_[graph_.layers.size() - 1],
              static_cast<size_t>(out_numel_) * sizeof(T));
}

template <typename T>
int Engine::RunLayersUntil(uint8_t* arena,
                           const std::function<bool(int, const T*, int64_t)>& stop) const {
  for (size_t i = 1; i < graph_.layers.size(); ++i)
    if (stop(static_cast<int>(i), EvalLayer<T>(arena, i), numel_[i])) return static_cast<int>(i);
  return static_cast<int>(graph_.layers.size()) - 1;
}

int Engine::RunInt8Until(const uint8_t* pixels, uint8_t* arena,
                         const std::function<bool(int, const int8_t*, int64_t)>& stop) const {
  Check(quantized_, "RunInt8Until: graph '" + graph_.name + "' is not quantized");
  FillInput(pixels, input_int8_table_, reinterpret_cast<int8_t*>(arena + offset_[0]));
  return RunLayersUntil(arena, stop);
}

int Engine::RunFloatUntil(const uint8_t* pixels, uint8_t* arena,
                          const std::function<bool(int, const float*, int64_t)>& stop) const {
  Check(!quantized_, "RunFloatUntil: graph '" + graph_.name + "' is quantized");
  FillInput(pixels, input_float_table_, reinterpret_cast<float*>(arena + offset_[0]));
  return RunLayersUntil(arena, stop);
}

// layer 0 = table[c][pixel] for each channel c (tables from PrepareInputTables).
template <typename T>
void Engine::FillInput(const uint8_t* pixels, const std::vector<T>& table, T* in) const {
  const int64_t channels = graph_.input_channels(), size = graph_.input_channel_size();
  for (int64_t c = 0; c < channels; ++c) {
    const T* row = table.data() + c * 256;
    for (int64_t k = c * size; k < (c + 1) * size; ++k) in[k] = row[pixels[k]];
  }
}

void Engine::RunOneFloat(const uint8_t* pixels, uint8_t* arena, float* logits,
                         const std::function<void(int, const float*, int64_t)>* tap) const {
  FillInput(pixels, input_float_table_, reinterpret_cast<float*>(arena + offset_[0]));
  RunLayers(arena, logits, tap);
}

void Engine::RunOneInt8(const uint8_t* pixels, uint8_t* arena, int8_t* logits,
                        const std::function<void(int, const int8_t*, int64_t)>* tap) const {
  FillInput(pixels, input_int8_table_, reinterpret_cast<int8_t*>(arena + offset_[0]));
  RunLayers(arena, logits, tap);
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int64_t ArgMax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

EvalResult Evaluate(const Graph& graph, const data::Dataset& data, const Graph* reference,
                    int64_t limit, EngineOptions options) {
  const int64_t n = (limit > 0 && limit < data.n) ? limit : data.n;
  Check(n > 0, "evaluate: the data set '" + data.name + "' is empty");
  Engine engine(graph, options);
  Check(engine.input_numel() == data.image_size(),
        "evaluate: model '" + graph.name + "' expects input " + ShapeToString(graph.input_shape()) +
            " but data set '" + data.name + "' has images of " + std::to_string(data.c) + "x" +
            std::to_string(data.h) + "x" + std::to_string(data.w));
  // A label the model cannot output would silently count as wrong.
  const int64_t classes = NumElements(graph.output_shape());
  for (int64_t i = 0; i < n; ++i)
    Check(data.labels[static_cast<size_t>(i)] < classes,
          "evaluate: data set '" + data.name + "': label " +
              std::to_string(data.labels[static_cast<size_t>(i)]) + " of image " +
              std::to_string(i) + " is not one of model '" + graph.name + "''s " +
              std::to_string(classes) + " classes");
  EvalResult r;
  r.samples = n;
  r.arena_bytes = engine.arena_bytes();
  r.threads = engine.threads();
  const double c0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = engine.Run(data.pixels.data(), n);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu_seconds = ProcessCpuSeconds() - c0;
  r.images_per_second = r.seconds > 0 ? static_cast<double>(n) / r.seconds : 0;
  const int64_t k = engine.num_outputs();
  for (int64_t i = 0; i < n; ++i)
    if (ArgMax(logits.data() + i * k, k) == data.labels[static_cast<size_t>(i)]) ++r.correct;
  r.accuracy = static_cast<double>(r.correct) / static_cast<double>(n);
  if (reference) {
    Engine ref(*reference, options);
    Check(ref.num_outputs() == k && ref.input_numel() == engine.input_numel(),
          "evaluate: the reference model '" + reference->name +
              "' has a different input or output shape");
    std::vector<float> ref_logits = ref.Run(data.pixels.data(), n);
    for (int64_t i = 0; i < n; ++i)
      if (ArgMax(logits.data() + i * k, k) == ArgMax(ref_logits.data() + i * k, k)) ++r.agree;
    r.has_agreement = true;
    r.agreement = static_cast<double>(r.agree) / static_cast<double>(n);
  }
  return r;
}

}  // namespace qaccel::engine
