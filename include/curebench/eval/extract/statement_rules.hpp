#pragma once
// curebench's own rules, each a small type. Every rule reads Scan::visible() (think blocks blanked),
// accepts a letter only through letter_is_standalone() and only if it is one of the question's options,
// and reports the span of the letter (or option text) it used.
#include "curebench/eval/extract/letter_guard.hpp"
#include "curebench/eval/extract/option_text.hpp"
#include "curebench/eval/extract/regex.hpp"
#include "curebench/eval/extract/rule.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::extract::rules {

namespace pat {
// "answer", "final answer", "the correct option", "most appropriate treatment", … + a connector (is, :,
// =, would be, a line break). A noun alone ("option A is…", "answer based on…") is not a statement.
inline constexpr std::string_view kQual =
    R"((?:final|correct|right|best|chosen|preferred|recommended|optimal|appropriate|safest|first[-\s]line|single\s+best|most\s+(?:appropriate|likely|suitable|effective|correct|reasonable)))";
inline constexpr std::string_view kNoun =
    R"((?:option|choice|selection|decision|conclusion|answer|response|treatment|therapy|drug|medication|agent|management|intervention|regimen|next\s+step|step|action|approach|course\s+of\s+action|recommendation))";
inline std::string prefix() {
  return R"((?<![\p{L}\p{N}])(?:(?:(?:final|correct|right|best|my|the|chosen|overall|single\s+best)\s+)*answers?|)" +
         std::string(kQual) + R"(\s+)" + std::string(kNoun) +
         R"()(?:\s+(?:to|for)\s+(?:this|the)\s+question)?(?:\s+here)?)";
}
inline constexpr std::string_view kConnector =
    R"((?:[\s*_]*\b(?:is|would\s+be|will\s+be|should\s+be|must\s+be|remains|seems\s+to\s+be|appears\s+to\s+be)\b[\s*_]*[:=\-–—]?|[\s*_]*[:=\-–—]|[ \t*_#]*\r?\n))";
// Markdown, quotes, LaTeX wrappers and "option"/"choice"/"letter" between the statement and the letter.
inline constexpr std::string_view kDecor =
    R"([\s*_"'“”‘’`>\[\(\{$]*(?:\\(?:boxed|text|textbf|mathrm|mathbf)\s*\{[\s*_"'\(\[]*)*(?:(?:option|choice|letter)\b\s*[:#]?[\s*_"'\(\[]*)?)";
}  // namespace pat

// Text after a statement, up to the end of its sentence or line (at most 200 bytes).
inline std::size_t sentence_end(const std::string& v, std::size_t from) {
  std::size_t limit = std::min(v.size(), from + 200);
  for (std::size_t i = from; i < limit; ++i) {
    char c = v[i];
    if (c == '\n' || c == ';' || c == '}') return i;
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == v.size() || v[i + 1] == ' ' || v[i + 1] == '\n')) return i;
  }
  return limit;
}

// A letter at `pos`: an answer if standalone and an option; a refusal if standalone but not an option.
inline void letter_candidate(const Scan& s, std::size_t pos, std::string_view rule, std::vector<Candidate>& out) {
  if (!letter_is_standalone(s, pos)) return;
  char L = text::ascii_upper(s.at(pos));
  if (s.options().has(L)) out.push_back({L, {pos, pos + 1}, rule, ""});
  else out.push_back({0, {pos, pos + 1}, rule,
                      std::string("names ") + L + ", which is not one of the options " + s.options().letters()});
}

// The tail of a statement names an option's text: "The answer is metformin", "\boxed{\text{None of the above}}".
inline void text_candidate(const Scan& s, std::size_t from, std::string_view rule, std::vector<Candidate>& out) {
  const std::string& v = s.visible();
  std::size_t end = sentence_end(v, from);
  Normalized n = normalize(std::string_view(v).substr(from, end - from), from);
  // Leading function words ("to discontinue…", "the option …") are not part of an option's text.
  static const std::vector<std::string> fillers = {"the ", "a ", "an ", "to ", "option ", "choice ", "use of ", "with "};
  std::size_t skip = 0;
  for (bool again = true; again;) {
    again = false;
    for (auto& f : fillers)
      if (n.norm.compare(skip, f.size(), f) == 0) {
        skip += f.size();
        again = true;
      }
  }
  std::vector<TextHit> hits;
  for (auto& h : find_option_texts(n.norm, s.options()))
    if (h.nbegin == skip) hits.push_back(h);
  if (auto c = longest_unique(hits, n, rule)) out.push_back(*c);
}

