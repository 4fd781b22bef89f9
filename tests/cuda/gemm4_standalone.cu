// kernels/gemm4.cuh checked and timed without libtorch: one nvcc translation unit (CUDA runtime + cuBLAS), so it
// can be built on a machine without the CUDA libtorch and carried to the GPU as one binary.
//   nvcc -std=c++17 -O2 -arch=sm_90 -Iinclude -Xcompiler -static-libstdc++,-static-libgcc \
//        tests/cuda/gemm4_standalone.cu -lcublas -o gemm4_standalone && ./gemm4_standalone [check] [bench] [emulate]
// emulate (no GPU needed): the kernel's index logic transcribed on the CPU against float64 (see emu:: below).
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
#include <functional>
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
  const std::int64_t blocks = (n * kk + block - 1) / block;  // the last block may be partial
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
  // The kernels run on a non-blocking stream, which a plain cudaMemcpy does not wait for.
  CK(cudaDeviceSynchronize());
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


// ---- emulate: gemm4_kernel's index logic on the CPU (no GPU needed) -----------------------------------------
// The kernel's tiles, copies (cp.async as a copy, zero fill included), activation swizzle, fragment registers,
// pipeline slots, epilogue, K-split partials, segments and gated pairs, transcribed step by step, at the value
// level: mma_pair(word jj, byte b) of chunk c of a row is the pair (w[row][32c + 8jj + 2b], ... + 1), as the
// stored layout puts it (the formats' decode is gemv4.cuh's, tested on the GPU), and mma.sync m16n8k16 as PTX
// lays out its fragments. Against float64 x W^T it must agree to rounding; shared memory that no copy wrote is
// NaN and fails. Mutating the swizzle, a fragment register or a pipeline slot makes it fail. Keep it in step
// with gemm4.cuh when the kernel's indexing changes.
namespace emu {
using i64 = std::int64_t;
constexpr int swz(int n, int u) { return k::gemm4_swizzle(n, u); }

struct Segs { int count; i64 start[4]; std::vector<float>* w[3]; };  // w[s]: [rows, k] floats

template <int kRt, int kNt, int kWarpsN, int kWarpsM, int kStages>
struct Tile { static constexpr int Rt=kRt, Nt=kNt, WN=kWarpsN, WM=kWarpsM, S=kStages, Threads=32*kWarpsN*kWarpsM,
  Rows=16*kRt*kWarpsN, Batch=8*kNt*kWarpsM; };

template <class G>
using TileOf = Tile<G::kRt, G::kNt, G::kWarpsN, G::kWarpsM, G::kStages>;

double act(double g, int a) { return a == 0 ? g / (1 + std::exp(-g)) : 0.5 * g * (1 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))); }

