#pragma once
// `curebench study` (issue 21 point 4): models x precisions x tasks x prompting methods from one JSON config,
// and the study-shaped markdown table of its results.json. Torch-free: the CLI (examples/cli/cmd_study.hpp)
// loads the models and runs the cells.
//
// Config (relative paths resolve against the config file's folder; docs/study.md "A whole study"):
//   {"notice": "...",                                      optional, copied into results.json and study.md
//    "models": [{"name": "m", "path": "DIR", "tokenizer": "FILE|DIR", "device": "cpu|cuda", "dtype": "bf16"}],
//    "precisions": ["f32", "nf4", ...],                    f32 | bf16 | f16 (weights in that dtype, no quantization),
//                                                          a quant name (quantized on load: nf4 | nf4-dq | fp4 |
//                                                          int8 | int4-g32|64|128), prequantized (as stored)
//    "baseline": "f32",                                    optional: the full-precision cell deltas are taken against
//                                                          (default: the first of f32 / bf16 / f16 listed)
//    "tasks": [{"name": "ncbi", "dataset": "ncbi-disease", "data": "FILE", "examples": "FILE", "limit": 50,
//               "max_new_tokens": 24},
//              {"dataset": "chemprot", "data": "FILE", "mode": "loglikelihood"}],   mode (RE only): generate (default)
//                                                          or loglikelihood over the label set (label_loglikelihood.hpp)
//    "methods": [{"name": "zero-shot"}, {"name": "3-shot", "shots": 3, "seed": 0},
//                {"name": "cot", "chain_of_thought": true, "max_new_tokens": 256}],   max_new_tokens: overrides the
//                                                          tasks' for this method's cells
//    "batch_size": 8, "bootstrap": 1000, "bootstrap_seed": 0}
// Names (models, tasks, methods) are folder names of the cells: letters, digits, '.', '_', '-'.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/quant/quant_names.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace curebench::eval::tasks {

struct StudyModel {
  std::string name, path, tokenizer, device = "cpu", dtype;  // dtype: compute dtype of quantized precisions
};
struct StudyTaskConfig {
  std::string name, dataset, data, examples, mode = "generate";  // mode: generate | loglikelihood (RE only)
  std::size_t limit = 0;
  std::int64_t max_new_tokens = 32;
};
struct StudyMethod {
  std::string name;
  std::size_t shots = 0;
  std::uint64_t seed = 0;
  bool chain_of_thought = false;
  std::int64_t max_new_tokens = 0;  // 0: each task's own
  std::int64_t tokens_for(const StudyTaskConfig& t) const { return max_new_tokens ? max_new_tokens : t.max_new_tokens; }
};
struct StudyConfig {
  std::string path;  // the config file
  std::optional<std::string> notice;
  std::vector<StudyModel> models;
  std::vector<std::string> precisions;
  std::string baseline;
  std::vector<StudyTaskConfig> tasks;
  std::vector<StudyMethod> methods;
  std::size_t batch_size = 8, bootstrap = 1000;
  std::uint64_t bootstrap_seed = 0;
  std::string hash;  // sha256 of canonical_json() (which holds the data files' sha256)
  nlohmann::json canonical;
};

// A precision as the loader understands it: quant (loader/load_for_quant.hpp's names) and dtype ("" = default).
struct PrecisionLoad {
  std::string quant, dtype;
  bool full_precision = false;
};
// The full-precision dtypes, every quant config by its public name (quant/quant_names.hpp), and prequantized.
inline const std::vector<std::string>& study_precisions() {
  static const std::vector<std::string> p = [] {
    std::vector<std::string> v{"f32", "bf16", "f16"};
    for (const auto& n : quant::named_quant_names()) v.push_back(n);
    v.push_back("prequantized");
    return v;
  }();
  return p;
}
inline PrecisionLoad precision_load(const std::string& precision, const std::string& model_dtype) {
  if (precision == "f32" || precision == "bf16" || precision == "f16") return {"none", precision, true};
  return {precision, model_dtype, false};
}

// Datasets `curebench study` runs (those of `curebench task --dataset`) and their task family.
inline const std::map<std::string, std::string>& study_datasets() {
  static const std::map<std::string, std::string> d{{"ncbi-disease", "ner"}, {"bc5cdr-disease", "ner"},
                                                    {"bc5cdr-chem", "ner"},  {"chemprot", "re"},
                                                    {"gad", "re"},           {"hoc", "multilabel"},
                                                    {"litcovid", "multilabel"},
                                                    {"qa", "qa"}};  // qa: CURE-Bench JSONL (qa_task.hpp)
  return d;
}