// "The answer is C", "**Final Answer:** (C)", "Answer: c", "\boxed{\text{C}}", "The most appropriate
// treatment is option C"; when no letter follows, the option text that does ("Answer: Metformin").
struct AnswerStatement {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re("(?:" + pat::prefix() + std::string(pat::kConnector) + R"(|(\\boxed\s*\{))" + ")" +
                          std::string(pat::kDecor));
    for (auto& m : re.find_all(s.visible())) {
      bool boxed = m.has(1);
      std::size_t pos = m.end();
      std::vector<Candidate> mine;
      letter_candidate(s, pos, boxed ? "boxed" : "answer_statement", mine);
      if (mine.empty()) text_candidate(s, pos, boxed ? "boxed_text" : "answer_statement_text", mine);
      out.insert(out.end(), mine.begin(), mine.end());
    }
  }
};

// "I would choose C", "I'd go with (B)", "We select option D"; or the option's text after the verb.
struct ChoiceVerb {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(
        R"((?<![\p{L}\p{N}])(?:i|we)(?:\s+(?:would|will|must|should|can|shall)|['’](?:d|ll))?(?:\s+(?:definitely|therefore|thus|now|then|confidently))?\s+(?:choose|chose|select|selected|pick|picked|go\s+with|went\s+with|opt\s+for)\b)" +
        std::string(pat::kDecor));
    for (auto& m : re.find_all(s.visible())) {
      std::vector<Candidate> mine;
      letter_candidate(s, m.end(), "choice_verb", mine);
      if (mine.empty()) text_candidate(s, m.end(), "choice_verb_text", mine);
      out.insert(out.end(), mine.begin(), mine.end());
    }
  }
};

// "Therefore, C.", "Thus (B)", "In conclusion, option D".
struct ConclusionLetter {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(
        R"((?<![\p{L}\p{N}])(?:therefore|thus|hence|so|in\s+conclusion|in\s+summary|to\s+conclude)\s*[,:]?\s*)" +
        std::string(pat::kDecor));
    for (auto& m : re.find_all(s.visible())) letter_candidate(s, m.end(), "conclusion_letter", out);
  }
};

// "I believe B is correct", "so C is the answer": words after which a bare letter starts a claim.
inline bool opinion_word_before(const std::string& v, std::size_t end) {
  std::size_t b = end;
  while (b > 0 && text::ascii_alpha(v[b - 1])) --b;
  std::string w;
  for (std::size_t i = b; i < end; ++i) w += text::ascii_lower(v[i]);
  for (auto x : {"believe", "think", "say", "feel", "conclude", "so", "thus", "hence", "therefore", "that"})
    if (w == x) return true;
  return false;
}

// "C is the correct answer", "Option B is the best choice", "(D) is most appropriate", list form
// "- B: Correct". Qualified uses ("A is correct for children…") do not count; a bare letter must not
// follow a word ("vitamin C is the best…").
struct LetterIsCorrect {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(
        R"((?<![\p{L}\p{N}])((?:option|choice|answer)\s*)?[\(\[*]*([A-Za-z])[\)\]*]*\s*(?:is|would\s+be|seems\s+to\s+be|appears\s+to\s+be|remains)\s+(?:the\s+|my\s+)?(?:(?:correct|right|best|most\s+appropriate|most\s+likely|optimal|preferred|single\s+best)(?:\s+(?:answer|choice|option|one|treatment|therapy|drug))?+|(?:final\s+)?answer)\b(?![\s*,]*(?:for|if|when|in|only|but|except|although)\b))");
    static const Regex list_re(
        R"((?m)^[ \t*_\-•>#]*(?:(?:option|choice)\s+)?[\(\[*]*([A-Za-z])[\)\]*]*\s*[:.\-–—]\s*(?:\*\*)?\s*(?:correct|right|true)\b(?![\s*,]*(?:for|if|when|in|only|but|except|although)\b))");
    const std::string& v = s.visible();
    for (auto& m : re.find_all(v)) {
      std::size_t pos = m.begin(2);
      if (!m.has(1)) {  // bare letter: the previous non-bracket, non-space character must not end a word
        std::size_t k = pos;
        while (k > 0 && (v[k - 1] == '(' || v[k - 1] == '[' || v[k - 1] == '*')) --k;
        while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t')) --k;
        if (k > 0 && text::word_byte(v[k - 1]) && !opinion_word_before(v, k)) continue;
      }
      letter_candidate(s, pos, "letter_is_correct", out);
    }
    for (auto& m : list_re.find_all(v)) letter_candidate(s, m.begin(1), "letter_is_correct", out);
  }
};

