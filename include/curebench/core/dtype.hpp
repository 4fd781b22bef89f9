#pragma once
// Element types as they appear on disk (safetensors names), independent of libtorch.
#include <cstddef>
#include <optional>
#include <string_view>

namespace curebench {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

struct DTypeInfo {
  DType dtype;
  std::string_view name;  // safetensors spelling
  std::size_t bytes;
};

inline constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8},  {DType::F32, "F32", 4},         {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},  {DType::I8, "I8", 1},           {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

inline constexpr std::size_t element_size(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.bytes;
  return 0;
}

inline constexpr std::string_view dtype_name(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.name;
  return "?";
}

inline std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& i : kDTypes)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}

}  // namespace curebench
