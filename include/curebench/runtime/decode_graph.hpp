#pragma once
// CUDA graphs for the decode step (used by runtime/generate.hpp). A decode step of an 8B model is ~1,500
// small kernels; launched one by one from the host it costs far more than the GPU work at small batches.
// Captured once into a graph and replayed, it costs one launch.
//
// Static shapes: the batch is padded up to a bucket (graph_batch_bucket), every row gets one column per
// step, the column index and the tokens live in one device buffer refreshed by a single host->device copy,
// and attention reads the first key_len cache columns (key_len rounds the step's column up to a multiple of
// kKeyBucket, so a long generation captures a few graphs, each reading no more of the cache than needed).
// The first step of each key bucket runs eagerly (warm-up, and that step's result) and is then captured;
// later steps of the bucket replay. Graphs live as long as the generate() call (they hold its KV cache).
// Capture failure (an op that synchronises, e.g.) falls back to eager static steps for the rest of the call.
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "curebench/model/decoder.hpp"
#include "curebench/runtime/kv_cache.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace curebench::runtime {

// Rows a graph is captured for: 1, 2, 4, 8, then multiples of 8 (at most 7 padding rows).
inline std::int64_t graph_batch_bucket(std::int64_t batch) {
  if (batch <= 8) {
    std::int64_t b = 1;
    while (b < batch) b *= 2;
    return b;
  }
  return (batch + 7) / 8 * 8;
}

// Whether generate() can use graphs for this model (CUDA build, CUDA device, no host-offloaded layers).
inline bool decode_graphs_supported(const model::Decoder& m) {
#if defined(CUREBENCH_WITH_CUDA)
  // Tensor parallel: the all-reduces are not captured (NCCL inside a graph is untested here): eager decode.
  return m.device().is_cuda() && m.offloaded_layers() == 0 && !m.tensor_parallel();
#else
  (void)m;
  return false;
#endif
}

class DecodeGraphs {
 public:
  static constexpr std::int64_t kKeyBucket = 256;

  DecodeGraphs(const model::Decoder& m, KVCache& cache) : model_(m), cache_(cache), rows_(cache.batch()) {
    const auto n = 2 * rows_ + 1;
    auto host = at::TensorOptions().dtype(at::kLong);
#if defined(CUREBENCH_WITH_CUDA)
    staging_ = at::empty({n}, host.pinned_memory(true));
#else
    staging_ = at::empty({n}, host);
#endif
    inputs_ = at::empty({n}, host.device(m.device()));
    ids_ = inputs_.narrow(0, 0, rows_).view({rows_, 1});
    alive_ = inputs_.narrow(0, rows_, rows_).view({rows_, 1});
    col_ = inputs_.narrow(0, 2 * rows_, 1);
  }

  std::int64_t captured() const { return static_cast<std::int64_t>(graphs_.size()); }

  // One decode column for all rows (ids/alive of length rows(); dead rows keep their cache). Writes cache
  // column cache.length() and advances the cache. Returns fp32 logits [rows, V] on the device, valid until
  // the next step.
  at::Tensor step(const std::vector<std::int64_t>& ids, const std::vector<bool>& alive) {
    const auto col = cache_.length();
    auto* p = staging_.data_ptr<std::int64_t>();
    for (std::int64_t b = 0; b < rows_; ++b) {
      p[b] = ids[static_cast<std::size_t>(b)];
      p[rows_ + b] = alive[static_cast<std::size_t>(b)] ? 1 : 0;
    }
    p[2 * rows_] = col;
    inputs_.copy_(staging_, /*non_blocking=*/true);
    const auto key_len = std::min(cache_.capacity(), (col / kKeyBucket + 1) * kKeyBucket);
    at::Tensor logits;
    if (auto it = graphs_.find(key_len); it != graphs_.end()) {
#if defined(CUREBENCH_WITH_CUDA)
      it->second.graph->replay();
#endif
      logits = it->second.logits;
    } else {
      logits = model_.decode_static(ids_, alive_, col_, cache_, key_len);
      if (!failed_) capture(key_len);
    }
    cache_.advance(1);
    return logits;
  }

 private:
  void capture(std::int64_t key_len) {
#if defined(CUREBENCH_WITH_CUDA)
    // The capture records the step's kernels without running them, so the cache is not written twice.
    Entry e;
    e.graph = std::make_unique<at::cuda::CUDAGraph>();
    c10::cuda::device_synchronize();
    auto stream = capture_stream();
    bool begun = false;
    try {
      c10::cuda::CUDAStreamGuard guard(stream);
      if (!pool_set_) pool_ = at::cuda::graph_pool_handle(), pool_set_ = true;
      e.graph->capture_begin(pool_);
      begun = true;
      e.logits = model_.decode_static(ids_, alive_, col_, cache_, key_len);
      begun = false;
      e.graph->capture_end();
      graphs_.emplace(key_len, std::move(e));
    } catch (const std::exception&) {
      if (begun) {
        try {
          e.graph->capture_end();
        } catch (const std::exception&) {
        }
      }
      (void)cudaGetLastError();
      failed_ = true;
    }
    c10::cuda::device_synchronize();
#else
    (void)key_len;
    failed_ = true;
#endif
  }

#if defined(CUREBENCH_WITH_CUDA)
  // One capture stream per device for the process: cuBLAS keeps a workspace per (handle, stream), so a new
  // pool stream per capture would leave one more 32 MiB workspace allocated each time, up to the pool size.
  static c10::cuda::CUDAStream capture_stream() {
    static std::map<c10::DeviceIndex, c10::cuda::CUDAStream> streams;
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    const auto dev = c10::cuda::current_device();
    auto it = streams.find(dev);
    if (it == streams.end()) it = streams.emplace(dev, c10::cuda::getStreamFromPool(false, dev)).first;
    return it->second;
  }
#endif

  struct Entry {
#if defined(CUREBENCH_WITH_CUDA)
    std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
    at::Tensor logits;
  };
  const model::Decoder& model_;
  KVCache& cache_;
  std::int64_t rows_;
  at::Tensor staging_, inputs_, ids_, alive_, col_;
  std::map<std::int64_t, Entry> graphs_;
  bool failed_ = false;
#if defined(CUREBENCH_WITH_CUDA)
  decltype(at::cuda::graph_pool_handle()) pool_{0, 0};
  bool pool_set_ = false;
#endif
};

}  // namespace curebench::runtime
