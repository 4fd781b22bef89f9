#pragma once
// A rule reads a Scan and appends Candidates (letters with spans, or refusals with reasons). Rules compose
// by type: FirstOf tries rules in priority order, LastOf lets the statement made last in the text win.
#include "curebench/eval/extract/extraction.hpp"
#include "curebench/eval/extract/scan.hpp"

#include <concepts>
#include <vector>

namespace curebench::eval::extract {

template <class R>
concept Rule = requires(const R r, const Scan& s, std::vector<Candidate>& out) {
  { r.collect(s, out) } -> std::same_as<void>;
};

namespace detail {
inline bool any_answer(const std::vector<Candidate>& c) {
  for (auto& x : c)
    if (x.answers()) return true;
  return false;
}
}  // namespace detail

// The first rule that yields a letter decides, with all its candidates in its own order. Refusals from
// the rules tried before it are dropped; when no rule yields a letter, every refusal is kept (reasons).
template <Rule... Rs>
struct FirstOf {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    std::vector<Candidate> refusals;
    bool done = false;
    auto try_one = [&](const auto& rule) {
      if (done) return;
      std::vector<Candidate> mine;
      rule.collect(s, mine);
      if (detail::any_answer(mine)) {
        out.insert(out.end(), mine.begin(), mine.end());
        done = true;
      } else {
        refusals.insert(refusals.end(), mine.begin(), mine.end());
      }
    };
    (try_one(Rs{}), ...);
    if (!done) out.insert(out.end(), refusals.begin(), refusals.end());
  }
};

// Position-aware: of every letter all rules find, the one starting last in the text wins ("…could be A…
// Final answer: C" is C). Ties go to the earlier-listed rule. No letter: the last refusal is kept.
template <Rule... Rs>
struct LastOf {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    std::vector<Candidate> all;
    (Rs{}.collect(s, all), ...);
    const Candidate* best = nullptr;
    const Candidate* last_refusal = nullptr;
    for (auto& c : all) {
      if (c.answers()) {
        if (!best || c.span.first > best->span.first) best = &c;
      } else if (!last_refusal || c.span.first >= last_refusal->span.first) {
        last_refusal = &c;
      }
    }
    if (best) out.push_back(*best);
    else if (last_refusal) out.push_back(*last_refusal);
  }
};

}  // namespace curebench::eval::extract
