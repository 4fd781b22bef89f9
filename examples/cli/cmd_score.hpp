#pragma once
// `curebench score --task ner|re|multilabel ...`: score predictions a user brings (docs/study.md).
//   --task ner --conll FILE          `token ... gold pred` lines; conlleval's entity counts and P/R/F1
//   --task re --jsonl FILE [--negative LABEL]   {"id","gold","pred"}: micro F1 over the labels but LABEL, macro
//                                    F1 over all of them
//   --task multilabel --jsonl FILE   {"id","gold":[..],"pred":[..]}: micro F1 over (doc, label), label-wise macro
//   --bootstrap N --seed S           95 % intervals: percentile bootstrap over items for every F1, Wilson for
//                                    accuracy / exact match (N = 1000, S = 0 by default; N = 0: none)
//   --baseline FILE                  paired bootstrap of this file's figures minus FILE's (same items: ids for
//                                    re/multilabel, the sentence order for ner)
// The whole file is validated before anything is printed: a malformed line is one error naming file, line and
// field, exit 1.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "curebench/eval/tasks/bootstrap.hpp"
#include "curebench/eval/tasks/score_files.hpp"

namespace cli {

inline std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.2f", 100.0 * v);
  return buf;
}

// Type and label names come from the user's file: shown as JSON strings when they hold a control byte, so an ESC
// in a label cannot drive the terminal.
inline std::string shown(const std::string& name) {
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F) return curebench::dump_json(name);
  return name;
}

// conlleval's own summary lines, so a user can diff the two outputs.
inline void print_entity_score(const curebench::eval::tasks::EntityF1& s) {
  std::cout << "processed " << s.tokens << " tokens with " << s.all.gold << " phrases; found: " << s.all.predicted
            << " phrases; correct: " << s.all.correct << ".\n";
  std::cout << "accuracy: " << percent(s.tokens ? double(s.tokens_correct) / double(s.tokens) : 0.0)
            << "%; precision: " << percent(s.all.precision()) << "%; recall: " << percent(s.all.recall())
            << "%; FB1: " << percent(s.all.f1()) << "\n";
  for (const auto& [type, c] : s.per_type)
    std::cout << "  " << shown(type) << ": precision: " << percent(c.precision()) << "%; recall: " << percent(c.recall())
              << "%; FB1: " << percent(c.f1()) << "  " << c.predicted << "\n";
}

// "  95 % CI [lo, hi] (method)" for a figure that has one, in percent.
inline std::string ci_text(const nlohmann::json& j, const char* figure) {
  if (!j.contains("ci") || !j["ci"].contains(figure)) return "";
  const auto& c = j["ci"][figure];
  return "  95 % CI [" + percent(c["lo"].get<double>()) + "%, " + percent(c["hi"].get<double>()) + "%] (" +
         c["method"].get<std::string>() + ")";
}

inline void print_paired(const nlohmann::json& p) {
  std::cout << "paired with baseline " << shown(p["baseline"].get<std::string>()) << " ("
            << p["bootstrap"]["resamples"] << " resamples, seed " << p["bootstrap"]["seed"] << "), this - baseline:\n";
  for (const auto& [figure, d] : p["delta"].items())
    std::cout << "  " << figure << ": " << percent(d["value"].get<double>()) << " points, 95 % CI ["
              << percent(d["lo"].get<double>()) << ", " << percent(d["hi"].get<double>()) << "]\n";
}

inline void print_label_score(const nlohmann::json& j) {
  std::cout << "items: " << j["n"] << "\n";
  std::cout << "micro F1: " << percent(j["micro_f1"].get<double>()) << "%";
  if (j.contains("negative") && !j["negative"].is_null())
    std::cout << " (over labels other than " << shown(j["negative"].get<std::string>()) << ")";
  std::cout << ci_text(j, "micro_f1") << "\nmacro F1: " << percent(j["macro_f1"].get<double>()) << "% (mean over "
            << j["labels"] << " labels)" << ci_text(j, "macro_f1") << "\n";
  for (const char* p : {"accuracy", "exact_match"})
    if (j.contains(p)) std::cout << p << ": " << percent(j[p].get<double>()) << "%" << ci_text(j, p) << "\n";
  for (const auto& [label, c] : j["per_label"].items())
    std::cout << "  " << shown(label) << ": precision: " << percent(c["precision"].get<double>())
              << "%; recall: " << percent(c["recall"].get<double>()) << "%; F1: " << percent(c["f1"].get<double>())
              << "  support " << c["support"] << "\n";
}

