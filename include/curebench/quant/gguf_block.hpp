#pragma once
// A GGUF/ggml block-quantized weight kept as its raw blocks (Q8_0, Q4_0, Q4_K, Q6_K, ...) and decoded
// per use (io/gguf_dequant.hpp, on the CPU). GGUF stores a 2-D weight with ne = {in, out}, rows contiguous,
// which is row-major [out, in]: no transpose. Q4_0 is exactly tinygemm int4 with G = 32, scale = d,
// zero = 0 (only d's fp16 -> bf16 rounding differs), and Q4_K is affine per sub-block of 32 (scale d*sc,
// zero 8*d*sc - dmin*m, each rounded to bf16 once), so on CUDA such a weight is held as that Int4 form (the
// raw blocks stay in host memory) and runs on the 4-bit kernels. Other types have no GPU kernel yet: the GGUF
// loader (model/gguf_source.hpp) decodes them once into the compute dtype there; a GGUFBlock of such a type moved
// to a GPU by hand still decodes on the host at every use (correct, not fast).
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <span>

#include "curebench/io/gguf.hpp"
#include "curebench/io/gguf_dequant.hpp"
#include "curebench/quant/int4.hpp"

namespace curebench::quant {

// Whether a block weight of this type and width runs on the 4-bit kernels on `device` (as its Int4 form).
inline bool gguf_runs_as_int4(io::GGMLType type, std::int64_t in, const at::Device& device) {
  return device.is_cuda() && (type == io::GGMLType::Q4_0 || (type == io::GGMLType::Q4_K && in % 256 == 0));
}

struct GGUFBlock {
  at::Tensor raw;  // uint8 [nbytes], blocks as stored in the file
  io::GGMLType type = io::GGMLType::F32;
  std::int64_t out = 0, in = 0;
  std::optional<Int4> int4;  // Q4_0 / Q4_K on CUDA: what matmul runs (raw then stays on the host)

  at::Tensor dequantize(at::ScalarType dt) const {
    auto host = raw.device().is_cpu() ? raw.contiguous() : raw.to(at::kCPU).contiguous();
    auto w = at::empty({out, in}, at::kFloat);
    io::gguf_dequantize(type, std::as_bytes(std::span(host.data_ptr<std::uint8_t>(), static_cast<std::size_t>(host.numel()))),
                        std::span(w.data_ptr<float>(), static_cast<std::size_t>(w.numel())), io::ggml_type_name(type).data());
    return w.to(int4 ? int4->packed.device() : raw.device()).to(dt);
  }
  at::Tensor matmul(const at::Tensor& x) const {
    if (int4) return int4->matmul(x);
    return at::linear(x, dequantize(x.scalar_type()));
  }
  std::int64_t bytes() const { return raw.numel() + (int4 ? int4->bytes() : 0); }
  std::int64_t out_features() const { return out; }
  std::int64_t in_features() const { return in; }
  GGUFBlock to(const at::Device& d) const {
    if (gguf_runs_as_int4(type, in, d))
      return {raw.to(at::kCPU), type, out, in, (type == io::GGMLType::Q4_0 ? q4_0_as_int4() : q4_k_as_int4()).to(d)};
    return {raw.to(d), type, out, in, std::nullopt};
  }

  // Q4_0 block {f16 d; u8 qs[16]}: element j is the low nibble of qs[j], element j+16 the high nibble;
  // value d * (q - 8) = (q - 8) * scale + zero with scale = d, zero = 0. Repacked two per byte, high first.
  Int4 q4_0_as_int4() const {
    require(type == io::GGMLType::Q4_0, Errc::unsupported, "", "q4_0_as_int4", "weight is " + std::string(io::ggml_type_name(type)));
    const auto blocks = out * in / 32;
    auto b = raw.to(at::kCPU).view({blocks, 18});
    auto d = b.narrow(1, 0, 2).contiguous().view(at::kHalf).view({out, in / 32}).to(at::kFloat);
    auto qs = b.narrow(1, 2, 16).to(at::kInt);
    auto nib = at::cat({qs.remainder(16), qs.div(16, "floor")}, 1).view({out, in / 2, 2});
    Int4 r;
    r.packed = (nib.select(2, 0) * 16 + nib.select(2, 1)).to(at::kByte).contiguous();
    r.scales_and_zeros = at::stack({d.t(), at::zeros_like(d.t())}, 2).to(at::kBFloat16).contiguous();
    r.group = 32;
    r.dtype = at::kFloat;
    return r;
  }

