// kernels/dequant.cuh through the quant formats' matmul (hooks registered by cmake/dequant_hooks.cu):
// NF4 (plain and double-quant) and int4 g128 results against the CPU reference (dequantize on the CPU in
// float32, then the matmul), at M on both sides of the tinygemm range.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "curebench/quant/grouped.hpp"
#include "curebench/quant/weight.hpp"

namespace cb = curebench;

namespace {
double rel_err(const at::Tensor& got, const at::Tensor& ref) {
  auto g = got.to(at::kCPU, at::kFloat);
  return ((g - ref).norm() / ref.norm()).item<double>();
}
}  // namespace

TEST(CudaDequant, KernelsMatchCpuReference) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  EXPECT_NE(cb::quant::hooks::bnb4_dequant(), nullptr) << "dequant kernels not linked";
  auto w = at::randn({512, 1024}) * 0.05;
  for (bool dq : {false, true}) {
    auto nf4 = cb::quant::quantize_nf4(w, 64, dq);
    auto on_gpu = nf4.to(at::Device(at::kCUDA));
    for (std::int64_t m : {1, 5, 64}) {
      auto x = at::randn({m, 1024}).to(at::kBFloat16);
      auto ref = at::linear(x.to(at::kFloat), nf4.dequantize(at::kBFloat16).to(at::kFloat));
      EXPECT_LT(rel_err(on_gpu.matmul(x.cuda()), ref), 1e-2) << "nf4 dq=" << dq << " m=" << m;
    }
    // The dequantized weight itself is bit-identical (f32 product rounded to bf16 in both).
    auto x = at::eye(1024).to(at::kBFloat16);
    auto dense_gpu = on_gpu.matmul(x.cuda()).t().cpu();
    EXPECT_TRUE(at::equal(dense_gpu, nf4.dequantize(at::kBFloat16))) << "dq=" << dq;
  }
  auto i4 = cb::quant::quantize_int4(w, 128);
  auto i4_gpu = i4.to(at::Device(at::kCUDA));
  for (std::int64_t m : {1, 16, 17, 64}) {
    auto x = at::randn({m, 1024}).to(at::kBFloat16);
    auto ref = at::linear(x.to(at::kFloat), i4.dequantize(at::kFloat));
    EXPECT_LT(rel_err(i4_gpu.matmul(x.cuda()), ref), 1e-2) << "int4 m=" << m;
  }
}

// kernels/gemv4.cuh (M <= 8, the default kernel) against float64: x . dequantize(W)^T with the weight decoded in
// float32 (the tensor-core kernel rounds it to bf16 as dequantize does, the FFMA kernel does not), shapes with N not a multiple of the rows per block and K not a
// multiple of 128 (partial warps), NF4/FP4 with and without double quant, int4 at every group size.
TEST(CudaGemv4, MatchesFloat64Reference) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::quant::hooks::bnb4_gemv(), nullptr) << "gemv kernels not linked";
  ASSERT_NE(cb::quant::hooks::int4_gemv(), nullptr);
  at::manual_seed(7);
  auto reference = [](const at::Tensor& x, const at::Tensor& w_f32) {
    return at::linear(x.to(at::kDouble), w_f32.to(at::kDouble));
  };
  auto rel = [](const at::Tensor& got, const at::Tensor& ref) {
    auto g = got.to(at::kCPU, at::kDouble);
    EXPECT_FALSE(at::isnan(g).any().item<bool>());
    return ((g - ref).norm() / ref.norm()).item<double>();
  };
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1027, 4096}, {250, 2080}, {4096, 160}, {13, 14336}};
  for (auto [n, k] : shapes) {
    auto w = at::randn({n, k}) * 0.02;
    for (bool dq : {false, true}) {
      for (int fp4 = 0; fp4 < 2; ++fp4) {
        auto run = [&](const auto& q) {
          auto wf = q.dequantize(at::kFloat);
          auto gpu = q.to(at::Device(at::kCUDA));
          for (std::int64_t m = 1; m <= 8; ++m) {
            auto x = at::randn({m, k}).to(at::kBFloat16);
            auto y = gpu.matmul(x.cuda());
            ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{m, n}));
            EXPECT_LT(rel(y, reference(x, wf)), 4e-3) << "bnb4 fp4=" << fp4 << " dq=" << dq << " n=" << n << " k=" << k << " m=" << m;
          }
          // 3-D activations (the decoder's [B, 1, K]) keep their leading dims.
          auto x3 = at::randn({2, 1, k}).to(at::kBFloat16);
          EXPECT_EQ(gpu.matmul(x3.cuda()).sizes(), (std::vector<std::int64_t>{2, 1, n}));
        };
        if (fp4) run(cb::quant::quantize_fp4(w, 64, dq));
        else run(cb::quant::quantize_nf4(w, dq ? 64 : 128, dq));
      }
    }
    for (std::int64_t g : {32, 64, 128, 256}) {
      if (k % g) continue;
      auto q = cb::quant::quantize_int4(w, g);
      auto wf = q.dequantize(at::kFloat);
      auto gpu = q.to(at::Device(at::kCUDA));
      EXPECT_FALSE(gpu.tiles.defined()) << "tinygemm tiles are not built when the gemv kernel is linked";
      for (std::int64_t m : {1, 2, 5, 8}) {
        auto x = at::randn({m, k}).to(at::kBFloat16);
        EXPECT_LT(rel(gpu.matmul(x.cuda()), reference(x, wf)), 4e-3) << "int4 g=" << g << " n=" << n << " k=" << k << " m=" << m;
      }
    }
  }
}