template <class T, bool kGated>
void run_block(const Segs& segs, const std::vector<float>& x, std::vector<double>& y, std::vector<double>& partial, int m, i64 n_out,
               i64 k, int per, int bx, int by, int bz, int gz, int activation) {
  const i64 chunks = k >> 5; const int steps = (int)((chunks + 3) >> 2);
  const int s_begin = bz * per, n_steps = std::min(steps, s_begin + per) - s_begin;
  const int m0 = bx * T::Batch;
  const i64 blk_row0 = (i64)by * (kGated ? T::Rows / 2 : T::Rows);
  int seg = 0;
  if (!kGated) while (seg + 1 < segs.count && blk_row0 >= segs.start[seg + 1]) ++seg;
  const i64 seg_begin = kGated ? 0 : segs.start[seg], seg_end = kGated ? n_out : segs.start[seg + 1];
  auto out_row_of = [&](int q, int i) -> i64 { return kGated ? blk_row0 + (q >> 1) * 16 + i : blk_row0 + q * 16 + i; };
  auto segment_of = [&](int q) { return kGated ? (q & 1) : seg; };
  // smem: weight units [S][Rows*4][32], x units [S][Batch*16][8]; NaN = never written
  std::vector<float> ws(T::S * T::Rows * 4 * 32, NAN), xs(T::S * T::Batch * 16 * 8, NAN);
  auto load_stage = [&](int slot, int step) {
    for (int tid = 0; tid < T::Threads; ++tid) {
      for (int l = 0; l < T::Rows * 4 / T::Threads; ++l) {
        const int idx = tid + l * T::Threads, b = idx >> 2, q = b >> 4, i = b & 15;
        const i64 out = out_row_of(q, i);
        const bool wok = out < seg_end;
        const i64 row = wok ? out - seg_begin : 0;
        const i64 c = 4 * (i64)step + (idx & 3);
        const bool ok = wok && c < chunks;
        float* dst = &ws[((size_t)slot * T::Rows * 4 + idx) * 32];
        const auto& W = *segs.w[segment_of(q)];
        for (int e = 0; e < 32; ++e) dst[e] = ok ? W[row * k + 32 * c + e] : 0.0f;  // zero fill
      }
      for (int l = 0; l < T::Batch * 16 / T::Threads; ++l) {
        const int idx = tid + l * T::Threads, n = idx >> 4, u = idx & 15;
        const bool xok = m0 + n < m;
        const i64 kk = 128 * (i64)step + u * 8;
        const bool ok = xok && kk < k;
        float* dst = &xs[((size_t)slot * T::Batch * 16 + n * 16 + swz(n, u)) * 8];
        for (int e = 0; e < 8; ++e) dst[e] = ok ? x[(m0 + n) * k + kk + e] : 0.0f;
      }
    }
  };
  constexpr int W = T::WN * T::WM;
  // acc[warp][lane][r][nt][4]
  std::vector<double> acc((size_t)W * 32 * T::Rt * T::Nt * 4, 0.0);
  auto A = [&](int w, int l, int r, int nt, int e) -> double& { return acc[((((size_t)w * 32 + l) * T::Rt + r) * T::Nt + nt) * 4 + e]; };
  std::vector<bool> aok((size_t)W * 32 * T::Rt * 2);
  for (int w = 0; w < W; ++w) for (int l = 0; l < 32; ++l) for (int r = 0; r < T::Rt; ++r) for (int h = 0; h < 2; ++h) {
    const int wn = w % T::WN, g = l >> 2;
    aok[((w * 32 + l) * T::Rt + r) * 2 + h] = out_row_of(wn * T::Rt + r, g + 8 * h) < seg_end;
  }
  for (int s = 0; s < T::S - 1; ++s) if (s < n_steps) load_stage(s, s_begin + s);
  for (int it = 0; it < n_steps; ++it) {
    const int nx = it + T::S - 1;
    if (nx < n_steps) load_stage(nx % T::S, s_begin + nx);
    const int slot = it % T::S;
    const i64 step = s_begin + it;
    for (int w = 0; w < W; ++w) {
      const int wn = w % T::WN, wm = w / T::WN;
      for (int jj = 0; jj < 4; ++jj)
        for (int r = 0; r < T::Rt; ++r)
          for (int e = 0; e < 2; ++e) {
            const int b = 2 * e;
            // per lane fragments
            double a[32][4][2], bb[T::Nt][32][2][2];
            for (int l = 0; l < 32; ++l) {
              const int g = l >> 2, t = l & 3;
              const i64 c = 4 * step + t;
              for (int h = 0; h < 2; ++h) {
                const bool sc_ok = aok[((w * 32 + l) * T::Rt + r) * 2 + h] && c < chunks;  // scale 0 otherwise
                const float* unit = &ws[((size_t)slot * T::Rows * 4 + ((wn * T::Rt + r) * 16 + g + 8 * h) * 4 + t) * 32];
                // a0 = pair(w0, b), a1 = pair(w1, b), a2 = pair(w0, b+1), a3 = pair(w1, b+1)
                for (int bp = 0; bp < 2; ++bp) {
                  const int reg = h + 2 * bp, byte = b + bp;
                  a[l][reg][0] = sc_ok ? unit[8 * jj + 2 * byte] : 0.0;
                  a[l][reg][1] = sc_ok ? unit[8 * jj + 2 * byte + 1] : 0.0;
                }
              }
              for (int nt = 0; nt < T::Nt; ++nt) {
                const int n = (wm * T::Nt + nt) * 8 + g;
                const float* xu = &xs[((size_t)slot * T::Batch * 16 + n * 16 + swz(n, 4 * t + jj)) * 8];
                for (int reg = 0; reg < 2; ++reg) {  // word b + reg of xv
                  bb[nt][l][reg][0] = xu[2 * (b + reg)];
                  bb[nt][l][reg][1] = xu[2 * (b + reg) + 1];
                }
              }
            }
            // mma m16n8k16: A[row][col] from lane (g,t): a0 (g, 2t..), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..)
            double Am[16][16], Bm[16][8];
            for (int l = 0; l < 32; ++l) {
              const int g = l >> 2, t = l & 3;
              for (int p = 0; p < 2; ++p) {
                Am[g][2 * t + p] = a[l][0][p]; Am[g + 8][2 * t + p] = a[l][1][p];
                Am[g][2 * t + 8 + p] = a[l][2][p]; Am[g + 8][2 * t + 8 + p] = a[l][3][p];
              }
            }
            for (int nt = 0; nt < T::Nt; ++nt) {
              for (int l = 0; l < 32; ++l) {
                const int g = l >> 2, t = l & 3;
                for (int p = 0; p < 2; ++p) { Bm[2 * t + p][g] = bb[nt][l][0][p]; Bm[2 * t + 8 + p][g] = bb[nt][l][1][p]; }
              }
              for (int l = 0; l < 32; ++l) {
                const int g = l >> 2, t = l & 3;
                for (int ee = 0; ee < 4; ++ee) {
                  const int row = g + 8 * (ee >> 1), col = 2 * t + (ee & 1);
                  double s = 0; for (int kk = 0; kk < 16; ++kk) s += Am[row][kk] * Bm[kk][col];
                  if (std::isnan(s)) { std::printf("NaN: smem read never written\n"); std::exit(1); }
                  A(w, l, r, nt, ee) += s;
                }
              }
            }
          }
    }
  }
  const bool split = gz > 1; const i64 ld = kGated ? 2 * n_out : n_out;
  for (int w = 0; w < W; ++w) for (int l = 0; l < 32; ++l) {
    const int wn = w % T::WN, wm = w / T::WN, g = l >> 2, t = l & 3;
    for (int r = 0; r < T::Rt; ++r) {
      if (kGated && (r & 1)) continue;
      for (int nt = 0; nt < T::Nt; ++nt) for (int h = 0; h < 2; ++h) for (int e = 0; e < 2; ++e) {
        const int batch = m0 + (wm * T::Nt + nt) * 8 + 2 * t + e;
        const i64 out = out_row_of(wn * T::Rt + r, g + 8 * h);
        if (batch >= m || out >= (kGated ? n_out : seg_end)) continue;
        const double v = A(w, l, r, nt, 2 * h + e);
        if (split) {
          double* p = &partial[((i64)bz * m + batch) * ld];
          p[out] = v; if (kGated) p[n_out + out] = A(w, l, r + 1, nt, 2 * h + e);
        } else if (kGated) {
          y[batch * n_out + out] = act(v, activation) * A(w, l, r + 1, nt, 2 * h + e);
        } else y[batch * n_out + out] = v;
      }
    }
  }
}

