#pragma once
// generation_config.json: end-of-sequence ids and sampling defaults that a checkpoint ships.
#include <filesystem>
#include <optional>
#include <vector>

#include "curebench/core/json_file.hpp"

namespace curebench::io {

struct GenerationConfig {
  std::vector<std::int64_t> eos_ids;
  std::optional<std::int64_t> bos_id, pad_id;
  bool do_sample = false;
  double temperature = 1.0, top_p = 1.0, repetition_penalty = 1.0;
  std::int64_t top_k = 0;  // 0 = off (transformers' default 50 applies only when sampling; we state it explicitly)
  std::optional<std::int64_t> max_new_tokens;
};

inline GenerationConfig read_generation_config(const std::filesystem::path& file) {
  GenerationConfig g;
  if (!std::filesystem::exists(file)) return g;
  const auto path = file.string();
  auto j = read_json_file(path);
  if (!j.is_object()) throw Error(Errc::config, path, "", "not a JSON object");
  auto ids = [&](const char* key) {
    std::vector<std::int64_t> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (it->is_number_integer()) return std::vector<std::int64_t>{it->get<std::int64_t>()};
    if (!it->is_array()) throw Error(Errc::config, path, key, "expected an integer or a list of integers");
    for (auto& v : *it) {
      if (!v.is_number_integer()) throw Error(Errc::config, path, key, "expected integers");
      out.push_back(v.get<std::int64_t>());
    }
    return out;
  };
  g.eos_ids = ids("eos_token_id");
  if (auto b = ids("bos_token_id"); !b.empty()) g.bos_id = b.front();
  if (auto p = ids("pad_token_id"); !p.empty()) g.pad_id = p.front();
  g.do_sample = json_get_or<bool>(j, "do_sample", false, path);
  g.temperature = json_get_or<double>(j, "temperature", 1.0, path);
  g.top_p = json_get_or<double>(j, "top_p", 1.0, path);
  g.top_k = json_get_or<std::int64_t>(j, "top_k", g.do_sample ? 50 : 0, path);
  g.repetition_penalty = json_get_or<double>(j, "repetition_penalty", 1.0, path);
  if (auto it = j.find("max_new_tokens"); it != j.end() && it->is_number_integer()) g.max_new_tokens = it->get<std::int64_t>();
  return g;
}

}  // namespace curebench::io
