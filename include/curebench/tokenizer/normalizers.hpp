#pragma once
// HF tokenizers' normalizers that the supported checkpoints use (NFC, Prepend, Replace, Sequence),
// read from tokenizer.json's "normalizer" object.
#include "curebench/core/error.hpp"
#include "curebench/tokenizer/regex.hpp"
#include "curebench/tokenizer/unicode_nfc.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace curebench::tokenizer {

struct NfcNormalizer {};
// Prepends `prepend` to a non-empty string (SentencePiece's dummy prefix "▁").
struct PrependNormalizer {
  std::string prepend;
};
// Replaces every match of a literal (or a regex) with `content`.
struct ReplaceNormalizer {
  std::string literal;
  std::optional<Regex> regex;
  std::string content;
};

using NormalizerStep = std::variant<NfcNormalizer, PrependNormalizer, ReplaceNormalizer>;

inline std::string apply_normalizers(const std::vector<NormalizerStep>& steps, std::string s) {
  for (const auto& step : steps) {
    if (std::holds_alternative<NfcNormalizer>(step)) {
      s = nfc(s);
    } else if (auto* p = std::get_if<PrependNormalizer>(&step)) {
      if (!s.empty()) s = p->prepend + s;
    } else if (auto* r = std::get_if<ReplaceNormalizer>(&step)) {
      std::string out;
      std::size_t pos = 0;
      if (r->regex) {
        for (auto [b, e] : r->regex->find_all(s)) {
          out.append(s, pos, b - pos).append(r->content);
          pos = e;
        }
      } else if (!r->literal.empty()) {
        for (std::size_t hit; (hit = s.find(r->literal, pos)) != std::string::npos; pos = hit + r->literal.size())
          out.append(s, pos, hit - pos).append(r->content);
      }
      out.append(s, pos);
      s = std::move(out);
    }
  }
  return s;
}

// A {"String": s} or {"Regex": r} pattern object.
struct JsonPattern {
  std::string literal;
  std::optional<Regex> regex;
};

inline JsonPattern parse_pattern(const nlohmann::json& j, const std::string& path, const std::string& field) {
  if (j.is_object() && j.contains("String") && j["String"].is_string()) return {j["String"].get<std::string>(), {}};
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string())
    return {{}, Regex(j["Regex"].get<std::string>(), path)};
  throw Error(Errc::format, path, field, "expected {\"String\": ...} or {\"Regex\": ...}, found " + j.dump().substr(0, 80));
}

inline void parse_normalizer(const nlohmann::json& j, const std::string& path, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j["type"].is_string(), Errc::format, path, "normalizer",
          "expected an object with a string \"type\"");
  const auto type = j["type"].get<std::string>();
  if (type == "Sequence") {
    require(j.contains("normalizers") && j["normalizers"].is_array(), Errc::format, path, "normalizer.normalizers",
            "expected an array");
    for (const auto& n : j["normalizers"]) parse_normalizer(n, path, out);
  } else if (type == "NFC") {
    out.push_back(NfcNormalizer{});
  } else if (type == "Prepend") {
    require(j.contains("prepend") && j["prepend"].is_string(), Errc::format, path, "normalizer.prepend",
            "expected a string");
    out.push_back(PrependNormalizer{j["prepend"].get<std::string>()});
  } else if (type == "Replace") {
    require(j.contains("content") && j["content"].is_string(), Errc::format, path, "normalizer.content",
            "expected a string");
    auto p = parse_pattern(j.value("pattern", nlohmann::json()), path, "normalizer.pattern");
    out.push_back(ReplaceNormalizer{std::move(p.literal), std::move(p.regex), j["content"].get<std::string>()});
  } else {
    throw Error(Errc::unsupported, path, "normalizer.type",
                "normalizer \"" + type + "\" is not supported (supported: Sequence, NFC, Prepend, Replace)");
  }
}

}  // namespace curebench::tokenizer