// Both M <= 8 kernels of gemv4.cuh (tensor-core and shared-table FFMA) under the same shapes, through the
// hooks' variant switch (quant::hooks::gemv4_variant).
struct Gemv4Variant {
  int saved = cb::quant::hooks::gemv4_variant();
  explicit Gemv4Variant(int v) { cb::quant::hooks::gemv4_variant() = v; }
  ~Gemv4Variant() { cb::quant::hooks::gemv4_variant() = saved; }
};

// The tensor-core GEMV multiplies exactly the bf16 weight that dequantize writes (bf16(code * absmax), bf16 of
// the int4 fma) and sums in float32: against float64 on that bf16 weight every output is within one bf16 ulp
// (the output's rounding) plus the float32 summation error, for every format, M = 1..8, N not a multiple of
// 16, K not a multiple of 128. And the FFMA kernel meets the same bound against float64 on the float32-decoded
// weight (what it multiplies).
TEST(CudaGemv4, TensorCoreEqualsDequantizeThenMatmul) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::quant::hooks::bnb4_gemv(), nullptr) << "gemv kernels not linked";
  at::manual_seed(23);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1027, 4096}, {250, 2080}, {40, 160}, {24, 14336}};
  for (auto [n, k] : shapes) {
    auto w = at::randn({n, k}) * 0.02;
    std::vector<std::pair<std::string, cb::quant::Weight>> cases;
    cases.emplace_back("nf4 b64 dq", cb::quant::quantize_nf4(w, 64, true));
    cases.emplace_back("nf4 b128", cb::quant::quantize_nf4(w, 128, false));
    cases.emplace_back("fp4 b64 dq", cb::quant::quantize_fp4(w, 64, true));
    cases.emplace_back("fp4 b32", cb::quant::quantize_fp4(w, 32, false));
    for (std::int64_t g : {32, 128})
      if (k % g == 0) cases.emplace_back("int4 g" + std::to_string(g), cb::quant::quantize_int4(w, g));
    for (auto& [name, cpu] : cases) {
      auto gpu = cb::quant::to_device(cpu, at::Device(at::kCUDA));
      auto w_bf16 = cb::quant::dequantize(gpu, at::kBFloat16).to(at::kCPU, at::kDouble);
      auto w_f32 = cb::quant::dequantize(gpu, at::kFloat).to(at::kCPU, at::kDouble);  // what the FFMA kernel decodes
      for (std::int64_t m = 1; m <= 8; ++m) {
        auto x = (at::randn({m, k}) * (m % 2 ? 1.0 : 30.0)).to(at::kBFloat16);
        auto ref = at::linear(x.to(at::kDouble), w_bf16);
        auto ref32 = at::linear(x.to(at::kDouble), w_f32);
        at::Tensor y_mma, y_lut;
        {
          Gemv4Variant v(0);
          auto poison = at::full({m, n}, std::numeric_limits<float>::quiet_NaN(), at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
          poison.reset();  // the pool now hands y NaN-filled memory: every output must be written
          y_mma = cb::quant::matmul(gpu, x.cuda()).to(at::kCPU, at::kDouble);
        }
        {
          Gemv4Variant v(1);
          y_lut = cb::quant::matmul(gpu, x.cuda()).to(at::kCPU, at::kDouble);
        }
        ASSERT_FALSE(at::isnan(y_mma).any().item<bool>()) << name << " n=" << n << " k=" << k << " m=" << m;
        const double scale = ref.abs().max().item<double>();
        const auto excess = ((y_mma - ref).abs() - ref.abs() * std::ldexp(1.0, -8) - 1e-4 * scale).max().item<double>();
        EXPECT_LE(excess, 0.0) << name << " n=" << n << " k=" << k << " m=" << m;
        // The FFMA kernel against float64 on the float32-decoded weight, with the same allowance (one bf16 rounding
        // of y plus float32 summation). It replaces a 4e-3 bound on |y_mma - y_lut| / |y_lut|, which mixed the two
        // kernels' weights (bf16 vs float32) and failed once on the H100 (2026-12-07: 0.0045 for fp4 b32, n = 24,
        // m = 1: 24 outputs are too few for a norm ratio to sit near its expectation) while the tensor-core kernel
        // met its per-element bound.
        const double scale32 = ref32.abs().max().item<double>();
        const auto excess_lut = ((y_lut - ref32).abs() - ref32.abs() * std::ldexp(1.0, -8) - 1e-4 * scale32).max().item<double>();
        EXPECT_LE(excess_lut, 0.0) << "FFMA " << name << " n=" << n << " k=" << k << " m=" << m;
      }
    }
  }
}

