#pragma once
// results.json (schema_version 1, docs/results-schema.md): one document for every model of a run.
// Each block is a plain struct with to_json; the per-split numbers come from eval::metrics over the
// samples, so results.json can always be recomputed from models/<name>/samples.jsonl.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/metrics.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/eval/verify.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace curebench::report {

inline nlohmann::json string_or_null(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

// "2025-10-01T12:34:56Z"
inline std::string utc_now_iso8601() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct RunInfo {
  std::string id, started_at, finished_at, config_hash;
  std::string mode = "generate";       // generate | loglikelihood
  std::string protocol = "curebench";  // curebench | official
  std::string policy = "curebench";    // the answer extractor: curebench | seed | kit
  int world_size = 1;                  // processes that answered the questions (data-parallel ranks, dist/)
};
inline void to_json(nlohmann::json& j, const RunInfo& r) {
  j = {{"id", r.id}, {"started_at", r.started_at}, {"finished_at", r.finished_at}, {"config_hash", r.config_hash},
       {"mode", r.mode}, {"protocol", r.protocol}, {"policy", r.policy}, {"world_size", r.world_size}};
}

struct Provenance {
  std::string curebench_version, git_commit, libtorch;
  std::optional<std::string> cuda, gpu;
  std::string host;
  std::vector<nlohmann::json> datasets;  // eval::provenance_json(Dataset) per split
  std::uint64_t subsample_seed = 0, sampling_seed = 0;
  // Questions a resume ran again because they changed since they were answered ({model, split, id, changed});
  // the key is written only when there are some.
  std::vector<nlohmann::json> rerun;
};
inline void to_json(nlohmann::json& j, const Provenance& p) {
  j = {{"curebench_version", p.curebench_version}, {"git_commit", p.git_commit}, {"libtorch", p.libtorch},
       {"cuda", string_or_null(p.cuda)}, {"gpu", string_or_null(p.gpu)}, {"host", p.host},
       {"datasets", p.datasets}, {"seeds", {{"subsample", p.subsample_seed}, {"sampling", p.sampling_seed}}}};
  if (!p.rerun.empty()) j["rerun"] = p.rerun;
}

struct ModelResult {
  std::string name, path, architecture;
  std::uint64_t parameters = 0;
  std::string quant = "none", dtype = "f32", device = "cpu";
  nlohmann::json load = nlohmann::json::object();   // the loader chain's record (strategy, attempts, ...)
  std::map<std::string, nlohmann::json> splits;     // split name -> SplitMetrics::to_json()
  std::optional<double> generalization_gap;
  nlohmann::json verification = nullptr;            // eval::Verification
  nlohmann::json throughput = {{"prefill_tokens_per_second", nullptr}, {"decode_tokens_per_second", nullptr}};
  nlohmann::json memory = {{"peak_gpu_bytes", nullptr}, {"peak_rss_bytes", nullptr}};
  nlohmann::json quantization = nullptr;
  nlohmann::json context = nullptr;                 // {"max_tokens", "prompts_truncated"}: prompts cut to fit the model
  // The submission package of the test split: {"zip": path} when written, {"zip": null, "reason": why} when not
  // (a loglikelihood run), null when the run has no test split.
  nlohmann::json submission = nullptr;
};
inline void to_json(nlohmann::json& j, const ModelResult& m) {
  nlohmann::json splits = nlohmann::json::object();
  for (const auto& [name, s] : m.splits) splits[name] = s;
  j = {{"name", m.name}, {"path", m.path}, {"architecture", m.architecture}, {"parameters", m.parameters},
       {"quant", m.quant}, {"dtype", m.dtype}, {"device", m.device}, {"load", m.load}, {"splits", std::move(splits)},
       {"generalization_gap", m.generalization_gap ? nlohmann::json(*m.generalization_gap) : nlohmann::json(nullptr)},
       {"verification", m.verification}, {"throughput", m.throughput}, {"memory", m.memory},
       {"quantization", m.quantization}, {"context", m.context}, {"submission", m.submission}};
}

struct Results {
  static constexpr int schema_version = 1;
  std::optional<std::string> notice;
  RunInfo run;
  Provenance provenance;
  std::vector<ModelResult> models;
};
inline void to_json(nlohmann::json& j, const Results& r) {
  j = {{"schema_version", Results::schema_version}, {"notice", string_or_null(r.notice)}, {"run", r.run},
       {"provenance", r.provenance}, {"models", r.models}};
}

// accuracy(a) - accuracy(b); null unless both splits were scored. Never "0 - val" for an unlabelled split.
inline std::optional<double> generalization_gap(const ModelResult& m, const std::string& a = "val",
                                                const std::string& b = "test") {
  auto acc = [&](const std::string& split) -> std::optional<double> {
    auto it = m.splits.find(split);
    if (it == m.splits.end()) return std::nullopt;
    auto a_it = it->second.find("accuracy");
    if (a_it == it->second.end() || !a_it->is_number()) return std::nullopt;
    return a_it->get<double>();
  };
  auto va = acc(a), vb = acc(b);
  if (!va || !vb) return std::nullopt;
  return *va - *vb;
}

// Fills m.splits from samples (grouped by their `split`) and the val/test gap.
template <eval::metrics::Metric M = eval::metrics::SplitMetrics>
void summarize_splits(ModelResult& m, const std::vector<eval::SampleRecord>& samples) {
  std::map<std::string, M> per_split;
  for (const auto& s : samples) per_split[s.split].observe(s);
  for (const auto& [name, metric] : per_split) m.splits[name] = metric.to_json();
  m.generalization_gap = generalization_gap(m);
}

inline void write_results(const std::filesystem::path& path, const Results& r) {
  nlohmann::json j = r;
  atomic_write(path, dump_json(j, 2) + "\n");
}

}  // namespace curebench::report
