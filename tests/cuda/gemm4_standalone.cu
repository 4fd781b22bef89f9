// kernels/gemm4.cuh checked and timed without libtorch: one nvcc translation unit (CUDA runtime + cuBLAS), so it
// can be built on a machine without the CUDA libtorch and carried to the GPU as one binary.
//   nvcc -std=c++17 -O2 -arch=sm_90 -Iinclude -Xcompiler -static-libstdc++,-static-libgcc \
//        tests/cuda/gemm4_standalone.cu -lcublas -o gemm4_standalone && ./gemm4_standalone [check] [bench]
// check: random packed weights of every format (NF4 b64 + double quant, NF4 b128, FP4 b64 + double quant, FP4 b32,
//   int4 g32 / g128), M in {9, 16, 33, 64, 100, 128, 256}, N and K not multiples of the tiles: the fused GEMM
//   against float64 on the bf16 weight the MMA multiplies (every output within one bf16 rounding + 1e-4 of the
//   largest |y|), against dequantize (kernels/dequant.cuh) + cuBLAS (relative norm < 3e-3), every output written
//   (NaN-poisoned y); grouped q|k|v and gated gate/up (SiLU, GELU-tanh) against separate launches.
// bench: Llama-3-8B shapes at M = 16..256: bf16 cuBLAS (cublasGemmEx, as at::linear calls it), the fused GEMM and
//   dequantize + cuBLAS on NF4-DQ and int4 g128, each a CUDA graph of back-to-back calls over enough weight copies
//   to defeat the L2, median of 7 replays. The CudaGemm4 tests and BM_Gemm4 do the same through libtorch.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "curebench/kernels/dequant.cuh"
#include "curebench/kernels/gemm4.cuh"

namespace k = curebench::kernels;
namespace h = curebench::quant::hooks;

#define CK(x)                                                                          \
  do {                                                                                 \
    cudaError_t e_ = (x);                                                              \
    if (e_ != cudaSuccess) {                                                           \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(2);                                                                    \
    }                                                                                  \
  } while (0)

namespace {
const float kNF4[16] = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
                        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
                        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
                        0.7229568362236023f, 1.0f};
const float kFP4[16] = {0.0f / 12, 0.0625f / 12, 8.0f / 12, 12.0f / 12, 4.0f / 12, 6.0f / 12, 2.0f / 12, 3.0f / 12,
                        -0.0f / 12, -0.0625f / 12, -8.0f / 12, -12.0f / 12, -4.0f / 12, -6.0f / 12, -2.0f / 12, -3.0f / 12};

