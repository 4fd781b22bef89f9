#pragma once
// NER as a generation task: the model lists the entities of one sentence; the parser maps each listed mention
// back to EVERY occurrence in the sentence, then to IOB2 tags; scored with entity-level F1 (entity_f1.hpp).
// Parser rules (docs/study.md "NER answers"):
//  - the answer is answer_lines() of the output (up to a blank line or a new "Sentence:"/"Task:" line);
//  - one mention per line, a line also split at ';' (not at ',': chemical names hold commas, "2,4-D");
//  - leading list markers ("-", "*", "•", "1.", "1)") and surrounding quotes are dropped, then trailing '.'/',';
//    a mention equal to "none" or "n/a" (any case) lists nothing;
//  - a mention matches tokens [i, j) when, with every whitespace removed and ASCII letters lower-cased, it equals
//    the concatenation of those tokens: "Ataxia-telangiectasia" finds "ataxia - telangiectasia"; a match always
//    starts and ends on token boundaries ("cancer" does not match inside "cancers");
//  - where matches overlap, the longer one is kept (ties: the earlier); a mention found nowhere is counted as
//    unmatched (reported, not guessed at).
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/tasks/answer_text.hpp"
#include "curebench/eval/tasks/bionlp_data.hpp"
#include "curebench/eval/tasks/entity_f1.hpp"
#include "curebench/eval/tasks/iob2.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

struct NerPrediction {
  std::vector<Span> spans;
  std::vector<std::string> mentions, unmatched;
};

inline std::string squash(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_space(c)) out += ascii_lower(c);
  return out;
}

inline std::vector<std::string> split_mentions(std::string_view output) {
  std::vector<std::string> out;
  for (auto line : answer_lines(output)) {
    for (std::size_t pos = 0; pos <= line.size();) {
      std::size_t semi = line.find(';', pos);
      if (semi == std::string_view::npos) semi = line.size();
      auto m = trim(line.substr(pos, semi - pos));
      pos = semi + 1;
      if (m.substr(0, 3) == "\xE2\x80\xA2") m = trim(m.substr(3));  // •
      else if (!m.empty() && (m[0] == '-' || m[0] == '*') && m.size() > 1 && is_space(m[1])) m = trim(m.substr(1));
      std::size_t digits = 0;
      while (digits < m.size() && m[digits] >= '0' && m[digits] <= '9') ++digits;
      if (digits && digits < m.size() && (m[digits] == '.' || m[digits] == ')')) m = trim(m.substr(digits + 1));
      while (m.size() >= 2 && (m.front() == '"' || m.front() == '\'' || m.front() == '`') && m.back() == m.front())
        m = trim(m.substr(1, m.size() - 2));
      while (!m.empty() && (m.back() == '.' || m.back() == ',')) m = trim(m.substr(0, m.size() - 1));
      const auto key = squash(m);
      if (key.empty() || key == "none" || key == "n/a") continue;
      out.emplace_back(m);
    }
  }
  return out;
}

inline NerPrediction parse_entity_answer(std::string_view output, const std::vector<std::string>& tokens,
                                         const std::string& type) {
  NerPrediction p;
  p.mentions = split_mentions(output);
  std::vector<std::string> lowered;
  for (const auto& t : tokens) lowered.push_back(squash(t));
  std::vector<Span> found;
  for (const auto& m : p.mentions) {
    const auto key = squash(m);
    bool any = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::size_t at = 0;
      for (std::size_t j = i; j < tokens.size(); ++j) {
        const auto& t = lowered[j];
        if (t.empty() || key.compare(at, t.size(), t) != 0) break;
        at += t.size();
        if (at == key.size()) {
          found.push_back({i, j + 1, type});
          any = true;
          break;
        }
      }
    }
    if (!any) p.unmatched.push_back(m);
  }
  std::sort(found.begin(), found.end(), [](const Span& a, const Span& b) {
    return a.end - a.begin != b.end - b.begin ? a.end - a.begin > b.end - b.begin : a.begin < b.begin;
  });
  std::vector<bool> taken(tokens.size(), false);
  for (const auto& s : found) {
    if (std::any_of(taken.begin() + std::ptrdiff_t(s.begin), taken.begin() + std::ptrdiff_t(s.end), [](bool b) { return b; }))
      continue;
    std::fill(taken.begin() + std::ptrdiff_t(s.begin), taken.begin() + std::ptrdiff_t(s.end), true);
    p.spans.push_back(s);
  }
  std::sort(p.spans.begin(), p.spans.end());
  return p;
}

// Entity F1 plus how often the model named something that is not in the sentence.
struct NerScore {
  EntityF1 f1;
  std::size_t mentions = 0, unmatched = 0;
  void add(const NerSentence& s, const NerPrediction& p) {
    f1.add_tags(tags_from_spans(s.tokens.size(), s.gold), tags_from_spans(s.tokens.size(), p.spans));
    mentions += p.mentions.size();
    unmatched += p.unmatched.size();
  }
  nlohmann::json to_json() const {
    auto j = f1.to_json();
    j["mentions"] = mentions;
    j["unmatched_mentions"] = unmatched;
    return j;
  }
};

// One entity type per dataset (NCBI-disease: Disease; BC5CDR-chem: Chemical), named in the prompt.
struct NerTask {
  static constexpr std::string_view name = "ner";
  using Item = NerSentence;
  using Prediction = NerPrediction;
  using Score = NerScore;
  std::string type = "Disease";  // the IOB2 type the predictions carry
  std::string noun = "disease";  // what the prompt asks for

  std::string question(const NerSentence& s) const {
    return "Task: list every " + noun + " mentioned in the sentence, one per line, copied exactly as written. "
           "If there is none, answer None.\nSentence: " + item_text(s) + "\nEntities:";
  }
  std::string answer(const NerSentence& s) const {
    std::vector<std::string> seen;
    std::string out;
    for (const auto& sp : s.gold) {
      std::string m;
      for (std::size_t i = sp.begin; i < sp.end; ++i) m += (i == sp.begin ? "" : " ") + s.tokens[i];
      if (std::find(seen.begin(), seen.end(), squash(m)) != seen.end()) continue;
      seen.push_back(squash(m));
      out += (out.empty() ? "" : "\n") + m;
    }
    return out.empty() ? "None" : out;
  }
  Conversation prompt(const NerSentence& s, const std::vector<const NerSentence*>& examples) const {
    Conversation c;
    for (const auto* e : examples) {
      c.push_back({"user", question(*e)});
      c.push_back({"assistant", answer(*e)});
    }
    c.push_back({"user", question(s)});
    return c;
  }
  NerPrediction parse(const NerSentence& s, std::string_view output) const { return parse_entity_answer(output, s.tokens, type); }
  Score score() const { return {}; }
  nlohmann::json prediction_json(const NerSentence& s, const NerPrediction& p) const {
    return {{"id", s.line}, {"gold", tags_from_spans(s.tokens.size(), s.gold)},
            {"pred", tags_from_spans(s.tokens.size(), p.spans)}, {"mentions", p.mentions}, {"unmatched", p.unmatched}};
  }
};

}  // namespace curebench::eval::tasks
