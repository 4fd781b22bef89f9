#pragma once
// `curebench score --task ner|re|multilabel ...`: score predictions a user brings (docs/study.md).
//   --task ner --conll FILE          `token ... gold pred` lines; conlleval's entity counts and P/R/F1
//   --task re --jsonl FILE [--negative LABEL]   {"id","gold","pred"}: micro F1 over the labels but LABEL, macro
//                                    F1 over all of them
//   --task multilabel --jsonl FILE   {"id","gold":[..],"pred":[..]}: micro F1 over (doc, label), label-wise macro
// The whole file is validated before anything is printed: a malformed line is one error naming file, line and
// field, exit 1.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli_common.hpp"
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

inline void print_label_score(const nlohmann::json& j) {
  std::cout << "items: " << j["n"] << "\n";
  std::cout << "micro F1: " << percent(j["micro_f1"].get<double>()) << "%";
  if (j.contains("negative") && !j["negative"].is_null())
    std::cout << " (over labels other than " << shown(j["negative"].get<std::string>()) << ")";
  std::cout << "\nmacro F1: " << percent(j["macro_f1"].get<double>()) << "% (mean over " << j["labels"]
            << " labels)\n";
  for (const auto& [label, c] : j["per_label"].items())
    std::cout << "  " << shown(label) << ": precision: " << percent(c["precision"].get<double>())
              << "%; recall: " << percent(c["recall"].get<double>()) << "%; F1: " << percent(c["f1"].get<double>())
              << "  support " << c["support"] << "\n";
}

inline void add_score(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string task, conll, jsonl;
    std::optional<std::string> negative;
  };
  auto opts = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("score", "Score your own NER / relation / multi-label predictions");
  sub->add_option("--task", opts->task, "ner, re or multilabel")
      ->required()
      ->check(CLI::IsMember({"ner", "re", "multilabel"}));
  sub->add_option("--conll", opts->conll, "ner: lines 'token ... gold pred', blank line between sentences");
  sub->add_option("--jsonl", opts->jsonl, "re: {\"id\",\"gold\",\"pred\"} lines; multilabel: gold/pred are arrays");
  sub->add_option("--negative", opts->negative, "re: the no-relation label, left out of micro F1 (ChemProt: false)");
  add_json_flag(sub, ctx);
  sub->callback([opts, &ctx] {
    namespace tasks = curebench::eval::tasks;
    using curebench::Errc;
    const auto& o = *opts;
    auto refuse = [](const char* field, const std::string& msg) {
      throw curebench::Error(Errc::invalid_argument, "", field, msg);
    };
    if (o.task == "ner") {
      if (o.conll.empty()) refuse("--conll", "--task ner reads a CoNLL file: pass --conll FILE");
      if (!o.jsonl.empty()) refuse("--jsonl", "--task ner reads --conll, not --jsonl");
      if (o.negative) refuse("--negative", "only --task re has a negative label");
      auto s = tasks::score_conll_file(o.conll);
      if (ctx.json) print_json(s.to_json());
      else print_entity_score(s);
      return;
    }
    if (o.jsonl.empty()) refuse("--jsonl", "--task " + o.task + " reads a JSONL file: pass --jsonl FILE");
    if (!o.conll.empty()) refuse("--conll", "--task " + o.task + " reads --jsonl, not --conll");
    if (o.negative && o.task != "re") refuse("--negative", "only --task re has a negative label");
    nlohmann::json j = o.task == "re" ? tasks::score_label_jsonl(o.jsonl, o.negative).to_json()
                                      : tasks::score_multilabel_jsonl(o.jsonl).to_json();
    if (o.negative && !j["negative_seen"].get<bool>())  // labels are file data: quoted as JSON strings
      std::cerr << "curebench: warning: --negative " << curebench::dump_json(*o.negative)
                << " is no gold or predicted label in " << curebench::dump_json(o.jsonl)
                << ", so micro_f1 pools every label (labels are case-sensitive)" << std::endl;
    if (ctx.json) print_json(j);
    else print_label_score(j);
  });
}

}  // namespace cli
