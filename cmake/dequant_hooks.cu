// nvcc translation unit that registers curebench's CUDA kernels with the header-only code: the 4-bit
// dequantize, small-batch GEMV and batch GEMM kernels (kernels/dequant.cuh, kernels/gemv4.cuh,
// kernels/gemm4.cuh -> quant/kernel_hooks.hpp), FP8's per-token activation quantization (kernels/fp8.cuh) and
// the fused decoder layers (kernels/layers.cuh ->
// model/layer_hooks.hpp). Linked into the CUDA builds of tests, benchmarks and the CLI.
#define CUREBENCH_REGISTER_DEQUANT_HOOKS 1
#include "curebench/core/env.hpp"
#include "curebench/kernels/dequant.cuh"
#include "curebench/kernels/fp8.cuh"
#include "curebench/kernels/gemm4.cuh"
#include "curebench/kernels/layers.cuh"

namespace {
[[maybe_unused]] const bool curebench_layer_hooks_registered = curebench::kernels::register_layer_hooks();
[[maybe_unused]] const bool curebench_gemm4_hooks_registered = [] {
  curebench::quant::hooks::bnb4_gemm() = &curebench::kernels::bnb4_gemm;
  curebench::quant::hooks::int4_gemm() = &curebench::kernels::int4_gemm;
  // CUREBENCH_FP8_QUANT_KERNEL=0: activations quantized by the ATen reference (quant/fp8.hpp), for A/B timings.
  if (curebench::env::flag("CUREBENCH_FP8_QUANT_KERNEL", true))
    curebench::quant::hooks::fp8_quantize_rows() = &curebench::kernels::fp8_quantize_rows;
  // CUREBENCH_FP8_GEMV=0: decode rows go to at::_scaled_mm too (before/after timings in one build).
  if (curebench::env::flag("CUREBENCH_FP8_GEMV", true)) curebench::quant::hooks::fp8_gemv() = &curebench::kernels::fp8_gemv;
  return true;
}();
}
