// Engine implementation: buffer planning, per-layer dispatch to the reference
// kernels (float or integer), batch parallelism, evaluation.
#include "qaccel/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "qaccel/core/error.h"
#include "qaccel/kernels/fast/conv_fast.h"
#include "qaccel/kernels/fast/linear_fast.h"
#include "qaccel/kernels/fast/pool_fast.h"
#include "qaccel/kernels/reference/float_kernels.h"
#include "qaccel/kernels/reference/int8_kernels.h"

namespace qaccel::engine {
namespace kr = kernels::reference;
using kernels::ConvShape;
using kernels::LinearShape;
using kernels::PoolShape;

namespace {

constexpr int64_t kAlign = 64;

std::string Where(const Layer& l) {
  return "layer '" + l.name + "' (" + std::string(OpKindName(l.kind)) + ")";
}

ConvShape MakeConvShape(const Layer& l, const Shape& in) {
  ConvShape s;
  s.in_c = in[0];
  s.in_h = in[1];
  s.in_w = in[2];
  s.out_c = l.out_shape[0];
  s.out_h = l.out_shape[1];
  s.out_w = l.out_shape[2];
  s.kernel_h = l.kernel_h;
  s.kernel_w = l.kernel_w;
  s.stride_h = l.stride_h;
  s.stride_w = l.stride_w;
  s.pad_h = l.pad_h;
  s.pad_w = l.pad_w;
  s.groups = l.groups;
  return s;
}

PoolShape MakePoolShape(const Layer& l, const Shape& in) {
  PoolShape s;
  s.channels = in[0];
  s.in_h = in[1];
  s.in_w = in[2];
  s.out_h = l.out_shape[1];
  s.out_w = l.out_shape[2];
  s.kernel_h = l.kernel_h;
  s.kernel_w = l.kernel_w;
  s.stride_h = l.stride_h;
  s.stride_w = l.stride_w;
  s.pad_h = l.pad_h;
  s.pad_w = l.pad_w;
  return s;
}

int64_t SpatialSize(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 1; i < s.size(); ++i) n *= s[i];
  return n;
}

kr::RequantParams MakeRequant(const Layer& l, const QuantParams& in_q) {
  kr::RequantParams p;
  p.input_zero_point = in_q.out_zero_point;
  p.weight_zero_point = l.quant.weight_zero_point.data();
  p.multiplier = l.quant.multiplier.data();
  p.shift = l.quant.shift.data();
  p.per_channel = l.quant.multiplier.size() > 1;
  p.output_zero_point = l.quant.out_zero_point;
  p.act_min = l.quant.act_min;
  p.act_max = l.quant.act_max;
  return p;
}

void CheckTensor(const Layer& l, const char* name, DType want, bool required) {
  auto it = l.params.find(name);
  if (it == l.params.end()) {
    Check(!required, Where(l) + ": missing parameter '" + name + "'");
    return;
  }
  Check(it->second.dtype() == want, Where(l) + ": parameter '" + name + "' has dtype " +
                                        std::string(DTypeName(it->second.dtype())) + ", expected " +
                                        std::string(DTypeName(want)));
}

}  // namespace

