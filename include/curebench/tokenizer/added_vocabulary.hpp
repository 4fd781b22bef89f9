#pragma once
// Added tokens (tokenizer.json "added_tokens"): matched in the text before the model runs, leftmost-longest
// like HF's Aho-Corasick, with single_word / lstrip / rstrip. Tokens with normalized=false match the raw
// text; the others match the normalized text. `special` ones are dropped by decode(skip_special_tokens).
#include "curebench/tokenizer/utf8.hpp"
#include "curebench/tokenizer/vocab.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace curebench::tokenizer {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false, normalized = false, lstrip = false, rstrip = false, single_word = false;
};

// A run of text (token < 0) or one matched added token.
struct TextSegment {
  std::string_view text;
  int32_t token = -1;
};

class AddedTokenMatcher {
 public:
  void add(const AddedToken& t) {
    if (t.content.empty()) return;
    int32_t node = 0;
    for (unsigned char c : t.content) {
      auto key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = edges_.find(key);
      if (it == edges_.end()) {
        it = edges_.emplace(key, static_cast<int32_t>(terminal_.size())).first;
        terminal_.push_back(-1);
      }
      node = it->second;
    }
    if (terminal_[node] < 0) {
      terminal_[node] = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(t);
    }
    first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  }
  bool empty() const { return tokens_.empty(); }

  std::vector<TextSegment> split(std::string_view s) const {
    std::vector<TextSegment> out;
    if (tokens_.empty()) {
      if (!s.empty()) out.push_back({s, -1});
      return out;
    }
    std::size_t emitted = 0;  // end of the last emitted segment
    std::size_t i = 0;
    while (i < s.size()) {
      if (!first_byte_[static_cast<unsigned char>(s[i])]) {
        ++i;
        continue;
      }
      int32_t best = -1;
      std::size_t best_end = 0;
      int32_t node = 0;
      for (std::size_t k = i; k < s.size(); ++k) {
        auto it = edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(s[k]));
        if (it == edges_.end()) break;
        node = it->second;
        if (terminal_[node] >= 0) best = terminal_[node], best_end = k + 1;
      }
      if (best < 0) {
        ++i;
        continue;
      }
      const AddedToken& t = tokens_[best];
      std::size_t start = i, stop = best_end;
      if (t.single_word && ((start > 0 && is_word_char_before(s, start)) || (stop < s.size() && is_word_char_at(s, stop)))) {
        ++i;
        continue;
      }
      if (t.lstrip) {
        std::size_t b = start;
        while (b > emitted) {
          std::size_t p = b - 1;
          while (p > emitted && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
          std::size_t q = p;
          if (!is_whitespace(utf8_next(s, q))) break;
          b = p;
        }
        start = b;
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          std::size_t q = stop;
          if (!is_whitespace(utf8_next(s, q))) break;
          stop = q;
        }
      }
      if (start > emitted) out.push_back({s.substr(emitted, start - emitted), -1});
      out.push_back({s.substr(start, stop - start), t.id});
      emitted = stop;
      i = std::max(best_end, stop);
    }
    if (emitted < s.size()) out.push_back({s.substr(emitted), -1});
    return out;
  }

  // Rust's char::is_whitespace (Unicode White_Space).
  static bool is_whitespace(char32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
  }

 private:
  static bool is_word(char32_t c) { return c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !is_whitespace(c)); }
  static bool is_word_char_at(std::string_view s, std::size_t i) { return is_word(utf8_next(s, i)); }
  static bool is_word_char_before(std::string_view s, std::size_t i) {
    std::size_t p = i - 1;
    while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    return is_word(utf8_next(s, p));
  }

  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child node
  std::vector<int32_t> terminal_{-1};            // node -> index into tokens_, or -1
  std::vector<AddedToken> tokens_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace curebench::tokenizer