// Every output element is written, also when other memory holds garbage: poison y's allocation pool first.
TEST(CudaGemv4, WritesEveryOutput) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  auto w = at::randn({1027, 4096}) * 0.02;
  auto q = cb::quant::quantize_nf4(w, 64, true).to(at::Device(at::kCUDA));
  for (int i = 0; i < 3; ++i) {
    { auto poison = at::full({8, 1027}, std::numeric_limits<float>::quiet_NaN(), at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA)); }
    auto y = q.matmul(at::randn({8, 4096}).to(at::kBFloat16).cuda());
    EXPECT_FALSE(at::isnan(y).any().item<bool>());
  }
}

// quant/grouped.hpp: q/k/v side by side in one launch equals the three single GEMVs bit for bit (same
// arithmetic per row); gate/up with the SiLU / GELU-tanh epilogue equals ATen's act(g) * u on the single
// GEMVs' bf16 outputs (same roundings; the activation's exp/tanh may differ in a last bit).
TEST(CudaGemv4, GroupedAndGatedMatchSeparateMatmuls) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::quant::hooks::bnb4_gemv_grouped(), nullptr);
  at::manual_seed(11);
  const std::int64_t hidden = 1024, kv = 256, inter = 2816;
  auto make = [&](int fmt, std::int64_t rows, std::int64_t cols) -> cb::quant::Weight {
    auto w = at::randn({rows, cols}) * 0.02;
    if (fmt == 0) return cb::quant::quantize_nf4(w, 64, true).to(at::Device(at::kCUDA));
    if (fmt == 1) return cb::quant::quantize_fp4(w, 64, false).to(at::Device(at::kCUDA));
    return cb::quant::quantize_int4(w, 128).to(at::Device(at::kCUDA));
  };
  for (int fmt = 0; fmt < 3; ++fmt) {
    auto q = make(fmt, hidden, hidden), k = make(fmt, kv, hidden), v = make(fmt, kv, hidden);
    auto gate = make(fmt, inter, hidden), up = make(fmt, inter, hidden);
    for (std::int64_t m : {1, 2, 3, 8}) {
      auto x = (at::randn({m, 1, hidden}) * 2).to(at::kBFloat16).cuda();
      auto qkv = cb::quant::grouped_matmul({&q, &k, &v}, x);
      ASSERT_TRUE(qkv.defined()) << "fmt " << fmt << " m " << m;
      auto ref = at::cat({cb::quant::matmul(q, x), cb::quant::matmul(k, x), cb::quant::matmul(v, x)}, -1);
      EXPECT_TRUE(at::equal(qkv, ref)) << "fmt " << fmt << " m " << m;
      for (auto act : {cb::quant::GatedActivation::silu, cb::quant::GatedActivation::gelu_tanh}) {
        auto got = cb::quant::gated_matmul(gate, up, x, act);
        ASSERT_TRUE(got.defined());
        auto g = cb::quant::matmul(gate, x), u = cb::quant::matmul(up, x);
        auto want = (act == cb::quant::GatedActivation::silu ? at::silu(g) : at::gelu(g, "tanh")) * u;
        auto diff = (got.to(at::kFloat) - want.to(at::kFloat)).abs();
        EXPECT_LE(diff.max().item<float>(), want.to(at::kFloat).abs().max().item<float>() / 64) << "fmt " << fmt << " m " << m;
        EXPECT_GT(at::eq(got, want).to(at::kFloat).mean().item<float>(), 0.98f) << "fmt " << fmt << " m " << m;
      }
    }
    // Different formats, or more rows than the kernel takes: not applicable (the caller's separate path).
    auto other = make((fmt + 1) % 3, kv, hidden);
    EXPECT_FALSE(cb::quant::grouped_matmul({&q, &other, &v}, at::randn({1, hidden}).to(at::kBFloat16).cuda()).defined());
    EXPECT_FALSE(cb::quant::grouped_matmul({&q, &k, &v}, at::randn({257, hidden}).to(at::kBFloat16).cuda()).defined());
  }
}

