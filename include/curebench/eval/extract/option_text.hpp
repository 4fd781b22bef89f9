#pragma once
// Matching an option by its text instead of its letter: case- and punctuation-insensitive, on word
// boundaries, longest unique match wins, ties between different options are refused. "None of the
// above"-style options also match their usual paraphrases ("none of these", "none of the options").
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::extract {

// Lowercased ASCII letters and digits, other bytes of non-ASCII characters kept, everything else one
// space. orig[i] is the offset (in the text given to normalize, plus base) of norm[i].
struct Normalized {
  std::string norm;
  std::vector<std::size_t> orig;
};

inline Normalized normalize(std::string_view s, std::size_t base = 0) {
  Normalized n;
  bool pending_space = false;
  auto b = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    // General punctuation (U+2000-U+206F: Unicode hyphens, dashes, quotes) and no-break space separate words.
    if (b(i) == 0xE2 && (b(i + 1) == 0x80 || b(i + 1) == 0x81)) {
      pending_space = true;
      i += 2;
      continue;
    }
    if (b(i) == 0xC2 && b(i + 1) == 0xA0) {
      pending_space = true;
      i += 1;
      continue;
    }
    if (text::word_byte(c)) {
      if (pending_space && !n.norm.empty()) {
        n.norm += ' ';
        n.orig.push_back(base + i);
      }
      pending_space = false;
      n.norm += text::ascii_lower(c);
      n.orig.push_back(base + i);
    } else {
      pending_space = true;
    }
  }
  return n;
}

// The normalized forms an option is recognised by.
inline std::vector<std::string> option_forms(const std::string& option_text) {
  std::string n = normalize(option_text).norm;
  static const std::vector<std::string> none_forms = {
      "none of the above", "none of the options", "none of the listed options", "none of these",
      "none of the choices", "none of the above options", "none of the listed", "none of them", "none"};
  static const std::vector<std::string> all_forms = {"all of the above", "all of the options", "all of these",
                                                      "all of the listed options", "all of the choices", "all of them"};
  for (auto* family : {&none_forms, &all_forms})
    for (auto& f : *family)
      if (n == f) return *family;
  if (n.empty()) return {};
  return {n};
}

struct TextHit {
  char letter;
  std::size_t nbegin, nend;  // in the normalized text
};

inline bool word_boundary(const std::string& s, std::size_t b, std::size_t e) {
  return (b == 0 || s[b - 1] == ' ') && (e == s.size() || s[e] == ' ');
}

// Every occurrence of every option form in `n` (word boundaries).
inline std::vector<TextHit> find_option_texts(const std::string& n, const Options& options) {
  std::vector<TextHit> hits;
  for (auto& o : options.items())
    for (auto& form : option_forms(o.text))
      for (std::size_t p = n.find(form); p != std::string::npos; p = n.find(form, p + 1))
        if (word_boundary(n, p, p + form.size())) hits.push_back({o.letter, p, p + form.size()});
  return hits;
}

// Of the hits, the longest; it wins only if every hit of another option lies inside one of its hits
// ("metformin" inside "metformin and insulin"). Otherwise a refusal naming the competing options.
inline std::optional<Candidate> longest_unique(const std::vector<TextHit>& hits, const Normalized& n,
                                               std::string_view rule) {
  if (hits.empty()) return std::nullopt;
  const TextHit* best = &hits.front();
  for (auto& h : hits)
    if (h.nend - h.nbegin > best->nend - best->nbegin) best = &h;
  std::string rivals;
  for (auto& h : hits) {
    if (h.letter == best->letter) continue;
    bool inside = false;
    for (auto& b : hits)
      if (b.letter == best->letter && h.nbegin >= b.nbegin && h.nend <= b.nend) inside = true;
    if (!inside && rivals.find(h.letter) == std::string::npos) rivals += h.letter;
  }
  Span span{n.orig[best->nbegin], n.orig[best->nend - 1] + 1};
  if (!rivals.empty())
    return Candidate{0, span, rule,
                     std::string("ambiguous: the text names option ") + best->letter + " and option(s) " + rivals};
  return Candidate{best->letter, span, rule, ""};
}

}  // namespace curebench::eval::extract
