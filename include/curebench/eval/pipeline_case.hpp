#pragma once
// A registered pipeline: a run config that becomes a GoogleTest case and a Google Benchmark case
// (testing/gtest_pipeline.hpp, testing/benchmark_pipeline.hpp; CMake: curebench_add_pipeline). This header holds
// what both share and what can be tested without either framework: whether the case can run here (weights
// present, a GPU when the config asks for one), the artifact check of a finished run folder, and the accuracy
// gate - a floor, and a stored baseline that the run's Wilson interval must contain.
//
// Baseline file (written by the runner's --write-baseline, read by --baseline):
//   {"case": NAME, "config_sha256": "...", "datasets": {SPLIT: sha256},
//    "models": {MODEL: {SPLIT: {"accuracy": a, "n_scored": n, "correct": k}}}}
// Only labelled splits appear. A baseline made with another config file or other dataset bytes is refused: it
// measured something else. (The file's bytes, not RunConfig::hash: that one holds resolved absolute paths, so it
// changes with the checkout's location.)
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/eval/run_config.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/eval/wilson.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace curebench::eval {

struct PipelineCase {
  std::string name;                   // the test / benchmark name: [A-Za-z0-9_]+
  std::filesystem::path config;       // a run config (docs/running-evaluations.md)
  std::optional<double> floor;        // every labelled split's accuracy must reach it
  std::filesystem::path baseline;     // empty: no baseline comparison
};

// Why this case cannot run on this machine (the test is skipped, not failed), or nullopt. A model folder
// without config.json or weights means "weights absent" (a registered case for a checkpoint the CI machine
// does not have); a model on cuda needs a GPU.
inline std::optional<std::string> why_case_cannot_run(const RunConfig& cfg) {
  namespace fs = std::filesystem;
  for (const auto& m : cfg.models) {
    const fs::path p(m.path);
    std::error_code ec;
    const bool folder = fs::is_directory(p, ec);
    if (!fs::exists(p, ec) || (folder && !fs::exists(p / "config.json", ec) && !fs::exists(p / "model.safetensors", ec)))
      return "weights absent: model '" + m.name + "' at " + m.path;
    if (m.device.rfind("cuda", 0) == 0 && !compat::cuda_available())
      return "no GPU: model '" + m.name + "' runs on " + m.device;
  }
  return std::nullopt;
}

// Every artifact a finished run leaves, checked against the config: results.json (one entry per model, each
// split with its question count), each model's samples log (one finished record per question and split), the
// submission package of a generate run with a "test" split, and the dashboard when the build draws one.
// Returns the problems found (empty: all there).
inline std::vector<std::string> check_run_artifacts(const std::filesystem::path& out, const RunConfig& cfg,
                                                    bool expect_dashboard) {
  namespace fs = std::filesystem;
  std::vector<std::string> problems;
  nlohmann::json r;
  try {
    r = read_json_file((out / "results.json").string());
  } catch (const Error& e) {
    return {std::string("results.json: ") + e.what()};
  }
  if (!r.contains("models") || !r["models"].is_array() || r["models"].size() != cfg.models.size())
    return {"results.json: expected " + std::to_string(cfg.models.size()) + " models"};
  for (std::size_t i = 0; i < cfg.models.size(); ++i) {
    const auto& mc = cfg.models[i];
    const auto& m = r["models"][i];
    if (m.value("name", std::string()) != mc.name) problems.push_back("results.json: models[" + std::to_string(i) + "] is not " + mc.name);
    std::size_t expected_samples = 0;
    for (const auto& s : cfg.splits) {
      if (!m.contains("splits") || !m["splits"].contains(s.name)) {
        problems.push_back("results.json: model " + mc.name + " has no split " + s.name);
        continue;
      }
      const auto& sj = m["splits"][s.name];
      if (!sj.contains("n") || !sj["n"].is_number_integer() || sj["n"].get<std::int64_t>() <= 0)
        problems.push_back("results.json: model " + mc.name + " split " + s.name + " ran no question");
      else
        expected_samples += sj["n"].get<std::size_t>();
    }
    const auto dir = out / "models" / mc.name;
    std::size_t lines = 0;  // finished records, read as `curebench report` reads them (a torn tail is no record)
    try {
      for_each_sample_json((dir / "samples.jsonl").string(), [&](std::size_t, const nlohmann::json&) { ++lines; });
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    if (lines != expected_samples)
      problems.push_back((dir / "samples.jsonl").string() + ": " + std::to_string(lines) + " records, expected " +
                         std::to_string(expected_samples));
    const bool has_test = std::any_of(cfg.splits.begin(), cfg.splits.end(), [](const SplitConfig& s) { return s.name == "test"; });
    if (mc.mode == "generate" && has_test && !fs::exists(dir / "submission.zip"))
      problems.push_back((dir / "submission.zip").string() + ": missing");
  }
  if (expect_dashboard && cfg.draw_dashboard)
    for (const char* f : {"dashboard.png", "dashboard.svg", "report.md"}) {
      std::error_code ec;
      if (fs::file_size(out / "report" / f, ec) == 0 || ec) problems.push_back((out / "report" / f).string() + ": missing or empty");
    }
  return problems;
}

// The labelled splits of a results.json: {model: {split: {accuracy, n_scored, correct}}}.
inline nlohmann::json labelled_accuracies(const nlohmann::json& results) {
  nlohmann::json out = nlohmann::json::object();
  const auto models = results.value("models", nlohmann::json::array());  // named: items() of a temporary dangles
  for (const auto& m : models) {
    const auto name = m.value("name", std::string());
    const auto splits = m.value("splits", nlohmann::json::object());
    for (const auto& [split, s] : splits.items())
      if (s.contains("accuracy") && s["accuracy"].is_number())
        out[name][split] = {{"accuracy", s["accuracy"]}, {"n_scored", s.value("n_scored", 0)}, {"correct", s.value("correct", 0)}};
  }
  return out;
}

inline std::string config_file_sha256(const PipelineCase& c) { return sha256_hex(read_text_file(c.config.string(), 1 << 20)); }

// {split: sha256} of the datasets a results.json says it read.
inline nlohmann::json dataset_hashes(const nlohmann::json& results) {
  nlohmann::json out = nlohmann::json::object();
  const auto prov = results.value("provenance", nlohmann::json::object());
  for (const auto& d : prov.value("datasets", nlohmann::json::array()))
    if (d.is_object() && d.contains("split") && d.contains("sha256")) out[d["split"].get<std::string>()] = d["sha256"];
  return out;
}

inline void write_baseline(const std::filesystem::path& path, const PipelineCase& c, const nlohmann::json& results) {
  const nlohmann::json b = {{"case", c.name}, {"config_sha256", config_file_sha256(c)}, {"datasets", dataset_hashes(results)},
                            {"models", labelled_accuracies(results)}};
  atomic_write(path, dump_json(b, 2) + "\n");
}

// The accuracy gate. Floor: every labelled split's accuracy >= floor. Baseline: for every model and split the
// baseline names, this run's Wilson 95 % interval (from its own correct / n_scored) must contain the baseline's
// accuracy; a split the baseline names that this run lacks is a failure too. Returns the failures.
inline std::vector<std::string> check_accuracy(const PipelineCase& c, const nlohmann::json& results) {
  std::vector<std::string> failures;
  const auto now = labelled_accuracies(results);
  if (c.floor)
    for (const auto& [model, splits] : now.items())
      for (const auto& [split, s] : splits.items())
        if (s["accuracy"].get<double>() < *c.floor)
          failures.push_back(model + "/" + split + ": accuracy " + std::to_string(s["accuracy"].get<double>()) +
                             " below the floor " + std::to_string(*c.floor));
  if (c.baseline.empty()) return failures;
  const auto b = read_json_file(c.baseline.string());
  const auto hash = json_get_or<std::string>(b, "config_sha256", "", c.baseline.string());
  if (hash != config_file_sha256(c))
    throw Error(Errc::config, c.baseline.string(), "config_sha256",
                "the baseline was made with another run config than " + c.config.string() +
                    ": write a new one with --write-baseline");
  if (auto d = b.find("datasets"); d != b.end() && d->is_object() && *d != dataset_hashes(results))
    throw Error(Errc::config, c.baseline.string(), "datasets",
                "the baseline was made on other dataset bytes (sha256 " + d->dump() + ", this run " +
                    dataset_hashes(results).dump() + "): write a new one with --write-baseline");
  if (!b.contains("models") || !b["models"].is_object())
    throw Error(Errc::format, c.baseline.string(), "models", "expected an object: model -> split -> accuracy");
  for (const auto& [model, splits] : b["models"].items())
    for (const auto& [split, s] : splits.items()) {
      const auto field = "models." + model + "." + split + ".accuracy";
      if (!s.contains("accuracy") || !s["accuracy"].is_number())
        throw Error(Errc::format, c.baseline.string(), field, "expected a number");
      const double base = s["accuracy"].get<double>();
      if (!now.contains(model) || !now[model].contains(split)) {
        failures.push_back(model + "/" + split + ": in the baseline, not in this run");
        continue;
      }
      const auto& cur = now[model][split];
      const auto ci = wilson_interval(cur["correct"].get<std::size_t>(), cur["n_scored"].get<std::size_t>());
      if (!ci || base < ci->lo - 1e-12 || base > ci->hi + 1e-12)
        failures.push_back(model + "/" + split + ": baseline accuracy " + std::to_string(base) +
                           " is outside this run's Wilson 95 % interval [" + (ci ? std::to_string(ci->lo) : "?") + ", " +
                           (ci ? std::to_string(ci->hi) : "?") + "] (accuracy " +
                           std::to_string(cur["accuracy"].get<double>()) + ")");
    }
  return failures;
}

}  // namespace curebench::eval
