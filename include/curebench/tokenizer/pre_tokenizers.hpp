#pragma once
// HF tokenizers' pre-tokenizers (Split, ByteLevel, Metaspace, Sequence): they cut normalized text into
// the words BPE runs on. Behaviour, empty-piece removal included, follows tokenizers (Rust).
#include "curebench/core/error.hpp"
#include "curebench/tokenizer/byte_level.hpp"
#include "curebench/tokenizer/normalizers.hpp"
#include "curebench/tokenizer/regex.hpp"

#include "curebench/core/json_file.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace curebench::tokenizer {

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct SplitPreTokenizer {
  std::string literal;
  std::optional<Regex> regex;
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
};
// Maps bytes to the GPT-2 alphabet; optionally splits with GPT-2's own regex first.
struct ByteLevelPreTokenizer {
  bool add_prefix_space = false;
  bool use_regex = true;
};
// " " -> "▁", with "▁" prepended always / on the first piece / never; optionally split before each "▁".
struct MetaspacePreTokenizer {
  std::string replacement = "\xE2\x96\x81";
  enum class Prepend { always, first, never } prepend = Prepend::always;
  bool split = true;
};

using PreTokenizerStep = std::variant<SplitPreTokenizer, ByteLevelPreTokenizer, MetaspacePreTokenizer>;

// A piece of text and whether it starts at the very beginning of the input (Metaspace "first").
struct PreToken {
  std::string text;
  bool at_start = false;
};