// The figures a task family reports in the table: (key in the score JSON, label).
inline std::vector<std::pair<std::string, std::string>> study_figures(const std::string& family) {
  if (family == "ner") return {{"f1", "entity F1"}};
  if (family == "qa") return {{"accuracy", "accuracy"}};
  return {{"micro_f1", "micro F1"}, {"macro_f1", "macro F1"}};
}

namespace detail {

inline bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

class Fields {
 public:
  Fields(const nlohmann::json& j, std::string path, std::string where, std::set<std::string> known)
      : j_(j), path_(std::move(path)), where_(std::move(where)) {
    if (!j_.is_object()) throw Error(Errc::config, path_, where_, std::string("expected an object, found ") + j_.type_name());
    for (const auto& [k, v] : j_.items())
      if (!known.count(k)) throw Error(Errc::config, path_, field(k), "unknown field");
  }
  std::string field(const std::string& k) const { return where_.empty() ? k : where_ + "." + k; }
  bool has(const std::string& k) const { return j_.contains(k) && !j_[k].is_null(); }
  std::string str(const std::string& k, bool required, std::string def = "") const {
    if (!has(k)) {
      if (required) throw Error(Errc::config, path_, field(k), "missing (a string)");
      return def;
    }
    if (!j_[k].is_string() || j_[k].get<std::string>().empty())
      throw Error(Errc::config, path_, field(k), std::string("expected a non-empty string, found ") + j_[k].dump());
    return j_[k].get<std::string>();
  }
  bool boolean(const std::string& k, bool def) const {
    if (!has(k)) return def;
    if (!j_[k].is_boolean()) throw Error(Errc::config, path_, field(k), "expected true or false, found " + j_[k].dump());
    return j_[k].get<bool>();
  }
  std::uint64_t uint(const std::string& k, std::uint64_t def, std::uint64_t max = UINT64_MAX) const {
    if (!has(k)) return def;
    if (!j_[k].is_number_unsigned() || j_[k].get<std::uint64_t>() > max)
      throw Error(Errc::config, path_, field(k),
                  "expected a whole number from 0 to " + std::to_string(max) + ", found " + j_[k].dump());
    return j_[k].get<std::uint64_t>();
  }
  const nlohmann::json& array(const std::string& k) const {
    if (!has(k) || !j_[k].is_array() || j_[k].empty())
      throw Error(Errc::config, path_, field(k), "expected a non-empty array");
    return j_[k];
  }
  std::string name(const std::string& k, bool required, std::string def = "") const {
    auto s = str(k, required, std::move(def));
    if (!safe_name(s))
      throw Error(Errc::config, path_, field(k),
                  "'" + s + "' is not a usable name (1 to 64 letters, digits, '.', '_' or '-': it names the cell's folder)");
    return s;
  }

 private:
  const nlohmann::json& j_;
  std::string path_, where_;
};

inline std::string resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path q(p);
  return (q.is_absolute() ? q : base / q).lexically_normal().string();
}

}  // namespace detail