// ---- kernels/gemm4.cuh: the fused 4-bit tensor-core GEMM, kGemv4MaxRows < M <= kGemm4MaxRows ----------------
// The hooks' path switch (quant::hooks::gemm4_variant): 0 the fused GEMM, 1 dequantize + cuBLAS.
struct Gemm4Variant {
  int saved = cb::quant::hooks::gemm4_variant();
  explicit Gemm4Variant(int v) { cb::quant::hooks::gemm4_variant() = v; }
  ~Gemm4Variant() { cb::quant::hooks::gemm4_variant() = saved; }
};

// Every format (NF4/FP4 with and without double quant, blocks 32..128, int4 groups 32 and 128), M on both sides of
// every tile size (16, 32, 64, 96, 128; 256 is two M chunks), N not a multiple of the 128-row block, K not a
// multiple of the 128-weight k step, shapes small enough to split K and large enough not to:
// - against float64 on the bf16 weight dequantize writes (the GEMM multiplies exactly that weight, sums in
//   float32): every output within one bf16 rounding of y plus 1e-4 of the largest |y| (float32 summation);
// - against float64 on the float32-decoded weight (the format's own values): relative norm under 4e-3;
// - against dequantize + cuBLAS (the path it replaces): relative norm under 3e-3.
// y's memory comes from a NaN-poisoned pool: every output is written.
TEST(CudaGemm4, MatchesFloat64AndDequantizeThenMatmul) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::quant::hooks::bnb4_gemm(), nullptr) << "gemm kernels not linked";
  ASSERT_NE(cb::quant::hooks::int4_gemm(), nullptr);
  at::manual_seed(29);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1027, 4096}, {250, 2080}, {136, 160}, {24, 14336}};
  for (auto [n, k] : shapes) {
    auto w = at::randn({n, k}) * 0.02;
    std::vector<std::pair<std::string, cb::quant::Weight>> cases;
    cases.emplace_back("nf4 b64 dq", cb::quant::quantize_nf4(w, 64, true));
    cases.emplace_back("nf4 b128", cb::quant::quantize_nf4(w, 128, false));
    cases.emplace_back("fp4 b64 dq", cb::quant::quantize_fp4(w, 64, true));
    cases.emplace_back("fp4 b32", cb::quant::quantize_fp4(w, 32, false));
    for (std::int64_t g : {32, 128})
      if (k % g == 0) cases.emplace_back("int4 g" + std::to_string(g), cb::quant::quantize_int4(w, g));
    for (auto& [name, cpu] : cases) {
      auto gpu = cb::quant::to_device(cpu, at::Device(at::kCUDA));
      auto w_bf16 = cb::quant::dequantize(gpu, at::kBFloat16).to(at::kCPU, at::kDouble);
      auto w_f32 = cb::quant::dequantize(cpu, at::kFloat).to(at::kDouble);
      for (std::int64_t m : {9, 16, 33, 64, 100, 128, 256}) {
        auto x = (at::randn({m, k}) * (m % 2 ? 1.0 : 30.0)).to(at::kBFloat16);
        const auto where = name + " n=" + std::to_string(n) + " k=" + std::to_string(k) + " m=" + std::to_string(m);
        auto xg = x.cuda();
        at::Tensor y, y_dq;
        {
          Gemm4Variant v(0);
          {
            auto poison = at::full({m * n + 4096}, std::numeric_limits<float>::quiet_NaN(),
                                   at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA));
          }
          y = cb::quant::matmul(gpu, xg).to(at::kCPU, at::kDouble);
        }
        {
          Gemm4Variant v(1);
          y_dq = cb::quant::matmul(gpu, xg).to(at::kCPU, at::kDouble);
        }
        ASSERT_EQ(y.sizes(), (std::vector<std::int64_t>{m, n})) << where;
        ASSERT_FALSE(at::isnan(y).any().item<bool>()) << where;
        auto ref = at::linear(x.to(at::kDouble), w_bf16);
        const double scale = ref.abs().max().item<double>();
        const auto excess = ((y - ref).abs() - ref.abs() * std::ldexp(1.0, -8) - 1e-4 * scale).max().item<double>();
        EXPECT_LE(excess, 0.0) << where;
        auto ref32 = at::linear(x.to(at::kDouble), w_f32);
        EXPECT_LT(((y - ref32).norm() / ref32.norm()).item<double>(), 4e-3) << where;
        EXPECT_LT(((y - y_dq).norm() / y_dq.norm()).item<double>(), 3e-3) << where;
      }
    }
  }
}

