#pragma once
// Quantization configs as policy types: what a loader strategy (QuantizeOnLoad<Config>) applies to each
// dense linear weight it reads. A config is a type with name(), quantize(w) -> Weight and bits_per_weight()
// (the format's nominal storage cost, scales included), so a pipeline is spelled
// `QuantizeOnLoad<quant::NF4Config<64, true>>` and an unsupported parameter fails at compile time. The
// configs below are stateless (static members); a config with state (MixedPrecision's rules) models the same
// concept through its instance, so QuantizeOnLoad takes either (one concept for both since issue 20 point 2).
#include <ATen/ATen.h>

#include <concepts>
#include <string>

#include "curebench/quant/weight.hpp"

namespace curebench::quant {

template <class C>
concept QuantConfig = std::default_initializable<C> && requires(const C& c, const at::Tensor& w) {
  { c.name() } -> std::convertible_to<std::string>;
  { c.quantize(w) } -> std::same_as<Weight>;
  { c.bits_per_weight() } -> std::convertible_to<double>;
};

// Keep the weight as it is (bf16 on disk: 16 bits).
struct NoQuant {
  static std::string name() { return "none"; }
  static Weight quantize(const at::Tensor& w) { return Dense{w}; }
  static constexpr double bits_per_weight() { return 16.0; }
};

// bitsandbytes 4-bit: 4 bits + one f32 absmax per block, or with double quant one u8 per block plus one
// f32 per 256 blocks: NF4<64> = 4.5 bits, NF4<64> + DQ = 4 + 8/64 + 32/(64*256) = 4.127 bits.
template <Codebook C, int Block = 64, bool DoubleQuant = false>
struct Bnb4Config {
  static_assert(Block >= 16 && (Block & (Block - 1)) == 0, "bnb 4-bit block size must be a power of two >= 16 (bnb uses 32..4096; 64 is the default)");
  static std::string name() {
    return std::string(C == Codebook::nf4 ? "nf4" : "fp4") + "-b" + std::to_string(Block) + (DoubleQuant ? "-dq" : "");
  }
  static Weight quantize(const at::Tensor& w) { return quantize_bnb4<C>(w, Block, DoubleQuant); }
  static constexpr double bits_per_weight() {
    return DoubleQuant ? 4.0 + 8.0 / Block + 32.0 / (Block * 256.0) : 4.0 + 32.0 / Block;
  }
};
template <int Block = 64, bool DoubleQuant = false>
using NF4Config = Bnb4Config<Codebook::nf4, Block, DoubleQuant>;
template <int Block = 64, bool DoubleQuant = false>
using FP4Config = Bnb4Config<Codebook::fp4, Block, DoubleQuant>;

// int8 weight-only, one f32 absmax per output row (negligible per weight for real widths).
struct Int8Config {
  static std::string name() { return "int8"; }
  static Weight quantize(const at::Tensor& w) { return quantize_int8(w); }
  static constexpr double bits_per_weight() { return 8.0; }
};

// FP8 W8A8 (quant/fp8.hpp): e4m3 weights with one f32 scale per output row, activations quantized per token at
// run time (8 + 32/in bits per weight; the activations' scales are not stored).
struct FP8Config {
  static std::string name() { return "fp8"; }
  static Weight quantize(const at::Tensor& w) { return quantize_fp8(w); }
  static constexpr double bits_per_weight() { return 8.0; }
};

// Asymmetric int4, bf16 scale + zero per group of G inputs: 4 + 32/G bits (G=128: 4.25).
template <int Group = 128>
struct Int4Config {
  static_assert(valid_int4_group(Group), "Int4 group size must be 32, 64, 128 or 256 (tinygemm's qGroupSize)");
  static constexpr std::int64_t group_size = Group;  // every quantized input dimension must be a multiple of it
  static std::string name() { return "int4-g" + std::to_string(Group); }
  static Weight quantize(const at::Tensor& w) { return quantize_int4(w, Group); }
  static constexpr double bits_per_weight() { return 4.0 + 32.0 / Group; }
};

static_assert(QuantConfig<NoQuant>);
static_assert(QuantConfig<NF4Config<64, true>>);
static_assert(QuantConfig<FP4Config<64>>);
static_assert(QuantConfig<Int8Config>);
static_assert(QuantConfig<FP8Config>);
static_assert(QuantConfig<Int4Config<128>>);

}  // namespace curebench::quant
