#pragma once
// `curebench extract --jsonl F [--policy curebench|seed|kit] [--json]`: read the answer letter out of model
// outputs. Each line of F is {"question": <CURE-Bench record with options>, "output": "<model text>"}.
// Every line is validated before anything is printed, so a malformed file yields one error, no partial output.
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/extract.hpp"

namespace cli {

struct ExtractItem {
  std::size_t line;
  std::string id;
  curebench::eval::extract::Options options;
  std::string output;
};

inline std::vector<ExtractItem> read_extract_jsonl(const std::string& path) {
  namespace ex = curebench::eval::extract;
  using curebench::Errc;
  std::string text = curebench::read_text_file(path);
  std::vector<ExtractItem> items;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines carry nothing
    std::string where = path + ":" + std::to_string(line_no);
    auto j = curebench::parse_json_text(line, where);
    curebench::require(j.is_object(), Errc::dataset, where, "", "expected a JSON object, found " + std::string(j.type_name()));
    auto q = j.find("question");
    curebench::require(q != j.end() && q->is_object(), Errc::dataset, where, "question",
                       "expected a CURE-Bench record object");
    auto o = q->find("options");
    curebench::require(o != q->end(), Errc::dataset, where, "question.options", "missing (extraction needs the options)");
    auto out = j.find("output");
    curebench::require(out != j.end() && out->is_string(), Errc::dataset, where, "output",
                       "expected a string, found " + std::string(out == j.end() ? "nothing" : out->type_name()));
    std::string id = q->contains("id") && (*q)["id"].is_string() ? (*q)["id"].get<std::string>() : "";
    items.push_back({line_no, id, ex::Options::from_json(*o, where), out->get<std::string>()});
  }
  return items;
}

template <curebench::eval::extract::Extractor E>
void run_extract(const std::vector<ExtractItem>& items, bool json) {
  E extractor;
  for (auto& it : items) {
    auto e = extractor.extract(it.output, it.options);
    if (json) {
      nlohmann::json j = e;
      if (!it.id.empty()) j["id"] = it.id;
      j["line"] = it.line;
      std::cout << curebench::dump_json(j) << "\n";
    } else {
      std::cout << it.line << "\t" << (it.id.empty() ? "-" : it.id) << "\t" << (e.answer ? *e.answer : "null")
                << "\t" << e.rule;
      if (e.span) std::cout << "\t[" << e.span->first << "," << e.span->second << ")";
      if (!e.answer) std::cout << "\t" << e.reason;
      std::cout << "\n";
    }
  }
  std::cout.flush();
}

inline void add_extract(CLI::App& app, Context& ctx) {
  static std::string path, policy = "curebench";
  auto* sub = app.add_subcommand("extract", "Read the answer letter from model outputs (one JSON line per input line)");
  sub->add_option("--jsonl", path, "JSONL file: {\"question\": {... \"options\": {...}}, \"output\": \"...\"} per line")
      ->required();
  sub->add_option("--policy", policy, "curebench (default), seed (the seed notebook's regexes) or kit (the official kit)")
      ->check(CLI::IsMember({"curebench", "seed", "kit"}));
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    namespace ex = curebench::eval::extract;
    auto items = read_extract_jsonl(path);
    if (policy == "seed") run_extract<ex::SeedRegex>(items, ctx.json);
    else if (policy == "kit") run_extract<ex::KitRule>(items, ctx.json);
    else run_extract<ex::CurebenchDefault>(items, ctx.json);
  });
}

}  // namespace cli
