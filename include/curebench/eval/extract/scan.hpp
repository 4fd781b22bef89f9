#pragma once
// The text the rules read: a copy of the output with the same byte length, so every offset found in it is
// an offset into the original. <think>…</think> blocks are blanked (a reasoning model's scratch work is
// not its answer) and bytes that are not valid UTF-8 become '?' (PCRE2 in UTF mode refuses them).
#include "curebench/eval/extract/extraction.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace curebench::eval::extract {

namespace text {

inline bool ascii_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
inline bool ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline char ascii_upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
inline char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
// Non-ASCII bytes count as word characters: letters of other scripts must not look like boundaries.
inline bool word_byte(char c) noexcept { return ascii_alpha(c) || ascii_digit(c) || (static_cast<unsigned char>(c) & 0x80); }

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte does not start one.
inline std::size_t utf8_len(std::string_view s, std::size_t i) noexcept {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (b(i + k) & 0x3F);
  bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

inline std::string sanitize_utf8(std::string_view s) {
  std::string out(s);
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_len(s, i);
    if (n == 0) {
      out[i] = '?';
      n = 1;
    }
    i += n;
  }
  return out;
}

inline std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) noexcept {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && ascii_lower(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

}  // namespace text

class Scan {
 public:
  Scan(std::string_view output, const Options& options)
      : original_(output), options_(options), visible_(text::sanitize_utf8(output)) {
    blank_think_blocks();
  }

  std::string_view original() const noexcept { return original_; }
  const std::string& visible() const noexcept { return visible_; }
  const Options& options() const noexcept { return options_; }
  bool unclosed_think() const noexcept { return unclosed_think_; }
  bool had_think() const noexcept { return had_think_; }
  bool visible_blank() const noexcept { return visible_.find_first_not_of(" \t\r\n") == std::string::npos; }

  char at(std::size_t i) const noexcept { return i < visible_.size() ? visible_[i] : '\0'; }

 private:
  void blank(std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e && i < visible_.size(); ++i) visible_[i] = ' ';
  }

  // <think>…</think> is blanked. A lone </think> (templates that put <think> in the prompt) blanks
  // everything before it. A <think> never closed means the model stopped while reasoning: all of it
  // is blanked, and the extractor reports that instead of guessing from unfinished thoughts.
  void blank_think_blocks() {
    std::size_t pos = 0;
    while (pos < visible_.size()) {
      std::size_t open = text::ifind(visible_, "<think>", pos);
      std::size_t close = text::ifind(visible_, "</think>", pos);
      if (open == std::string::npos && close == std::string::npos) break;
      had_think_ = true;
      if (close != std::string::npos && (open == std::string::npos || close < open)) {
        blank(pos, close + 8);
        pos = close + 8;
        continue;
      }
      std::size_t end = text::ifind(visible_, "</think>", open + 7);
      if (end == std::string::npos) {
        blank(open, visible_.size());
        unclosed_think_ = true;
        break;
      }
      blank(open, end + 8);
      pos = end + 8;
    }
  }

  std::string_view original_;
  const Options& options_;
  std::string visible_;
  bool unclosed_think_ = false;
  bool had_think_ = false;
};

}  // namespace curebench::eval::extract
