#pragma once
// What Python's `re` sees in s.upper(), for patterns over the letters A-E: whether a code point is \w
// (str.isalnum() or '_') and the "shape" of its str.upper() expansion. The tables come from Python itself
// (tests/fixtures/make_python_word_tables.py), so ports of Python extractors match its Unicode rules.
#include "curebench/eval/extract/python_word_data.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace curebench::eval::extract::py {

// Python re's \w in a str pattern.
inline bool is_word(char32_t cp) noexcept {
  const auto& t = word_data::kWord;
  auto it = std::upper_bound(std::begin(t), std::end(t), cp, [](char32_t c, const word_data::Range& r) { return c < r.first; });
  return it != std::begin(t) && cp <= std::prev(it)->last;
}

// The shape of str.upper() of one code point, one character per run: 'A'..'E' the letter, ')' itself,
// 'w' a run of other \w characters, ' ' a run of other characters. "a" -> "A", "é" -> "w", "-" -> " ",
// U+1E9A -> "Aw" (A + U+02BE), U+01F0 -> "w " (J + a combining caron, which is not \w).
inline std::string_view upper_shape(char32_t cp) noexcept {
  static constexpr std::string_view letters = "ABCDE";
  if (cp >= 'a' && cp <= 'e') return letters.substr(cp - 'a', 1);
  if (cp >= 'A' && cp <= 'E') return letters.substr(cp - 'A', 1);
  if (cp == ')') return ")";
  const auto& t = word_data::kUpperShape;
  auto it = std::lower_bound(std::begin(t), std::end(t), cp, [](const word_data::UpperShape& u, char32_t c) { return u.cp < c; });
  if (it != std::end(t) && it->cp == cp) return it->shape;
  return is_word(cp) ? "w" : " ";
}

}  // namespace curebench::eval::extract::py
