#pragma once
// Is the single letter at a position an option letter, or part of ordinary prose? Rejects the article
// ("A 45-year-old…", "a combination"), abbreviations ("e.g.", "i.e."), words and compounds ("C-reactive",
// "B12", "A's"), the pronoun ("I think") and roman numerals in names ("type I diabetes", "stage C heart").
#include "curebench/eval/extract/option_text.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <cstddef>
#include <string_view>

namespace curebench::eval::extract {

// Words that may follow an answer letter in a sentence ("C because…", "A is the…", "B, since…").
inline bool answer_connector(std::string_view w) {
  static constexpr std::string_view words[] = {
      "because", "since", "as",    "is",      "was",   "which", "that",    "given",   "due",     "and",
      "or",      "but",   "for",   "with",    "here",  "this",  "it",      "being",   "based",   "per",
      "from",    "in",    "on",    "only",    "would", "should", "seems",  "appears", "remains", "fits",
      "instead", "now",   "then",  "too",     "again", "overall", "ultimately", "then"};
  for (auto x : words)
    if (w == x) return true;
  return false;
}

// The lowercase word that follows the letter on its line ("" when punctuation or a line end follows).
inline std::string_view word_after(const Scan& s, std::size_t pos) {
  std::size_t i = pos + 1;
  while (s.at(i) == ' ' || s.at(i) == '\t') ++i;
  std::size_t e = i;
  while (text::ascii_alpha(s.at(e))) ++e;
  return std::string_view(s.visible()).substr(i, e - i);
}

// General punctuation (U+2000-U+206F: dashes, curly quotes, ellipsis) and no-break space are not word
// characters; every other non-ASCII character is treated as part of a word.
inline bool punct_seq_at(std::string_view v, std::size_t i) {
  auto b = [&](std::size_t k) { return k < v.size() ? static_cast<unsigned char>(v[k]) : 0u; };
  return (b(i) == 0xE2 && (b(i + 1) == 0x80 || b(i + 1) == 0x81)) || (b(i) == 0xC2 && b(i + 1) == 0xA0);
}

inline bool letter_is_standalone(const Scan& s, std::size_t pos) {
  const std::string& v = s.visible();
  char c = s.at(pos), next = s.at(pos + 1), prev = pos > 0 ? v[pos - 1] : ' ';
  if (!text::ascii_alpha(c)) return false;
  bool prev_punct = pos >= 3 && punct_seq_at(v, pos - 3);
  if (text::word_byte(prev) && !prev_punct && !(pos >= 2 && punct_seq_at(v, pos - 2))) return false;
  if (text::word_byte(next) && !punct_seq_at(v, pos + 1)) return false;
  if (punct_seq_at(v, pos + 1) && s.at(pos + 3) == '\x99' && text::ascii_alpha(s.at(pos + 4))) return false;  // A’s
  if (next == '.' && text::ascii_alpha(s.at(pos + 2))) return false;                  // e.g. / i.e.
  if (prev == '.' && pos >= 2 && text::ascii_alpha(v[pos - 2])) return false;         // the e of i.e.
  if ((next == '-' || next == '/') && text::word_byte(s.at(pos + 2))) return false;  // C-reactive, A/B
  if (next == '\'' && text::ascii_alpha(s.at(pos + 2))) return false;                // A's
  // Followed on the same line by a word: an option letter is followed by punctuation, a connector, a
  // capitalised option text or its own option's text; the article and the pronoun are followed by prose.
  std::size_t i = pos + 1;
  while (s.at(i) == ' ' || s.at(i) == '\t') ++i;
  if (i == pos + 1) return true;
  char w0 = s.at(i);
  if (text::ascii_digit(w0)) return false;
  if (!(w0 >= 'a' && w0 <= 'z')) return true;
  std::size_t e = i;
  while (text::word_byte(s.at(e))) ++e;
  std::string_view word(v.data() + i, e - i);
  if (answer_connector(word)) return true;
  if (const std::string* own = s.options().text_of(text::ascii_upper(c))) {
    auto forms = option_forms(*own);
    std::string rest = normalize(std::string_view(v).substr(i, 160)).norm;
    for (auto& f : forms)
      if (rest.compare(0, f.size(), f) == 0 && (rest.size() == f.size() || rest[f.size()] == ' ')) return true;
  }
  return false;
}

}  // namespace curebench::eval::extract
