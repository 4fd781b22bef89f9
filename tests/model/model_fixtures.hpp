#pragma once
// Shared by the model and runtime tests: the tiny transformers fixtures in tests/data/model/ (made by
// tests/fixtures/make_model_fixtures.py) and helpers to compare against their reference.json.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "curebench/core/json_file.hpp"
#include "curebench/model/load.hpp"

inline std::string model_fixture(const std::string& name) { return std::string(CUREBENCH_TEST_DATA) + "/model/" + name; }

inline const std::vector<std::string>& model_fixture_names() {
  static const std::vector<std::string> names{"llama", "llama3_rope_tied_sharded", "mistral", "qwen2", "gemma2", "qwen3"};
  return names;
}

inline nlohmann::json fixture_reference(const std::string& name) {
  return curebench::read_json_file(model_fixture(name) + "/reference.json");
}

inline at::Tensor json_matrix(const nlohmann::json& rows) {
  std::vector<float> flat;
  for (auto& r : rows)
    for (auto& v : r) flat.push_back(v.get<float>());
  return at::tensor(flat).view({static_cast<std::int64_t>(rows.size()), -1});
}

inline std::vector<std::int64_t> json_ids(const nlohmann::json& a) { return a.get<std::vector<std::int64_t>>(); }