inline void add_score(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string task, conll, jsonl;
    std::optional<std::string> negative, baseline;
    std::size_t bootstrap = 1000;
    std::uint64_t seed = 0;
  };
  auto opts = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("score", "Score your own NER / relation / multi-label predictions");
  sub->add_option("--task", opts->task, "ner, re or multilabel")
      ->required()
      ->check(CLI::IsMember({"ner", "re", "multilabel"}));
  sub->add_option("--conll", opts->conll, "ner: lines 'token ... gold pred', blank line between sentences");
  sub->add_option("--jsonl", opts->jsonl, "re: {\"id\",\"gold\",\"pred\"} lines; multilabel: gold/pred are arrays");
  sub->add_option("--negative", opts->negative, "re: the no-relation label, left out of micro F1 (ChemProt: false)");
  sub->add_option("--bootstrap", opts->bootstrap,
                  "Bootstrap resamples for the 95 % intervals of every F1 (default 1000, at least 1000; 0: no intervals)");
  sub->add_option("--seed", opts->seed, "Bootstrap seed (default 0): the same seed and file give the same intervals");
  sub->add_option("--baseline", opts->baseline,
                  "A second predictions file on the same items (e.g. the full-precision run): paired bootstrap of "
                  "this file minus it");
  add_json_flag(sub, ctx);
  sub->callback([opts, &ctx] {
    namespace tasks = curebench::eval::tasks;
    using curebench::Errc;
    const auto& o = *opts;
    auto refuse = [](const char* field, const std::string& msg) {
      throw curebench::Error(Errc::invalid_argument, "", field, msg);
    };
    if (o.bootstrap > 0 && o.bootstrap < 1000)
      refuse("--bootstrap", "use at least 1000 resamples (or 0 for no intervals), found " + std::to_string(o.bootstrap));
    if (o.baseline && o.bootstrap == 0) refuse("--baseline", "a paired comparison needs --bootstrap N (N >= 1000)");
    const tasks::BootstrapOptions boot{o.bootstrap, o.seed};
    auto paired = [&](const auto& base, const auto& run) {
      auto p = tasks::paired_intervals(base, run, boot);
      p["baseline"] = *o.baseline;
      p["baseline_score"] = base.to_json();
      p["baseline_score"].erase("per_label");
      p["baseline_score"].erase("per_type");
      return p;
    };
    if (o.task == "ner") {
      if (o.conll.empty()) refuse("--conll", "--task ner reads a CoNLL file: pass --conll FILE");
      if (!o.jsonl.empty()) refuse("--jsonl", "--task ner reads --conll, not --jsonl");
      if (o.negative) refuse("--negative", "only --task re has a negative label");
      auto s = tasks::score_conll_file(o.conll);
      auto j = s.to_json();
      tasks::add_intervals(j, s, boot);
      if (o.baseline) {
        auto base = tasks::score_conll_file(*o.baseline);
        if (base.per_sentence.size() != s.per_sentence.size())
          throw curebench::Error(Errc::dataset, *o.baseline, "sentences",
                                 "has " + std::to_string(base.per_sentence.size()) + " sentences, " + o.conll + " has " +
                                     std::to_string(s.per_sentence.size()) + ": a paired comparison needs the same sentences in the same order");
        for (std::size_t i = 0; i < s.per_sentence.size(); ++i)
          if (base.per_sentence[i].gold != s.per_sentence[i].gold)
            throw curebench::Error(Errc::dataset, *o.baseline, "sentence " + std::to_string(i + 1),
                                   "has " + std::to_string(base.per_sentence[i].gold) + " gold entities, " + o.conll +
                                       " has " + std::to_string(s.per_sentence[i].gold) + ": not the same sentences");
        j["paired"] = paired(base, s);
      }
      if (ctx.json) return print_json(j);
      print_entity_score(s);
      if (j.contains("ci") && j["ci"].contains("f1"))
        std::cout << "FB1" << ci_text(j, "f1") << ", " << o.bootstrap << " resamples of sentences, seed " << o.seed << "\n";
      if (j.contains("paired")) print_paired(j["paired"]);
      return;
    }
    if (o.jsonl.empty()) refuse("--jsonl", "--task " + o.task + " reads a JSONL file: pass --jsonl FILE");
    if (!o.conll.empty()) refuse("--conll", "--task " + o.task + " reads --jsonl, not --conll");
    if (o.negative && o.task != "re") refuse("--negative", "only --task re has a negative label");
    nlohmann::json j;
    auto score = [&](auto&& read) {
      tasks::ItemKeys keys;
      auto s = read(o.jsonl, &keys);
      j = s.to_json();
      tasks::add_intervals(j, s, boot);
      if (!o.baseline) return;
      tasks::ItemKeys base_keys;
      auto base = read(*o.baseline, &base_keys);
      j["paired"] = paired(tasks::align_by_id(s, keys, o.jsonl, base, base_keys, *o.baseline), s);
    };
    if (o.task == "re")
      score([&](const std::string& path, tasks::ItemKeys* keys) { return tasks::score_label_jsonl(path, o.negative, keys); });
    else
      score([](const std::string& path, tasks::ItemKeys* keys) { return tasks::score_multilabel_jsonl(path, keys); });
    if (o.negative && !j["negative_seen"].get<bool>())  // labels are file data: quoted as JSON strings
      std::cerr << "curebench: warning: --negative " << curebench::dump_json(*o.negative)
                << " is no gold or predicted label in " << curebench::dump_json(o.jsonl)
                << ", so micro_f1 pools every label (labels are case-sensitive)" << std::endl;
    if (ctx.json) return print_json(j);
    print_label_score(j);
    if (j.contains("bootstrap"))
      std::cout << "intervals: " << o.bootstrap << " bootstrap resamples of " << j["bootstrap"]["unit"].get<std::string>()
                << "s, seed " << o.seed << "\n";
    if (j.contains("paired")) print_paired(j["paired"]);
  });
}

}  // namespace cli
