#pragma once
// GGUF metadata and tensor table as JSON (for `curebench inspect --json` and telemetry). Long arrays are
// summarized: type, length and the first few items, so a 128k-token vocabulary prints as one line.
#include "curebench/io/gguf.hpp"

#include <nlohmann/json.hpp>

namespace curebench::io {

inline nlohmann::json gguf_value_json(const GGUFValue& v, std::size_t max_items = 8) {
  return std::visit(
      [&](const auto& x) -> nlohmann::json {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, GGUFArray>) {
          if (x.items.size() <= max_items) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& item : x.items) arr.push_back(gguf_value_json(item, max_items));
            return arr;
          }
          nlohmann::json head = nlohmann::json::array();
          for (std::size_t i = 0; i < max_items; ++i) head.push_back(gguf_value_json(x.items[i], max_items));
          return {{"type", v.type_name()}, {"length", x.items.size()}, {"first", head}};
        } else {
          return x;
        }
      },
      v.data);
}

inline void to_json(nlohmann::json& j, const GGUFTensorInfo& t) {
  j = nlohmann::json{{"name", t.name}, {"type", std::string(ggml_type_name(t.type))}, {"ne", t.ne},
                     {"shape", t.shape()}, {"offset", t.offset}, {"nbytes", t.nbytes}};
}

// Summary of a whole file: version, alignment, metadata (with types), tensors, element counts per type.
inline nlohmann::json gguf_summary_json(const GGUFFile& f, std::size_t max_items = 8) {
  nlohmann::json j;
  j["path"] = f.path();
  j["format"] = "gguf";
  j["version"] = f.version();
  j["file_bytes"] = f.file_size();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  nlohmann::json md = nlohmann::json::array();
  for (const auto& kv : f.metadata())
    md.push_back({{"key", kv.key}, {"type", kv.value.type_name()}, {"value", gguf_value_json(kv.value, max_items)}});
  j["metadata"] = md;
  j["tensors"] = f.tensors();
  std::map<std::string, std::uint64_t> by_type;
  std::uint64_t elements = 0, bytes = 0;
  for (const auto& t : f.tensors()) {
    by_type[std::string(ggml_type_name(t.type))] += t.numel();
    elements += t.numel();
    bytes += t.nbytes;
  }
  j["tensor_count"] = f.tensors().size();
  j["metadata_count"] = f.metadata().size();
  j["total_elements"] = elements;
  j["total_bytes"] = bytes;
  j["elements_by_type"] = by_type;
  return j;
}

}  // namespace curebench::io
