#pragma once
// curebench's extractor. Order: (1) the last explicit statement in the text wins, whatever its form
// (answer statement, \boxed{}, "I choose", "Therefore, C", "C is correct", a letter alone on a line, or
// an option's text in any of those places); (2) a letter the output opens with; (3) a short output that
// names one option's text. Nothing else: no guessing from letters scattered through the text.
#include "curebench/eval/extract/extractor.hpp"
#include "curebench/eval/extract/rule.hpp"
#include "curebench/eval/extract/statement_rules.hpp"

namespace curebench::eval::extract {

using CurebenchRules = FirstOf<LastOf<rules::AnswerStatement, rules::ChoiceVerb, rules::ConclusionLetter,
                                      rules::LetterIsCorrect, rules::TextIsCorrect, rules::LetterLine>,
                               rules::LeadingLetter, rules::OptionTextOnly>;

struct CurebenchDefault : RuleExtractor<CurebenchRules> {
  static constexpr std::string_view name = "curebench";
};
static_assert(Extractor<CurebenchDefault>);

}  // namespace curebench::eval::extract
