#pragma once
// The lm-evaluation-harness protocol (`--protocol lm-eval`, loglikelihood mode only): lm-eval's multiple-choice
// requests for pubmedqa, medqa_4options, medmcqa, the six MMLU medical subjects and headqa_en, rebuilt from its task
// configs (EleutherAI/lm-evaluation-harness, lm_eval/tasks/...; commits in docs/evaluation.md "lm-eval protocol"):
//   context      = description + few-shot examples + doc_to_text(doc)      (no chat template, no special tokens)
//   continuation = target_delimiter (" ") + each choice of doc_to_choice(doc)
//   acc          = argmax of the summed log-probabilities; acc_norm = argmax of log-probability / len(choice)
//                  (Python len of the choice text, code points, without the delimiter: lm-eval's completion_len)
// Few-shot examples (`num_fewshot` k > 0) come from a pool file, drawn as lm-eval's samplers draw: `first_n` (MMLU)
// takes the pool's first k; `default` draws random.Random(1234).sample(pool, k) - ONE generator per task, advanced
// doc after doc in dataset order - drawing k + 1 and dropping the doc itself when the pool is the evaluated split.
// Each example is doc_to_text + " " + gold choice + "\n\n". python_random.hpp is CPython's generator.
#include "curebench/core/error.hpp"
#include "curebench/eval/extract/python_strip.hpp"
#include "curebench/eval/prompt.hpp"
#include "curebench/eval/python_random.hpp"
#include "curebench/eval/question.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::lm_eval {

inline constexpr std::string_view kMmluSubjects[] = {"anatomy", "clinical_knowledge", "college_biology",
                                                     "college_medicine", "medical_genetics", "professional_medicine"};

// lm-eval's task names this protocol reproduces.
inline std::vector<std::string> task_names() {
  std::vector<std::string> out{"pubmedqa", "medqa_4options", "medmcqa", "headqa_en"};
  for (auto s : kMmluSubjects) out.push_back("mmlu_" + std::string(s));
  return out;
}

inline bool known_task(std::string_view t) {
  for (const auto& n : task_names())
    if (n == t) return true;
  return false;
}

// The task of a record: `forced` (the run config's lm_eval_task) when set, else the record's lm_eval.task, else its
// id as datasets/convert.py writes ids (pubmedqa-, medqa4-, medmcqa-, headqa-, mmlu-<subject>-).
inline std::string task_of(const Question& q, const std::string& forced = {}) {
  if (!forced.empty()) return forced;
  if (q.lm_eval && !q.lm_eval->task.empty()) return q.lm_eval->task;
  auto starts = [&](std::string_view p) { return q.id.rfind(p, 0) == 0; };
  if (starts("pubmedqa-")) return "pubmedqa";
  if (starts("medqa4-")) return "medqa_4options";
  if (starts("medmcqa-")) return "medmcqa";
  if (starts("headqa-")) return "headqa_en";
  for (auto s : kMmluSubjects)
    if (starts("mmlu-" + std::string(s) + "-")) return "mmlu_" + std::string(s);
  throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": id",
              "cannot tell the lm-eval task of id '" + q.id + "': give the record an lm_eval.task (datasets/convert.py "
              "--lm-eval writes it) or the run config's lm_eval_task (" + [] {
                std::string s;
                for (const auto& n : task_names()) s += (s.empty() ? "" : ", ") + n;
                return s;
              }() + ")");
}

inline bool is_mmlu(std::string_view task) { return task.rfind("mmlu_", 0) == 0; }

// The config's `description` (MMLU: "The following are multiple choice questions (with answers) about anatomy.\n\n").
inline std::string description(const std::string& task) {
  if (!is_mmlu(task)) return "";
  std::string subject = task.substr(5);
  for (auto& c : subject)
    if (c == '_') c = ' ';
  return "The following are multiple choice questions (with answers) about " + subject + ".\n\n";
}

inline const std::vector<std::pair<char, std::string>>& options_of(const Question& q) {
  if (!q.options) throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": options", "lm-eval scores options: none given");
  return *q.options;
}

