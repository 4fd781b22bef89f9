#pragma once
// Unicode NFC (canonical decomposition, canonical ordering, canonical composition; UAX #15), as the
// "NFC" normalizer of Qwen tokenizers needs. Tables are generated (unicode_nfc_data.hpp); text below
// U+0300 is already NFC, so the common ASCII/Latin-1 case returns without work.
#include "curebench/tokenizer/unicode_nfc_data.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::tokenizer {

namespace nfc_detail {
inline constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
inline constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                          kSCount = kLCount * kNCount;

inline uint8_t ccc(char32_t cp) {
  const auto* b = std::begin(nfc_data::kCcc);
  const auto* e = std::end(nfc_data::kCcc);
  auto it = std::lower_bound(b, e, cp, [](const nfc_data::Ccc& x, char32_t v) { return x.cp < v; });
  return it != e && it->cp == cp ? it->ccc : 0;
}

inline const nfc_data::Decomp* decomposition(char32_t cp) {
  const auto* b = std::begin(nfc_data::kDecomp);
  const auto* e = std::end(nfc_data::kDecomp);
  auto it = std::lower_bound(b, e, cp, [](const nfc_data::Decomp& x, char32_t v) { return x.cp < v; });
  return it != e && it->cp == cp ? it : nullptr;
}

inline void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (const auto* d = decomposition(cp)) {
    decompose(d->first, out);
    if (d->second) decompose(d->second, out);
    return;
  }
  out.push_back(cp);
}

inline char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* bgn = std::begin(nfc_data::kCompose);
  const auto* end = std::end(nfc_data::kCompose);
  auto it = std::lower_bound(bgn, end, std::pair{a, b}, [](const nfc_data::Compose& x, std::pair<char32_t, char32_t> v) {
    return x.first != v.first ? x.first < v.first : x.second < v.second;
  });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}
}  // namespace nfc_detail

// NFC of valid UTF-8.
inline std::string nfc(std::string_view text) {
  bool simple = true;
  for (unsigned char c : text)
    if (c >= 0xCC) {  // lead bytes of U+0300 and above
      simple = false;
      break;
    }
  if (simple) return std::string(text);

  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) nfc_detail::decompose(utf8_next(text, i), cps);
  // Canonical ordering: stable sort each run of non-starters by combining class.
  for (std::size_t i = 0; i < cps.size();) {
    if (nfc_detail::ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && nfc_detail::ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](char32_t a, char32_t b) { return nfc_detail::ccc(a) < nfc_detail::ccc(b); });
    i = j;
  }
  // Canonical composition: a char joins the last starter unless a char between them is a starter or has
  // a class >= its own (after ordering, only the last char in `out` needs checking).
  std::vector<char32_t> out;
  out.reserve(cps.size());
  std::ptrdiff_t starter = -1;
  for (char32_t cp : cps) {
    int c = nfc_detail::ccc(cp);
    if (starter >= 0) {
      bool adjacent = static_cast<std::size_t>(starter) + 1 == out.size();
      int last = nfc_detail::ccc(out.back());
      if (adjacent || (last != 0 && last < c)) {
        if (char32_t comp = nfc_detail::compose_pair(out[starter], cp)) {
          out[starter] = comp;
          continue;
        }
      }
    }
    if (c == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    out.push_back(cp);
  }
  std::string s;
  s.reserve(text.size());
  for (char32_t cp : out) utf8_append(s, cp);
  return s;
}

}  // namespace curebench::tokenizer