std::mt19937_64 rng(12345);
float uniform(float a, float b) { return std::uniform_real_distribution<float>(a, b)(rng); }
float bf16_round(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

template <class T>
T* to_device(const std::vector<T>& v) {
  T* p = nullptr;
  CK(cudaMalloc(&p, std::max<size_t>(v.size(), 1) * sizeof(T)));
  CK(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

// One 4-bit weight: device buffers, the kernels' view, and (check) the bf16 weight the MMA sees, as float.
struct Weight4 {
  bool int4 = false;
  std::int64_t n = 0, kk = 0;
  h::Bnb4View bv;
  h::Int4View iv;
  std::vector<float> w;  // [n, k], filled when keep_host
  std::int64_t bytes = 0;
};

// fmt: 0 NF4 b64 dq, 1 NF4 b128, 2 FP4 b64 dq, 3 FP4 b32, 4 int4 g32, 5 int4 g128.
Weight4 make_weight(int fmt, std::int64_t n, std::int64_t kk, bool keep_host) {
  Weight4 r;
  r.n = n, r.kk = kk, r.int4 = fmt >= 4;
  std::vector<std::uint8_t> packed(static_cast<size_t>(n * kk / 2));
  for (size_t i = 0; i < packed.size(); i += 8) {
    const std::uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < packed.size(); ++j) packed[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  if (r.int4) {
    const int group = fmt == 4 ? 32 : 128;
    const std::int64_t groups = kk / group;
    std::vector<__nv_bfloat16> sz(static_cast<size_t>(groups * n * 2));
    for (std::int64_t i = 0; i < groups * n; ++i) {
      sz[2 * i] = __float2bfloat16_rn(uniform(0.001f, 0.01f));
      sz[2 * i + 1] = __float2bfloat16_rn(uniform(-0.01f, 0.01f));
    }
    r.iv.packed = to_device(packed);
    r.iv.scales_and_zeros = to_device(sz);
    r.iv.n = n;
    r.iv.group_shift = k::log2_exact(group);
    r.bytes = static_cast<std::int64_t>(packed.size() + sz.size() * 2);
    if (keep_host) {
      r.w.resize(static_cast<size_t>(n * kk));
      for (std::int64_t row = 0; row < n; ++row)
        for (std::int64_t c = 0; c < kk; ++c) {
          const std::uint8_t byte = packed[static_cast<size_t>((row * kk + c) / 2)];
          const int q = c % 2 ? byte & 0xF : byte >> 4;
          const auto g = (c / group) * n + row;
          const double exact = static_cast<double>(q - 8) * __bfloat162float(sz[2 * g]) + __bfloat162float(sz[2 * g + 1]);
          r.w[static_cast<size_t>(row * kk + c)] = bf16_round(static_cast<float>(exact));
        }
    }
    return r;
  }
  const bool dq = fmt == 0 || fmt == 2;
  const int block = fmt == 1 ? 128 : fmt == 3 ? 32 : 64;
  const float* code = fmt <= 1 ? kNF4 : kFP4;
  const std::int64_t blocks = n * kk / block;
  std::vector<float> scale(static_cast<size_t>(blocks));
  r.bv.code = to_device(std::vector<float>(code, code + 16));
  r.bv.block_shift = k::log2_exact(block);
  if (dq) {
    std::vector<std::uint8_t> u8(static_cast<size_t>(blocks));
    std::vector<float> nested_code(256), nested_absmax(static_cast<size_t>((blocks + 255) / 256));
    for (int i = 0; i < 256; ++i) nested_code[i] = -1.0f + 2.0f * i / 255.0f;
    for (auto& v : nested_absmax) v = uniform(0.005f, 0.01f);
    for (auto& v : u8) v = static_cast<std::uint8_t>(rng() & 0xFF);
    const float offset = 0.03f;
    for (std::int64_t b = 0; b < blocks; ++b) {
      volatile float p = nested_code[u8[b]] * nested_absmax[b >> 8];  // product, then sum, each rounded
      scale[b] = p + offset;
    }
    r.bv.absmax_u8 = to_device(u8);
    r.bv.nested_code = to_device(nested_code);
    r.bv.nested_absmax = to_device(nested_absmax);
    r.bv.nested_offset = offset;
    r.bv.nested_shift = 8;
    r.bytes = static_cast<std::int64_t>(packed.size() + u8.size());
  } else {
    for (auto& v : scale) v = uniform(0.02f, 0.04f);
    r.bv.absmax_f32 = to_device(scale);
    r.bytes = static_cast<std::int64_t>(packed.size() + scale.size() * 4);
  }
  r.bv.packed = to_device(packed);
  if (keep_host) {
    r.w.resize(static_cast<size_t>(n * kk));
    for (std::int64_t i = 0; i < n * kk; ++i) {
      const std::uint8_t byte = packed[static_cast<size_t>(i / 2)];
      const int q = i % 2 ? byte & 0xF : byte >> 4;
      volatile float p = code[q] * scale[i / block];
      r.w[static_cast<size_t>(i)] = bf16_round(p);
    }
  }
  return r;
}

struct Ctx {
  cublasHandle_t blas;
  cudaStream_t stream;
  void* ws = nullptr;
  std::int64_t ws_bytes = 64 << 20;
  void* blas_ws = nullptr;
};

// The fused GEMM on `count` weights (gated: gate, up).
bool fused(Ctx& c, const Weight4* w, int count, int gated, const __nv_bfloat16* x, __nv_bfloat16* y, std::int64_t m) {
  const std::int64_t kk = w[0].kk;
  std::int64_t rows[3];
  std::int64_t total = 0;
  for (int i = 0; i < count; ++i) rows[i] = w[i].n, total += w[i].n;
  const std::int64_t ws_bytes = std::min(c.ws_bytes, h::gemm4_workspace_bytes(m, gated >= 0 ? 2 * w[0].n : total));
  if (w[0].int4) {
    h::Int4View v[3];
    for (int i = 0; i < count; ++i) v[i] = w[i].iv;
    return k::int4_gemm(v, count, gated, x, y, m, kk, ws_bytes ? c.ws : nullptr, ws_bytes, c.stream);
  }
  h::Bnb4View v[3];
  for (int i = 0; i < count; ++i) v[i] = w[i].bv;
  return k::bnb4_gemm(v, rows, count, gated, x, y, m, kk, ws_bytes ? c.ws : nullptr, ws_bytes, c.stream);
}

// y [m, n] = x [m, k] . W [n, k]^T in bf16 with float32 accumulation, as at::linear asks cuBLAS.
void blas_gemm(Ctx& c, const __nv_bfloat16* w, const __nv_bfloat16* x, __nv_bfloat16* y, std::int64_t m, std::int64_t n,
               std::int64_t kk) {
  const float one = 1.0f, zero = 0.0f;
  cublasGemmEx(c.blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m), static_cast<int>(kk), &one, w,
               CUDA_R_16BF, static_cast<int>(kk), x, CUDA_R_16BF, static_cast<int>(kk), &zero, y, CUDA_R_16BF,
               static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

// The path the GEMM replaces: dequantize to a bf16 buffer, then cuBLAS.
void dequant_gemm(Ctx& c, const Weight4& w, __nv_bfloat16* wbuf, const __nv_bfloat16* x, __nv_bfloat16* y, std::int64_t m) {
  if (w.int4) k::int4_dequant(w.iv.packed, w.iv.scales_and_zeros, wbuf, w.n, w.kk, std::int64_t{1} << w.iv.group_shift, c.stream);
  else k::bnb4_dequant(w.bv, wbuf, w.n * w.kk, c.stream);
  blas_gemm(c, wbuf, x, y, m, w.n, w.kk);
}

std::vector<float> download(const __nv_bfloat16* p, std::int64_t count) {
  std::vector<__nv_bfloat16> h(static_cast<size_t>(count));
  CK(cudaMemcpy(h.data(), p, count * 2, cudaMemcpyDeviceToHost));
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) f[i] = __bfloat162float(h[i]);
  return f;
}

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

float act(float g, int a) {
  if (a == 0) return g / (1.0f + std::exp(-g));
  return 0.5f * g * (1.0f + std::tanh(0.7978845608028654f * (g + 0.044715f * g * g * g)));
}

void check(Ctx& c) {
  const char* names[] = {"nf4 b64 dq", "nf4 b128", "fp4 b64 dq", "fp4 b32", "int4 g32", "int4 g128"};
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{1027, 2080}, {250, 4096}, {136, 160}, {24, 14336}};
  const std::int64_t ms[] = {9, 16, 33, 64, 100, 128, 256};
  __nv_bfloat16 *x, *y, *y2, *wbuf;
  CK(cudaMalloc(&x, 256 * 14336 * 2));
  CK(cudaMalloc(&y, 256 * 4096 * 2));
  CK(cudaMalloc(&y2, 256 * 4096 * 2));
  CK(cudaMalloc(&wbuf, 4096 * 4096 * 2));
  double worst_excess = -1e300, worst_rel = 0, worst_rel_dq = 0;
  for (const auto& shape : shapes)
    for (int fmt = 0; fmt < 6; ++fmt) {
      const std::int64_t n = shape.first, kk = shape.second;
      if (fmt >= 4 && kk % (fmt == 4 ? 32 : 128)) continue;
      auto w = make_weight(fmt, n, kk, true);
      for (std::int64_t m : ms) {
        std::vector<__nv_bfloat16> xh(static_cast<size_t>(m * kk));
        std::vector<float> xf(xh.size());
        const float amp = m % 2 ? 1.0f : 30.0f;
        for (size_t i = 0; i < xh.size(); ++i) xh[i] = __float2bfloat16_rn(uniform(-amp, amp)), xf[i] = __bfloat162float(xh[i]);
        CK(cudaMemcpy(x, xh.data(), xh.size() * 2, cudaMemcpyHostToDevice));
        CK(cudaMemset(y, 0xFF, m * n * 2));  // NaN
        const bool ok = fused(c, &w, 1, -1, x, y, m);
        CK(cudaStreamSynchronize(c.stream));
        CK(cudaGetLastError());
        dequant_gemm(c, w, wbuf, x, y2, m);
        CK(cudaStreamSynchronize(c.stream));
        auto got = download(y, m * n), dq = download(y2, m * n);
        std::vector<double> ref(static_cast<size_t>(m * n));
        {
          std::vector<std::thread> pool;
          const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
          for (int th = 0; th < threads; ++th)
            pool.emplace_back([&, th] {
              for (std::int64_t i = th; i < m * n; i += threads) {
                const std::int64_t r = i / n, col = i % n;
                double s = 0;
                for (std::int64_t j = 0; j < kk; ++j) s += static_cast<double>(xf[r * kk + j]) * w.w[col * kk + j];
                ref[i] = s;
              }
            });
          for (auto& t : pool) t.join();
        }
        double scale = 0, excess = -1e300, d2 = 0, r2 = 0, dq2 = 0;
        bool nan = false;
        for (double v : ref) scale = std::max(scale, std::fabs(v));
        for (size_t i = 0; i < ref.size(); ++i) {
          if (std::isnan(got[i])) nan = true;
          excess = std::max(excess, std::fabs(got[i] - ref[i]) - std::fabs(ref[i]) * std::ldexp(1.0, -8) - 1e-4 * scale);
          d2 += (got[i] - ref[i]) * (got[i] - ref[i]);
          r2 += ref[i] * ref[i];
          dq2 += (static_cast<double>(got[i]) - dq[i]) * (static_cast<double>(got[i]) - dq[i]);
        }
        const double rel = std::sqrt(d2 / r2), rel_dq = std::sqrt(dq2 / r2);
        worst_excess = std::max(worst_excess, excess / scale), worst_rel = std::max(worst_rel, rel);
        worst_rel_dq = std::max(worst_rel_dq, rel_dq);
        const std::string where = std::string(names[fmt]) + " n=" + std::to_string(n) + " k=" + std::to_string(kk) + " m=" + std::to_string(m);
        expect(ok, where + ": not launched");
        expect(!nan, where + ": NaN (unwritten output)");
        expect(excess <= 0, where + ": excess " + std::to_string(excess) + " of scale " + std::to_string(scale));
        expect(rel_dq < 3e-3, where + ": vs dequant+cuBLAS rel " + std::to_string(rel_dq));
      }
    }
  std::printf("check single: worst excess/scale %.3g (<= 0 passes), worst rel vs float64 %.3g, worst rel vs dequant+cuBLAS %.3g\n",
              worst_excess, worst_rel, worst_rel_dq);
  // Grouped q|k|v and gated gate/up against separate launches.
  for (int fmt : {0, 3, 5}) {
    const std::int64_t hidden = 1024, kv = 256, inter = 2816;
    Weight4 qkv[3] = {make_weight(fmt, hidden, hidden, false), make_weight(fmt, kv, hidden, false), make_weight(fmt, kv, hidden, false)};
    Weight4 gu[2] = {make_weight(fmt, inter, hidden, false), make_weight(fmt, inter, hidden, false)};
    __nv_bfloat16 *yg, *ys, *yu;
    CK(cudaMalloc(&yg, 256 * inter * 2));
    CK(cudaMalloc(&ys, 256 * inter * 2));
    CK(cudaMalloc(&yu, 256 * inter * 2));
    for (std::int64_t m : {9, 33, 100, 256}) {
      std::vector<__nv_bfloat16> xh(static_cast<size_t>(m * hidden));
      for (auto& v : xh) v = __float2bfloat16_rn(uniform(-2, 2));
      CK(cudaMemcpy(x, xh.data(), xh.size() * 2, cudaMemcpyHostToDevice));
      const std::int64_t total = hidden + 2 * kv;
      CK(cudaMemset(yg, 0xFF, m * total * 2));
      expect(fused(c, qkv, 3, -1, x, yg, m), "grouped launch");
      std::int64_t off = 0;
      std::vector<float> sep(static_cast<size_t>(m * total));
      for (int s = 0; s < 3; ++s) {
        expect(fused(c, &qkv[s], 1, -1, x, ys, m), "separate launch");
        auto part = download(ys, m * qkv[s].n);
        for (std::int64_t r = 0; r < m; ++r)
          for (std::int64_t i = 0; i < qkv[s].n; ++i) sep[r * total + off + i] = part[r * qkv[s].n + i];
        off += qkv[s].n;
      }
      auto got = download(yg, m * total);
      int bad = 0, equal = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        if (!(std::fabs(got[i] - sep[i]) <= std::fabs(sep[i]) * std::ldexp(1.0, -7) + 1e-6)) ++bad;
        equal += got[i] == sep[i];
      }
      expect(bad == 0 && equal > 0.9 * got.size(), "grouped q|k|v fmt " + std::to_string(fmt) + " m " + std::to_string(m) +
                                                       ": " + std::to_string(bad) + " outside one rounding, " + std::to_string(equal) + " equal of " + std::to_string(got.size()));
      for (int a : {0, 1}) {
        CK(cudaMemset(yg, 0xFF, m * inter * 2));
        expect(fused(c, gu, 2, a, x, yg, m), "gated launch");
        expect(fused(c, &gu[0], 1, -1, x, ys, m), "gate launch");
        expect(fused(c, &gu[1], 1, -1, x, yu, m), "up launch");
        auto gg = download(yg, m * inter), g = download(ys, m * inter), u = download(yu, m * inter);
        double mx = 0, worst = 0;
        int eq = 0;
        bool nan = false;
        for (size_t i = 0; i < gg.size(); ++i) {
          const float want = bf16_round(bf16_round(act(g[i], a)) * u[i]);
          mx = std::max(mx, static_cast<double>(std::fabs(want)));
          worst = std::max(worst, static_cast<double>(std::fabs(gg[i] - want)));
          eq += gg[i] == want;
          nan = nan || std::isnan(gg[i]);
        }
        expect(!nan && worst <= mx / 64 && eq > 0.9 * gg.size(), "gated fmt " + std::to_string(fmt) + " act " + std::to_string(a) + " m " +
                                                                    std::to_string(m) + ": max diff " + std::to_string(worst) + " of " +
                                                                    std::to_string(mx) + ", equal " + std::to_string(eq));
      }
    }
  }
  std::printf("check: %s (%d failures)\n", failures ? "FAILED" : "PASSED", failures);
}

// Median seconds per call of `calls` calls of body(i), captured in a CUDA graph (eager if capture fails).
template <class Body>
double time_calls(Ctx& c, int calls, Body body) {
  body(0);
  CK(cudaStreamSynchronize(c.stream));
  cudaGraph_t g = nullptr;
  cudaGraphExec_t e = nullptr;
  bool graph = cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
  if (graph) {
    for (int i = 0; i < calls; ++i) body(i);
    graph = cudaStreamEndCapture(c.stream, &g) == cudaSuccess && cudaGraphInstantiate(&e, g, 0) == cudaSuccess;
  }
  cudaGetLastError();
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<double> t;
  for (int r = 0; r < 8; ++r) {
    CK(cudaEventRecord(a, c.stream));
    if (graph) CK(cudaGraphLaunch(e, c.stream));
    else
      for (int i = 0; i < calls; ++i) body(i);
    CK(cudaEventRecord(b, c.stream));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    if (r > 0) t.push_back(ms / 1e3 / calls);
  }
  if (e) cudaGraphExecDestroy(e);
  if (g) cudaGraphDestroy(g);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void bench(Ctx& c) {
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {14336, 4096}, {4096, 14336}};
  const char* shape_names[] = {"q|k|v 6144x4096", "o 4096x4096", "gate|up 28672x4096", "gate 14336x4096", "down 4096x14336"};
  const std::int64_t ms[] = {16, 32, 64, 128, 256};
  __nv_bfloat16 *x, *y, *wbuf;
  CK(cudaMalloc(&x, 256 * 14336 * 2));
  CK(cudaMalloc(&y, 256 * 28672 * 2));
  CK(cudaMalloc(&wbuf, 28672ll * 4096 * 2));
  {
    std::vector<__nv_bfloat16> xh(256 * 14336);
    for (auto& v : xh) v = __float2bfloat16_rn(uniform(-1, 1));
    CK(cudaMemcpy(x, xh.data(), xh.size() * 2, cudaMemcpyHostToDevice));
  }
  std::printf("\n| shape | M | bf16 cuBLAS us | NF4-DQ fused us | NF4-DQ dequant+cuBLAS us | NF4-DQ fused vs bf16 | int4 fused us | int4 dequant+cuBLAS us | int4 fused vs bf16 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int s = 0; s < 5; ++s) {
    const std::int64_t n = shapes[s].first, kk = shapes[s].second;
    // bf16 copies (>= 2, to exceed the L2 with the 6144 x 4096 / 4096 x 4096 ones: 4 copies of 32-50 MB).
    const int bf_copies = static_cast<int>(std::clamp(256e6 / (n * kk * 2.0), 1.0, 8.0));
    std::vector<__nv_bfloat16*> wb(bf_copies);
    {
      std::vector<__nv_bfloat16> wh(static_cast<size_t>(n * kk));
      for (auto& v : wh) v = __float2bfloat16_rn(uniform(-0.03f, 0.03f));
      for (auto& p : wb) {
        CK(cudaMalloc(&p, n * kk * 2));
        CK(cudaMemcpy(p, wh.data(), n * kk * 2, cudaMemcpyHostToDevice));
      }
    }
    std::vector<Weight4> nf4, i4;
    const int q_copies = static_cast<int>(std::clamp(256e6 / (n * kk * 0.53), 1.0, 32.0));
    for (int i = 0; i < q_copies; ++i) nf4.push_back(make_weight(0, n, kk, false)), i4.push_back(make_weight(5, n, kk, false));
    for (std::int64_t m : ms) {
      const int calls = 20;
      const double t_bf = time_calls(c, calls, [&](int i) { blas_gemm(c, wb[i % bf_copies], x, y, m, n, kk); });
      const double t_nf = time_calls(c, calls, [&](int i) { fused(c, &nf4[i % q_copies], 1, -1, x, y, m); });
      const double t_nfd = time_calls(c, calls, [&](int i) { dequant_gemm(c, nf4[i % q_copies], wbuf, x, y, m); });
      const double t_i4 = time_calls(c, calls, [&](int i) { fused(c, &i4[i % q_copies], 1, -1, x, y, m); });
      const double t_i4d = time_calls(c, calls, [&](int i) { dequant_gemm(c, i4[i % q_copies], wbuf, x, y, m); });
      std::printf("| %s | %lld | %.1f | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx |\n", shape_names[s], static_cast<long long>(m),
                  t_bf * 1e6, t_nf * 1e6, t_nfd * 1e6, t_bf / t_nf, t_i4 * 1e6, t_i4d * 1e6, t_bf / t_i4);
      std::fflush(stdout);
    }
    for (auto p : wb) cudaFree(p);
    auto free_w = [](Weight4& w) {
      cudaFree(const_cast<std::uint8_t*>(w.int4 ? w.iv.packed : w.bv.packed));
      if (w.int4) cudaFree(const_cast<void*>(w.iv.scales_and_zeros));
      else {
        cudaFree(const_cast<float*>(w.bv.code));
        cudaFree(const_cast<float*>(w.bv.absmax_f32));
        cudaFree(const_cast<std::uint8_t*>(w.bv.absmax_u8));
        cudaFree(const_cast<float*>(w.bv.nested_code));
        cudaFree(const_cast<float*>(w.bv.nested_absmax));
      }
    };
    for (auto& w : nf4) free_w(w);
    for (auto& w : i4) free_w(w);
  }
  CK(cudaGetLastError());
}
}  // namespace

int main(int argc, char** argv) {
  bool do_check = argc < 2, do_bench = argc < 2;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "check")) do_check = true;
    if (!std::strcmp(argv[i], "bench")) do_bench = true;
  }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  Ctx c;
  CK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  if (cublasCreate(&c.blas) != CUBLAS_STATUS_SUCCESS) return 3;
  cublasSetStream(c.blas, c.stream);
  CK(cudaMalloc(&c.blas_ws, 32 << 20));
  cublasSetWorkspace(c.blas, c.blas_ws, 32 << 20);
  CK(cudaMalloc(&c.ws, c.ws_bytes));
  if (do_check) check(c);
  if (do_bench) bench(c);
  return failures ? 1 : 0;
}
