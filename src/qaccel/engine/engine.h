// Engine: runs a Graph on uint8 images, float or quantized, with no libtorch.
//
// Every layer runs the kernel its op's Prepare returned (graph/op_registry.h,
// engine/op_kernel.h): the fast variant where the op has one, the reference
// one with reference_kernels = true (they are bit-identical).
// The input is the graph's input transform of the pixels (input_transform.h;
// the default is pixel / 255).
// Float graph: float kernels.
// Quantized graph: the input is quantized with the Input layer's QuantParams
// (by a table of the 256 pixel values per channel; for the default transform
// scale 1/255, zero point -128: q = pixel - 128 exactly), every layer runs
// its integer kernel (numeric_contract.h), and only the final logits are
// dequantized: real = scale * (q - zero_point). Nothing float sits between
// the input quantization and that dequantization.
//
// Buffers are planned once, at construction: every layer's output gets an
// offset in one per-worker arena, reusing the space of outputs no longer
// needed (liveness over the layer order, first fit; a folded int8 ReLU shares
// its producer's buffer and runs nothing), plus one scratch region
// for the kernels' scratch (the fast convolutions' im2col). arena_bytes()
// reports the size. Run() splits the batch over worker threads, each with its
// own arena.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "qaccel/data/dataset.h"
#include "qaccel/engine/op_kernel.h"
#include "qaccel/graph/graph.h"
#include "qaccel/kernels/fast/int8_packed.h"
#include "qaccel/kernels/fast/isa.h"

namespace qaccel::engine {

struct EngineOptions {
  int threads = 0;  // 0: std::thread::hardware_concurrency()
  bool reference_kernels =
      false;  // true: the plain reference kernels (the fast ones are bit-identical)
  // Quantized graph: images per pass through the layers in Run / RunInt8
  // (each layer runs on `chunk` images before the next layer starts, so a
  // linear layer reads its weights once per chunk). 0: kDefaultChunk.
  int64_t chunk = 0;
};

// Chosen by measurement (docs/engine.md, `qaccel bench --chunk`): LeNet-5
// int8 at batch 256, one thread: 143k images/s one image at a time, 161-169k
// for chunks of 4 to 64 (flat within the noise), 152k at 256 (the chunk's
// activations leave L2).
inline constexpr int64_t kDefaultChunk = 16;
// A chunk's activations (chunk x activation_bytes(), per worker) stay within
// this: the default chunk shrinks to fit (a very large model runs fewer
// images per pass), and a larger EngineOptions::chunk is refused in one line.
inline constexpr int64_t kMaxChunkArenaBytes = int64_t{1} << 30;

class Engine {
 public:
  explicit Engine(Graph graph, EngineOptions options = {});

  const Graph& graph() const { return graph_; }
  bool quantized() const { return quantized_; }
  int64_t num_outputs() const { return out_numel_; }
  int64_t input_numel() const { return in_numel_; }
  int threads() const { return threads_; }
  // The fast kernels' instruction set (kernels/fast/isa.h; kPortable with
  // reference_kernels).
  kernels::fast::Isa isa() const { return isa_; }
  int64_t chunk() const { return chunk_; }
  // Bytes of one worker's arena: planned activations + kernel scratch
  // (all threads: x threads()).
  int64_t arena_bytes() const { return arena_bytes_; }
  int64_t scratch_bytes() const { return scratch_bytes_; }
  int64_t activation_bytes() const { return scratch_offset_; }  // the planned activations alone
  // Sum of all layer output sizes, i.e. the arena without reuse (for the record).
  int64_t unplanned_bytes() const { return unplanned_bytes_; }

  // n images (each input_numel() uint8 pixels) -> n x num_outputs() logits
  // (dequantized for a quantized graph).
  std::vector<float> Run(const uint8_t* pixels, int64_t n) const;
  // Quantized graph only: the int8 logits, for bit-exact comparisons.
  std::vector<int8_t> RunInt8(const uint8_t* pixels, int64_t n) const;
  // Float graph, one image: calls tap(layer_index, output, numel) after every
  // layer (calibration observers read activations through this).
  void RunTapped(const uint8_t* pixels,
                 const std::function<void(int, const float*, int64_t)>& tap) const;
  // Quantized graph, one image: same, with every layer's int8 output.
  void RunTappedInt8(const uint8_t* pixels,
                     const std::function<void(int, const int8_t*, int64_t)>& tap) const;
  // One image, layer by layer, that can stop early (early exits,
  // engine/exit_runner.h): after layer i, stop(i, output, numel) is called and
  // a true return ends the run there, so no later layer is computed. `arena`
  // holds arena_bytes(). Returns the index of the last layer run. The output
  // passed to stop is valid only during the call.
  int RunInt8Until(const uint8_t* pixels, uint8_t* arena,
                   const std::function<bool(int, const int8_t*, int64_t)>& stop) const;
  // Quantized graph, n images in chunks as RunInt8 does, stopping images
  // early: after every layer i with check[i] != 0, stop(i, image, output,
  // numel) is called for each image of the chunk still running, and a true
  // return drops that image from the later layers (which then run on the
  // remaining images only). Called from the worker threads (one call per
  // image and layer; different images may be concurrent).
  void RunInt8Exits(const uint8_t* pixels, int64_t n, const std::vector<char>& check,
                    const std::function<bool(int, int64_t, const int8_t*, int64_t)>& stop) const;
  int RunFloatUntil(const uint8_t* pixels, uint8_t* arena,
                    const std::function<bool(int, const float*, int64_t)>& stop) const;