template <class T, bool kGated>
double run(const Segs& segs, const std::vector<float>& x, int m, i64 n_out, i64 k, int split, int activation) {
  const i64 chunks = k >> 5; const int steps = (int)((chunks + 3) >> 2);
  const int per = (steps + split - 1) / split; split = (steps + per - 1) / per;
  std::vector<double> y((size_t)m * n_out, NAN), partial((size_t)split * m * (kGated ? 2 : 1) * n_out, NAN);
  const i64 rpb = kGated ? T::Rows / 2 : T::Rows;
  for (int bz = 0; bz < split; ++bz) for (int by = 0; by < (n_out + rpb - 1) / rpb; ++by) for (int bx = 0; bx < (m + T::Batch - 1) / T::Batch; ++bx)
    run_block<T, kGated>(segs, x, y, partial, m, n_out, k, per, bx, by, bz, split, activation);
  if (split > 1) {
    const i64 ld = kGated ? 2 * n_out : n_out;
    for (i64 i = 0; i < m * n_out; ++i) {
      const i64 batch = i / n_out, out = i % n_out; double v = 0, u = 0;
      for (int z = 0; z < split; ++z) { v += partial[(z * m + batch) * ld + out]; if (kGated) u += partial[(z * m + batch) * ld + n_out + out]; }
      y[i] = kGated ? act(v, activation) * u : v;
    }
  }
  // reference
  double err = 0, ref2 = 0;
  for (int b = 0; b < m; ++b) for (i64 o = 0; o < n_out; ++o) {
    auto dot = [&](const std::vector<float>& W, i64 row) { double s = 0; for (i64 j = 0; j < k; ++j) s += (double)x[b * k + j] * W[row * k + j]; return s; };
    double ref;
    if (kGated) ref = act(dot(*segs.w[0], o), activation) * dot(*segs.w[1], o);
    else { int s = 0; while (s + 1 < segs.count && o >= segs.start[s + 1]) ++s; ref = dot(*segs.w[s], o - segs.start[s]); }
    const double got = y[b * n_out + o];
    if (std::isnan(got)) { std::printf("unwritten y[%d][%lld]\n", b, (long long)o); return 1e9; }
    err = std::max(err, std::fabs(got - ref)); ref2 = std::max(ref2, std::fabs(ref));
  }
  return err / ref2;
}