Engine::Engine(Graph graph, EngineOptions options) : graph_(std::move(graph)) {
  graph_.InferShapes();
  graph_.ValidateParameters();
  quantized_ = graph_.quantized();
  const size_t nl = graph_.layers.size();
  in_numel_ = NumElements(graph_.input_shape());
  out_numel_ = NumElements(graph_.output_shape());
  reference_ = options.reference_kernels;
  threads_ = options.threads > 0
                 ? options.threads
                 : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  // Validate what each layer needs before anything runs.
  for (const Layer& l : graph_.layers) {
    if (quantized_) {
      Check(l.quant.quantized, Where(l) +
                                   ": the graph is quantized but this layer has no quantization "
                                   "parameters (re-run qaccel quantize)");
      Check(l.quant.act_min >= kernels::kInt8Min && l.quant.act_max <= kernels::kInt8Max &&
                l.quant.act_min <= l.quant.act_max,
            Where(l) + ": clamp [act_min, act_max] must lie within int8");
      if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
        CheckTensor(l, "weight", DType::kI8, true);
        CheckTensor(l, "bias", DType::kI32, l.has_bias);
        const size_t want = l.quant.multiplier.size();
        Check(want == 1 || want == static_cast<size_t>(l.out_channels),
              Where(l) + ": needs 1 or out_channels multipliers, has " + std::to_string(want));
        Check(l.quant.shift.size() == want && l.quant.weight_zero_point.size() == want,
              Where(l) + ": multiplier, shift and weight_zero_point lengths differ");
      } else if (l.kind == OpKind::kAdd) {
        Check(l.quant.multiplier.size() == 3 && l.quant.shift.size() == 3,
              Where(l) + ": an integer add needs 3 multipliers and shifts (a, b, output)");
      } else if (l.kind == OpKind::kBatchNorm) {
        Check(!l.quant.folded_into.empty(),
              Where(l) + ": a quantized batchnorm must be folded into the preceding conv");
      }
    } else {
      if (l.kind == OpKind::kConv2d || l.kind == OpKind::kLinear) {
        CheckTensor(l, "weight", DType::kF32, true);
        CheckTensor(l, "bias", DType::kF32, l.has_bias);
      } else if (l.kind == OpKind::kBatchNorm) {
        for (const char* p : {"gamma", "beta", "mean", "var"}) CheckTensor(l, p, DType::kF32, true);
      }
    }
  }

  // Buffer plan: liveness over the layer order, first-fit offsets.
  const int64_t elem = quantized_ ? 1 : 4;
  std::vector<size_t> last_use(nl);
  for (size_t i = 0; i < nl; ++i) {
    last_use[i] = i;
    for (int in : graph_.layers[i].inputs) last_use[in] = std::max(last_use[in], i);
  }
  last_use[nl - 1] = nl;  // the output stays live to the end
  numel_.resize(nl);
  offset_.resize(nl);
  struct Block {
    int64_t begin, end;
    size_t layer;
  };
  std::vector<Block> live;
  for (size_t i = 0; i < nl; ++i) {
    numel_[i] = NumElements(graph_.layers[i].out_shape);
    const int64_t bytes = (numel_[i] * elem + kAlign - 1) / kAlign * kAlign;
    unplanned_bytes_ += bytes;
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
    // Free the outputs whose last consumer is this layer.
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Block& b) { return last_use[b.layer] == i; }),
               live.end());
  }
  // Scratch for the fast kernels, after the activations; transposed linear weights.
  linear_wt_float_.resize(nl);
  linear_wt_int8_.resize(nl);
  for (size_t i = 0; i < nl && !reference_; ++i) {
    const Layer& l = graph_.layers[i];
    if (l.kind == OpKind::kConv2d) {
      const ConvShape cs =
          MakeConvShape(l, graph_.layers[static_cast<size_t>(l.inputs[0])].out_shape);
      scratch_bytes_ =
          std::max(scratch_bytes_, quantized_ ? kernels::fast::ConvScratchBytesInt8(cs)
                                              : kernels::fast::ConvScratchBytesFloat(cs));
    } else if (l.kind == OpKind::kLinear) {
      const LinearShape ls{l.in_channels, l.out_channels};
      scratch_bytes_ = std::max<int64_t>(scratch_bytes_, l.out_channels * 4);
      if (quantized_)
        linear_wt_int8_[i] = kernels::fast::TransposeLinearWeightInt8(
            ls, l.params.at("weight").data<int8_t>().data(),
            MakeRequant(l, graph_.layers[static_cast<size_t>(l.inputs[0])].quant));
      else
        linear_wt_float_[i] =
            kernels::fast::TransposeLinearWeight(ls, l.params.at("weight").data<float>().data());
    }
  }
  scratch_offset_ = arena_bytes_;
  if (quantized_) {
    const QuantParams& iq = graph_.layers[0].quant;
    for (int p = 0; p < 256;
         ++p)  // real = pixel / 255; with scale 1/255, zp -128 this is pixel - 128
      input_lut_[p] = static_cast<int8_t>(kernels::QuantizeValue(
          p / 255.0, iq.out_scale, iq.out_zero_point, iq.act_min, iq.act_max));
  }
  arena_bytes_ += (scratch_bytes_ + kAlign - 1) / kAlign * kAlign;
}