namespace detail {

inline const Regex& gpt2_regex() {
  static const Regex re(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  return re;
}

// Pieces of `s` per HF's SplitDelimiterBehavior; `matches` are sorted byte ranges.
inline void split_by(const std::string& s, const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                     SplitBehavior behavior, bool invert, bool at_start, std::vector<PreToken>& out) {
  struct Part {
    std::size_t b, e;
    bool match;
  };
  std::vector<Part> parts;
  std::size_t pos = 0;
  for (auto [b, e] : matches) {
    if (b > pos) parts.push_back({pos, b, false});
    parts.push_back({b, e, true});
    pos = e;
  }
  if (pos < s.size()) parts.push_back({pos, s.size(), false});
  if (invert)
    for (auto& p : parts) p.match = !p.match;

  std::vector<Part> pieces;
  switch (behavior) {
    case SplitBehavior::isolated: pieces = parts; break;
    case SplitBehavior::removed:
      for (const auto& p : parts)
        if (!p.match) pieces.push_back(p);
      break;
    case SplitBehavior::merged_with_previous: {
      bool prev_match = false;
      for (const auto& p : parts) {
        if (p.match && !prev_match && !pieces.empty()) pieces.back().e = p.e;
        else pieces.push_back(p);
        prev_match = p.match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool prev_match = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !prev_match && !pieces.empty()) pieces.back().b = it->b;
        else pieces.push_back(*it);
        prev_match = it->match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
    case SplitBehavior::contiguous:
      for (const auto& p : parts) {
        if (!pieces.empty() && pieces.back().match == p.match) pieces.back().e = p.e;
        else pieces.push_back(p);
      }
      break;
  }
  for (const auto& p : pieces)
    if (p.e > p.b) out.push_back({s.substr(p.b, p.e - p.b), at_start && p.b == 0});
}

inline std::vector<std::pair<std::size_t, std::size_t>> literal_matches(const std::string& s, const std::string& lit) {
  std::vector<std::pair<std::size_t, std::size_t>> m;
  if (lit.empty()) return m;
  for (std::size_t pos = 0, hit; (hit = s.find(lit, pos)) != std::string::npos; pos = hit + lit.size())
    m.emplace_back(hit, hit + lit.size());
  return m;
}

inline void apply_one(const PreTokenizerStep& step, std::vector<PreToken>& words) {
  std::vector<PreToken> next;
  next.reserve(words.size() * 2);
  for (auto& w : words) {
    if (auto* sp = std::get_if<SplitPreTokenizer>(&step)) {
      auto m = sp->regex ? sp->regex->find_all(w.text) : literal_matches(w.text, sp->literal);
      split_by(w.text, m, sp->behavior, sp->invert, w.at_start, next);
    } else if (auto* bl = std::get_if<ByteLevelPreTokenizer>(&step)) {
      std::string s = w.text;
      if (bl->add_prefix_space && (s.empty() || s[0] != ' ')) s = " " + s;
      std::vector<PreToken> pieces;
      if (bl->use_regex) split_by(s, gpt2_regex().find_all(s), SplitBehavior::isolated, false, w.at_start, pieces);
      else if (!s.empty()) pieces.push_back({s, w.at_start});
      for (auto& p : pieces) next.push_back({ByteLevelTable::get().encode(p.text), p.at_start});
    } else if (auto* ms = std::get_if<MetaspacePreTokenizer>(&step)) {
      std::string s;
      for (char c : w.text) s += c == ' ' ? ms->replacement : std::string(1, c);
      bool prepend = ms->prepend == MetaspacePreTokenizer::Prepend::always ||
                     (ms->prepend == MetaspacePreTokenizer::Prepend::first && w.at_start);
      if (prepend && s.compare(0, ms->replacement.size(), ms->replacement) != 0) s = ms->replacement + s;
      if (ms->split) split_by(s, literal_matches(s, ms->replacement), SplitBehavior::merged_with_next, false, w.at_start, next);
      else if (!s.empty()) next.push_back({s, w.at_start});
    }
  }
  words = std::move(next);
}

}  // namespace detail

inline std::vector<PreToken> pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::string text, bool at_start) {
  std::vector<PreToken> words;
  if (text.empty()) return words;
  words.push_back({std::move(text), at_start});
  for (const auto& s : steps) detail::apply_one(s, words);
  return words;
}

inline void parse_pre_tokenizer(const nlohmann::json& j, const std::string& path, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j["type"].is_string(), Errc::format, path, "pre_tokenizer",
          "expected an object with a string \"type\"");
  const auto type = j["type"].get<std::string>();
  if (type == "Sequence") {
    require(j.contains("pretokenizers") && j["pretokenizers"].is_array(), Errc::format, path,
            "pre_tokenizer.pretokenizers", "expected an array");
    for (const auto& p : j["pretokenizers"]) parse_pre_tokenizer(p, path, out);
  } else if (type == "Split") {
    SplitPreTokenizer sp;
    auto pat = parse_pattern(j.value("pattern", nlohmann::json()), path, "pre_tokenizer.pattern");
    sp.literal = std::move(pat.literal);
    sp.regex = std::move(pat.regex);
    const auto b = json_get_or(j, "behavior", std::string("Isolated"), path);
    if (b == "Isolated") sp.behavior = SplitBehavior::isolated;
    else if (b == "Removed") sp.behavior = SplitBehavior::removed;
    else if (b == "MergedWithPrevious") sp.behavior = SplitBehavior::merged_with_previous;
    else if (b == "MergedWithNext") sp.behavior = SplitBehavior::merged_with_next;
    else if (b == "Contiguous") sp.behavior = SplitBehavior::contiguous;
    else throw Error(Errc::format, path, "pre_tokenizer.behavior", "unknown split behavior \"" + b + "\"");
    sp.invert = json_get_or(j, "invert", false, path);
    out.push_back(std::move(sp));
  } else if (type == "ByteLevel") {
    out.push_back(ByteLevelPreTokenizer{json_get_or(j, "add_prefix_space", false, path), json_get_or(j, "use_regex", true, path)});
  } else if (type == "Metaspace") {
    MetaspacePreTokenizer ms;
    ms.replacement = json_get_or(j, "replacement", ms.replacement, path);
    if (j.contains("prepend_scheme")) {
      const auto p = j["prepend_scheme"].get<std::string>();
      ms.prepend = p == "first" ? MetaspacePreTokenizer::Prepend::first
                   : p == "never" ? MetaspacePreTokenizer::Prepend::never
                                  : MetaspacePreTokenizer::Prepend::always;
    } else if (j.contains("add_prefix_space")) {
      ms.prepend = j["add_prefix_space"].get<bool>() ? MetaspacePreTokenizer::Prepend::always
                                                     : MetaspacePreTokenizer::Prepend::never;
    }
    ms.split = json_get_or(j, "split", true, path);
    out.push_back(std::move(ms));
  } else {
    throw Error(Errc::unsupported, path, "pre_tokenizer.type",
                "pre-tokenizer \"" + type + "\" is not supported (supported: Sequence, Split, ByteLevel, Metaspace)");
  }
}

}  // namespace curebench::tokenizer
