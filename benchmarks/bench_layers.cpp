// The fused decode-attention kernel (kernels/layers.cuh) against torch's SDPA on the same cache view, at
// Llama-3-8B head shapes (32 query heads, 8 kv heads, head_dim 128): one query column per row over key_len
// cache columns. Name: BM_DecodeAttention/<0 fused | 1 sdpa>/<batch>/<key_len>. CUDA only.
#include <benchmark/benchmark.h>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/model/layers.hpp"

namespace cb = curebench;

namespace {

void BM_DecodeAttention(benchmark::State& state) {
#if !defined(CUREBENCH_WITH_CUDA)
  state.SkipWithError("CUDA only");
#else
  if (!cb::compat::cuda_available()) {
    state.SkipWithError("CUDA only");
    return;
  }
  const bool fused = state.range(0) == 0;
  const std::int64_t B = state.range(1), key_len = state.range(2), Hq = 32, Hkv = 8, D = 128, capacity = key_len + 256;
  auto opts = at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA);
  auto q = at::randn({B, Hq, 1, D}, opts);
  auto kc = at::randn({B, Hkv, capacity, D}, opts), vc = at::randn({B, Hkv, capacity, D}, opts);
  auto k = kc.narrow(2, 0, key_len), v = vc.narrow(2, 0, key_len);
  auto mask = at::zeros({B, 1, 1, key_len}, opts);
  auto out = at::empty_like(q);
  auto workspace = at::empty({cb::model::hooks::decode_attention_workspace_floats(B, Hq, D, key_len)}, opts.dtype(at::kFloat));
  cb::model::hooks::DecodeAttentionArgs a;
  a.q = q.data_ptr(), a.k = k.data_ptr(), a.v = v.data_ptr(), a.mask = mask.data_ptr(), a.out = out.data_ptr();
  a.workspace = workspace.data_ptr<float>();
  a.B = B, a.Hq = Hq, a.Hkv = Hkv, a.D = D, a.key_len = key_len;
  a.kb = k.stride(0), a.kh = k.stride(1), a.ks = k.stride(2), a.vb = v.stride(0), a.vh = v.stride(1), a.vs = v.stride(2);
  a.scale = 0.08838834764831845f;
  auto fn = cb::model::hooks::decode_attention();
  if (fused && !fn) {
    state.SkipWithError("fused kernels not linked");
    return;
  }
  auto once = [&] {
    if (fused) fn(a, cb::model::current_cuda_stream());
    else cb::compat::attention(q, k, v, mask, a.scale);
  };
  for (int i = 0; i < 3; ++i) once();
  const at::Device dev(at::kCUDA);
  cb::device_synchronize(dev);
  for (auto _ : state) {
    cb::Timer t;
    for (int i = 0; i < 20; ++i) once();
    cb::device_synchronize(dev);
    state.SetIterationTime(t.seconds() / 20);
  }
  state.SetLabel(fused ? "fused" : "sdpa");
  // Bytes the step must read: the kv cache columns once (the roofline of attention).
  state.counters["kv_GBps"] = benchmark::Counter(static_cast<double>(2 * B * Hkv * key_len * D * 2) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
#endif
}

void attention_shapes(benchmark::internal::Benchmark* b) {
  for (int f : {0, 1})
    for (std::int64_t batch : {1, 8, 16, 100})
      for (std::int64_t keys : {256, 640, 2048}) b->Args({f, batch, keys});
}
BENCHMARK(BM_DecodeAttention)->Apply(attention_shapes)->UseManualTime()->Iterations(5)->Unit(benchmark::kMicrosecond);

}  // namespace
