#pragma once
// bitsandbytes 4-bit weights (NF4 / FP4), stored exactly as bnb stores them (formats-and-anchors.md 2.1):
//   packed   uint8 [ceil(n/2)]  codes of the row-major [out, in] weight; element 2i in the HIGH nibble
//   absmax   float32 [ceil(n/blocksize)], or with double quant uint8 indices into the dynamic map, where
//            scale[i] = nested_code[absmax[i]] * nested_absmax[i / 256] + nested_offset
//   code     float32 [16] the codebook (bnb's quant_map)
// w[k] = code[nibble(k)] * scale[k / blocksize], computed in float32 and cast to the requested dtype.
// matmul dequantizes per call and runs a dense GEMM (NF4 is not affine, so tinygemm cannot take it).
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>

#include "curebench/core/error.hpp"
#include "curebench/quant/blockwise.hpp"
#include "curebench/quant/codebooks.hpp"
#include "curebench/quant/kernel_hooks.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <c10/cuda/CUDAStream.h>
#endif

namespace curebench::quant {

enum class Codebook { nf4, fp4 };

inline at::Tensor codebook_tensor(Codebook c) {
  const auto& table = c == Codebook::nf4 ? kNF4Code : kFP4Code;
  return at::tensor(at::ArrayRef<float>(table.data(), table.size()), at::kFloat);
}
inline at::Tensor dynamic_map_tensor() {
  auto m = dynamic_map_signed();
  return at::tensor(at::ArrayRef<float>(m.data(), m.size()), at::kFloat);
}

// Double quant: the per-block absmax, minus its mean, quantized to 8 bits in blocks of 256.
struct NestedAbsmax {
  at::Tensor absmax;  // float32 [ceil(blocks / blocksize)]
  at::Tensor code;    // float32 [256] (bnb dynamic map)
  float offset = 0;   // mean of the original absmax
  std::int64_t blocksize = 256;
};

template <Codebook C>
struct Bnb4 {
  static constexpr Codebook kCodebook = C;
  at::Tensor packed;  // uint8 [ceil(n/2)]
  at::Tensor absmax;  // float32 [blocks], or uint8 [blocks] when nested
  at::Tensor code;    // float32 [16]
  std::optional<NestedAbsmax> nested;
  std::int64_t blocksize = 64;
  std::int64_t out = 0, in = 0;
  at::ScalarType dtype = at::kBFloat16;  // dtype of the weight before quantization (bnb's quant_state "dtype")

