#pragma once
// `curebench verify val=FILE test=FILE ...`: read and validate CURE-Bench JSONL splits, then check them
// against each other (counts, duplicate ids, overlap of every pair, labels, question types).
// Exit 0 = passed, 2 = verification failed (duplicates or leakage), 1 = a file could not be read.
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/verify.hpp"

namespace cli {

inline constexpr int kExitVerificationFailed = 2;

inline void add_verify(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("verify", "Validate dataset splits and check them against each other");
  struct Opts {
    std::vector<std::string> splits;
    std::size_t limit = 0;
    std::optional<std::uint64_t> seed;
  };
  auto opts = std::make_shared<Opts>();
  sub->add_option("splits", opts->splits, "NAME=PATH.jsonl, one per split (e.g. val=datasets/default/val.jsonl)")
      ->required();
  sub->add_option("--limit", opts->limit, "Keep at most N records per split (0 = all)");
  sub->add_option("--seed", opts->seed, "Hash-rank subsample seed (without it, --limit keeps the first N)");
  add_json_flag(sub, ctx);
  sub->callback([opts, &ctx] {
    std::vector<curebench::eval::Dataset> data;
    for (const auto& arg : opts->splits) {
      auto eq = arg.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
        throw curebench::Error(curebench::Errc::invalid_argument, "", "splits",
                               "expected NAME=PATH, found \"" + arg + "\"");
      data.push_back(curebench::eval::load_split(arg.substr(0, eq), arg.substr(eq + 1),
                                                 {.limit = opts->limit, .seed = opts->seed}));
    }
    std::vector<const curebench::eval::Dataset*> ptrs;
    nlohmann::json datasets = nlohmann::json::array();
    for (const auto& d : data) {
      ptrs.push_back(&d);
      datasets.push_back(curebench::eval::provenance_json(d));
    }
    auto v = curebench::eval::verify_splits(ptrs);
    if (ctx.json) {
      print_json({{"datasets", datasets}, {"verification", v}});
    } else {
      for (const auto& d : data)
        std::cout << d.split << ": " << d.path << ", " << d.records << " records (" << d.questions.size()
                  << " used), sha256 " << d.sha256 << "\n";
      for (const auto& s : v.splits) {
        std::cout << "  " << s.split << ": " << s.count << " questions, " << s.unique_ids << " unique ids, "
                  << s.labelled << " labelled;";
        for (const auto& [type, n] : s.question_types) std::cout << " " << type << " " << n;
        std::cout << "\n";
      }
      for (const auto& o : v.overlap)
        std::cout << "  overlap " << o.a << "/" << o.b << ": " << o.count << " ids, " << o.same_question_text
                  << " question texts\n";
      for (const auto& w : v.warnings) std::cout << "warning: " << w << "\n";
      std::cout << (v.passed ? "PASS" : "FAIL") << "\n";
    }
    std::cout.flush();
    if (!v.passed) {
      // One line on stderr in both modes, as for every other non-zero exit (the reasons are the first warnings).
      std::cerr << "error[verification]: splits failed the checks (duplicate ids inside a split or ids shared by two)";
      if (!v.warnings.empty()) std::cerr << ": " << v.warnings.front();
      std::cerr << std::endl;
      std::exit(kExitVerificationFailed);
    }
  });
}

}  // namespace cli
