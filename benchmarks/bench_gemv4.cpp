// The 4-bit decode GEMV (kernels/gemv4.cuh, M <= 8) alone, per Llama-3-8B weight shape, against the copy
// bandwidth measured in the same process. Each case is a CUDA graph of back-to-back launches (as the decode
// graph runs them) over enough copies of the weight that none stays in the 50 MB L2; time per launch = graph
// replay time / launches, median of 7 replays (CUDA events).
// Names: BM_Gemv4Copy (device-to-device copy, read + write bytes), BM_Gemv4/<format>/<shape>/<M>/<kernel>:
//   format 0 nf4_b64_dq, 1 nf4_b64, 2 fp4_b64, 3 int4_g128; shape 0 q/o 4096x4096, 1 k/v 1024x4096,
//   2 gate/up 14336x4096, 3 down 4096x14336, 4 lm_head 128256x4096, 5 q|k|v in one launch (6144x4096),
//   6 gate/up with SiLU in one launch (2 x 14336x4096); kernel 0 tensor-core GEMV, 1 the shared-table FFMA GEMV.
// Counters: us (per launch), GBps (weight bytes incl. scales + x + y, over the time), frac_copy (GBps over
// BM_Gemv4Copy's GBps: a cudaMemcpyAsync in a graph, 2.44 TB/s on the H100 where Tensor::copy_ in
// BM_CopyBandwidth gives 3.00; docs/performance.md divides by the latter). CUDA only.
// BM_Gemm4 (further down): the M > 8 GEMM against bf16 cuBLAS and dequantize + cuBLAS.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "curebench/quant/grouped.hpp"
#include "curebench/quant/kernel_hooks.hpp"
#include "curebench/quant/weight.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

namespace cb = curebench;

namespace {
#if defined(CUREBENCH_WITH_CUDA)

double& copy_gbps() {
  static double v = 0;
  return v;
}

// Median seconds of `reps` replays of a graph made by `body` on a fresh stream.
template <class Body>
double graph_seconds(Body body, int reps = 7) {
  cudaStream_t s;
  cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  body(s);  // eager warm-up (module load)
  cudaStreamSynchronize(s);
  cudaGraph_t g;
  cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed);
  body(s);
  cudaStreamEndCapture(s, &g);
  cudaGraphExec_t e;
  cudaGraphInstantiate(&e, g, 0);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaGraphLaunch(e, s);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, s);
    cudaGraphLaunch(e, s);
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms / 1e3);
  }
  cudaGraphExecDestroy(e);
  cudaGraphDestroy(g);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaStreamDestroy(s);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void BM_Gemv4Copy(benchmark::State& state) {
  if (!cb::compat::cuda_available()) return state.SkipWithError("CUDA only");
  const std::int64_t bytes = std::int64_t{1} << 30;
  auto src = at::empty({bytes}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA)).fill_(1);
  auto dst = at::empty_like(src);
  double secs = 0;
  for (auto _ : state) {
    secs = graph_seconds([&](cudaStream_t s) {
      for (int i = 0; i < 4; ++i) cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), bytes, cudaMemcpyDeviceToDevice, s);
    }) / 4;
    state.SetIterationTime(secs);
  }
  copy_gbps() = 2.0 * bytes / secs / 1e9;
  state.counters["GBps"] = copy_gbps();
}
BENCHMARK(BM_Gemv4Copy)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

struct Shape {
  std::int64_t rows[3];
  int count;
  bool gated;
  std::int64_t k;
};
const Shape kShapes[] = {{{4096}, 1, false, 4096},  {{1024}, 1, false, 4096},         {{14336}, 1, false, 4096},
                         {{4096}, 1, false, 14336}, {{128256}, 1, false, 4096},       {{4096, 1024, 1024}, 3, false, 4096},
                         {{14336, 14336}, 2, true, 4096}};
