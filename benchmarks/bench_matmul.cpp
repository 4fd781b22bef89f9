// Weight-format matmul speed at Llama-3-8B shapes: y = x W^T with x bf16 [M, K] and W [N, K] as bf16 (Dense),
// int4 g128 and NF4 b64 (with and without double quant): with the CUDA kernels linked, kernels/gemv4.cuh for
// M <= 8 and dequant kernel + cuBLAS above (without them: tinygemm for int4 M <= 16, ATen ops otherwise),
// and int8 per row. CUDA only (skips on the CPU).
// Name: BM_Matmul/<format>/<N>/<K>/<M>; counters: weight_GBps (weight bytes held / time), TFLOPs.
#include <benchmark/benchmark.h>

#include <map>
#include <tuple>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/quant/weight.hpp"

namespace cb = curebench;

namespace {

enum Format { kBf16 = 0, kInt4 = 1, kNF4 = 2, kInt8 = 3, kNF4DQ = 4 };
const char* format_name(int f) {
  return f == kBf16 ? "bf16" : f == kInt4 ? "int4_g128" : f == kNF4 ? "nf4_b64" : f == kNF4DQ ? "nf4_b64_dq" : "int8";
}

cb::quant::Weight& weight(int format, std::int64_t n, std::int64_t k) {
  static std::map<std::tuple<int, std::int64_t, std::int64_t>, cb::quant::Weight> cache;
  auto key = std::make_tuple(format, n, k);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= 5) cache.clear();  // one shape's formats at a time (the 128256 x 4096 bf16 is 1 GB)
  auto w = at::randn({n, k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA)) * 0.02;
  cb::quant::Weight q;
  switch (format) {
    case kBf16: q = cb::quant::Dense{w}; break;
    case kInt4: q = cb::quant::quantize_int4(w.cpu(), 128).to(at::Device(at::kCUDA)); break;
    case kNF4: q = cb::quant::quantize_nf4(w, 64); break;
    case kNF4DQ: q = cb::quant::quantize_nf4(w, 64, true); break;
    default: q = cb::quant::quantize_int8(w); break;
  }
  return cache.emplace(key, std::move(q)).first->second;
}

void BM_Matmul(benchmark::State& state) {
  if (!cb::compat::cuda_available()) {
    state.SkipWithError("CUDA only");
    return;
  }
  const int format = static_cast<int>(state.range(0));
  const auto n = state.range(1), k = state.range(2), m = state.range(3);
  auto& w = weight(format, n, k);
  auto x = at::randn({m, k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
  for (int i = 0; i < 3; ++i) cb::quant::matmul(w, x);
  const at::Device dev(at::kCUDA);
  cb::device_synchronize(dev);
  for (auto _ : state) {
    cb::Timer t;
    for (int i = 0; i < 10; ++i) cb::quant::matmul(w, x);
    cb::device_synchronize(dev);
    state.SetIterationTime(t.seconds() / 10);
  }
  state.SetLabel(format_name(format));
  state.counters["weight_GBps"] = benchmark::Counter(static_cast<double>(cb::quant::weight_bytes(w)) / 1e9,
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOPs"] = benchmark::Counter(2.0 * m * n * k / 1e12, benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (auto [n, k] : {std::pair<std::int64_t, std::int64_t>{4096, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}})
    for (int f : {kBf16, kInt4, kNF4, kNF4DQ, kInt8})
      for (std::int64_t m : {1, 2, 4, 8, 16, 64, 256}) b->Args({f, n, k, m});
}
BENCHMARK(BM_Matmul)->Apply(shapes)->UseManualTime()->Iterations(5)->Unit(benchmark::kMicrosecond);

// Dequant kernel vs its ATen reference (exact for NF4; int4 within one bf16 ulp), run once at start.
void BM_DequantCheck(benchmark::State& state) {
  if (!cb::compat::cuda_available()) {
    state.SkipWithError("CUDA only");
    return;
  }
  auto w = at::randn({4096, 4096}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
  auto x = at::randn({64, 4096}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
  auto nf4 = cb::quant::quantize_nf4(w, 64);
  auto i4 = cb::quant::quantize_int4(w.cpu(), 128).to(at::Device(at::kCUDA));
  double err_nf4 = 0, err_i4 = 0;
  for (auto _ : state) {
    auto ref_nf4 = at::linear(x.to(at::kFloat), nf4.dequantize(at::kFloat));
    auto ref_i4 = at::linear(x.to(at::kFloat), i4.dequantize(at::kFloat));
    err_nf4 = ((nf4.matmul(x).to(at::kFloat) - ref_nf4).norm() / ref_nf4.norm()).item<double>();
    err_i4 = ((i4.matmul(x).to(at::kFloat) - ref_i4).norm() / ref_i4.norm()).item<double>();
  }
  state.counters["rel_err_nf4"] = err_nf4;
  state.counters["rel_err_int4"] = err_i4;
#if defined(CUREBENCH_HAS_DEQUANT_KERNELS)
  state.counters["dequant_kernels"] = 1;
#else
  state.counters["dequant_kernels"] = 0;
#endif
  if (!(err_nf4 < 1e-2) || !(err_i4 < 1e-2)) state.SkipWithError("dequant kernel disagrees with the reference");
}
BENCHMARK(BM_DequantCheck)->Iterations(1);

}  // namespace
