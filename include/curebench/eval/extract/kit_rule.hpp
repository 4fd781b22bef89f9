#pragma once
// The official CURE-Bench starter kit's _extract_multiple_choice_answer() (mims-harvard/CUREBench,
// eval_framework.py), re-implemented faithfully. On response.strip().upper():
//   1. the first character, if it is A-E ("A 45-year-old…" -> A);
//   2. the first match of (?:ANSWER IS|ANSWER:|IS)\s*([ABCDE]) ("this drug" -> D), then ([ABCDE])\),
//      then \b([ABCDE])\b;
//   3. otherwise "" (null here).
// The kit does not check the letter against the question's options, so neither does this: a letter
// outside them is returned (and scores as wrong), exactly as the kit would submit it.
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/extractor.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/extract/regex.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <array>
#include <string>
#include <string_view>

namespace curebench::eval::extract {

struct KitRule {
  static constexpr std::string_view name = "kit";

  Extraction extract(std::string_view output, const Options&) const {
    const std::string safe = text::sanitize_utf8(output);
    auto [b, e] = py::strip(safe);
    std::string_view resp = std::string_view(safe).substr(b, e - b);
    if (resp.empty()) return {std::nullopt, "kit.empty", std::nullopt, "empty response"};
    char first = text::ascii_upper(resp[0]);
    if (first >= 'A' && first <= 'E') return {std::string(1, first), "kit.first_char", Span{b, b + 1}, ""};

    // Case-insensitive matching on the original equals matching the upper-cased text for A-E.
    static const std::array<std::pair<std::string_view, Regex>, 3> patterns = {{
        {"kit.answer_is", Regex(R"((?:answer is|answer:|is)\s*([ABCDE]))")},
        {"kit.letter_paren", Regex(R"(([ABCDE])\))")},
        {"kit.word_letter", Regex(R"(\b([ABCDE])\b)")},
    }};
    for (auto& [rule, re] : patterns)
      if (auto m = re.search(resp))
        return {std::string(1, text::ascii_upper(resp[m->begin(1)])), std::string(rule),
                Span{b + m->begin(1), b + m->end(1)}, ""};
    return {std::nullopt, "kit.none", std::nullopt, "no pattern matched; the kit returns an empty choice"};
  }
};
static_assert(Extractor<KitRule>);

}  // namespace curebench::eval::extract
