#pragma once
// `curebench task --dataset NAME --data FILE --model DIR --out DIR [--examples FILE --shots K --seed S |
// --chain-of-thought]`: one study task (NER, relation extraction, multi-label classification or QA, issue 21) on one
// model, zero-shot, few-shot or zero-shot chain-of-thought, greedy generation. `--task multilabel --data FILE.jsonl` runs a user's own multi-label set (the project's
// multi-label JSONL, e.g. from `curebench convert --from hoc`), its labels from --labels FILE or the data.
// Writes into --out (atomically, nothing else touched): results.json, predictions.jsonl (RE lines are
// `curebench score --task re` input), and for NER predictions.conll (`curebench score --task ner` input), so the
// score can be recomputed from the files. Not resumable yet: a second run overwrites these three files.
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/eval/pipeline.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/eval/tasks/bootstrap.hpp"
#include "curebench/eval/tasks/label_loglikelihood.hpp"
#include "curebench/eval/tasks/qa_task.hpp"
#include "curebench/eval/tasks/model_generator.hpp"
#include "curebench/eval/tasks/task.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/load_for_quant.hpp"

namespace cli {

// The shipped sets by name: which reader, and what the prompt asks for.
struct TaskDataset {
  const char* name;
  const char* task;  // "ner" | "re" | "multilabel"
  const char* type;  // NER: the IOB2 type and the prompt's noun
  const char* noun;
  const curebench::eval::tasks::RelationLabels& (*labels)();
  const curebench::eval::tasks::RelationPromptTable& (*table)();
  const std::vector<std::string>& (*label_set)() = nullptr;  // multi-label: the labels the prompt lists
};

inline const TaskDataset kTaskDatasets[] = {
    {"ncbi-disease", "ner", "Disease", "disease", nullptr, nullptr},
    {"bc5cdr-disease", "ner", "Disease", "disease", nullptr, nullptr},
    {"bc5cdr-chem", "ner", "Chemical", "chemical", nullptr, nullptr},
    {"chemprot", "re", "", "", curebench::eval::tasks::chemprot_labels, curebench::eval::tasks::chemprot_prompt},
    {"gad", "re", "", "", curebench::eval::tasks::gad_labels, curebench::eval::tasks::gad_prompt},
    {"hoc", "multilabel", "", "abstract", nullptr, nullptr, curebench::eval::tasks::hoc_labels},
    {"litcovid", "multilabel", "", "article", nullptr, nullptr, curebench::eval::tasks::litcovid_labels},
    {"qa", "qa", "", "", nullptr, nullptr},  // CURE-Bench JSONL: its multi_choice questions (qa_task.hpp)
};

struct TaskArgs {
  std::string task, dataset, data, examples, labels, model, tokenizer, out, quant = "none", device = "cpu", dtype;
  std::size_t shots = 0, limit = 0, batch_size = 8;
  std::uint64_t seed = 0, bootstrap_seed = 0;
  std::size_t bootstrap = 1000;
  std::int64_t max_new_tokens = 32;
  bool chain_of_thought = false;  // zero-shot chain-of-thought (prompting.hpp's ChainOfThought); shots must be 0
  std::string mode = "generate";   // RE: generate | loglikelihood (over the label set: label_loglikelihood.hpp)
};

// The labels of a relation set, as label_loglikelihood_chooser scores them.
inline std::vector<std::string> relation_label_strings(const curebench::eval::tasks::RelationLabels& l) {
  return {l.labels.begin(), l.labels.end()};
}

template <class Task>
nlohmann::json run_study_task(const Task& task, std::vector<typename Task::Item> items,
                              std::vector<typename Task::Item> pool, const TaskArgs& a,
                              curebench::eval::tasks::Generator generate, std::string& predictions,
                              std::string& conll) {
  namespace tasks = curebench::eval::tasks;
  if (a.limit && items.size() > a.limit) items.resize(a.limit);
  std::size_t record = 0;  // run_task reports items in order
  auto on_record = [&](const tasks::TaskRecord& r) {
    auto j = r.prediction;
    j["output"] = r.output;
    predictions += curebench::dump_json(j) + "\n";
    if constexpr (std::is_same_v<Task, tasks::NerTask>) {
      const auto& s = items[record];  // token gold pred per line, a blank line after each sentence
      for (std::size_t i = 0; i < s.tokens.size(); ++i) {
        std::string tok = s.tokens[i];
        for (char& c : tok)
          if (tasks::is_space(c)) c = '_';
        conll += tok + "\t" + j["gold"][i].template get<std::string>() + "\t" + j["pred"][i].template get<std::string>() + "\n";
      }
      conll += "\n";
    }
    ++record;
  };
  nlohmann::json prompting;
  typename Task::Score score;
  if (a.chain_of_thought) {
    curebench::require(a.shots == 0, curebench::Errc::invalid_argument, "", "shots",
                       "chain-of-thought is zero-shot here: no solved examples with reasoning exist to show");
    score = tasks::run_task(task, items, tasks::ChainOfThought{}, generate, a.batch_size, on_record);
    prompting = {{"method", "chain-of-thought"}, {"k", 0},
                 {"answer_rule", "the text after the last 'Answer:' of the output (ASCII case-insensitive); none: empty"}};
  } else if (a.shots == 0) {
    score = tasks::run_task(task, items, tasks::ZeroShot{}, generate, a.batch_size, on_record);
    prompting = {{"method", "zero-shot"}, {"k", 0}};
  } else {
    tasks::FewShot<typename Task::Item> method(std::move(pool), items, a.shots, a.seed);
    score = tasks::run_task(task, items, method, generate, a.batch_size, on_record);
    prompting = {{"method", "few-shot"}, {"k", a.shots}, {"seed", a.seed}, {"examples_from", a.examples},
                 {"pool_size", method.pool().size()}};
  }
  auto score_json = score.to_json();
  tasks::add_intervals(score_json, score.f1, {a.bootstrap, a.bootstrap_seed});
  return {{"task", std::string(Task::name)}, {"items", items.size()}, {"prompting", prompting}, {"score", score_json}};
}

// --labels FILE: one label a line (blank lines skipped, surrounding whitespace dropped, none twice).
inline std::vector<std::string> read_label_set(const std::string& path) {
  std::vector<std::string> labels;
  std::set<std::string> seen;
  curebench::eval::for_each_line(
      path,
      [&](std::size_t line_no, std::string_view text) {
        const auto l = curebench::eval::tasks::trim(text);
        if (l.empty()) return;
        curebench::require(seen.insert(std::string(l)).second, curebench::Errc::dataset, path,
                           curebench::eval::line_field(line_no, "label"), "label '" + std::string(l) + "' listed twice");
        labels.emplace_back(l);
      },
      std::size_t{1} << 16);
  curebench::require(!labels.empty(), curebench::Errc::dataset, path, "", "no labels (one label a line)");
  return labels;
}

// A gold label the prompt does not list could never be predicted: refused, naming the document's file.
inline void require_labels_known(const std::vector<std::string>& labels,
                                 const std::vector<curebench::eval::tasks::MultiLabelItem>& docs, const std::string& path,
                                 const std::string& from) {
  const std::set<std::string> known(labels.begin(), labels.end());
  for (const auto& d : docs)
    for (const auto& l : d.labels)
      curebench::require(known.count(l), curebench::Errc::dataset, path, "labels",
                         "document " + d.id + " has the label '" + l + "', which is not in the label set of " + from);
}

inline void add_task(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<TaskArgs>();
  auto* sub = app.add_subcommand("task", "Run a study task (NER, relation extraction, multi-label) on one model, zero- or few-shot");
  std::vector<std::string> names;
  for (const auto& d : kTaskDatasets) names.push_back(d.name);
  sub->add_option("--task", a->task, "ner | re | multilabel | qa (implied by --dataset; multilabel alone: any label set)")
      ->check(CLI::IsMember({"ner", "re", "multilabel", "qa"}));
  sub->add_option("--dataset", a->dataset,
                  "ncbi-disease | bc5cdr-disease | bc5cdr-chem (NER), chemprot | gad (RE), hoc (multi-label), qa "
                  "(CURE-Bench JSONL: its multi_choice questions), litcovid (multi-label, after convert --from litcovid)")
      ->check(CLI::IsMember(names));
  sub->add_option("--data", a->data,
                  "The evaluated split: IOB2 .tsv, ChemProt .tsv, GAD .json as shipped; multi-label JSONL")->required();
  sub->add_option("--labels", a->labels,
                  "multilabel: the label set, one label a line (default: hoc's 10 hallmarks with --dataset hoc, else "
                  "every label of --data and --examples)");
  sub->add_option("--examples", a->examples, "Few-shot pool: the train or dev split of the same set (never the test split)");
  sub->add_option("--shots", a->shots, "Few-shot examples per prompt (0 = zero-shot, the default)");
  sub->add_option("--seed", a->seed, "Few-shot draw seed (hash rank of the pool ids)");
  sub->add_option("--mode", a->mode,
                  "RE: generate (the model writes a label, parsed) or loglikelihood (the label of highest summed "
                  "log-probability, as eval --mode loglikelihood scores options)")
      ->check(CLI::IsMember({"generate", "loglikelihood"}));
  sub->add_flag("--chain-of-thought", a->chain_of_thought,
                "Zero-shot chain-of-thought: ask for reasoning then a final 'Answer:' line; the text after the last "
                "'Answer:' is parsed (give it room: --max-new-tokens 256)");
  sub->add_option("--limit", a->limit, "Run the first N items only (0 = all)");
  sub->add_option("--model", a->model, "Checkpoint folder")->required();
  sub->add_option("--tokenizer", a->tokenizer, "Tokenizer file or folder (default: the model's)");
  sub->add_option("--quant", a->quant, "none (default) | auto | prequantized | nf4 | nf4-dq | fp4 | int8 | fp8 | int4-g32 | int4-g64 | int4-g128");
  sub->add_option("--device", a->device, "cpu | cuda");
  sub->add_option("--dtype", a->dtype, "f32 | bf16 | f16");
  sub->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to generate at most per item (default 32)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch-size", a->batch_size, "Items per generate call (default 8)")->check(CLI::PositiveNumber);
  sub->add_option("--bootstrap", a->bootstrap,
                  "Bootstrap resamples for the 95 % intervals of every F1 (default 1000, at least 1000; 0: none)");
  sub->add_option("--bootstrap-seed", a->bootstrap_seed, "Bootstrap seed (default 0; --seed is the few-shot draw's)");
  sub->add_option("--out", a->out, "Folder for results.json, predictions.jsonl (+ predictions.conll for NER)")->required();
  add_json_flag(sub, ctx);
  sub->callback([a, &ctx] {
    namespace cb = curebench;
    namespace tasks = cb::eval::tasks;
    const TaskDataset* ds = nullptr;
    for (const auto& d : kTaskDatasets)
      if (a->dataset == d.name) ds = &d;
    if (!ds && a->task != "multilabel")
      throw cb::Error(cb::Errc::invalid_argument, "", "--dataset",
                      "name the data set (--dataset), or run your own multi-label set with --task multilabel");
    if (ds && !a->task.empty() && a->task != ds->task)
      throw cb::Error(cb::Errc::invalid_argument, "", "--task",
                      "--dataset " + a->dataset + " is a " + ds->task + " set, not " + a->task);
    const std::string task = ds ? ds->task : a->task;
    if (!a->labels.empty() && task != "multilabel")
      throw cb::Error(cb::Errc::invalid_argument, "", "--labels", "only --task multilabel takes a label set");
    if (a->shots > 0 && a->examples.empty())
      throw cb::Error(cb::Errc::invalid_argument, "", "--examples", "--shots > 0 needs --examples FILE (the train or dev split)");
    if (a->bootstrap > 0 && a->bootstrap < 1000)
      throw cb::Error(cb::Errc::invalid_argument, "", "--bootstrap",
                      "use at least 1000 resamples (or 0 for no intervals), found " + std::to_string(a->bootstrap));
    if (a->mode == "loglikelihood" && task != "re")
      throw cb::Error(cb::Errc::invalid_argument, "", "--mode",
                      "loglikelihood over the label set is for relation extraction (--dataset chemprot or gad)");
    if (a->mode == "loglikelihood" && a->chain_of_thought)
      throw cb::Error(cb::Errc::invalid_argument, "", "--chain-of-thought",
                      "--mode loglikelihood generates no reasoning: chain-of-thought needs --mode generate");
    if (a->chain_of_thought && a->shots > 0)
      throw cb::Error(cb::Errc::invalid_argument, "", "--chain-of-thought",
                      "chain-of-thought is zero-shot (no solved examples with reasoning exist to show): drop --shots");
    if (a->shots == 0 && !a->examples.empty())
      throw cb::Error(cb::Errc::invalid_argument, "", "--shots", "--examples given without --shots K");
    const bool ner = task == "ner", multilabel = task == "multilabel", qa = task == "qa";
    // Read the data before loading the model: a bad file fails fast.
    std::vector<tasks::NerSentence> sentences, sentence_pool;
    std::vector<tasks::RelationItem> pairs, pair_pool;
    std::vector<tasks::MultiLabelItem> docs, doc_pool;
    std::vector<cb::eval::Question> questions, question_pool;
    std::map<std::string, std::size_t> left_out;
    tasks::MultiLabelTask ml_task;
    auto read_re = [&](const std::string& path) {
      return a->dataset == "gad" ? tasks::read_gad_jsonl(path) : tasks::read_chemprot_tsv(path);
    };
    if (qa) {
      auto items = tasks::qa_items(a->data);
      questions = std::move(items.questions), left_out = std::move(items.left_out);
      if (!a->examples.empty()) question_pool = tasks::qa_items(a->examples).questions;
    } else if (ner) {
      sentences = tasks::read_iob2_tokens(a->data);
      if (!a->examples.empty()) sentence_pool = tasks::read_iob2_tokens(a->examples);
    } else if (multilabel) {
      docs = tasks::read_multilabel_jsonl(a->data);
      if (!a->examples.empty()) doc_pool = tasks::read_multilabel_jsonl(a->examples);
      if (ds) ml_task.noun = ds->noun;
      if (!a->labels.empty()) ml_task.labels = read_label_set(a->labels);
      else if (ds) ml_task.labels = ds->label_set();
      else ml_task.labels = tasks::label_union({&docs, &doc_pool});
      require_labels_known(ml_task.labels, docs, a->data, a->labels.empty() ? "--dataset" : a->labels);
      require_labels_known(ml_task.labels, doc_pool, a->examples, a->labels.empty() ? "--dataset" : a->labels);
      if (ml_task.labels.empty())
        throw cb::Error(cb::Errc::invalid_argument, a->data, "labels",
                        "no document has a label: pass the label set with --labels FILE");
    } else {
      pairs = read_re(a->data);
      if (!a->examples.empty()) pair_pool = read_re(a->examples);
    }
    auto info = cb::loader::inspect_checkpoint(a->model);
    cb::loader::LoadRequest req;
    req.device = cb::model::parse_device_name(a->device);
    if (!a->dtype.empty()) req.dtype = cb::model::parse_dtype_name(a->dtype, "--dtype");
    req.workload = {.batch = static_cast<std::int64_t>(a->batch_size), .context = 1024};
    auto loaded = cb::loader::load_for_quant(info, req, a->quant, "--quant");
    auto tok = cb::tokenizer::load_tokenizer(a->tokenizer.empty() ? a->model : a->tokenizer);
    tasks::GeneratorStats stats;
    tasks::LabelChoiceStats choice;
    auto generate = a->mode == "loglikelihood"
                        ? tasks::label_loglikelihood_chooser(loaded.model.decoder, tok, a->model,
                                                             relation_label_strings(ds->labels()), choice,
                                                             static_cast<std::int64_t>(a->batch_size))
                        : tasks::model_generator(loaded.model.decoder, tok, a->model, a->max_new_tokens, stats);
    std::string predictions, conll;
    cb::Timer timer;
    nlohmann::json r =
        qa ? run_study_task(tasks::QaTask{}, std::move(questions), std::move(question_pool), *a, generate, predictions, conll)
        : ner ? run_study_task(tasks::NerTask{ds->type, ds->noun}, std::move(sentences), std::move(sentence_pool), *a,
                             generate, predictions, conll)
        : multilabel
            ? run_study_task(ml_task, std::move(docs), std::move(doc_pool), *a, generate, predictions, conll)
            : run_study_task(tasks::RelationTask{&ds->labels(), &ds->table()}, std::move(pairs), std::move(pair_pool),
                             *a, generate, predictions, conll);
    if (multilabel) r["labels"] = ml_task.labels;
    if (qa) r["left_out"] = left_out;  // questions of the file the QA task does not score, by type
    double load_seconds = 0;
    for (const auto& at : loaded.attempts) load_seconds += at.seconds;
    r["dataset"] = a->dataset.empty() ? nlohmann::json(nullptr) : nlohmann::json(a->dataset);
    r["data"] = {{"path", a->data}, {"sha256", cb::eval::sha256_hex(cb::read_text_file(a->data))}};
    r["model"] = {{"path", a->model}, {"quant", a->quant}, {"strategy", loaded.strategy},
                  {"dtype", cb::model::dtype_short_name(loaded.model.decoder.dtype())}, {"load_seconds", load_seconds},
                  {"weight_bytes", loaded.model.decoder.weights().bytes()}};
    r["generation"] = stats.to_json();
    r["generation"]["max_new_tokens"] = a->max_new_tokens;
    r["mode"] = a->mode;
    if (a->mode == "loglikelihood") r["loglikelihood"] = choice.to_json();
    r["seconds"] = timer.millis() / 1e3;
    std::filesystem::create_directories(a->out);
    const std::filesystem::path out(a->out);
    cb::atomic_write(out / "predictions.jsonl", predictions);
    if (ner) cb::atomic_write(out / "predictions.conll", conll);
    cb::atomic_write(out / "results.json", cb::dump_json(r, 2) + "\n");
    if (ctx.json) return print_json(r);
    const auto& s = r["score"];
    auto ci = [&](const char* figure) -> std::string {  // " [lo, hi]" when the run has that interval
      if (!s.contains("ci") || !s["ci"].contains(figure)) return "";
      return " [" + s["ci"][figure]["lo"].dump() + ", " + s["ci"][figure]["hi"].dump() + "]";
    };
    std::cout << (a->dataset.empty() ? task : a->dataset) << " (" << r["items"] << " items, " << r["prompting"]["method"].get<std::string>() << "): ";
    if (ner)
      std::cout << "entity F1 " << s["f1"] << ci("f1") << " (P " << s["precision"] << ", R " << s["recall"] << "), "
                << s["unmatched_mentions"] << " of " << s["mentions"] << " mentions not in the sentence\n";
    else if (qa)
      std::cout << "accuracy " << s["accuracy"] << ci("accuracy") << ", " << s["parse_failures"]
                << " answers without a letter\n";
    else if (multilabel)
      std::cout << "micro F1 " << s["micro_f1"] << ci("micro_f1") << ", macro F1 " << s["macro_f1"] << ci("macro_f1")
                << " (" << s["labels"] << " labels), exact match " << s["exact_match"] << ", "
                << s["answers_without_a_label"] << " answers without a label\n";
    else
      std::cout << "micro F1 " << s["micro_f1"] << ci("micro_f1") << " (without " << s["negative"] << "), macro F1 "
                << s["macro_f1"] << ci("macro_f1") << ", "
                << s["parse_failures"] << " answers without a label\n";
    std::cout << "wrote " << (out / "results.json").string() << "\n";
  });
}

}  // namespace cli