// quant/grouped.hpp above kGemv4MaxRows rows: q|k|v in one launch against the three separate fused GEMMs (the
// same products; the K split may differ with N, so within one bf16 rounding, not bit for bit), gate/up with
// the SiLU / GELU-tanh epilogue against ATen's act(g) * u on the separate GEMMs' outputs; a q|k|v whose segments
// do not start on the GEMM's 128-row blocks, or more than kGemm4MaxRows rows, is left to the caller.
TEST(CudaGemm4, GroupedAndGatedMatchSeparateMatmuls) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::quant::hooks::bnb4_gemm(), nullptr);
  Gemm4Variant fused(0);
  at::manual_seed(31);
  const std::int64_t hidden = 1024, kv = 256, inter = 2816;
  auto make = [&](int fmt, std::int64_t rows, std::int64_t cols) -> cb::quant::Weight {
    auto w = at::randn({rows, cols}) * 0.02;
    if (fmt == 0) return cb::quant::quantize_nf4(w, 64, true).to(at::Device(at::kCUDA));
    if (fmt == 1) return cb::quant::quantize_fp4(w, 64, false).to(at::Device(at::kCUDA));
    return cb::quant::quantize_int4(w, 128).to(at::Device(at::kCUDA));
  };
  auto within_one_rounding = [](const at::Tensor& got, const at::Tensor& want) {
    auto g = got.to(at::kDouble), w = want.to(at::kDouble);
    return ((g - w).abs() - w.abs() * std::ldexp(1.0, -7) - 1e-6).max().item<double>() <= 0.0;
  };
  for (int fmt = 0; fmt < 3; ++fmt) {
    auto q = make(fmt, hidden, hidden), k = make(fmt, kv, hidden), v = make(fmt, kv, hidden);
    auto gate = make(fmt, inter, hidden), up = make(fmt, inter, hidden);
    for (std::int64_t m : {9, 33, 100, 256}) {
      auto x = (at::randn({m, 1, hidden}) * 2).to(at::kBFloat16).cuda();
      auto qkv = cb::quant::grouped_matmul({&q, &k, &v}, x);
      ASSERT_TRUE(qkv.defined()) << "fmt " << fmt << " m " << m;
      ASSERT_EQ(qkv.sizes(), (std::vector<std::int64_t>{m, 1, hidden + 2 * kv}));
      auto ref = at::cat({cb::quant::matmul(q, x), cb::quant::matmul(k, x), cb::quant::matmul(v, x)}, -1);
      EXPECT_TRUE(within_one_rounding(qkv, ref)) << "fmt " << fmt << " m " << m;
      EXPECT_GT(at::eq(qkv, ref).to(at::kFloat).mean().item<float>(), 0.9f) << "fmt " << fmt << " m " << m;
      for (auto act : {cb::quant::GatedActivation::silu, cb::quant::GatedActivation::gelu_tanh}) {
        auto got = cb::quant::gated_matmul(gate, up, x, act);
        ASSERT_TRUE(got.defined());
        auto g = cb::quant::matmul(gate, x), u = cb::quant::matmul(up, x);
        auto want = (act == cb::quant::GatedActivation::silu ? at::silu(g) : at::gelu(g, "tanh")) * u;
        auto diff = (got.to(at::kFloat) - want.to(at::kFloat)).abs();
        EXPECT_FALSE(at::isnan(got).any().item<bool>());
        EXPECT_LE(diff.max().item<float>(), want.to(at::kFloat).abs().max().item<float>() / 64) << "fmt " << fmt << " m " << m;
        EXPECT_GT(at::eq(got, want).to(at::kFloat).mean().item<float>(), 0.9f) << "fmt " << fmt << " m " << m;
      }
    }
    auto k136 = make(fmt, 136, hidden);
    EXPECT_FALSE(cb::quant::grouped_matmul({&q, &k136, &v}, at::randn({16, hidden}).to(at::kBFloat16).cuda()).defined());
    EXPECT_FALSE(cb::quant::grouped_matmul({&q, &k, &v}, at::randn({257, hidden}).to(at::kBFloat16).cuda()).defined());
  }
}
