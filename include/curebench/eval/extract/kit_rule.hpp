#pragma once
// The official CURE-Bench starter kit's _extract_multiple_choice_answer() (mims-harvard/CUREBench,
// eval_framework.py, checked at commit b9493a49c7196d6f256bfbc13056368230fa722c), exactly. The kit
// upper-cases the stripped response and then tries, without re.IGNORECASE:
//   0. the first character, if it is A-E ("A 45-year-old…" -> A, "Answer: B" -> A);
//   1. (?:answer is|answer:|is)\s*([ABCDE]) - written in lower case, over an upper-cased text: it never
//      matches (no str.upper() output holds an ASCII lower-case letter; the table generator checks it);
//   2. ([ABCDE])\)   - the first letter followed by ')' ("b) looks right" -> B);
//   3. \b([ABCDE])\b - the first standalone letter, with Python's Unicode \w ("stage c" -> C);
//   otherwise "" (null here).
// So this scans the upper-cased text's shape (python_word.hpp) instead of running the regexes: the same
// leftmost matches, with the same Unicode rules. The kit does not check the letter against the question's
// options, so neither does this. tests/data/eval/kit_expected.jsonl holds the kit's own answers.
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/extractor.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/extract/python_word.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace curebench::eval::extract {

struct KitRule {
  static constexpr std::string_view name = "kit";

  Extraction extract(std::string_view output, const Options&) const {
    const std::string safe = text::sanitize_utf8(output);  // '?' for invalid bytes, as U+FFFD: not \w
    auto [b, e] = py::strip(safe);
    if (b == e) return {std::nullopt, "kit.empty", std::nullopt, "empty response"};

    // One pass over the runs of response.strip().upper() (each with the bytes it came from). Rule 2 wins
    // wherever it matches, so the scan stops there; rule 3's first match is kept until the end.
    struct Unit { char shape; Span src; };
    auto letter = [](char s) { return s >= 'A' && s <= 'E'; };
    auto word = [](char s) { return s != ' ' && s != ')'; };
    auto found = [](const Unit& u, const char* rule) { return Extraction{std::string(1, u.shape), rule, u.src, ""}; };
    std::optional<Unit> prev, pending, standalone;  // pending: a letter with a boundary before it
    for (std::size_t i = b; i < e;) {
      const std::size_t n = text::utf8_len(safe, i);
      const Span src{i, i + n};
      for (char s : n == 1 ? ascii_shape(safe[i]) : py::upper_shape(py::decode(safe, i, n))) {
        if (!prev && letter(s)) return found({s, src}, "kit.first_char");
        if (prev && letter(prev->shape) && s == ')') return found(*prev, "kit.letter_paren");
        if (pending && !standalone && !word(s)) standalone = pending;
        pending.reset();
        if (letter(s) && (!prev || !word(prev->shape))) pending = Unit{s, src};
        prev = Unit{s, src};
      }
      i += n;
    }
    if (pending && !standalone) standalone = pending;  // the end of the text is a boundary too
    if (standalone) return found(*standalone, "kit.word_letter");
    return {std::nullopt, "kit.none", std::nullopt, "no pattern matched; the kit returns an empty choice"};
  }

 private:
  // py::upper_shape for one ASCII character, without the table look-up.
  static std::string_view ascii_shape(char c) {
    static constexpr std::string_view letters = "ABCDE";
    const char u = text::ascii_upper(c);
    if (u >= 'A' && u <= 'E') return letters.substr(static_cast<std::size_t>(u - 'A'), 1);
    if (c == ')') return ")";
    return text::ascii_alpha(c) || text::ascii_digit(c) || c == '_' ? "w" : " ";
  }
};
static_assert(Extractor<KitRule>);

}  // namespace curebench::eval::extract
