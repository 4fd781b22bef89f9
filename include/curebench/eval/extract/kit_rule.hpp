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

#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::extract {

struct KitRule {
  static constexpr std::string_view name = "kit";

  Extraction extract(std::string_view output, const Options&) const {
    const std::string safe = text::sanitize_utf8(output);  // '?' for invalid bytes, as U+FFFD: not \w
    auto [b, e] = py::strip(safe);
    if (b == e) return {std::nullopt, "kit.empty", std::nullopt, "empty response"};
    struct Unit { char shape; Span src; };  // one run of response.strip().upper(), and the bytes it came from
    std::vector<Unit> up;
    for (std::size_t i = b; i < e;) {
      std::size_t n = text::utf8_len(safe, i);
      for (char s : py::upper_shape(py::decode(safe, i, n))) up.push_back({s, Span{i, i + n}});
      i += n;
    }
    auto letter = [&](std::size_t k) { return k < up.size() && up[k].shape >= 'A' && up[k].shape <= 'E'; };
    auto word = [&](std::size_t k) { return k < up.size() && up[k].shape != ' ' && up[k].shape != ')'; };
    auto found = [&](std::size_t k, const char* rule) { return Extraction{std::string(1, up[k].shape), rule, up[k].src, ""}; };

    if (letter(0)) return found(0, "kit.first_char");
    for (std::size_t k = 0; k < up.size(); ++k)
      if (letter(k) && k + 1 < up.size() && up[k + 1].shape == ')') return found(k, "kit.letter_paren");
    for (std::size_t k = 0; k < up.size(); ++k)
      if (letter(k) && (k == 0 || !word(k - 1)) && !word(k + 1)) return found(k, "kit.word_letter");
    return {std::nullopt, "kit.none", std::nullopt, "no pattern matched; the kit returns an empty choice"};
  }
};
static_assert(Extractor<KitRule>);

}  // namespace curebench::eval::extract
