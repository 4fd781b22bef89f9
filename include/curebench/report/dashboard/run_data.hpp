#pragma once
// What the dashboards read from a run folder (docs/results-schema.md): results.json plus each model's
// samples.jsonl. Every field is optional here — a missing or null value becomes std::nullopt and the figure
// shows "no data" or "n/a" for it — but a value of the wrong type, or text that is not JSON, is refused with
// the file and the field named, because drawing a half-understood file would mislead.
#include "curebench/core/error.hpp"
#include "curebench/core/regular_file.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/sample.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace curebench::report {

struct Interval {
  double lo = 0, hi = 0;
};

// Which role a split plays; the names in results.json are free text ("val", "validation", "test", ...).
enum class SplitRole { validation, test, other };

inline SplitRole split_role(std::string_view name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "val" || s == "validation" || s == "valid" || s == "dev") return SplitRole::validation;
  if (s == "test" || s == "holdout" || s == "heldout") return SplitRole::test;
  return SplitRole::other;
}

struct SplitResult {
  std::string name;
  std::optional<double> n, n_labelled;
  std::optional<double> accuracy;  // fraction 0..1; nullopt when nothing is labelled ("not measurable")
  std::optional<Interval> ci95;
  std::optional<double> input_tokens_mean, output_tokens_mean, output_chars_mean, tokens_per_second;

  // An accuracy counts only with labels behind it: a writer that put 0 for an unlabelled split is not believed.
  bool measurable() const { return accuracy.has_value() && !(n_labelled && *n_labelled <= 0); }
};

struct LoadAttempt {
  std::string strategy, outcome;  // outcome: ok | failed | skipped (other text is shown as is)
  std::optional<std::string> reason, error_code;
  std::optional<double> seconds, peak_gpu_bytes, peak_rss_bytes;
};

struct Quantization {
  std::optional<std::string> format;
  std::optional<double> bits_per_weight, weight_bytes, kl_mean, kl_max, top1_agreement, ppl_delta;
};

struct Sample {
  std::string split, question_type;
  std::optional<bool> correct;  // nullopt: unlabelled
  std::optional<double> output_chars, input_tokens, output_tokens;
};

struct ModelRun {
  std::string name;
  std::optional<std::string> quant, dtype, device, load_strategy;
  std::optional<double> parameters, load_seconds, load_peak_gpu_bytes, load_peak_rss_bytes, weight_bytes;
  std::vector<LoadAttempt> attempts;
  std::vector<SplitResult> splits;  // validation first, then test, then the rest by name
  std::optional<double> gap_in_file;  // generalization_gap as written (val - test, fraction)
  std::map<std::string, std::map<std::string, double>> question_types;  // split -> type -> count
  std::optional<double> prefill_tokens_per_second, decode_tokens_per_second;
  std::optional<double> questions_per_second, scored_tokens_per_second;  // scored: loglikelihood runs
  std::optional<double> peak_gpu_bytes, peak_rss_bytes;
  std::optional<Quantization> quantization;
  std::vector<Sample> samples;
  bool samples_found = false;

  const SplitResult* split(SplitRole role) const {
    for (auto& s : splits)
      if (split_role(s.name) == role) return &s;
    return nullptr;
  }
  // The split whose accuracy stands for the model: validation when labelled, else the first labelled one.
  const SplitResult* primary_split() const {
    if (auto* v = split(SplitRole::validation); v && v->measurable()) return v;
    for (auto& s : splits)
      if (s.measurable()) return &s;
    return nullptr;
  }
  // Peak memory of the whole run: the evaluation's peak when present, the load's peak otherwise.
  std::optional<double> peak_gpu() const { return peak_gpu_bytes ? peak_gpu_bytes : load_peak_gpu_bytes; }
  std::optional<double> peak_rss() const { return peak_rss_bytes ? peak_rss_bytes : load_peak_rss_bytes; }
};

struct RunData {
  std::filesystem::path dir, results_path;
  std::optional<std::string> notice, run_id, mode, protocol, gpu, started_at, finished_at;
  std::vector<ModelRun> models;
};

