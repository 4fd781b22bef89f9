// `curebench study` as a user runs it: a 2-precision x 2-task run whose cells score back through `curebench
// score` to the same figures and deltas, a resume that skips finished cells (their files untouched), a refused
// foreign folder, config errors that name the file and field; and the embedded default's study config
// (datasets/default/study.json), chance level as its notice states (also registered as ctest eval.study_default).
#include "cli/run_cli.hpp"
#include "cli/spawn_cli.hpp"

#include <signal.h>

#include <chrono>
#include <thread>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <map>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("curebench_cli_study." + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d.parent_path());
  return d;
}

nlohmann::json small_config() {
  const std::string model = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf";
  return {{"models", {{{"name", "tiny"}, {"path", model}, {"dtype", "f32"}}}},
          {"precisions", {"f32", "nf4"}},
          {"tasks",
           {{{"name", "ncbi"}, {"dataset", "ncbi-disease"}, {"data", data("study/ncbi_disease_test_head.tsv")}, {"max_new_tokens", 8}},
            {{"name", "chemprot"}, {"dataset", "chemprot"}, {"data", data("study/chemprot_sample200_head.tsv")},
             {"limit", 4}, {"max_new_tokens", 6}}}},
          {"methods", {{{"name", "zero-shot"}}}}};
}

std::string write_config(const std::string& name, const nlohmann::json& j) { return scratch_file(name, j.dump(2)); }

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p.string())); }

const nlohmann::json& cell_of(const nlohmann::json& results, const std::string& precision, const std::string& task) {
  for (const auto& c : results["cells"])
    if (c["precision"] == precision && c["task"] == task) return c;
  throw std::runtime_error("no cell " + precision + "/" + task);
}

}  // namespace

