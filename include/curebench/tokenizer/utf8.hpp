#pragma once
// UTF-8 helpers for tokenizers. Input text must be valid UTF-8 (HF tokenizers takes &str, so it cannot
// see anything else); we reject invalid bytes with their offset instead of guessing a replacement.
#include "curebench/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace curebench::tokenizer {

// Length of the sequence that starts with lead byte `b` (1 for ASCII and for stray continuation bytes).
inline constexpr std::size_t utf8_sequence_length(unsigned char b) noexcept {
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 3;
  if ((b & 0xF8) == 0xF0) return 4;
  return 1;
}

// Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or nullopt when the whole text is valid.
inline std::optional<std::size_t> find_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b == 0xE0) len = 3, lo = 0xA0;
    else if (b >= 0xE1 && b <= 0xEC) len = 3;
    else if (b == 0xED) len = 3, hi = 0x9F;
    else if (b >= 0xEE && b <= 0xEF) len = 3;
    else if (b == 0xF0) len = 4, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) len = 4;
    else if (b == 0xF4) len = 4, hi = 0x8F;
    else return i;
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::nullopt;
}

inline void require_valid_utf8(std::string_view s, std::string_view what = "input text") {
  if (auto bad = find_invalid_utf8(s))
    throw Error(Errc::tokenizer, "", "byte " + std::to_string(*bad),
                std::string(what) + " is not valid UTF-8 (expected a well-formed sequence, found byte 0x" +
                    [](unsigned char c) {
                      const char* hex = "0123456789ABCDEF";
                      return std::string{hex[c >> 4], hex[c & 15]};
                    }(static_cast<unsigned char>(s[*bad])) +
                    ")");
}

// Decodes one code point at `i` of valid UTF-8 and advances `i`.
inline char32_t utf8_next(std::string_view s, std::size_t& i) noexcept {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = utf8_sequence_length(b);
  if (i + len > s.size()) len = 1;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

inline void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Bytes to text the way Rust's String::from_utf8_lossy does (what HF decoders return): each maximal
// invalid prefix of a sequence becomes one U+FFFD.
inline std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto rest = s.substr(i);
    auto bad = find_invalid_utf8(rest);
    if (!bad) {
      out.append(rest);
      break;
    }
    out.append(rest.substr(0, *bad));
    i += *bad;
    // Consume the longest prefix of a valid sequence (WHATWG / Rust "maximal subpart" rule).
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b == 0xE0) len = 3, lo = 0xA0;
    else if (b >= 0xE1 && b <= 0xEC) len = 3;
    else if (b == 0xED) len = 3, hi = 0x9F;
    else if (b >= 0xEE && b <= 0xEF) len = 3;
    else if (b == 0xF0) len = 4, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) len = 4;
    else if (b == 0xF4) len = 4, hi = 0x8F;
    std::size_t used = 1;
    if (len > 0 && i + 1 < s.size()) {
      auto c = static_cast<unsigned char>(s[i + 1]);
      if (c >= lo && c <= hi) {
        used = 2;
        while (used < len && i + used < s.size() && (static_cast<unsigned char>(s[i + used]) & 0xC0) == 0x80) ++used;
      }
    }
    out.append("\xEF\xBF\xBD");
    i += used;
  }
  return out;
}

}  // namespace curebench::tokenizer