// doc_to_text of the task's config.
inline std::string doc_to_text(const std::string& task, const Question& q) {
  const auto& opts = options_of(q);
  if (task == "pubmedqa") {
    // preprocess_pubmedqa.doc_to_text: "Abstract: " + "\n".join(CONTEXTS) + "\nQuestion: " + QUESTION + "\nAnswer:"
    if (!q.lm_eval || !q.lm_eval->contexts)
      throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": lm_eval.contexts",
                  "pubmedqa under lm-eval needs the abstract's sections (CONTEXTS) and the bare QUESTION: write the split "
                  "with datasets/convert.py --lm-eval");
    std::string ctx;
    for (const auto& c : *q.lm_eval->contexts) ctx += (ctx.empty() ? "" : "\n") + c;
    return "Abstract: " + ctx + "\nQuestion: " + q.lm_eval->question.value_or(q.question) + "\nAnswer:";
  }
  if (opts.size() != 4 && task != "headqa_en")
    throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": options",
                task + " has 4 options in lm-eval, found " + std::to_string(opts.size()));
  if (task == "medqa_4options") {  // preprocess_medqa.doc_to_text
    std::string s = "Question: " + q.question + "\n";
    for (const auto& [l, t] : opts) s += std::string(1, l) + ". " + t + "\n";
    return s + "Answer:";
  }
  if (task == "medmcqa") {  // utils_medmcqa.doc_to_text
    std::string s = "Question: " + q.question + "\nChoices:\n";
    for (const auto& [l, t] : opts) s += std::string(1, l) + ". " + t + "\n";
    return s + "Answer:";
  }
  if (task == "headqa_en") return "Question: " + q.question + "\nAnswer:";  // "Question: {{qtext}}\nAnswer:"
  if (is_mmlu(task)) {  // "{{question.strip()}}\nA. {{choices[0]}}\n...D. {{choices[3]}}\nAnswer:"
    std::string s(extract::py::stripped(q.question));
    for (const auto& [l, t] : opts) s += "\n" + std::string(1, l) + ". " + t;
    return s + "\nAnswer:";
  }
  throw Error(Errc::config, "", "lm_eval_task", "unknown lm-eval task '" + task + "'");
}

// doc_to_choice: letters where the config lists ["A", "B", "C", "D"] (MedQA, MedMCQA, MMLU), words for PubMedQA,
// the answer texts for HEAD-QA (answers|map(attribute='atext')).
inline std::vector<std::string> doc_to_choice(const std::string& task, const Question& q) {
  const auto& opts = options_of(q);
  std::vector<std::string> out;
  if (task == "pubmedqa") return {"yes", "no", "maybe"};
  for (const auto& [l, t] : opts) out.push_back(task == "headqa_en" ? t : std::string(1, l));
  return out;
}

// The letters the choices stand for in our records (PubMedQA: options A yes / B no / C maybe, checked).
inline std::vector<char> choice_letters(const std::string& task, const Question& q) {
  const auto& opts = options_of(q);
  if (task == "pubmedqa") {
    static const char* words[] = {"yes", "no", "maybe"};
    if (opts.size() != 3)
      throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": options", "pubmedqa expects A yes / B no / C maybe");
    for (std::size_t i = 0; i < 3; ++i)
      if (opts[i].second != words[i])
        throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": options." + std::string(1, opts[i].first),
                    std::string("pubmedqa expects '") + words[i] + "', found '" + opts[i].second + "'");
  }
  std::vector<char> out;
  for (const auto& [l, t] : opts) out.push_back(l);
  return out;
}

// One few-shot example: doc_to_text + target_delimiter + the gold choice + fewshot_delimiter.
inline std::string example(const std::string& task, const Question& q) {
  if (!q.correct_answer)
    throw Error(Errc::dataset, "", "line " + std::to_string(q.line) + ": correct_answer", "a few-shot example needs its gold answer");
  const auto letters = choice_letters(task, q);
  const auto choices = doc_to_choice(task, q);
  std::size_t gold = 0;
  while (gold < letters.size() && letters[gold] != *q.correct_answer) ++gold;
  return doc_to_text(task, q) + " " + choices.at(gold) + "\n\n";
}