int emulate() {
  std::mt19937 rng(1); std::normal_distribution<float> nd;
  auto mk = [&](i64 r, i64 c) { std::vector<float> v(r * c); for (auto& e : v) e = nd(rng); return v; };
  // The kernel's own tile configurations.
  using T16 = TileOf<k::Gemm4Tile16>; using T32 = TileOf<k::Gemm4Tile32>; using T64 = TileOf<k::Gemm4Tile64>;
  using T96 = TileOf<k::Gemm4Tile96>; using T128 = TileOf<k::Gemm4Tile128>;
  double worst = 0;
  auto single = [&](auto tile, i64 n, i64 k, int m, int split) {
    using T = decltype(tile);
    auto W = mk(n, k); auto x = mk(m, k);
    Segs s{1, {0, n, n, n}, {&W, &W, &W}};
    const double e = run<T, false>(s, x, m, n, k, split, 0);
    std::printf("single T%d n=%lld k=%lld m=%d split=%d: rel max err %.3g\n", T::Batch, (long long)n, (long long)k, m, split, e);
    worst = std::max(worst, e);
  };
  single(T16{}, 137, 160, 9, 1); single(T16{}, 300, 2080, 16, 3); single(T32{}, 129, 416, 33 - 1, 2);
  single(T64{}, 250, 4096 / 8, 64, 1); single(T64{}, 130, 352, 40, 4); single(T96{}, 140, 288, 77, 2);
  single(T128{}, 257, 224, 100, 1); single(T128{}, 136, 480, 256, 3); single(T128{}, 24, 1024, 129, 8);
  // grouped: q 256 rows, k/v 128
  { auto q = mk(256, 224), kk = mk(128, 224), v = mk(128, 224); auto x = mk(40, 224);
    Segs s{3, {0, 256, 384, 512}, {&q, &kk, &v}};
    double e = run<T64, false>(s, x, 40, 512, 224, 2, 0); std::printf("grouped: %.3g\n", e); worst = std::max(worst, e);
    e = run<T128, false>(s, x, 40, 512, 224, 1, 0); std::printf("grouped T128: %.3g\n", e); worst = std::max(worst, e); }
  for (int a : {0, 1}) { auto gt = mk(150, 288), up = mk(150, 288); auto x = mk(70, 288);
    Segs s{2, {0, 150, 300, 300}, {&gt, &up, &up}};
    double e = run<T96, true>(s, x, 70, 150, 288, 1, a); std::printf("gated act %d: %.3g\n", a, e); worst = std::max(worst, e);
    e = run<T16, true>(s, x, 12, 150, 288, 3, a); std::printf("gated split act %d: %.3g\n", a, e); worst = std::max(worst, e);
    e = run<T64, true>(s, x, 70, 150, 288, 2, a); std::printf("gated T64 act %d: %.3g\n", a, e); worst = std::max(worst, e); }
  std::printf("worst %.3g -> %s\n", worst, worst < 1e-9 ? "PASS" : "FAIL");
  return worst < 1e-9 ? 0 : 1;
}
}  // namespace emu

int main(int argc, char** argv) {
  bool do_check = argc < 2, do_bench = argc < 2;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "emulate")) return emu::emulate();
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