  // Per-block float32 scales, with the nested absmax decoded.
  at::Tensor block_scales() const {
    if (!nested) return absmax.to(at::kFloat);
    return blockwise_dequantize(absmax, nested->absmax, nested->blocksize, nested->code, absmax.numel()) + nested->offset;
  }
  // Nibbles in element order: byte i holds elements 2i (high) and 2i+1 (low).
  at::Tensor codes() const {
    auto b = packed.view(-1).to(at::kInt);
    return at::stack({b.div(16, "floor"), b.remainder(16)}, 1).view(-1).narrow(0, 0, out * in);
  }
  at::Tensor dequantize(at::ScalarType dt) const {
    return blockwise_dequantize(codes(), block_scales(), blocksize, code, out * in).view({out, in}).to(dt);
  }
  // CUDA with the kernels linked: up to kGemv4MaxRows rows the GEMV (kernels/gemv4.cuh), then up to kGemm4MaxRows
  // the fused GEMM (kernels/gemm4.cuh) where hooks::use_fused_gemm takes it; otherwise the dequant kernel
  // (kernels/dequant.cuh): one pass to bf16 (2.5 bytes per weight moved) into a buffer the caching allocator
  // hands back every call, then cuBLAS. Without them the ATen-op path.
  at::Tensor matmul(const at::Tensor& x) const {
#if defined(CUREBENCH_WITH_CUDA)
    if (auto y = small_batch_gemv(x); y.defined()) return y;
    if (auto y = fused_gemm(x); y.defined()) return y;
    if (auto fn = hooks::bnb4_dequant(); fn && x.is_cuda() && packed.is_cuda() && (out * in) % 8 == 0 && blocksize >= 8) {
      if (auto v = device_view()) {
        auto w = at::empty({out, in}, x.options().dtype(at::kBFloat16));
        fn(*v, w.data_ptr(), out * in, c10::cuda::getCurrentCUDAStream().stream());
        return at::linear(x, x.scalar_type() == at::kBFloat16 ? w : w.to(x.scalar_type()));
      }
    }
#endif
    return at::linear(x, dequantize(x.scalar_type()));
  }
#if defined(CUREBENCH_WITH_CUDA)
  // Up to hooks::kGemv4MaxRows activation rows: the fused 4-bit kernel (kernels/gemv4.cuh) reads the packed
  // weight once and decodes the double-quant scales on the fly. Undefined when it does not apply.
  at::Tensor small_batch_gemv(const at::Tensor& x) const {
    auto fn = hooks::bnb4_gemv();
    const auto rows = x.numel() / in;
    if (!fn || !x.is_cuda() || !packed.is_cuda() || rows > hooks::kGemv4MaxRows || x.size(-1) != in) return {};
    auto v = device_view();
    if (!v) return {};
    auto x2 = x.reshape({rows, in}).to(at::kBFloat16).contiguous();
    auto y = at::empty({rows, out}, x2.options());
    if (!fn(*v, x2.data_ptr(), y.data_ptr(), rows, out, in, c10::cuda::getCurrentCUDAStream().stream())) return {};
    auto shape = x.sizes().vec();
    shape.back() = out;
    return y.view(shape).to(x.scalar_type());
  }
  // kGemv4MaxRows < rows <= kGemm4MaxRows where hooks::use_fused_gemm picks it: the fused tensor-core GEMM
  // (kernels/gemm4.cuh) on the packed weight, no bf16 copy of it. Undefined when it does not apply.
  at::Tensor fused_gemm(const at::Tensor& x) const {
    auto fn = hooks::bnb4_gemm();
    const auto rows = x.numel() / in;
    if (!fn || !x.is_cuda() || !packed.is_cuda() || x.size(-1) != in || !hooks::use_fused_gemm(false, rows)) return {};
    auto v = device_view();
    if (!v) return {};
    auto x2 = x.reshape({rows, in}).to(at::kBFloat16).contiguous();
    auto y = at::empty({rows, out}, x2.options());
    const auto ws_bytes = hooks::gemm4_workspace_bytes(rows, out);
    auto ws = at::empty({ws_bytes}, x2.options().dtype(at::kByte));
    const std::int64_t n = out;
    if (!fn(&*v, &n, 1, -1, x2.data_ptr(), y.data_ptr(), rows, in, ws_bytes ? ws.data_ptr() : nullptr, ws_bytes,
            c10::cuda::getCurrentCUDAStream().stream()))
      return {};
    auto shape = x.sizes().vec();
    shape.back() = out;
    return y.view(shape).to(x.scalar_type());
  }
  // The kernels' view of this weight (kernel_hooks.hpp); none for layouts they do not read.
  std::optional<hooks::Bnb4View> device_view() const {
    if (!packed.is_contiguous() || !absmax.is_contiguous() || code.scalar_type() != at::kFloat) return std::nullopt;
    hooks::Bnb4View v;
    v.packed = packed.template data_ptr<std::uint8_t>();
    v.code = code.template data_ptr<float>();
    v.block_shift = log2_of(blocksize);
    if (nested) {
      if (absmax.scalar_type() != at::kByte || nested->absmax.scalar_type() != at::kFloat) return std::nullopt;
      v.absmax_u8 = absmax.template data_ptr<std::uint8_t>();
      v.nested_code = nested->code.template data_ptr<float>();
      v.nested_absmax = nested->absmax.template data_ptr<float>();
      v.nested_offset = nested->offset;
      v.nested_shift = log2_of(nested->blocksize);
    } else {
      if (absmax.scalar_type() != at::kFloat) return std::nullopt;
      v.absmax_f32 = absmax.template data_ptr<float>();
    }
    return v;
  }
  static int log2_of(std::int64_t v) {
    int s = 0;
    while ((std::int64_t{1} << s) < v) ++s;
    return s;
  }
#endif
  std::int64_t bytes() const {
    std::int64_t b = packed.numel() * packed.element_size() + absmax.numel() * absmax.element_size() +
                     code.numel() * code.element_size();
    if (nested) b += nested->absmax.numel() * 4 + nested->code.numel() * 4 + 4;
    return b;
  }
  std::int64_t out_features() const { return out; }
  std::int64_t in_features() const { return in; }
  Bnb4 to(const at::Device& d) const {
    Bnb4 r = *this;
    r.packed = packed.to(d), r.absmax = absmax.to(d), r.code = code.to(d);
    if (nested) r.nested->absmax = nested->absmax.to(d), r.nested->code = nested->code.to(d);
    return r;
  }
};

using NF4 = Bnb4<Codebook::nf4>;
using FP4 = Bnb4<Codebook::fp4>;

// bnb quantize_4bit (+ compress_statistics for double quant) from a dense [out, in] weight, streamed in
// slabs of whole blocks (blockwise.hpp) straight into the packed bytes: peak memory is the source weight,
// the outputs, and one slab (`chunk_elements` values as float32 + uint8). Same bytes as quantizing the
// whole tensor at once (tests/quant/test_chunked.cpp).
template <Codebook C>
Bnb4<C> quantize_bnb4(const at::Tensor& w, std::int64_t blocksize = 64, bool double_quant = false,
                      std::int64_t chunk_elements = kChunkElements) {
  require(w.dim() == 2, Errc::shape, "", "quantize_bnb4", "expected a 2-D [out, in] weight, got " + std::to_string(w.dim()) + " dims");
  require(blocksize >= 16 && (blocksize & (blocksize - 1)) == 0, Errc::invalid_argument, "", "blocksize",
          "must be a power of two >= 16, got " + std::to_string(blocksize));
  Bnb4<C> q;
  q.out = w.size(0), q.in = w.size(1), q.blocksize = blocksize, q.dtype = w.scalar_type();
  q.code = codebook_tensor(C).to(w.device());
  q.packed = at::empty({(w.numel() + 1) / 2}, w.options().dtype(at::kByte));
  // Slabs hold whole blocks of an even size, so each starts on a byte; only an odd total leaves a last
  // nibble, paired with code 0 as bnb does.
  auto pack = [&](std::int64_t first, const at::Tensor& codes) {
    const auto n = codes.numel(), even = n / 2 * 2;
    auto pairs = codes.narrow(0, 0, even).view({-1, 2});
    q.packed.narrow(0, first / 2, even / 2).copy_(pairs.select(1, 0)).mul_(16).add_(pairs.select(1, 1));  // no temporaries
    if (n % 2) q.packed.narrow(0, (first + even) / 2, 1).copy_(codes.narrow(0, even, 1) * 16);
  };
  auto absmax = blockwise_quantize_streamed(w, blocksize, q.code, pack, chunk_elements);
  if (!double_quant) {
    q.absmax = absmax;
    return q;
  }
  NestedAbsmax n;
  n.offset = absmax.mean().template item<float>();  // over all blocks of the tensor, not per slab
  n.code = dynamic_map_tensor().to(w.device());
  q.absmax = at::empty({absmax.numel()}, absmax.options().dtype(at::kByte));
  n.absmax = blockwise_quantize_streamed(
      absmax.sub_(n.offset).view({-1, 1}), n.blocksize, n.code,  // centred in place: one float32 absmax, not two
      [&](std::int64_t first, const at::Tensor& codes) { q.absmax.narrow(0, first, codes.numel()).copy_(codes); }, chunk_elements);
  q.nested = std::move(n);
  return q;
}

inline NF4 quantize_nf4(const at::Tensor& w, std::int64_t blocksize = 64, bool double_quant = false,
                        std::int64_t chunk_elements = kChunkElements) {
  return quantize_bnb4<Codebook::nf4>(w, blocksize, double_quant, chunk_elements);
}
inline FP4 quantize_fp4(const at::Tensor& w, std::int64_t blocksize = 64, bool double_quant = false,
                        std::int64_t chunk_elements = kChunkElements) {
  return quantize_bnb4<Codebook::fp4>(w, blocksize, double_quant, chunk_elements);
}

}  // namespace curebench::quant
