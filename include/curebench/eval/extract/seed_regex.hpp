#pragma once
// The seed notebook's extract_answer_from_reasoning() (MC branch), re-implemented faithfully, bugs
// included, so its numbers can be reproduced and compared. On trace.lower().strip():
//   1. eight patterns in order, each re.search'ed once; the first whose group is an option key wins
//      ("answer: based" -> B, "option analysis" -> A, "e.g." -> E);
//   2. an option whose words occur as substrings of the trace for more than half of them;
//   3. the first of A..E whose lowercase letter occurs anywhere (almost always "a").
// Otherwise the seed returns trace[:100], not a letter: reported here as null.
// Differences from Python: case-insensitive matching instead of lower() (identical for A-E), and
// step 2 lowercases ASCII only.
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/extractor.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/extract/regex.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <array>
#include <string>
#include <string_view>

namespace curebench::eval::extract {

struct SeedRegex {
  static constexpr std::string_view name = "seed";

  Extraction extract(std::string_view output, const Options& options) const {
    if (options.empty())
      return {std::nullopt, "seed.open_branch", std::nullopt,
              "without options the seed takes its open-ended branch and returns a sentence, not a letter"};
    const std::string safe = text::sanitize_utf8(output);
    auto [b, e] = py::strip(safe);
    std::string_view trace = std::string_view(safe).substr(b, e - b);

    static const std::array<std::pair<std::string_view, Regex>, 8> patterns = {{
        {"seed.answer_colon", Regex(R"(answer:\s*([a-e]))")},
        {"seed.final_answer", Regex(R"(final answer:\s*([a-e]))")},
        {"seed.my_answer_is", Regex(R"(my answer is\s*([a-e]))")},
        {"seed.the_answer_is", Regex(R"(the answer is\s*([a-e]))")},
        {"seed.i_choose", Regex(R"(i choose\s*([a-e]))")},
        {"seed.option", Regex(R"(option\s*([a-e]))")},
        {"seed.start_letter", Regex(R"(\A([a-e])[\.\)\:])")},
        {"seed.letter_punct", Regex(R"(\b([a-e])[\.\)\:])")},
    }};
    for (auto& [rule, re] : patterns) {
      auto m = re.search(trace);
      if (!m) continue;
      char L = text::ascii_upper(trace[m->begin(1)]);
      if (options.has(L)) return {std::string(1, L), std::string(rule), Span{b + m->begin(1), b + m->end(1)}, ""};
    }

    std::string lower(trace);
    for (char& c : lower) c = text::ascii_lower(c);
    for (auto& o : options.items()) {
      std::vector<std::string_view> words;
      std::string low_opt = o.text;
      for (char& c : low_opt) c = text::ascii_lower(c);
      auto [ob, oe] = py::strip(low_opt);
      for (std::size_t i = ob; i < oe;) {  // str.split(): runs of whitespace separate words
        std::size_t j = i;
        while (j < oe && !py::is_space(static_cast<unsigned char>(low_opt[j]))) ++j;
        if (j > i) words.push_back(std::string_view(low_opt).substr(i, j - i));
        while (j < oe && py::is_space(static_cast<unsigned char>(low_opt[j]))) ++j;
        i = j;
      }
      std::size_t hits = 0, first = std::string::npos, first_len = 0;
      for (auto w : words) {
        std::size_t at = lower.find(w);
        if (at == std::string::npos) continue;
        ++hits;
        if (first == std::string::npos) first = at, first_len = w.size();
      }
      if (!words.empty() && 2 * hits > words.size())
        return {std::string(1, o.letter), "seed.option_words", Span{b + first, b + first + first_len}, ""};
    }

    for (char L : std::string_view("ABCDE")) {
      std::size_t at = lower.find(text::ascii_lower(L));
      if (at != std::string::npos && options.has(L)) return {std::string(1, L), "seed.any_letter", Span{b + at, b + at + 1}, ""};
    }
    return {std::nullopt, "seed.trace_prefix", std::nullopt,
            "the seed returns the first 100 characters of the trace here, which is never a letter"};
  }
};
static_assert(Extractor<SeedRegex>);

}  // namespace curebench::eval::extract
