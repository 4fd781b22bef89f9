#pragma once
// Registered pipelines as Google Benchmark cases: BM_Pipeline/<name> runs the evaluation of one run config once
// and reports, per model, what a nightly regression compares with its baseline - speed and accuracy together:
// questions/s, prefill and decode tok/s, the GPU peak and the host RSS peak, and each labelled split's accuracy
// (counters "<model>.<what>"). The run folder is kept under <out>/<name>/ (telemetry JSON, samples, dashboards).
//   curebench::testing::register_pipeline_benchmark({.name = "embedded_default", .config = "datasets/default/run.json"}, "out");
// benchmarks/bench_decode.cpp registers every case that curebench_add_pipeline declared (the list CMake writes).
#include <benchmark/benchmark.h>

#include "curebench/core/timer.hpp"
#include "curebench/testing/run_case.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace curebench::testing {

template <class P = PipelineByConfig>
void register_pipeline_benchmark(const eval::PipelineCase& c, const std::filesystem::path& out_root) {
  auto fn = [c, out_root](benchmark::State& state) {
    const auto cfg = eval::load_run_config(c.config.string());
    if (auto why = eval::why_case_cannot_run(cfg)) {
      state.SkipWithError(("skipped: " + *why).c_str());
      return;
    }
    const auto out = out_root / ("bench-" + c.name);
    nlohmann::json results;
    double wall = 0;
    for (auto _ : state) {
      detail::replace_previous_run(out);
      std::filesystem::create_directories(out_root);
      Timer t;
      P::run(cfg, out);
      wall = t.seconds();
      state.SetIterationTime(wall);
      results = read_json_file((out / "results.json").string());
    }
    double questions = 0;
    auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : 0.0; };
    const auto models = results.value("models", nlohmann::json::array());
    for (const auto& m : models) {
      const auto name = m.value("name", std::string("model"));
      const auto splits = m.value("splits", nlohmann::json::object());
      for (const auto& [split, s] : splits.items()) {
        questions += number(s.value("n", nlohmann::json()));
        if (s.contains("accuracy") && s["accuracy"].is_number()) state.counters[name + ".accuracy_" + split] = number(s["accuracy"]);
      }
      const auto t = m.value("throughput", nlohmann::json::object());
      const auto memory = m.value("memory", nlohmann::json::object()), load = m.value("load", nlohmann::json::object());
      state.counters[name + ".questions_per_s"] = number(t.value("questions_per_second", nlohmann::json()));
      state.counters[name + ".prefill_tok_per_s"] = number(t.value("prefill_tokens_per_second", nlohmann::json()));
      state.counters[name + ".decode_tok_per_s"] = number(t.value("decode_tokens_per_second", nlohmann::json()));
      state.counters[name + ".peak_gpu_GB"] = number(memory.value("peak_gpu_bytes", nlohmann::json())) / 1e9;
      state.counters[name + ".peak_rss_GB"] = number(memory.value("peak_rss_bytes", nlohmann::json())) / 1e9;
      state.counters[name + ".load_s"] = number(load.value("seconds", nlohmann::json()));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(questions));  // questions per second over the whole run
    state.SetLabel(c.name);
  };
  benchmark::RegisterBenchmark(("BM_Pipeline/" + c.name).c_str(), fn)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kSecond);
}

// The cases a build declared with curebench_add_pipeline: a JSON list [{name, config, floor?, baseline?}].
inline std::vector<eval::PipelineCase> read_pipeline_list(const std::string& path) {
  std::vector<eval::PipelineCase> out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  const auto j = read_json_file(path);
  if (!j.is_array()) throw Error(Errc::format, path, "", "expected a list of pipeline cases");
  for (const auto& e : j) {
    eval::PipelineCase c;
    c.name = json_get<std::string>(e, "name", path);
    c.config = json_get<std::string>(e, "config", path);
    c.baseline = json_get_or<std::string>(e, "baseline", "", path);
    if (auto f = e.find("floor"); f != e.end() && !f->is_null()) c.floor = json_get<double>(e, "floor", path);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace curebench::testing