  // Q4_K superblock {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} of 256 weights (io/gguf_dequant.hpp): sub-block j
  // of 32 is d*sc_j*q - dmin*m_j, q in 0..15, i.e. (q - 8) * scale + zero with scale = d*sc_j and zero = 8*scale -
  // dmin*m_j, both computed in float32 and rounded to bf16 once (the only difference from the file's values: at most
  // 2^-9 of |scale| per code step and of |zero|). qs: for each 64 weights, 32 bytes whose low nibbles are the first
  // 32 weights and high nibbles the next 32.
  Int4 q4_k_as_int4() const {
    require(type == io::GGMLType::Q4_K, Errc::unsupported, "", "q4_k_as_int4", "weight is " + std::string(io::ggml_type_name(type)));
    require(in % 256 == 0, Errc::shape, "", "q4_k_as_int4", "in_features " + std::to_string(in) + " is not a multiple of 256");
    auto host = raw.to(at::kCPU).contiguous();
    const auto* p = host.data_ptr<std::uint8_t>();
    const auto per_row = in / 256;
    auto packed = at::zeros({out, in / 2}, at::kByte);
    auto sz = at::empty({in / 32, out, 2}, at::kFloat);
    auto* pk = packed.data_ptr<std::uint8_t>();
    auto* s = sz.data_ptr<float>();
    for (std::int64_t r = 0; r < out; ++r)
      for (std::int64_t b = 0; b < per_row; ++b) {
        const auto* blk = p + (r * per_row + b) * 144;
        const float d = io::gguf_detail::half(blk), dmin = io::gguf_detail::half(blk + 2);
        for (int j = 0; j < 8; ++j) {
          int sc = 0, m = 0;
          io::gguf_detail::scale_min_k4(j, blk + 4, sc, m);
          const float scale = d * static_cast<float>(sc), zero = 8.0f * scale - dmin * static_cast<float>(m);
          auto* e = s + ((b * 8 + j) * out + r) * 2;
          e[0] = scale, e[1] = zero;
        }
        const auto* qs = blk + 16;
        auto* row = pk + r * (in / 2) + b * 128;
        for (int c = 0; c < 4; ++c)
          for (int l = 0; l < 32; ++l) {
            const std::uint8_t byte = qs[32 * c + l];
            for (auto [k, v] : {std::pair<int, int>{64 * c + l, byte & 0xF}, {64 * c + 32 + l, byte >> 4}})
              row[k / 2] |= static_cast<std::uint8_t>(k % 2 == 0 ? v << 4 : v);
          }
      }
    Int4 r;
    r.packed = packed;
    r.scales_and_zeros = sz.to(at::kBFloat16).contiguous();
    r.group = 32;
    r.dtype = at::kFloat;
    return r;
  }
};

// The tensor `name` of a GGUF file as a GGUFBlock (a copy of its bytes). Expects a 2-D weight.
inline GGUFBlock gguf_block(const io::GGUFFile& f, const std::string& name) {
  const auto& t = f.tensor(name);
  require(t.ne.size() == 2, Errc::shape, f.path(), name, "expected a 2-D weight, found " + std::to_string(t.ne.size()) + " dims");
  auto bytes = f.bytes(t);
  GGUFBlock w;
  w.raw = at::empty({static_cast<std::int64_t>(bytes.size())}, at::kByte);
  std::memcpy(w.raw.data_ptr<std::uint8_t>(), bytes.data(), bytes.size());
  w.type = t.type;
  w.out = static_cast<std::int64_t>(t.ne[1]);
  w.in = static_cast<std::int64_t>(t.ne[0]);
  require(io::gguf_can_dequantize(t.type), Errc::unsupported, f.path(), name,
          "ggml type " + std::string(io::ggml_type_name(t.type)) + " cannot be dequantized yet");
  return w;
}

}  // namespace curebench::quant