// ---- reading -------------------------------------------------------------------------------------------------
namespace detail {

inline std::string json_type_name(const nlohmann::json& j) { return j.type_name(); }

// Field access that tolerates absence and null but names file and field when the type is wrong.
class Fields {
 public:
  explicit Fields(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  const nlohmann::json* find(const nlohmann::json& obj, std::string_view key) const {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::optional<double> number(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong(where, key, "a number", *v);
    return v->get<double>();
  }
  std::optional<std::string> text(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong(where, key, "a string", *v);
    return v->get<std::string>();
  }
  std::optional<bool> boolean(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) wrong(where, key, "true, false or null", *v);
    return v->get<bool>();
  }
  const nlohmann::json* object(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (v && !v->is_object()) wrong(where, key, "an object", *v);
    return v;
  }
  const nlohmann::json* array(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (v && !v->is_array()) wrong(where, key, "an array", *v);
    return v;
  }
  std::optional<Interval> interval(const nlohmann::json& obj, std::string_view key, const std::string& where) const {
    auto* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number() || !(*v)[1].is_number())
      wrong(where, key, "[low, high] (two numbers) or null", *v);
    return Interval{(*v)[0].get<double>(), (*v)[1].get<double>()};
  }
  [[noreturn]] void wrong(const std::string& where, std::string_view key, std::string_view expected,
                          const nlohmann::json& found) const {
    std::string field = where.empty() ? std::string(key) : where + "." + std::string(key);
    throw Error(Errc::format, path_, field,
                "expected " + std::string(expected) + ", found " + json_type_name(found) + " " + found.dump().substr(0, 60));
  }

 private:
  std::string path_;
};

inline SplitResult read_split(const Fields& f, const std::string& name, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) f.wrong(where.substr(0, where.rfind('.')), name, "an object", j);
  SplitResult s;
  s.name = name;
  s.n = f.number(j, "n", where);
  s.n_labelled = f.number(j, "n_labelled", where);
  s.accuracy = f.number(j, "accuracy", where);
  s.ci95 = f.interval(j, "ci95", where);
  if (auto* t = f.object(j, "tokens", where)) {
    s.input_tokens_mean = f.number(*t, "input_mean", where + ".tokens");
    s.output_tokens_mean = f.number(*t, "output_mean", where + ".tokens");
  }
  s.output_chars_mean = f.number(j, "output_chars_mean", where);
  s.tokens_per_second = f.number(j, "tokens_per_second", where);
  return s;
}

inline int split_order(const SplitResult& s) {
  switch (split_role(s.name)) {
    case SplitRole::validation: return 0;
    case SplitRole::test: return 1;
    default: return 2;
  }
}

inline ModelRun read_model(const Fields& f, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(Errc::format, f.path(), where, "expected an object, found " + json_type_name(j));
  ModelRun m;
  auto name = f.text(j, "name", where);
  if (!name || name->empty()) throw Error(Errc::format, f.path(), where + ".name", "expected a non-empty model name");
  m.name = *name;
  m.quant = f.text(j, "quant", where);
  m.dtype = f.text(j, "dtype", where);
  m.device = f.text(j, "device", where);
  m.parameters = f.number(j, "parameters", where);
  if (auto* l = f.object(j, "load", where)) {
    auto w = where + ".load";
    m.load_strategy = f.text(*l, "strategy", w);
    m.load_seconds = f.number(*l, "seconds", w);
    m.load_peak_gpu_bytes = f.number(*l, "peak_gpu_bytes", w);
    m.load_peak_rss_bytes = f.number(*l, "peak_rss_bytes", w);
    m.weight_bytes = f.number(*l, "weight_bytes", w);
    if (auto* a = f.array(*l, "attempts", w)) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        auto aw = w + ".attempts[" + std::to_string(i) + "]";
        const auto& x = (*a)[i];
        if (!x.is_object()) throw Error(Errc::format, f.path(), aw, "expected an object, found " + json_type_name(x));
        LoadAttempt at;
        at.strategy = f.text(x, "strategy", aw).value_or("?");
        at.outcome = f.text(x, "outcome", aw).value_or("unknown");
        at.reason = f.text(x, "reason", aw);
        at.error_code = f.text(x, "error_code", aw);
        at.seconds = f.number(x, "seconds", aw);
        at.peak_gpu_bytes = f.number(x, "peak_gpu_bytes", aw);
        at.peak_rss_bytes = f.number(x, "peak_rss_bytes", aw);
        m.attempts.push_back(std::move(at));
      }
    }
  }
  if (auto* s = f.object(j, "splits", where))
    for (auto& [name, v] : s->items()) m.splits.push_back(read_split(f, name, v, where + ".splits." + name));
  std::stable_sort(m.splits.begin(), m.splits.end(),
                   [](auto& a, auto& b) { return split_order(a) < split_order(b); });
  m.gap_in_file = f.number(j, "generalization_gap", where);
  if (auto* v = f.object(j, "verification", where))
    if (auto* vs = f.object(*v, "splits", where + ".verification"))
      for (auto& [split, sj] : vs->items()) {
        auto w = where + ".verification.splits." + split;
        if (auto* qt = f.object(sj, "question_types", w))
          for (auto& [type, count] : qt->items())
            if (auto c = f.number(*qt, type, w + ".question_types")) m.question_types[split][type] = *c;
      }
  if (auto* t = f.object(j, "throughput", where)) {
    m.prefill_tokens_per_second = f.number(*t, "prefill_tokens_per_second", where + ".throughput");
    m.decode_tokens_per_second = f.number(*t, "decode_tokens_per_second", where + ".throughput");
    m.questions_per_second = f.number(*t, "questions_per_second", where + ".throughput");
    m.scored_tokens_per_second = f.number(*t, "scored_tokens_per_second", where + ".throughput");
  }
  if (auto* mem = f.object(j, "memory", where)) {
    m.peak_gpu_bytes = f.number(*mem, "peak_gpu_bytes", where + ".memory");
    m.peak_rss_bytes = f.number(*mem, "peak_rss_bytes", where + ".memory");
  }
  if (auto* q = f.object(j, "quantization", where)) {
    auto w = where + ".quantization";
    Quantization qz;
    qz.format = f.text(*q, "format", w);
    qz.bits_per_weight = f.number(*q, "bits_per_weight", w);
    qz.weight_bytes = f.number(*q, "weight_bytes", w);
    qz.kl_mean = f.number(*q, "kl_mean", w);
    qz.kl_max = f.number(*q, "kl_max", w);
    qz.top1_agreement = f.number(*q, "top1_agreement", w);
    qz.ppl_delta = f.number(*q, "ppl_delta", w);
    m.quantization = qz;
  }
  return m;
}

