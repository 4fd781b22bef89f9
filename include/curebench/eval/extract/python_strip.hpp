#pragma once
// Python's str.strip() as byte offsets: the seed notebook and the official kit both strip before they
// match, and their "first character" / "^" anchors mean the first character after that.
#include "curebench/eval/extract/scan.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace curebench::eval::extract::py {

// str.isspace(): Unicode White_Space plus the ASCII separators 0x1C-0x1F.
inline bool is_space(std::uint32_t cp) noexcept {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

inline std::uint32_t decode(std::string_view s, std::size_t i, std::size_t n) noexcept {
  auto c = static_cast<unsigned char>(s[i]);
  std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// [begin, end) of s.strip(); s must be valid UTF-8 (Scan::visible() is).
inline std::pair<std::size_t, std::size_t> strip(std::string_view s) noexcept {
  std::size_t b = 0;
  while (b < s.size()) {
    std::size_t n = text::utf8_len(s, b);
    if (n == 0 || !is_space(decode(s, b, n))) break;
    b += n;
  }
  std::size_t e = s.size();
  while (e > b) {
    std::size_t k = e - 1;
    while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    std::size_t n = text::utf8_len(s, k);
    if (n == 0 || !is_space(decode(s, k, n))) break;
    e = k;
  }
  return {b, e};
}

// s.strip() itself: what the kit strips (the answer it submits, the answer it maps in step 2) is stripped alike here.
inline std::string_view stripped(std::string_view s) noexcept {
  auto [b, e] = strip(s);
  return s.substr(b, e - b);
}

}  // namespace curebench::eval::extract::py