// The few-shot prefixes of a split's questions (dataset order), keyed by position: description + examples.
// `pool`: the few-shot pool; `same_split`: it is the evaluated split (draw k + 1, drop the doc itself).
inline std::vector<std::string> fewshot_prefixes(const std::vector<Question>& questions, const std::vector<Question>& pool,
                                                 std::size_t k, bool same_split, const std::string& forced_task,
                                                 const std::string& pool_path) {
  std::vector<std::string> out;
  std::map<std::string, PythonRandom> rng;                   // one generator per task, as lm-eval seeds one per task
  std::map<std::string, std::vector<const Question*>> pools;  // the pool's records of each task, in file order
  for (const auto& p : pool) pools[task_of(p, forced_task)].push_back(&p);
  for (const auto& q : questions) {
    const auto task = task_of(q, forced_task);
    std::string prefix = description(task);
    if (k > 0) {
      const auto& docs = pools[task];
      const std::size_t n = same_split ? k + 1 : k;
      if (docs.size() < n)
        throw Error(Errc::config, pool_path, "num_fewshot",
                    std::to_string(k) + "-shot " + task + " needs " + std::to_string(n) + " pool records of that task, the pool has " +
                        std::to_string(docs.size()));
      std::vector<const Question*> drawn;
      if (is_mmlu(task)) {
        drawn.assign(docs.begin(), docs.begin() + static_cast<std::ptrdiff_t>(n));  // first_n sampler
      } else {
        auto it = rng.try_emplace(task, 1234).first;
        for (auto i : it->second.sample(docs.size(), n)) drawn.push_back(docs[i]);
      }
      std::size_t used = 0;
      for (const auto* d : drawn) {
        if (d->id == q.id || used == k) continue;  // `[x for x in fewshotex if x != doc][:num_fewshot]`
        prefix += example(task, *d);
        ++used;
      }
    }
    out.push_back(std::move(prefix));
  }
  return out;
}

// One lm-eval request set: the context and, per choice, the continuation and its acc_norm length.
struct Request {
  std::string task, context;
  std::vector<std::string> continuations;  // " " + choice
  std::vector<std::size_t> lengths;        // len(choice) in code points
  std::vector<char> letters;
};

inline std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline Request request(const Question& q, const std::string& prefix, const std::string& forced_task = {}) {
  Request r;
  r.task = task_of(q, forced_task);
  r.context = prefix + doc_to_text(r.task, q);
  r.letters = choice_letters(r.task, q);
  for (const auto& c : doc_to_choice(r.task, q)) {
    r.continuations.push_back(" " + c);
    r.lengths.push_back(code_points(c));
  }
  return r;
}

// np.argmax: the first index of the largest value.
inline std::size_t argmax(const std::vector<double>& v) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

// acc's and acc_norm's picks from the choices' summed log-probabilities.
struct Picks {
  std::size_t acc = 0, acc_norm = 0;
};
inline Picks pick(const std::vector<double>& logprobs, const std::vector<std::size_t>& lengths) {
  std::vector<double> norm(logprobs.size());
  for (std::size_t i = 0; i < logprobs.size(); ++i) norm[i] = logprobs[i] / static_cast<double>(lengths.at(i));
  return {argmax(logprobs), argmax(norm)};
}

// lm-eval's stderr of a mean of 0/1 scores: the sample standard deviation over sqrt(n) = sqrt(p(1-p)/(n-1)).
inline std::optional<double> mean_stderr(std::size_t k, std::size_t n) {
  if (n < 2) return std::nullopt;
  const double p = static_cast<double>(k) / static_cast<double>(n);
  return std::sqrt(p * (1 - p) / static_cast<double>(n - 1));
}

// lm-eval's HF model encodes requests without special tokens, except for the Gemma family ("gemma" in the config's
// model_type), where it turns add_bos_token on ("Gemma underperforms without it"; lm_eval/models/huggingface.py).
inline bool adds_bos(std::string_view model_type) { return model_type.find("gemma") != std::string_view::npos; }

}  // namespace curebench::eval::lm_eval

namespace curebench::eval {

// The protocol type: loglikelihood only (run_config.hpp refuses mode generate under lm-eval). Its conversation is one
// message holding the raw context; the pipeline renders it without a chat template and encodes it without special
// tokens, BOS for Gemma (raw_context, lm_eval::adds_bos), and asks prepare() for the few-shot prefixes before it runs.
struct LmEvalProtocol {
  static constexpr std::string_view name = "lm-eval";
  static constexpr bool raw_context = true;
  std::string forced_task;
  std::map<const Question*, std::string> prefixes;  // the questions of this run -> description + few-shot examples

  int steps(const Question&) const { return 1; }
  Conversation first(const Question& q) const { return {{"user", request(q).context}}; }
  Conversation mapping(const Question& q, std::string_view) const { return first(q); }

  lm_eval::Request request(const Question& q) const {
    auto it = prefixes.find(&q);
    return lm_eval::request(q, it != prefixes.end() ? it->second : lm_eval::description(lm_eval::task_of(q, forced_task)),
                            forced_task);
  }
  LoglikelihoodPrompt loglikelihood(const Question& q) const {
    auto r = request(q);
    return {{{"user", std::move(r.context)}}, std::move(r.continuations), std::move(r.letters), std::move(r.lengths)};
  }
};
static_assert(PromptProtocol<LmEvalProtocol>);

}  // namespace curebench::eval