const char* kFormatNames[] = {"nf4_b64_dq", "nf4_b64", "fp4_b64", "int4_g128"};
const char* kShapeNames[] = {"q_o_4096x4096", "k_v_1024x4096", "gate_up_14336x4096", "down_4096x14336", "lm_head_128256x4096",
                             "qkv_grouped_6144x4096", "gate_up_gated_2x14336x4096"};

cb::quant::Weight make_weight(int format, std::int64_t n, std::int64_t k) {
  auto w = at::randn({n, k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA)) * 0.02;
  switch (format) {
    case 0: return cb::quant::quantize_nf4(w, 64, true);
    case 1: return cb::quant::quantize_nf4(w, 64, false);
    case 2: return cb::quant::quantize_fp4(w, 64, false);
    default: return cb::quant::quantize_int4(w, 128);
  }
}

// Copies of one case's weights, enough that they exceed the L2 several times over (one shape at a time).
struct Case {
  std::vector<std::vector<cb::quant::Weight>> copies;
  double bytes = 0;  // weight bytes of one copy
};
Case& weights(int format, int shape) {
  static std::map<std::pair<int, int>, Case> cache;
  auto key = std::make_pair(format, shape);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  cache.clear();
  const Shape& sh = kShapes[shape];
  Case c;
  std::vector<cb::quant::Weight> one;
  for (int i = 0; i < sh.count; ++i) one.push_back(make_weight(format, sh.rows[i], sh.k));
  for (const auto& w : one) c.bytes += static_cast<double>(cb::quant::weight_bytes(w));
  const int n_copies = static_cast<int>(std::clamp(256e6 / c.bytes, 1.0, 64.0));
  c.copies.push_back(one);
  for (int i = 1; i < n_copies; ++i) {
    std::vector<cb::quant::Weight> cp;
    for (const auto& w : one)
      cp.push_back(std::visit([](const auto& v) -> cb::quant::Weight {
        auto d = v;
        if constexpr (requires { d.packed; d.scales_and_zeros; }) {
          d.packed = v.packed.clone();
          d.scales_and_zeros = v.scales_and_zeros.clone();
        } else if constexpr (requires { d.packed; d.absmax; }) {
          d.packed = v.packed.clone();
          d.absmax = v.absmax.clone();
        }
        return d;
      }, w));
    c.copies.push_back(std::move(cp));
  }
  return cache.emplace(key, std::move(c)).first->second;
}

// One launch of the kernel on copy `i` (the hooks directly: no allocation, so it can be captured).
bool launch(const Shape& sh, const std::vector<cb::quant::Weight>& ws, const at::Tensor& x, at::Tensor& y, std::int64_t m,
            cudaStream_t s) {
  namespace h = cb::quant::hooks;
  if (std::holds_alternative<cb::quant::Int4>(ws[0])) {
    std::vector<h::Int4View> v;
    for (const auto& w : ws) v.push_back(*std::get<cb::quant::Int4>(w).device_view());
    if (sh.count == 1 && !sh.gated) return h::int4_gemv()(v[0], x.data_ptr(), y.data_ptr(), m, sh.k, s);
    return h::int4_gemv_grouped()(v.data(), sh.count, sh.gated ? 0 : -1, x.data_ptr(), y.data_ptr(), m, sh.k, s);
  }
  std::vector<h::Bnb4View> v;
  for (const auto& w : ws)
    v.push_back(std::visit([](const auto& b) -> h::Bnb4View {
      if constexpr (requires { b.device_view()->code; }) return *b.device_view();
      else return {};
    }, w));
  if (sh.count == 1 && !sh.gated) return h::bnb4_gemv()(v[0], x.data_ptr(), y.data_ptr(), m, sh.rows[0], sh.k, s);
  return h::bnb4_gemv_grouped()(v.data(), sh.rows, sh.count, sh.gated ? 0 : -1, x.data_ptr(), y.data_ptr(), m, sh.k, s);
}

