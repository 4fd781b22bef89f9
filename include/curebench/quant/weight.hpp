#pragma once
// The one place that lists weight formats. A Linear holds a quant::Weight and calls matmul() on it;
// nothing else in the model knows how a weight is stored (gpt-fast's rule: quantization never leaks
// into model code). Add a format: write a type that satisfies QuantWeight and add it to the variant.
#include <ATen/ATen.h>

#include <concepts>
#include <cstdint>
#include <variant>

#include "curebench/quant/awq.hpp"
#include "curebench/quant/bnb4.hpp"
#include "curebench/quant/dense.hpp"
#include "curebench/quant/fp8.hpp"
#include "curebench/quant/gguf_block.hpp"
#include "curebench/quant/gptq.hpp"
#include "curebench/quant/int4.hpp"
#include "curebench/quant/int8.hpp"

namespace curebench::quant {

template <class W>
concept QuantWeight = requires(const W& w, const at::Tensor& x, at::ScalarType dt, const at::Device& dev) {
  { w.matmul(x) } -> std::same_as<at::Tensor>;       // x [..., in] -> [..., out]
  { w.dequantize(dt) } -> std::same_as<at::Tensor>;  // [out, in] in dtype dt
  { w.bytes() } -> std::convertible_to<std::int64_t>;  // bytes held (all buffers)
  { w.out_features() } -> std::convertible_to<std::int64_t>;
  { w.in_features() } -> std::convertible_to<std::int64_t>;
  { w.to(dev) } -> std::same_as<W>;
};
static_assert(QuantWeight<Dense>);
static_assert(QuantWeight<NF4>);
static_assert(QuantWeight<FP4>);
static_assert(QuantWeight<Int8>);
static_assert(QuantWeight<FP8>);
static_assert(QuantWeight<Int4>);
static_assert(QuantWeight<GGUFBlock>);
static_assert(QuantWeight<GPTQ>);
static_assert(QuantWeight<AWQ>);

using Weight = std::variant<Dense, NF4, FP4, Int8, FP8, Int4, GGUFBlock, GPTQ, AWQ>;

inline at::Tensor matmul(const Weight& w, const at::Tensor& x) {
  return std::visit([&](const auto& v) { return v.matmul(x); }, w);
}
inline at::Tensor dequantize(const Weight& w, at::ScalarType dt) {
  return std::visit([&](const auto& v) { return v.dequantize(dt); }, w);
}
inline std::int64_t weight_bytes(const Weight& w) {
  return std::visit([](const auto& v) -> std::int64_t { return v.bytes(); }, w);
}
inline std::int64_t out_features(const Weight& w) {
  return std::visit([](const auto& v) -> std::int64_t { return v.out_features(); }, w);
}
inline std::int64_t in_features(const Weight& w) {
  return std::visit([](const auto& v) -> std::int64_t { return v.in_features(); }, w);
}
inline Weight to_device(const Weight& w, const at::Device& dev) {
  return std::visit([&](const auto& v) -> Weight { return v.to(dev); }, w);
}

}  // namespace curebench::quant