// "Metformin is the best choice", "None of the above is the correct answer": the option text that ends
// right before the phrase, within the same sentence.
struct TextIsCorrect {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(
        R"(\s+(?:is|would\s+be|remains)\s+(?:the\s+|my\s+)?(?:(?:correct|right|best|most\s+appropriate|optimal|preferred|recommended|single\s+best)\s+(?:answer|choice|option|treatment|therapy|drug|medication|agent|management|one|course)|(?:final\s+)?answer)\b(?![\s*,]*(?:for|if|when|in|only|but|except|although)\b))");
    const std::string& v = s.visible();
    for (auto& m : re.find_all(v)) {
      std::size_t end = m.begin(), b = end;
      while (b > 0 && end - b < 200 && v[b - 1] != '\n' && !(v[b - 1] == '.' && b < v.size() && v[b] == ' ') &&
             v[b - 1] != ';' && v[b - 1] != ':')
        --b;
      Normalized n = normalize(std::string_view(v).substr(b, end - b), b);
      std::vector<TextHit> hits;
      for (auto& h : find_option_texts(n.norm, s.options()))
        if (h.nend == n.norm.size()) hits.push_back(h);
      if (auto c = longest_unique(hits, n, "text_is_correct")) out.push_back(*c);
    }
  }
};

// A line that holds nothing but a letter: "C", "**C**", "(C)", "C.", "Option C".
struct LetterLine {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(
        R"((?m)^[ \t*_#>"'\[(]*(?:(?:option|choice|answer)\s*:?\s*)?[\[(]?([A-Za-z])[\])]?[.):]?[ \t*_"'\])]*\r?$)");
    for (auto& m : re.find_all(s.visible())) letter_candidate(s, m.begin(1), "letter_line", out);
  }
};

// The output opens with a letter: "C", "C. Metformin…", "(B) because…", "**D**". Not "A 45-year-old…".
struct LeadingLetter {
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    static const Regex re(R"(\A[\s*_#>"'\[(]*(?:(?:option|choice|answer)\s*:?\s*)?[\[(]?([A-Za-z]))");
    auto m = re.search(s.visible());
    if (!m) return;
    // "A is correct for children…" opens with a claim about A, not with the answer: after an opening
    // letter only a reason ("B because…") or punctuation may follow.
    std::string_view w = word_after(s, m->begin(1));
    if (!w.empty() && (w[0] >= 'a' && w[0] <= 'z') && w != "because" && w != "since" && w != "as" && w != "given" &&
        w != "due" && w != "based" && w != "per")
      return;
    letter_candidate(s, m->begin(1), "leading_letter", out);
  }
};

// A short output (at most 40 words) that names exactly one option's text: "Metformin.", "None of the
// above". Long outputs discuss several options, so naming one there is not an answer. Negated or
// contraindicated mentions are refused.
struct OptionTextOnly {
  static constexpr std::size_t kMaxWords = 40;
  void collect(const Scan& s, std::vector<Candidate>& out) const {
    Normalized n = normalize(s.visible());
    if (n.norm.empty() || static_cast<std::size_t>(std::count(n.norm.begin(), n.norm.end(), ' ')) + 1 > kMaxWords)
      return;
    auto hits = find_option_texts(n.norm, s.options());
    auto c = longest_unique(hits, n, "option_text");
    if (!c) return;
    static const Regex negation(R"(\b(?:not|avoid|avoided|contraindicated|never)\b)");
    if (c->answers() && negation.search(s.visible())) {
      c->reason = std::string("option ") + c->letter + "'s text is named in a negated or contraindicated context";
      c->letter = 0;
    }
    out.push_back(*c);
  }
};

}  // namespace curebench::eval::extract::rules
