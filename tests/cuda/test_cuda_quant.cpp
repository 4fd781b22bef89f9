// CUDA (label cuda): the tinygemm int4 path of quant::Int4 and of Q4_0 GGUF blocks, and NF4 on the GPU,
// each against the CPU dequantize-then-linear reference with a bf16 tolerance.
#include <gtest/gtest.h>

#include "curebench/core/torch_compat.hpp"
#include "curebench/io/gguf.hpp"
#include "curebench/quant/weight.hpp"

namespace q = curebench::quant;

namespace {
// max |a - b| relative to max |b|: bf16 activations and outputs carry ~2^-8 relative error per value.
double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return ((a.cpu().to(at::kFloat) - b.cpu().to(at::kFloat)).abs().max() / b.abs().max().cpu().to(at::kFloat)).item<double>();
}
}  // namespace

class CudaQuant : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!curebench::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  }
};

TEST_F(CudaQuant, Int4TinygemmMatchesDequantizedReference) {
  ASSERT_TRUE(curebench::compat::kHasInt4Pack) << "libtorch >= 2.2 expected on the GPU machine";
  at::manual_seed(6);
  auto w = at::randn({256, 1024}) * 0.05;
  // With the fused GEMV linked (kernels/gemv4.cuh) tinygemm is skipped; switch it off to test tinygemm.
  auto saved_gemv = curebench::quant::hooks::int4_gemv();
  curebench::quant::hooks::int4_gemv() = nullptr;
  struct Restore {
    curebench::quant::hooks::Int4GemvFn f;
    ~Restore() { curebench::quant::hooks::int4_gemv() = f; }
  } restore{saved_gemv};
  for (int g : {32, 64, 128, 256}) {
    auto cpu = q::quantize_int4(w, g);
    auto gpu = cpu.to(at::Device(at::kCUDA));
    ASSERT_TRUE(gpu.tiles.defined()) << "group " << g;
    auto ref_w = cpu.dequantize(at::kFloat);
    for (int m : {1, 8, 16, 64}) {  // 1..16: tinygemm; 64: dequantize + cuBLAS
      auto x = at::randn({m, 1024}).to(at::kBFloat16);
      auto y = gpu.matmul(x.cuda());
      ASSERT_EQ(y.scalar_type(), at::kBFloat16);
      auto ref = at::linear(x.to(at::kFloat), ref_w);
      EXPECT_LT(rel_err(y, ref), 2e-2) << "group " << g << " M=" << m;
    }
  }
}

// Q4_K on CUDA runs as its Int4 G = 32 form (quant/gguf_block.hpp), the raw superblocks left in host memory.
TEST_F(CudaQuant, GgufQ4_KUsesInt4OnCuda) {
  const std::int64_t out = 256, in = 1024, blocks = out * in / 256;
  at::manual_seed(22);
  auto raw = at::randint(0, 256, {blocks, 144}, at::kInt).to(at::kByte);
  raw.narrow(1, 0, 2).copy_((at::rand({blocks}) * 0.01 + 1e-4).to(at::kHalf).view(at::kByte).view({blocks, 2}));
  raw.narrow(1, 2, 2).copy_((at::rand({blocks}) * 0.01).to(at::kHalf).view(at::kByte).view({blocks, 2}));
  q::GGUFBlock cpu{raw.flatten().contiguous(), curebench::io::GGMLType::Q4_K, out, in, std::nullopt};
  auto gpu = cpu.to(at::Device(at::kCUDA));
  ASSERT_TRUE(gpu.int4.has_value());
  EXPECT_TRUE(gpu.raw.is_cpu());
  EXPECT_TRUE(gpu.dequantize(at::kFloat).is_cuda());
  for (int m : {1, 5, 32, 300}) {
    auto x = at::randn({m, in}).to(at::kBFloat16);
    auto ref = at::linear(x.to(at::kFloat), cpu.dequantize(at::kFloat));
    EXPECT_LT(rel_err(gpu.matmul(x.cuda()), ref), 2e-2) << "M=" << m;
  }
}

TEST_F(CudaQuant, GgufQ4_0UsesInt4OnCuda) {
  curebench::io::GGUFFile f(std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/derived/stories260K-Q4_0.gguf");
  for (const char* name : {"blk.0.attn_q.weight", "blk.3.ffn_gate.weight"}) {
    auto cpu = q::gguf_block(f, name);
    auto gpu = cpu.to(at::Device(at::kCUDA));
    ASSERT_TRUE(gpu.int4.has_value());
    auto x = at::randn({2, cpu.in}).to(at::kBFloat16);
    auto ref = at::linear(x.to(at::kFloat), cpu.dequantize(at::kFloat));
    EXPECT_LT(rel_err(gpu.matmul(x.cuda()), ref), 2e-2) << name;
    EXPECT_LT(rel_err(gpu.dequantize(at::kFloat), cpu.dequantize(at::kFloat)), 1e-6) << name;
  }
}

TEST_F(CudaQuant, Nf4AndInt8OnCudaMatchCpu) {
  at::manual_seed(7);
  auto w = at::randn({128, 512}).to(at::kBFloat16);
  auto x = at::randn({3, 512}).to(at::kBFloat16);
  for (q::Weight cpu : {q::Weight{q::quantize_nf4(w, 64, true)}, q::Weight{q::quantize_fp4(w, 64, false)},
                        q::Weight{q::quantize_int8(w)}}) {
    auto gpu = q::to_device(cpu, at::Device(at::kCUDA));
    EXPECT_LT(rel_err(q::dequantize(gpu, at::kFloat), q::dequantize(cpu, at::kFloat)), 1e-6);
    EXPECT_LT(rel_err(q::matmul(gpu, x.cuda()), at::linear(x.to(at::kFloat), q::dequantize(cpu, at::kFloat))), 2e-2);
  }
}