TEST(CliStudy, RunScoresBackAndResumes) {
  const auto out = scratch_dir("run");
  const auto config = write_config("study_small.json", small_config());
  auto r = run_cli("study --config " + config + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("4 cells run, 0 finished cells skipped"), std::string::npos) << r.out;
  for (const char* f : {"study_config.json", "results.json", "study.md"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto res = read_json(out / "results.json");
  ASSERT_EQ(res["cells"].size(), 4u);
  EXPECT_EQ(res["baseline"], "f32");
  EXPECT_EQ(res["tasks"][1]["items"], 4);  // the limit

  // Each cell's score is what `curebench score` computes from the cell's own prediction file, and the nf4 cell's
  // delta is `score --baseline` of its file against the f32 cell's (the same seed and resamples).
  for (const std::string task : {"ncbi", "chemprot"}) {
    const auto& f32 = cell_of(res, "f32", task);
    const auto& nf4 = cell_of(res, "nf4", task);
    EXPECT_TRUE(f32["delta"].is_null());
    ASSERT_TRUE(nf4["delta"].is_object()) << nf4.dump();
    const bool ner = task == "ncbi";
    const auto dir = [&](const std::string& p) { return out / "cells" / "tiny" / p / task / "zero-shot"; };
    const auto file = [&](const std::string& p) {
      return (dir(p) / (ner ? "predictions.conll" : "predictions.jsonl")).string();
    };
    const std::string how = ner ? "--task ner --conll " : "--task re --negative false --jsonl ";
    auto s = run_cli("score " + how + file("nf4") + " --baseline " + file("f32") + " --json");
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto j = nlohmann::json::parse(s.out);
    for (const char* key : {"f1", "micro_f1", "macro_f1"}) {
      if (!j.contains(key)) continue;
      EXPECT_DOUBLE_EQ(j[key].get<double>(), nf4["score"][key].get<double>()) << task << " " << key;
      EXPECT_EQ(j["ci"][key], nf4["score"]["ci"][key]) << task << " " << key;
      EXPECT_EQ(j["paired"]["delta"][key], nf4["delta"][key]) << task << " " << key;
      EXPECT_DOUBLE_EQ(j["paired"]["baseline_score"][key].get<double>(), f32["score"][key].get<double>()) << task << " " << key;
    }
    EXPECT_GT(nf4["peak_memory_bytes"].get<double>(), 0);
    EXPECT_EQ(nf4["load"]["strategy"], "QuantizeOnLoad<nf4-b64>");  // nf4: no double quant, as quantize --quant nf4
    EXPECT_EQ(f32["load"]["quant"], "none");
  }
  // The table: one row per precision, the baseline row without a delta.
  const auto md = slurp((out / "study.md").string());
  EXPECT_NE(md.find("| tiny | f32 | zero-shot |"), std::string::npos) << md;
  EXPECT_NE(md.find("| tiny | nf4 | zero-shot |"), std::string::npos) << md;
  EXPECT_NE(md.find("ncbi entity F1"), std::string::npos) << md;
  EXPECT_NE(md.find("chemprot macro F1"), std::string::npos) << md;
  EXPECT_NE(md.find("; Δ "), std::string::npos) << md;
  // Figures where gnuplot is installed (memory vs score per task): whole files, listed in results.json.
  if (!res.contains("figures_error")) {
    EXPECT_EQ(res["figures"], nlohmann::json({"figures/ncbi.png", "figures/ncbi.svg", "figures/chemprot.png",
                                              "figures/chemprot.svg"}));
    EXPECT_EQ(slurp((out / "figures" / "ncbi.png").string()).substr(1, 3), "PNG");
    EXPECT_NE(md.find("![figures/chemprot.png](figures/chemprot.png)"), std::string::npos) << md;
  } else {
    std::cout << "no figures: " << res["figures_error"] << std::endl;
  }

  // Resume: nothing to do, no cell file rewritten.
  std::map<std::string, fs::file_time_type> mtimes;
  for (const auto& e : fs::recursive_directory_iterator(out / "cells"))  // figures/ are redrawn on every run
    if (e.is_regular_file()) mtimes[e.path().string()] = fs::last_write_time(e.path());
  ASSERT_EQ(mtimes.size(), 4u * 2 + 2);  // cell.json + predictions.jsonl per cell, + predictions.conll for NER
  r = run_cli("study --config " + config + " --out " + out.string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["cells_run"], 0);
  EXPECT_EQ(summary["cells_skipped"], 4);
  for (const auto& [p, t] : mtimes) EXPECT_EQ(fs::last_write_time(p), t) << p;
  // An unfinished cell (no cell.json: the run stopped inside it) is run again, and only it.
  const auto dropped = out / "cells" / "tiny" / "nf4" / "chemprot" / "zero-shot" / "cell.json";
  fs::remove(dropped);
  r = run_cli("study --config " + config + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ran tiny / nf4 / chemprot / zero-shot"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 cells run, 3 finished cells skipped"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dropped));
  for (const auto& [p, t] : mtimes)
    if (fs::path(p).parent_path() != dropped.parent_path()) EXPECT_EQ(fs::last_write_time(p), t) << p;
  // The same results as the first run (greedy decoding, the same seeds), timings and memory aside.
  const auto again = read_json(out / "results.json");
  for (const std::string task : {"ncbi", "chemprot"}) {
    EXPECT_EQ(cell_of(again, "nf4", task)["score"], cell_of(res, "nf4", task)["score"]) << task;
    EXPECT_EQ(cell_of(again, "nf4", task)["delta"], cell_of(res, "nf4", task)["delta"]) << task;
  }

  // Another config (another limit) in this folder: refused, naming study_config.json, nothing run.
  auto other = small_config();
  other["tasks"][1]["limit"] = 3;
  r = run_cli("study --config " + write_config("study_other.json", other) + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("study_config.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("another config"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("ran "), std::string::npos) << r.out;
  // A folder that holds something else (an eval run, a user's files): refused too.
  const auto foreign = scratch_dir("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "run_config.json") << "{}";
  r = run_cli("study --config " + config + " --out " + foreign.string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("holds no study"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(foreign / "study_config.json"));
  fs::remove_all(out.parent_path());
}

TEST(CliStudy, BadConfigNamesFileAndField) {
  struct Case {
    std::string field, needle;
    std::function<void(nlohmann::json&)> edit;
  };
  const std::vector<Case> cases = {
      {"precisions[1]", "int3", [](nlohmann::json& j) { j["precisions"][1] = "int3"; }},
      {"taks", "unknown field", [](nlohmann::json& j) { j["taks"] = j["tasks"]; }},
      {"tasks[0].dataset", "missing", [](nlohmann::json& j) { j["tasks"][0].erase("dataset"); }},
      {"tasks[1].dataset", "pubmedqa", [](nlohmann::json& j) { j["tasks"][1]["dataset"] = "pubmedqa"; }},
      {"models[0].name", "usable name", [](nlohmann::json& j) { j["models"][0]["name"] = "a/b"; }},
      {"tasks[0].examples", "few-shot", [](nlohmann::json& j) { j["methods"].push_back({{"shots", 2}}); }},
      {"baseline", "not one of", [](nlohmann::json& j) { j["baseline"] = "bf16"; }},
      {"tasks[1].limit", "whole number", [](nlohmann::json& j) { j["tasks"][1]["limit"] = -1; }},
      {"tasks[0].mode", "relation extraction", [](nlohmann::json& j) { j["tasks"][0]["mode"] = "loglikelihood"; }},
      {"tasks[1].mode", "generate or loglikelihood", [](nlohmann::json& j) { j["tasks"][1]["mode"] = "logprob"; }},
      {"methods[1].shots", "zero-shot",
       [](nlohmann::json& j) { j["methods"].push_back({{"chain_of_thought", true}, {"shots", 2}}); }},
      {"methods[0].chain_of_thought", "true or false", [](nlohmann::json& j) { j["methods"][0]["chain_of_thought"] = 1; }},
      {"methods[1].chain_of_thought", "loglikelihood",
       [](nlohmann::json& j) {
         j["tasks"][1]["mode"] = "loglikelihood";
         j["methods"].push_back({{"chain_of_thought", true}});
       }},
  };
  for (const auto& c : cases) {
    auto j = small_config();
    c.edit(j);
    const auto path = write_config("bad.json", j);
    const auto out = scratch_dir("bad");
    auto r = run_cli("study --config " + path + " --out " + out.string());
    EXPECT_EQ(r.exit_code, 1) << c.field << ": " << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << c.field << ": " << r.err;
    EXPECT_NE(r.err.find(c.field), std::string::npos) << c.field << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.field << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.field << ": a refused config leaves no folder";
  }
  // A data file that is not what its dataset says: the reader's error, before any model loads.
  auto j = small_config();
  j["tasks"][1]["data"] = data("study/gad_test_head.jsonl");
  auto r = run_cli("study --config " + write_config("bad_data.json", j) + " --out " + scratch_dir("bad").string());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("gad_test_head.jsonl"), std::string::npos) << r.err;
}

// A chain-of-thought method (its own max_new_tokens) and a relation task scored by loglikelihood over the label set:
// the cells say so, the loglikelihood answers are labels of the set (never a parse failure), and the CoT cell's
// predictions are the parser's reading of the text after the last "Answer:" (none here: stories260K writes stories).
TEST(CliStudy, ChainOfThoughtMethodAndLoglikelihoodTask) {
  const std::string model = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf";
  nlohmann::json j = {{"models", {{{"name", "tiny"}, {"path", model}, {"dtype", "f32"}}}},
                      {"precisions", {"f32"}},
                      {"tasks",
                       {{{"name", "chemprot-ll"}, {"dataset", "chemprot"}, {"data", data("study/chemprot_sample200_head.tsv")},
                         {"limit", 4}, {"mode", "loglikelihood"}}}},
                      {"methods", {{{"name", "zero-shot"}}}}};
  const auto out = scratch_dir("ll");
  auto r = run_cli("study --config " + write_config("study_ll.json", j) + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto cell_dir = out / "cells" / "tiny" / "f32" / "chemprot-ll" / "zero-shot";
  const auto cell = read_json(cell_dir / "cell.json");
  EXPECT_EQ(cell["mode"], "loglikelihood");
  EXPECT_EQ(cell["loglikelihood"]["prompts"], 4);
  EXPECT_EQ(cell["score"]["parse_failures"], 0);
  const std::set<std::string> labels{"CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "false"};
  std::istringstream lines(slurp((cell_dir / "predictions.jsonl").string()));
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_TRUE(labels.count(p["output"].get<std::string>())) << line;
    EXPECT_EQ(p["pred"], p["output"]) << line;
  }
  EXPECT_EQ(n, 4u);
  // Loglikelihood generates nothing: the cell's tokens/s is null, not a division by zero.
  EXPECT_TRUE(read_json(out / "results.json")["cells"][0]["tokens_per_second"].is_null());

  j["tasks"] = {{{"name", "gad"}, {"dataset", "gad"}, {"data", data("study/gad_test_head.jsonl")}, {"limit", 2},
                 {"max_new_tokens", 4}}};
  j["methods"] = {{{"name", "cot"}, {"chain_of_thought", true}, {"max_new_tokens", 12}}};
  const auto cot = scratch_dir("cot");
  r = run_cli("study --config " + write_config("study_cot.json", j) + " --out " + cot.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto c = read_json(cot / "cells" / "tiny" / "f32" / "gad" / "cot" / "cell.json");
  EXPECT_EQ(c["prompting"]["method"], "chain-of-thought");
  EXPECT_EQ(c["generation"]["max_new_tokens"], 12);  // the method's, not the task's 4
  EXPECT_EQ(c["mode"], "generate");
  std::istringstream cl(slurp((cot / "cells" / "tiny" / "f32" / "gad" / "cot" / "predictions.jsonl").string()));
  for (std::string line; std::getline(cl, line);) {
    const auto p = nlohmann::json::parse(line);
    const auto output = p["output"].get<std::string>();
    std::string lower = output;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // Without an "Answer:" line the parser reads nothing: the negative label, counted as a parse failure.
    if (lower.find("answer:") == std::string::npos) {
      EXPECT_EQ(p["pred"], "negative") << line;
      EXPECT_EQ(p["parsed"], false) << line;
    }
  }
  fs::remove_all(out.parent_path());
}

// Ctrl-C during a study: it stops before its next batch with exit 130 and a line saying how to resume; finished
// cells are whole, the cell in progress wrote nothing, no temp file is left, no results.json; the same command
// then finishes the study, skipping the cells finished before the signal.
TEST(CliStudy, InterruptStopsCleanlyAndTheSameCommandResumes) {
  auto j = small_config();
  j["batch_size"] = 1;  // a check between every item
  j["methods"].push_back({{"name", "cot"}, {"chain_of_thought", true}, {"max_new_tokens", 48}});
  const auto config = write_config("study_interrupt.json", j);
  const auto dir = scratch_dir("interrupt");
  fs::create_directories(dir);
  const auto out = dir / "study";
  Child c = spawn_cli({"study", "--config", config, "--out", out.string()}, dir, "first");
  ASSERT_GT(c.pid, 0);
  // Wait for the first finished cell, then Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (slurp(c.out).find("ran ") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_NE(slurp(c.out).find("ran "), std::string::npos) << slurp(c.err);
  ::kill(c.pid, SIGINT);
  const int status = wait_status(c.pid);
  ASSERT_TRUE(WIFEXITED(status)) << "a first SIGINT must end the study by its handler, not kill it";
  const auto err = slurp(c.err);
  ASSERT_EQ(WEXITSTATUS(status), 130) << "the study finished before the signal landed?\n" << slurp(c.out) << err;
  EXPECT_NE(err.find("interrupted[SIGINT]"), std::string::npos) << err;
  EXPECT_NE(err.find("Run the same command again"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out / "results.json"));
  std::size_t finished = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    const auto name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << e.path();
    if (e.is_regular_file() && name.rfind("predictions.", 0) == 0)  // predictions only beside their cell.json
      EXPECT_TRUE(fs::exists(e.path().parent_path() / "cell.json")) << e.path();
    finished += name == "cell.json";
  }
  EXPECT_GE(finished, 1u);
  EXPECT_LT(finished, 8u);  // 2 precisions x 2 tasks x 2 methods
  auto r = run_cli("study --config " + config + " --out " + out.string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["cells_skipped"], finished);
  EXPECT_EQ(summary["cells_run"].get<std::size_t>() + finished, 8u);
  EXPECT_EQ(read_json(out / "results.json")["cells"].size(), 8u);
  fs::remove_all(dir.parent_path());
}

// The embedded default's study (datasets/default/study.json): stories260K on shipped slices of NCBI-disease,
// ChemProt and GAD and on val.jsonl's multiple-choice questions (QA), f32 and nf4. Chance level by construction, as
// results.json's notice states; checked by hand: no entity found, every relation answer the negative label (so
// macro F1 = F1 of that constant answer over the labels that occur), nf4 - f32 = 0 [0, 0] for NER and RE; QA's
// accuracy, parse failures and nf4 - f32 delta counted from the prediction files.
TEST(CliStudyDefault, ChanceLevelAsItsNoticeSays) {
  const auto out = scratch_dir("default");
  auto r = run_cli("study --config " + std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/study.json --out " +
                   out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto res = read_json(out / "results.json");
  ASSERT_TRUE(res["notice"].is_string());
  EXPECT_NE(res["notice"].get<std::string>().find("chance level by construction"), std::string::npos);
  ASSERT_EQ(res["cells"].size(), 8u);
  std::map<std::string, double> qa_accuracy;  // precision -> accuracy counted from the predictions file
  for (const auto& c : res["cells"]) {
    const std::string where = c["precision"].get<std::string>() + "/" + c["task"].get<std::string>();
    const auto dir = out / c["files"].get<std::string>();
    EXPECT_TRUE(fs::exists(dir / "cell.json")) << where;
    EXPECT_TRUE(fs::exists(dir / "predictions.jsonl")) << where;
    const auto& s = c["score"];
    if (c["family"] == "ner") {
      EXPECT_TRUE(fs::exists(dir / "predictions.conll")) << where;
      EXPECT_EQ(s["f1"], 0.0) << where;
      EXPECT_EQ(s["correct"], 0) << where;
    } else if (c["family"] == "qa") {
      // Whatever letters the extractor read from the stories: accuracy and parse failures counted by hand.
      std::size_t n = 0, right = 0, unread = 0;
      std::istringstream in(slurp((dir / "predictions.jsonl").string()));
      for (std::string line; std::getline(in, line); ++n) {
        auto j = nlohmann::json::parse(line);
        right += j["pred"] == j["gold"];
        unread += j["pred"] == "none";
      }
      ASSERT_EQ(n, 20u) << where;  // val.jsonl's multi_choice questions
      EXPECT_EQ(c["items"], 20);
      EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), double(right) / 20.0) << where;
      EXPECT_EQ(s["parse_failures"], unread) << where;
      EXPECT_EQ(s["ci"]["accuracy"]["method"], "wilson") << where;
      qa_accuracy[c["precision"].get<std::string>()] = double(right) / 20.0;
      if (c["precision"] == "nf4") {
        EXPECT_DOUBLE_EQ(c["delta"]["accuracy"]["value"].get<double>(), qa_accuracy["nf4"] - qa_accuracy["f32"]) << where;
      }
      continue;
    } else {
      const std::string neg = s["negative"].get<std::string>();
      std::set<std::string> labels{neg};
      std::size_t n = 0, tp = 0;
      std::istringstream in(slurp((dir / "predictions.jsonl").string()));
      for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["pred"], neg) << where << ": " << line;
        labels.insert(j["gold"].get<std::string>());
        ++n, tp += j["gold"] == neg;
      }
      ASSERT_EQ(c["items"], n);
      EXPECT_EQ(s["micro_f1"], 0.0) << where;
      EXPECT_EQ(s["parse_failures"], n) << where;
      const double f1_neg = 2.0 * double(tp) / (2.0 * double(tp) + double(n - tp));  // FP = n - tp, FN = 0
      EXPECT_NEAR(s["macro_f1"].get<double>(), f1_neg / double(labels.size()), 1e-15) << where;
    }
    if (c["precision"] == "nf4") {
      for (const auto& [k, d] : c["delta"].items()) {
        EXPECT_EQ(d["value"], 0.0) << where << " " << k;
        EXPECT_EQ(d["lo"], 0.0) << where << " " << k;
        EXPECT_EQ(d["hi"], 0.0) << where << " " << k;
      }
    } else {
      EXPECT_TRUE(c["delta"].is_null()) << where;
    }
    EXPECT_GT(c["peak_memory_bytes"].get<double>(), 0) << where;
  }
  EXPECT_NE(slurp((out / "study.md").string()).find("| stories260K | nf4 | zero-shot |"), std::string::npos);
  fs::remove_all(out);
}