void BM_Gemv4(benchmark::State& state) {
  if (!cb::compat::cuda_available() || !cb::quant::hooks::bnb4_gemv()) return state.SkipWithError("CUDA kernels only");
  const int format = static_cast<int>(state.range(0)), shape = static_cast<int>(state.range(1));
  const std::int64_t m = state.range(2);
  const int variant = static_cast<int>(state.range(3));
  const Shape& sh = kShapes[shape];
  auto& c = weights(format, shape);
  const std::int64_t n_out = sh.gated ? sh.rows[0] : sh.rows[0] + (sh.count > 1 ? sh.rows[1] + sh.rows[2] : 0);
  auto x = at::randn({m, sh.k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
  auto y = at::empty({m, n_out}, x.options());
  const int saved = cb::quant::hooks::gemv4_variant();
  cb::quant::hooks::gemv4_variant() = variant;
  const int launches = std::max<int>(20, static_cast<int>(c.copies.size()));
  bool ok = true;
  double secs = 0;
  for (auto _ : state) {
    secs = graph_seconds([&](cudaStream_t s) {
      for (int i = 0; i < launches; ++i) ok = launch(sh, c.copies[i % c.copies.size()], x, y, m, s) && ok;
    }) / launches;
    state.SetIterationTime(secs);
  }
  cb::quant::hooks::gemv4_variant() = saved;
  if (!ok) return state.SkipWithError("kernel did not take the shape");
  const double bytes = c.bytes + 2.0 * m * (sh.k + n_out);
  state.SetLabel(std::string(kFormatNames[format]) + " " + kShapeNames[shape] + (variant == 0 ? " mma" : " lut"));
  state.counters["us"] = secs * 1e6;
  state.counters["GBps"] = bytes / secs / 1e9;
  state.counters["frac_copy"] = copy_gbps() > 0 ? bytes / secs / 1e9 / copy_gbps() : 0.0;
}

void gemv_cases(benchmark::internal::Benchmark* b) {
  for (int f = 0; f < 4; ++f)
    for (int s = 0; s < 7; ++s)
      for (std::int64_t m : {1, 8})
        for (int v : {0, 1}) b->Args({f, s, m, v});
}
BENCHMARK(BM_Gemv4)->Apply(gemv_cases)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

// ---- BM_Gemm4: kGemv4MaxRows < M <= kGemm4MaxRows (kernels/gemm4.cuh) -----------------------------------
// BM_Gemm4/<shape>/<path>/<M>: the fused 4-bit GEMM against bf16 cuBLAS and against the path it replaces
// (dequantize to bf16 + cuBLAS), each through quant::matmul as the decoder calls it, in one process. Shapes
// (Llama-3-8B, N x K): 0 q|k|v 6144x4096, 1 o 4096x4096, 2 gate|up 28672x4096, 3 gate or up 14336x4096,
// 4 down 4096x14336 (one weight each). Path: 0 bf16 (at::linear on a bf16 weight), 1..4 the fused GEMM on
// nf4_b64_dq / nf4_b64 / fp4_b64 / int4_g128, 5..8 dequantize + cuBLAS on the same formats. Each case is a
// CUDA graph (at::cuda::CUDAGraph, so the allocations of the ops come from its pool) of >= 20 back-to-back
// calls over enough copies of the weight that none stays in the 50 MB L2; time per call = median of 7
// replays / calls. Counters: us, TFLOPs (2 M N K over the time), weight_GBps (weight bytes over the time).
const std::int64_t kGemmShapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {14336, 4096}, {4096, 14336}};
const char* kGemmShapeNames[] = {"qkv_6144x4096", "o_4096x4096", "gate_up_28672x4096", "gate_14336x4096", "down_4096x14336"};

Case& gemm_weights(int format, int shape) {  // format -1: bf16
  static std::map<std::pair<int, int>, Case> cache;
  auto key = std::make_pair(format, shape);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  cache.clear();
  const auto n = kGemmShapes[shape][0], k = kGemmShapes[shape][1];
  Case c;
  cb::quant::Weight one = format < 0 ? cb::quant::Weight{cb::quant::Dense{at::randn({n, k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA)) * 0.02}}
                                     : make_weight(format, n, k);
  c.bytes = static_cast<double>(cb::quant::weight_bytes(one));
  const int n_copies = static_cast<int>(std::clamp(256e6 / c.bytes, 1.0, 32.0));
  c.copies.push_back({one});
  for (int i = 1; i < n_copies; ++i)
    c.copies.push_back({std::visit([](const auto& v) -> cb::quant::Weight {
      auto d = v;
      if constexpr (requires { d.packed; d.scales_and_zeros; }) {
        d.packed = v.packed.clone();
        d.scales_and_zeros = v.scales_and_zeros.clone();
      } else if constexpr (requires { d.packed; d.absmax; }) {
        d.packed = v.packed.clone();
        d.absmax = v.absmax.clone();
      } else if constexpr (requires { d.w; }) {
        d.w = v.w.clone();
      }
      return d;
    }, one)});
  return cache.emplace(key, std::move(c)).first->second;
}

// Median seconds of `reps` replays of an at::cuda::CUDAGraph of `body`, on a side stream.
template <class Body>
double torch_graph_seconds(Body body, int reps = 7) {
  auto stream = c10::cuda::getStreamFromPool();
  c10::cuda::CUDAStreamGuard guard(stream);
  body();  // eager warm-up: module load, cuBLAS handles, the kernels' one-time attributes
  stream.synchronize();
  at::cuda::CUDAGraph graph;
  graph.capture_begin();
  body();
  graph.capture_end();
  graph.replay();
  stream.synchronize();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, stream.stream());
    graph.replay();
    cudaEventRecord(b, stream.stream());
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms / 1e3);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void BM_Gemm4(benchmark::State& state) {
  if (!cb::compat::cuda_available() || !cb::quant::hooks::bnb4_gemm()) return state.SkipWithError("CUDA kernels only");
  const int shape = static_cast<int>(state.range(0)), path = static_cast<int>(state.range(1));
  const std::int64_t m = state.range(2);
  const int format = path == 0 ? -1 : (path - 1) % 4;
  const auto n = kGemmShapes[shape][0], k = kGemmShapes[shape][1];
  auto& c = gemm_weights(format, shape);
  auto x = at::randn({m, k}, at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
  const int saved = cb::quant::hooks::gemm4_variant();
  cb::quant::hooks::gemm4_variant() = path >= 5 ? 1 : 0;
  const int calls = std::max<int>(20, static_cast<int>(c.copies.size()));
  double secs = 0;
  std::string error;
  for (auto _ : state) {
    try {
      secs = torch_graph_seconds([&] {
        for (int i = 0; i < calls; ++i) (void)cb::quant::matmul(c.copies[i % c.copies.size()][0], x);
      }) / calls;
    } catch (const std::exception& e) {
      error = e.what();
    }
    state.SetIterationTime(secs > 0 ? secs : 1.0);
  }
  cb::quant::hooks::gemm4_variant() = saved;
  if (!error.empty()) return state.SkipWithError(error.substr(0, 200).c_str());
  static const char* kPathNames[] = {"bf16 cublas", "fused", "fused", "fused", "fused", "dequant+cublas", "dequant+cublas",
                                     "dequant+cublas", "dequant+cublas"};
  state.SetLabel(std::string(format < 0 ? "bf16" : kFormatNames[format]) + " " + kGemmShapeNames[shape] + " " + kPathNames[path]);
  state.counters["us"] = secs * 1e6;
  state.counters["TFLOPs"] = 2.0 * m * n * k / secs / 1e12;
  state.counters["weight_GBps"] = c.bytes / secs / 1e9;
}

void gemm_cases(benchmark::internal::Benchmark* b) {
  for (int s = 0; s < 5; ++s)
    for (int p : {0, 1, 5, 2, 6, 3, 7, 4, 8})  // the same weights back to back (one cached at a time)
      for (std::int64_t m : {16, 32, 64, 128, 256}) b->Args({s, p, m});
}
BENCHMARK(BM_Gemm4)->Apply(gemm_cases)->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);

#endif
}  // namespace