// A model name becomes a folder name; refuse names that would leave models/ or that no file system holds (a
// component over 255 bytes made std::filesystem::exists throw ENAMETOOLONG: found by fuzz_run_data).
inline bool safe_folder_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\\') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace detail

// Reads models/<name>/samples.jsonl; returns false when the file does not exist. Through the samples log's
// bounded reader (eval::for_each_sample_json): a line longer than eval::kMaxSampleLineBytes is refused before it
// is held whole, and an unterminated last line (a writer killed mid-record) is left out, as a resume leaves it.
inline bool read_samples(const std::filesystem::path& file, std::vector<Sample>& out) {
  std::error_code ec;  // the throwing exists() turns ENAMETOOLONG, EACCES... into a filesystem_error
  if (!std::filesystem::exists(file, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
      throw Error(Errc::io, file.string(), "", "cannot look for the samples log: " + ec.message());
    return false;
  }
  detail::Fields f(file.string());
  eval::for_each_sample_json(file.string(), [&](std::size_t line_no, const nlohmann::json& j) {
    auto where = "line " + std::to_string(line_no);
    if (!j.is_object()) throw Error(Errc::format, file.string(), where, "expected a JSON object, found " + std::string(j.type_name()));
    Sample s;
    s.split = f.text(j, "split", where).value_or("");
    s.question_type = f.text(j, "question_type", where).value_or("");
    s.correct = f.boolean(j, "correct", where);
    s.output_chars = f.number(j, "output_chars", where);
    s.input_tokens = f.number(j, "input_tokens", where);
    s.output_tokens = f.number(j, "output_tokens", where);
    out.push_back(std::move(s));
  });
  return true;
}

inline RunData read_run_data(const std::filesystem::path& run_dir) {
  RunData run;
  run.dir = run_dir;
  run.results_path = run_dir / "results.json";
  if (!std::filesystem::is_directory(run_dir))
    throw Error(Errc::not_found, run_dir.string(), "", "run folder does not exist (expected a folder with results.json)");
  if (!std::filesystem::exists(run.results_path))
    throw Error(Errc::not_found, run.results_path.string(), "", "results.json not found in the run folder");
  const std::string path = run.results_path.string();
  auto j = read_json_file(path);
  detail::Fields f(path);
  if (!j.is_object()) throw Error(Errc::format, path, "", "expected a JSON object at the top, found " + std::string(j.type_name()));
  if (auto v = f.number(j, "schema_version", ""); v && *v != 1)
    throw Error(Errc::unsupported, path, "schema_version", "expected 1, found " + nlohmann::json(*v).dump());
  run.notice = f.text(j, "notice", "");
  if (auto* r = f.object(j, "run", "")) {
    run.run_id = f.text(*r, "id", "run");
    run.mode = f.text(*r, "mode", "run");
    run.protocol = f.text(*r, "protocol", "run");
    run.started_at = f.text(*r, "started_at", "run");
    run.finished_at = f.text(*r, "finished_at", "run");
  }
  if (auto* p = f.object(j, "provenance", "")) run.gpu = f.text(*p, "gpu", "provenance");
  if (auto* ms = f.array(j, "models", ""))
    for (std::size_t i = 0; i < ms->size(); ++i) {
      auto m = detail::read_model(f, (*ms)[i], "models[" + std::to_string(i) + "]");
      if (detail::safe_folder_name(m.name))
        m.samples_found = read_samples(run_dir / "models" / m.name / "samples.jsonl", m.samples);
      run.models.push_back(std::move(m));
    }
  return run;
}

}  // namespace curebench::report