 private:
  void PrepareKernels(bool reference_kernels);
  void PrepareInputTables();
  template <typename T>
  void FillInput(const uint8_t* pixels, const std::vector<T>& table, T* in) const;
  void PlanBuffers();
  bool IsIdentity(size_t i) const;
  void PrepareFusions(bool reference_kernels);
  template <typename T>
  void RunLayers(uint8_t* arena, T* logits,
                 const std::function<void(int, const T*, int64_t)>* tap) const;
  void RunOneFloat(const uint8_t* pixels, uint8_t* arena, float* logits,
                   const std::function<void(int, const float*, int64_t)>* tap) const;
  void RunOneInt8(const uint8_t* pixels, uint8_t* arena, int8_t* logits,
                  const std::function<void(int, const int8_t*, int64_t)>* tap) const;
  template <typename T>
  int RunLayersUntil(uint8_t* arena, const std::function<bool(int, const T*, int64_t)>& stop) const;
  // Runs layer i (>= 1) on its inputs in the arena; returns its output.
  template <typename T>
  T* EvalLayer(uint8_t* arena, size_t i) const;
  template <typename Fn>
  void ParallelOverBatch(int64_t n, Fn&& fn) const;
  // Quantized graph: fn(first, m, arena) for the chunks [first, first + m) of
  // n images, over the threads, each worker with a chunk arena.
  template <typename Fn>
  void ParallelOverChunks(int64_t n, Fn&& fn) const;
  // Quantized graph: m <= chunk_ images through all layers, each layer on all
  // m at once (layer i's buffer of image j at offset_[i] * chunk_ + j * bytes_[i]).
  // With `active` (m flags), only the images still active run each layer, and
  // after a layer i with (*check)[i] the active ones are asked stop().
  void RunChunkInt8(
      const uint8_t* pixels, int64_t m, uint8_t* arena, int8_t* logits, int64_t first = 0,
      const std::vector<char>* check = nullptr,
      const std::function<bool(int, int64_t, const int8_t*, int64_t)>* stop = nullptr) const;

  Graph graph_;
  bool quantized_ = false;
  int threads_ = 1;
  kernels::fast::Isa isa_ = kernels::fast::Isa::kPortable;
  int64_t chunk_ = kDefaultChunk;
  std::vector<int64_t> bytes_;  // per layer output, padded to kAlign
  std::vector<bool> identity_;  // per layer: output == input, shares its buffer (IsIdentity)
  int64_t in_numel_ = 0, out_numel_ = 0;
  std::vector<int64_t> offset_;  // per layer, into the arena
  std::vector<int64_t> numel_;   // per layer output
  int64_t arena_bytes_ = 0, unplanned_bytes_ = 0;
  int64_t scratch_offset_ = 0, scratch_bytes_ = 0;
  std::vector<std::unique_ptr<OpKernel>> kernels_;  // per layer; null for the input
  // The input layer's value of each pixel value: [channels][256].
  std::vector<float> input_float_table_;
  std::vector<int8_t> input_int8_table_;
  bool input_minus_128_ = false;  // the table is q = pixel - 128 in every channel
  // Conv [-> folded ReLU] -> 2x2 stride-2 average pool run as one kernel in the
  // batched int8 path (RunChunkInt8; kernels::fast::RunConvInt8Pool2x2): the
  // conv writes the pool's buffer, the pool's kernel does not run.
  struct FusedConvPool {
    size_t conv = 0, mid = 0, pool = 0;  // mid: the ReLU between, or conv
    kernels::fast::PackedConvInt8 packed;
    int32_t lo = 0, hi = 0;  // the pool's clamp
  };
  std::vector<FusedConvPool> fused_;
  std::vector<int> fused_at_;  // per layer: index into fused_ of the conv starting there, or -1
};

struct EvalResult {
  int64_t samples = 0, correct = 0;
  double accuracy = 0;  // fraction
  bool has_agreement = false;
  int64_t agree = 0;       // samples whose top-1 equals the reference model's
  double agreement = 0;    // fraction
  double seconds = 0;      // wall time of the model's inference (not the reference's)
  double cpu_seconds = 0;  // process CPU time of the same (robust on a loaded machine)
  double images_per_second = 0;
  int64_t arena_bytes = 0;
  int threads = 1;
};

// Top-1 accuracy of `graph` on `data` (first `limit` images if limit > 0);
// with a reference graph also the top-1 agreement between the two.
EvalResult Evaluate(const Graph& graph, const data::Dataset& data, const Graph* reference = nullptr,
                    int64_t limit = 0, EngineOptions options = {});

// CPU seconds of this process so far (CLOCK_PROCESS_CPUTIME_ID).
double ProcessCpuSeconds();

// Index of the largest logit (the first on ties).
int64_t ArgMax(const float* logits, int64_t n);

}  // namespace qaccel::engine
