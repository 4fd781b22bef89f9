#pragma once
// y = x . W^T for a 4-bit W at batch sizes above the GEMV range (quant/kernel_hooks.hpp), on CUDA:
// dequantize a slab of W's rows to bf16, multiply it with cuBLAS, next slab, reusing one buffer. Dequantizing
// the whole W first writes 2 bytes per weight to memory and reads them back (4.5 bytes moved per weight instead
// of 0.5); a slab of a few MiB is still in L2 when cuBLAS reads it, and the next slab overwrites the same
// lines, so most of that traffic never reaches HBM. The slab size is data, measured on the H100
// (docs/performance.md): dequant_stage_bytes(), default from CUREBENCH_DEQUANT_STAGE_MB, 0 = whole weight.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace curebench::quant {

inline constexpr std::int64_t kDefaultDequantStageMiB = 8;

// Bytes of bf16 per slab; settable (tests use small slabs to cross many slab edges).
inline std::int64_t& dequant_stage_bytes() {
  static std::int64_t v = [] {
    const char* e = std::getenv("CUREBENCH_DEQUANT_STAGE_MB");
    const std::int64_t mb = e ? std::atoll(e) : kDefaultDequantStageMiB;
    return (mb < 0 ? 0 : mb) << 20;
  }();
  return v;
}

// Rows per slab: a multiple of 64 (whole cuBLAS tiles), at least 64; `out` when staging is off or one slab
// holds all of W.
inline std::int64_t staged_rows(std::int64_t out, std::int64_t in) {
  const auto bytes = dequant_stage_bytes();
  if (bytes <= 0) return out;
  const auto rows = std::max<std::int64_t>(64, bytes / (2 * in) / 64 * 64);
  return std::min(rows, out);
}

// x2 [rows, in] contiguous; dequant_rows(r0, n, dst) writes rows [r0, r0 + n) of W as bf16 [n, in] to dst on
// the current stream. Returns y [rows, out] in x2's dtype. Activations other than bf16 (fp32/fp16 parity
// runs) take the whole weight, converted, as before: their GEMM is not the one worth staging.
template <class DequantRows>
at::Tensor staged_dequant_matmul(const at::Tensor& x2, std::int64_t out, std::int64_t in, DequantRows&& dequant_rows) {
  const bool bf16 = x2.scalar_type() == at::kBFloat16;
  const auto slab = bf16 ? staged_rows(out, in) : out;
  auto buf = at::empty({slab, in}, x2.options().dtype(at::kBFloat16));
  if (slab >= out) {
    dequant_rows(0, out, buf.data_ptr());
    return at::linear(x2, bf16 ? buf : buf.to(x2.scalar_type()));
  }
  // y^T, so that each slab's result is a contiguous block of rows; one transpose at the end.
  auto yt = at::empty({out, x2.size(0)}, x2.options());
  const auto xt = x2.t();
  for (std::int64_t r0 = 0; r0 < out; r0 += slab) {
    const auto n = std::min(slab, out - r0);
    auto w = buf.narrow(0, 0, n);
    dequant_rows(r0, n, w.data_ptr());
    auto dst = yt.narrow(0, r0, n);
    at::mm_out(dst, w, xt);
  }
  return yt.t().contiguous();
}

}  // namespace curebench::quant