template <typename Fn>
void Engine::ParallelOverBatch(int64_t n, Fn&& fn) const {
  const int workers = static_cast<int>(std::min<int64_t>(threads_, std::max<int64_t>(n, 1)));
  if (workers <= 1) {
    std::vector<uint8_t> arena(static_cast<size_t>(arena_bytes_));
    for (int64_t i = 0; i < n; ++i) fn(i, arena.data());
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(workers);
  for (int w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      try {
        std::vector<uint8_t> arena(static_cast<size_t>(arena_bytes_));
        const int64_t begin = n * w / workers, end = n * (w + 1) / workers;
        for (int64_t i = begin; i < end; ++i) fn(i, arena.data());
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  }
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
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

std::vector<int8_t> Engine::RunInt8(const uint8_t* pixels, int64_t n) const {
  Check(quantized_,
        "RunInt8: graph '" + graph_.name + "' is not quantized (run qaccel quantize first)");
  std::vector<int8_t> out(static_cast<size_t>(n * out_numel_));
  ParallelOverBatch(n, [&](int64_t i, uint8_t* arena) {
    RunOneInt8(pixels + i * in_numel_, arena, out.data() + i * out_numel_, nullptr);
  });
  return out;
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

void Engine::RunOneFloat(const uint8_t* pixels, uint8_t* arena, float* logits,
                         const std::function<void(int, const float*, int64_t)>* tap) const {
  auto buf = [&](size_t i) { return reinterpret_cast<float*>(arena + offset_[i]); };
  for (size_t i = 0; i < graph_.layers.size(); ++i) {
    const Layer& l = graph_.layers[i];
    float* out = buf(i);
    const float* in = l.inputs.empty() ? nullptr : buf(static_cast<size_t>(l.inputs[0]));
    const Shape& in_shape = l.inputs.empty() ? l.out_shape : graph_.layers[l.inputs[0]].out_shape;
    auto param = [&](const char* name) -> const float* {
      auto it = l.params.find(name);
      return it == l.params.end() ? nullptr : it->second.data<float>().data();
    };
    switch (l.kind) {
      case OpKind::kInput:
        for (int64_t k = 0; k < numel_[i]; ++k) out[k] = static_cast<float>(pixels[k]) / 255.0f;
        break;
      case OpKind::kConv2d:
        if (reference_)
          kr::ConvFloat(MakeConvShape(l, in_shape), in, param("weight"), param("bias"), out);
        else
          kernels::fast::ConvFloat(MakeConvShape(l, in_shape), in, param("weight"), param("bias"),
                                   out, arena + scratch_offset_);
        break;
      case OpKind::kLinear:
        if (reference_)
          kr::LinearFloat({l.in_channels, l.out_channels}, in, param("weight"), param("bias"), out);
        else
          kernels::fast::LinearFloat({l.in_channels, l.out_channels}, in,
                                     linear_wt_float_[i].data(), param("bias"), out,
                                     arena + scratch_offset_);
        break;
      case OpKind::kAvgPool2d:
        kr::AvgPoolFloat(MakePoolShape(l, in_shape), in, out);
        break;
      case OpKind::kMaxPool2d:
        kr::MaxPoolFloat(MakePoolShape(l, in_shape), in, out);
        break;
      case OpKind::kGlobalAvgPool:
        kr::GlobalAvgPoolFloat(in_shape[0], SpatialSize(in_shape), in, out);
        break;
      case OpKind::kRelu:
        kr::ReluFloat(numel_[i], in, out);
        break;
      case OpKind::kFlatten:
        std::memcpy(out, in, static_cast<size_t>(numel_[i]) * sizeof(float));
        break;
      case OpKind::kAdd:
        kr::AddFloat(numel_[i], in, buf(static_cast<size_t>(l.inputs[1])), out);
        break;
      case OpKind::kBatchNorm:
        kr::BatchNormFloat(in_shape[0], SpatialSize(in_shape), in, param("gamma"), param("beta"),
                           param("mean"), param("var"), l.eps, out);
        break;
    }
    if (tap) (*tap)(static_cast<int>(i), out, numel_[i]);
  }
  std::memcpy(logits, buf(graph_.layers.size() - 1),
              static_cast<size_t>(out_numel_) * sizeof(float));
}

void Engine::RunOneInt8(const uint8_t* pixels, uint8_t* arena, int8_t* logits,
                        const std::function<void(int, const int8_t*, int64_t)>* tap) const {
  auto buf = [&](size_t i) { return reinterpret_cast<int8_t*>(arena + offset_[i]); };
  for (size_t i = 0; i < graph_.layers.size(); ++i) {
    const Layer& l = graph_.layers[i];
    int8_t* out = buf(i);
    const int8_t* in = l.inputs.empty() ? nullptr : buf(static_cast<size_t>(l.inputs[0]));
    const Layer* producer = l.inputs.empty() ? nullptr : &graph_.layers[l.inputs[0]];
    const Shape& in_shape = producer ? producer->out_shape : l.out_shape;
    auto bias = [&]() -> const int32_t* {
      auto it = l.params.find("bias");
      return it == l.params.end() ? nullptr : it->second.data<int32_t>().data();
    };
    switch (l.kind) {
      case OpKind::kInput: {
        // real = pixel / 255, then q = clamp(round(real / scale) + zp) (a table of
        // the 256 cases); with scale 1/255 and zp -128 this is exactly pixel - 128.
        for (int64_t k = 0; k < numel_[i]; ++k) out[k] = input_lut_[pixels[k]];
        break;
      }
      case OpKind::kConv2d:
        if (reference_)
          kr::ConvInt8(MakeConvShape(l, in_shape), MakeRequant(l, producer->quant), in,
                       l.params.at("weight").data<int8_t>().data(), bias(), out);
        else
          kernels::fast::ConvInt8(MakeConvShape(l, in_shape), MakeRequant(l, producer->quant), in,
                                  l.params.at("weight").data<int8_t>().data(), bias(), out,
                                  arena + scratch_offset_);
        break;
      case OpKind::kLinear:
        if (reference_)
          kr::LinearInt8({l.in_channels, l.out_channels}, MakeRequant(l, producer->quant), in,
                         l.params.at("weight").data<int8_t>().data(), bias(), out);
        else
          kernels::fast::LinearInt8({l.in_channels, l.out_channels},
                                    MakeRequant(l, producer->quant), in, linear_wt_int8_[i].data(),
                                    bias(), out, arena + scratch_offset_);
        break;
      case OpKind::kAvgPool2d:
        if (reference_ || l.pad_h != 0 || l.pad_w != 0)
          kr::AvgPoolInt8(MakePoolShape(l, in_shape), producer->quant.out_zero_point,
                          l.quant.act_min, l.quant.act_max, in, out);
        else
          kernels::fast::AvgPoolInt8(MakePoolShape(l, in_shape), l.quant.act_min, l.quant.act_max,
                                     in, out);
        break;
      case OpKind::kMaxPool2d:
        kr::MaxPoolInt8(MakePoolShape(l, in_shape), in, out);
        break;
      case OpKind::kGlobalAvgPool:
        kr::GlobalAvgPoolInt8(in_shape[0], SpatialSize(in_shape), in, out);
        break;
      case OpKind::kRelu:
        kr::ReluInt8(numel_[i], producer->quant.out_zero_point, in, out);
        break;
      case OpKind::kFlatten:
      case OpKind::kBatchNorm:  // folded into the preceding conv: identity
        std::memcpy(out, in, static_cast<size_t>(numel_[i]));
        break;
      case OpKind::kAdd: {
        const QuantParams& qb = graph_.layers[l.inputs[1]].quant;
        kr::AddParams p;
        p.a_zero_point = producer->quant.out_zero_point;
        p.b_zero_point = qb.out_zero_point;
        p.output_zero_point = l.quant.out_zero_point;
        p.a_multiplier = l.quant.multiplier[0];
        p.a_shift = l.quant.shift[0];
        p.b_multiplier = l.quant.multiplier[1];
        p.b_shift = l.quant.shift[1];
        p.output_multiplier = l.quant.multiplier[2];
        p.output_shift = l.quant.shift[2];
        p.act_min = l.quant.act_min;
        p.act_max = l.quant.act_max;
        kr::AddInt8(numel_[i], p, in, buf(static_cast<size_t>(l.inputs[1])), out);
        break;
      }
    }
    if (tap) (*tap)(static_cast<int>(i), out, numel_[i]);
  }
  std::memcpy(logits, buf(graph_.layers.size() - 1), static_cast<size_t>(out_numel_));
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
  EvalResult r;
  r.samples = n;
  r.arena_bytes = engine.arena_bytes();
  r.threads = engine.threads();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = engine.Run(data.pixels.data(), n);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
