#pragma once
// The Extractor concept (output text + options -> Extraction) and RuleExtractor, which turns a composed
// Rule into an Extractor: the first letter its rules yield wins; otherwise an honest null with a reason.
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/rule.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::extract {

template <class E>
concept Extractor = requires(const E e, std::string_view output, const Options& options) {
  { e.extract(output, options) } -> std::same_as<Extraction>;
  { E::name } -> std::convertible_to<std::string_view>;
};

template <Rule R>
struct RuleExtractor {
  static constexpr std::string_view name = "rules";

  Extraction extract(std::string_view output, const Options& options) const {
    Scan scan(output, options);
    std::vector<Candidate> found;
    if (!options.empty()) R{}.collect(scan, found);
    for (auto& c : found)
      if (c.answers()) return {std::string(1, c.letter), std::string(c.rule), c.span, ""};
    Extraction none;
    none.rule = "none";
    if (options.empty()) none.reason = "the question has no options to choose from";
    else if (!found.empty()) {
      none.rule = std::string(found.back().rule);
      none.span = found.back().span;
      none.reason = found.back().reason;
    } else if (scan.unclosed_think() && scan.visible_blank()) {
      none.reason = "output ends inside an unclosed <think> block: the model stopped before answering";
    } else if (scan.visible_blank()) {
      none.reason = scan.had_think() ? "nothing outside the <think> block" : "empty output";
    } else {
      none.reason = "no answer statement, leading letter or option text names one of " + options.letters();
    }
    return none;
  }
};

}  // namespace curebench::eval::extract
