#pragma once
// tokenizer.json "post_processor": what add_special_tokens=true adds around a single sequence.
// TemplateProcessing, Bert/Roberta (CLS A SEP), ByteLevel (offsets only: adds nothing) and Sequence.
#include "curebench/core/error.hpp"

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace curebench::tokenizer {

struct PostProcessor {
  std::vector<int32_t> prefix, suffix;  // ids around sequence A

  void apply(std::vector<int32_t>& ids) const {
    if (!prefix.empty()) ids.insert(ids.begin(), prefix.begin(), prefix.end());
    ids.insert(ids.end(), suffix.begin(), suffix.end());
  }
};

// A token id as tokenizer.json writes it (post-processor and added tokens): an integer in [0, 2^31 - 1). get<int32_t>()
// would cast 1e30 (undefined) or wrap 2^40, and INT32_MAX would overflow vocab_size = id + 1; HfTokenizer checks the
// post-processor's ids against its vocabulary once that is known.
inline int32_t json_token_id(const nlohmann::json& v, const std::string& path, const std::string& field) {
  require(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() < INT32_MAX, Errc::format, path, field,
          "expected a token id (an integer in [0, 2^31 - 1)), found " + v.dump());
  return static_cast<int32_t>(v.get<std::int64_t>());
}

inline void parse_post_processor(const nlohmann::json& j, const std::string& path, PostProcessor& pp) {
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j["type"].is_string(), Errc::format, path, "post_processor",
          "expected an object with a string \"type\"");
  const auto type = j["type"].get<std::string>();
  if (type == "Sequence") {
    require(j.contains("processors") && j["processors"].is_array(), Errc::format, path, "post_processor.processors",
            "expected an array");
    for (const auto& p : j["processors"]) parse_post_processor(p, path, pp);
  } else if (type == "ByteLevel") {
    // Only trims offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    require(j.contains("single") && j["single"].is_array(), Errc::format, path, "post_processor.single",
            "expected an array");
    const auto specials = j.value("special_tokens", nlohmann::json::object());
    bool seen_a = false;
    std::vector<int32_t> prefix, suffix;
    for (const auto& piece : j["single"]) {
      if (piece.contains("Sequence")) {
        seen_a = true;
        continue;
      }
      require(piece.contains("SpecialToken") && piece["SpecialToken"].contains("id"), Errc::format, path,
              "post_processor.single", "expected Sequence or SpecialToken pieces");
      auto name = piece["SpecialToken"]["id"].get<std::string>();
      require(specials.contains(name) && specials[name].contains("ids"), Errc::format, path,
              "post_processor.special_tokens", "special token \"" + name + "\" has no ids");
      const auto& ids = specials[name]["ids"];
      require(ids.is_array(), Errc::format, path, "post_processor.special_tokens." + name + ".ids", "expected an array of ids");
      for (const auto& id : ids) (seen_a ? suffix : prefix).push_back(json_token_id(id, path, "post_processor.special_tokens." + name + ".ids"));
    }
    pp.prefix.insert(pp.prefix.end(), prefix.begin(), prefix.end());
    pp.suffix.insert(pp.suffix.begin(), suffix.begin(), suffix.end());
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto id_of = [&](const char* key) {
      require(j.contains(key) && j[key].is_array() && j[key].size() == 2, Errc::format, path,
              std::string("post_processor.") + key, "expected [token, id]");
      return json_token_id(j[key][1], path, std::string("post_processor.") + key);
    };
    pp.prefix.push_back(id_of("cls"));
    pp.suffix.push_back(id_of("sep"));
  } else {
    throw Error(Errc::unsupported, path, "post_processor.type",
                "post-processor \"" + type + "\" is not supported (supported: TemplateProcessing, ByteLevel, "
                "BertProcessing, RobertaProcessing, Sequence)");
  }
}

}  // namespace curebench::tokenizer