inline StudyConfig read_study_config(const std::string& path) {
  StudyConfig c;
  c.path = path;
  const auto j = read_json_file(path);
  const auto base = std::filesystem::absolute(std::filesystem::path(path)).parent_path();
  detail::Fields top(j, path, "",
                     {"notice", "models", "precisions", "baseline", "tasks", "methods", "batch_size", "bootstrap",
                      "bootstrap_seed"});
  if (top.has("notice")) c.notice = top.str("notice", true);
  std::set<std::string> seen;
  const auto& models = top.array("models");
  for (std::size_t i = 0; i < models.size(); ++i) {
    detail::Fields f(models[i], path, "models[" + std::to_string(i) + "]", {"name", "path", "tokenizer", "device", "dtype"});
    StudyModel m;
    m.path = detail::resolve(base, f.str("path", true));
    m.name = f.name("name", false, std::filesystem::path(m.path).filename().string());
    m.tokenizer = detail::resolve(base, f.str("tokenizer", false));
    m.device = f.str("device", false, "cpu");
    if (m.device != "cpu" && m.device.rfind("cuda", 0) != 0)
      throw Error(Errc::config, path, f.field("device"), "expected cpu or cuda[:N], found '" + m.device + "'");
    m.dtype = f.str("dtype", false);
    if (!m.dtype.empty() && m.dtype != "f32" && m.dtype != "bf16" && m.dtype != "f16")
      throw Error(Errc::config, path, f.field("dtype"), "expected f32, bf16 or f16, found '" + m.dtype + "'");
    if (!seen.insert(m.name).second) throw Error(Errc::config, path, f.field("name"), "model name '" + m.name + "' used twice");
    c.models.push_back(std::move(m));
  }
  const auto& precisions = top.array("precisions");
  std::set<std::string> pseen;
  for (std::size_t i = 0; i < precisions.size(); ++i) {
    const std::string where = "precisions[" + std::to_string(i) + "]";
    const auto& p = precisions[i];
    const auto& known = study_precisions();
    if (!p.is_string() || std::find(known.begin(), known.end(), p.get<std::string>()) == known.end())
      throw Error(Errc::config, path, where,
                  "expected one of f32, bf16, f16, int8, nf4, prequantized, found " + p.dump());
    if (!pseen.insert(p.get<std::string>()).second) throw Error(Errc::config, path, where, "listed twice: " + p.dump());
    c.precisions.push_back(p.get<std::string>());
  }
  c.baseline = top.str("baseline", false);
  if (c.baseline.empty()) {
    for (const auto& p : c.precisions)
      if (precision_load(p, "").full_precision) {
        c.baseline = p;
        break;
      }
  } else if (!pseen.count(c.baseline)) {
    throw Error(Errc::config, path, "baseline", "'" + c.baseline + "' is not one of the config's precisions");
  }
  seen.clear();
  const auto& tasks = top.array("tasks");
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    detail::Fields f(tasks[i], path, "tasks[" + std::to_string(i) + "]",
                     {"name", "dataset", "data", "examples", "limit", "max_new_tokens", "mode"});
    StudyTaskConfig t;
    t.dataset = f.str("dataset", true);
    if (!study_datasets().count(t.dataset))
      throw Error(Errc::config, path, f.field("dataset"),
                  "expected ncbi-disease, bc5cdr-disease, bc5cdr-chem, chemprot, gad, hoc, litcovid or qa, found '" + t.dataset + "'");
    t.name = f.name("name", false, t.dataset);
    t.data = detail::resolve(base, f.str("data", true));
    t.examples = detail::resolve(base, f.str("examples", false));
    t.limit = f.uint("limit", 0, std::size_t{1} << 32);
    t.mode = f.str("mode", false, "generate");
    if (t.mode != "generate" && t.mode != "loglikelihood")
      throw Error(Errc::config, path, f.field("mode"), "expected generate or loglikelihood, found '" + t.mode + "'");
    if (t.mode == "loglikelihood" && study_datasets().at(t.dataset) != "re")
      throw Error(Errc::config, path, f.field("mode"),
                  "loglikelihood over the label set is for relation extraction (chemprot, gad); " + t.dataset + " is " +
                      study_datasets().at(t.dataset));
    t.max_new_tokens = static_cast<std::int64_t>(f.uint("max_new_tokens", 32, 1 << 16));
    if (t.max_new_tokens < 1) throw Error(Errc::config, path, f.field("max_new_tokens"), "must be at least 1");
    if (!seen.insert(t.name).second) throw Error(Errc::config, path, f.field("name"), "task name '" + t.name + "' used twice");
    c.tasks.push_back(std::move(t));
  }
  seen.clear();
  const auto& methods = top.array("methods");
  for (std::size_t i = 0; i < methods.size(); ++i) {
    detail::Fields f(methods[i], path, "methods[" + std::to_string(i) + "]",
                     {"name", "shots", "seed", "chain_of_thought", "max_new_tokens"});
    StudyMethod m;
    m.shots = f.uint("shots", 0, 64);
    m.seed = f.uint("seed", 0);
    m.chain_of_thought = f.boolean("chain_of_thought", false);
    if (m.chain_of_thought && m.shots)
      throw Error(Errc::config, path, f.field("shots"),
                  "chain-of-thought is zero-shot (no solved examples with reasoning exist to show): drop shots");
    m.max_new_tokens = static_cast<std::int64_t>(f.uint("max_new_tokens", 0, 1 << 16));
    if (f.has("max_new_tokens") && m.max_new_tokens < 1)
      throw Error(Errc::config, path, f.field("max_new_tokens"), "must be at least 1");
    m.name = f.name("name", false,
                    m.chain_of_thought ? "chain-of-thought" : m.shots ? std::to_string(m.shots) + "-shot" : "zero-shot");
    if (!seen.insert(m.name).second) throw Error(Errc::config, path, f.field("name"), "method name '" + m.name + "' used twice");
    if (m.chain_of_thought)
      for (std::size_t t = 0; t < c.tasks.size(); ++t)
        if (c.tasks[t].mode == "loglikelihood")
          throw Error(Errc::config, path, f.field("chain_of_thought"),
                      "task '" + c.tasks[t].name + "' is scored by loglikelihood, which generates no reasoning: "
                      "chain-of-thought needs its mode to be generate");
    if (m.shots)
      for (std::size_t t = 0; t < c.tasks.size(); ++t)
        if (c.tasks[t].examples.empty())
          throw Error(Errc::config, path, "tasks[" + std::to_string(t) + "].examples",
                      "method '" + m.name + "' is few-shot: every task needs its example pool (the train or dev split)");
    c.methods.push_back(std::move(m));
  }
  c.batch_size = top.uint("batch_size", 8, 4096);
  if (c.batch_size == 0) throw Error(Errc::config, path, "batch_size", "must be at least 1");
  c.bootstrap = top.uint("bootstrap", 1000, 1000000);
  if (c.bootstrap > 0 && c.bootstrap < 1000)
    throw Error(Errc::config, path, "bootstrap", "use at least 1000 resamples (or 0 for no intervals)");
  c.bootstrap_seed = top.uint("bootstrap_seed", 0);

  // Canonical form (what the hash covers): every setting as parsed, paths resolved, and the bytes of every data
  // file, so a changed data file makes another study, refused in a folder of the old one. The notice is left out:
  // rewording it resumes the study.
  nlohmann::json cj;
  for (const auto& m : c.models)
    cj["models"].push_back({{"name", m.name}, {"path", m.path}, {"tokenizer", m.tokenizer}, {"device", m.device}, {"dtype", m.dtype}});
  cj["precisions"] = c.precisions;
  // A precision quantized on load means something else than in a study folder of before the ninth session (16-bit
  // classifier; nf4 without double quant): marked so that such a folder is refused, not resumed with mixed cells.
  for (const auto& p : c.precisions)
    if (quant::quantizes_on_load(precision_load(p, "").quant)) cj["load_semantics"] = 2;
  cj["baseline"] = c.baseline;
  for (const auto& t : c.tasks) {
    cj["tasks"].push_back({{"name", t.name}, {"dataset", t.dataset}, {"data", t.data},
                           {"data_sha256", sha256_hex(read_text_file(t.data))}, {"examples", t.examples},
                           {"examples_sha256", t.examples.empty() ? std::string() : sha256_hex(read_text_file(t.examples))},
                           {"limit", t.limit}, {"max_new_tokens", t.max_new_tokens}});
    if (t.mode != "generate") cj["tasks"].back()["mode"] = t.mode;  // only when set: older configs keep their hash
  }
  for (const auto& m : c.methods) {
    nlohmann::json mj = {{"name", m.name}, {"shots", m.shots}, {"seed", m.seed}};
    // Written only when set, so a config of before these fields keeps its hash (and its study folder resumes).
    if (m.chain_of_thought) mj["chain_of_thought"] = true;
    if (m.max_new_tokens) mj["max_new_tokens"] = m.max_new_tokens;
    cj["methods"].push_back(std::move(mj));
  }
  cj["batch_size"] = c.batch_size;
  cj["bootstrap"] = c.bootstrap;
  cj["bootstrap_seed"] = c.bootstrap_seed;
  c.canonical = cj;
  c.hash = sha256_hex(dump_json(cj));
  return c;
}

