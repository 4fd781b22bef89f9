// kernels/dequant.cuh through the quant formats' matmul (hooks registered by cmake/dequant_hooks.cu):
// NF4 (plain and double-quant) and int4 g128 results against the CPU reference (dequantize on the CPU in
// float32, then the matmul), at M on both sides of the tinygemm range.
#include <gtest/gtest.h>

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
