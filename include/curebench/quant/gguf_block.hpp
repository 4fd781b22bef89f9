#pragma once
// A GGUF/ggml block-quantized weight kept as its raw blocks (Q8_0, Q4_0, Q4_K, Q6_K, ...) and decoded
// per use (io/gguf_dequant.hpp, on the CPU). GGUF stores a 2-D weight with ne = {in, out}, rows contiguous,
// which is row-major [out, in]: no transpose. Q4_0 is exactly tinygemm int4 with G = 32, scale = d,
// zero = 0 (only d's fp16 -> bf16 rounding differs), so on CUDA a Q4_0 weight also carries that Int4 form
// and matmul uses it; other types on a GPU decode on the host and upload (correct, not fast).
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <span>

#include "curebench/io/gguf.hpp"
#include "curebench/io/gguf_dequant.hpp"
#include "curebench/quant/int4.hpp"

namespace curebench::quant {

struct GGUFBlock {
  at::Tensor raw;  // uint8 [nbytes], blocks as stored in the file
  io::GGMLType type = io::GGMLType::F32;
  std::int64_t out = 0, in = 0;
  std::optional<Int4> int4;  // Q4_0 on CUDA

  at::Tensor dequantize(at::ScalarType dt) const {
    auto host = raw.device().is_cpu() ? raw.contiguous() : raw.to(at::kCPU).contiguous();
    auto w = at::empty({out, in}, at::kFloat);
    io::gguf_dequantize(type, std::as_bytes(std::span(host.data_ptr<std::uint8_t>(), static_cast<std::size_t>(host.numel()))),
                        std::span(w.data_ptr<float>(), static_cast<std::size_t>(w.numel())), io::ggml_type_name(type).data());
    return w.to(raw.device()).to(dt);
  }
  at::Tensor matmul(const at::Tensor& x) const {
    if (int4) return int4->matmul(x);
    return at::linear(x, dequantize(x.scalar_type()));
  }
  std::int64_t bytes() const { return raw.numel() + (int4 ? int4->bytes() : 0); }
  std::int64_t out_features() const { return out; }
  std::int64_t in_features() const { return in; }
  GGUFBlock to(const at::Device& d) const {
    GGUFBlock r{raw.to(d), type, out, in, std::nullopt};
    if (d.is_cuda() && type == io::GGMLType::Q4_0) r.int4 = q4_0_as_int4().to(d);
    return r;
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