// ---------------------------------------------------------------------------------------------- the table

namespace detail {
inline std::string fmt(double v, const char* f = "%.3f") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
inline std::string bytes_text(double b) {
  if (b >= 1024.0 * 1024 * 1024) return fmt(b / (1024.0 * 1024 * 1024), "%.2f GiB");
  return fmt(b / (1024.0 * 1024), "%.1f MiB");
}
// Text a user wrote, in one markdown table cell or line: '|' and line breaks would break the table.
inline std::string md_text(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else if (c == '\n' || c == '\r') o += ' ';
    else o += c;
  }
  return o;
}
}  // namespace detail

// DIR/study.md from results.json's object: one row per (model, precision, method), per task its headline
// figures "value [lo, hi]" and, off the baseline, "Δ value [lo, hi]" (paired bootstrap); then the row's peak memory
// (the largest of its cells), memory saved against the baseline row, load time and decode tokens/s.
inline std::string study_markdown(const nlohmann::json& r) {
  using detail::fmt;
  std::string md = "# Study results\n\n";
  if (r.contains("notice") && r["notice"].is_string()) md += "> " + detail::md_text(r["notice"].get<std::string>()) + "\n\n";
  const auto& tasks = r.at("tasks");
  md += "Scores with 95 % intervals (bootstrap for F1, Wilson for accuracy); Δ: this precision - " + r.at("baseline").get<std::string>() +
        " of the same model, task and method (paired bootstrap, 95 %). Memory: " +
        r.at("memory_kind").get<std::string>() + ".\n\n| model | precision | method |";
  std::string rule = "|---|---|---|";
  for (const auto& t : tasks)
    for (const auto& [key, label] : study_figures(t.at("family").get<std::string>())) {
      md += " " + t.at("name").get<std::string>() + " " + label + " |";
      rule += "---|";
    }
  md += " peak memory | memory saved | load s | tokens/s |\n" + rule + "---|---|---|---|\n";
  for (const auto& row : r.at("rows")) {
    md += "| " + row.at("model").get<std::string>() + " | " + row.at("precision").get<std::string>() + " | " +
          row.at("method").get<std::string>() + " |";
    for (const auto& t : tasks) {
      const auto name = t.at("name").get<std::string>();
      const nlohmann::json* cell = nullptr;
      for (const auto& c : r.at("cells"))
        if (c.at("model") == row.at("model") && c.at("precision") == row.at("precision") && c.at("method") == row.at("method") &&
            c.at("task") == name)
          cell = &c;
      for (const auto& [key, label] : study_figures(t.at("family").get<std::string>())) {
        std::string text = " - |";
        if (cell) {
          const auto& s = cell->at("score");
          text = " " + fmt(s.at(key).get<double>());
          if (s.contains("ci") && s["ci"].contains(key))
            text += " [" + fmt(s["ci"][key]["lo"].get<double>()) + ", " + fmt(s["ci"][key]["hi"].get<double>()) + "]";
          if (cell->contains("delta") && cell->at("delta").is_object() && cell->at("delta").contains(key)) {
            const auto& d = cell->at("delta")[key];
            text += "; Δ " + fmt(d["value"].get<double>(), "%+.3f") + " [" + fmt(d["lo"].get<double>(), "%+.3f") + ", " +
                    fmt(d["hi"].get<double>(), "%+.3f") + "]";
          }
          text += " |";
        }
        md += text;
      }
    }
    md += " " + detail::bytes_text(row.at("peak_memory_bytes").get<double>()) + " |";
    md += row.at("memory_saved").is_number() ? " " + fmt(100.0 * row["memory_saved"].get<double>(), "%.1f %%") + " |" : " - |";
    md += " " + fmt(row.at("load_seconds").get<double>(), "%.2f") + " |";
    md += row.at("tokens_per_second").is_number() ? " " + fmt(row["tokens_per_second"].get<double>(), "%.1f") + " |" : " - |";
    md += "\n";
  }
  md += "\nItems per task:";
  for (const auto& t : tasks) md += " " + t.at("name").get<std::string>() + " " + t.at("items").dump() + ";";
  md += " every cell's predictions and score are under cells/<model>/<precision>/<task>/<method>/.\n";
  if (r.contains("figures") && r["figures"].is_array() && !r["figures"].empty()) {
    md += "\n## Peak memory against score, per task\n\n";
    for (const auto& f : r["figures"])
      if (f.get<std::string>().size() > 4 && f.get<std::string>().substr(f.get<std::string>().size() - 4) == ".png")
        md += "![" + f.get<std::string>() + "](" + f.get<std::string>() + ")\n";
  }
  return md;
}

}  // namespace curebench::eval::tasks
