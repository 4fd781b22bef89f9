#pragma once
// The run config: which models (checkpoint, quantization, mode, device) on which splits, with which
// limits and seeds. Models and datasets are runtime data, so one binary evaluates any checkpoint.
// Relative paths are resolved against the config file's folder.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "curebench/core/bytes.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/quant/quant_names.hpp"

namespace curebench::eval {

struct SplitConfig {
  std::string name, path;
  std::size_t limit = 0;               // 0 = every record
  std::optional<std::uint64_t> seed;   // set: seeded subsample of `limit` records
};

// meta_data.json fields a run may set (the kit's metadata section / --model-name ... --additional-info): key -> value.
using SubmissionMetadata = std::map<std::string, std::string>;
inline constexpr std::string_view kMetadataKeys[] = {"model_name", "model_type", "track", "base_model_type",
                                                     "base_model_name", "dataset", "additional_info"};

struct ModelConfig {
  std::string name, path;
  std::string tokenizer;               // default: found in the model folder
  std::string quant = "auto";          // auto (the loader chain) | none | prequantized | a quant name (loader/load_for_quant.hpp)
  std::string mode = "generate";       // generate | loglikelihood
  std::string device = "cpu", dtype;   // dtype default: bf16 on CUDA, the checkpoint's on CPU
  std::optional<std::int64_t> gpu_budget, cpu_budget;
  SubmissionMetadata metadata;         // over the run's metadata, for this model's meta_data.json
  bool quantize_lm_head = false;       // quantize the classifier too (nf4/int8 on load); off: 16-bit, as bitsandbytes
};

struct RunConfig {
  std::vector<ModelConfig> models;
  std::vector<SplitConfig> splits;
  std::string protocol = "curebench";  // curebench | official | lm-eval (loglikelihood only; eval/lm_eval.hpp)
  // --protocol lm-eval: few-shot examples per question, their pool file (CURE-Bench JSONL; "" = none), and the lm-eval
  // task of every record when set (else each record's lm_eval.task or its id).
  std::size_t num_fewshot = 0;
  std::string fewshot_path;
  std::string lm_eval_task;
  std::string policy = "curebench";    // answer extractor: curebench | seed | kit (the official kit's, exactly)
  std::int64_t max_new_tokens = 256;   // default_max_new_tokens(protocol) when the config does not say
  // apply_chat_template's enable_thinking (Qwen3's switch); unset = the protocol's choice (official: false, as the
  // kit renders; curebench: not passed, so the template's default).
  std::optional<bool> enable_thinking;
  // A split that repeats an id is refused before any model runs; true runs each such row on its own instead.
  bool allow_duplicate_ids = false;
  // meta_data.json fields for every model (a model's own `metadata` wins). Not in the hash: fixing a name and running
  // again resumes the run and rewrites the package.
  SubmissionMetadata metadata;
  std::int64_t batch_size = 8;
  std::uint64_t sampling_seed = 0;     // greedy unless temperature is set
  std::optional<double> temperature;
  std::optional<std::string> notice;
  bool draw_dashboard = true;
  std::string hash;                    // sha256 of the canonical config JSON
};

// The kit generates at most 1024 new tokens (eval_framework.py's inference(max_tokens=1024)); ours is 256.
inline std::int64_t default_max_new_tokens(const std::string& protocol) { return protocol == "official" ? 1024 : 256; }

inline nlohmann::json to_json_value(const RunConfig& c) {
  nlohmann::json j;
  j["protocol"] = c.protocol;
  j["max_new_tokens"] = c.max_new_tokens;
  j["batch_size"] = c.batch_size;
  j["sampling_seed"] = c.sampling_seed;
  j["temperature"] = c.temperature ? nlohmann::json(*c.temperature) : nlohmann::json();
  j["notice"] = c.notice ? nlohmann::json(*c.notice) : nlohmann::json();
  if (c.enable_thinking) j["enable_thinking"] = *c.enable_thinking;  // only when set: older configs keep their hash
  if (c.allow_duplicate_ids) j["allow_duplicate_ids"] = true;
  if (c.policy != "curebench") j["policy"] = c.policy;  // only when not the default: older configs keep their hash
  if (c.protocol == "lm-eval") {
    j["num_fewshot"] = c.num_fewshot;
    j["fewshot"] = c.fewshot_path;
    j["lm_eval_task"] = c.lm_eval_task;
  }
  for (auto& m : c.models) {
    j["models"].push_back({{"name", m.name}, {"path", m.path}, {"tokenizer", m.tokenizer}, {"quant", m.quant},
                           {"mode", m.mode}, {"device", m.device}, {"dtype", m.dtype},
                           {"gpu_budget", m.gpu_budget ? nlohmann::json(*m.gpu_budget) : nlohmann::json()},
                           {"cpu_budget", m.cpu_budget ? nlohmann::json(*m.cpu_budget) : nlohmann::json()}});
    // Written only when set, so the config of a run made before the option existed still matches on resume.
    if (m.quantize_lm_head) j["models"].back()["quantize_lm_head"] = true;
    // A model quantized on load means something else than in a run folder started before the ninth session: the
    // classifier stays 16-bit unless quantize_lm_head (it was quantized with the rest when untied), and "nf4" is
    // NF4 without double quant (it was with). Marked so that such a folder refuses to resume (another config's
    // hash) instead of mixing samples of two models; full precision and stored-quantized loads are unchanged.
    if (quant::quantizes_on_load(m.quant)) j["models"].back()["load_semantics"] = 2;
  }
  for (auto& s : c.splits)
    j["splits"].push_back({{"name", s.name}, {"path", s.path}, {"limit", s.limit},
                           {"seed", s.seed ? nlohmann::json(*s.seed) : nlohmann::json()}});
  return j;
}

// Keys and values the kit's validator accepts (report::validate checks the same at write time).
inline void check_metadata(const SubmissionMetadata& m, const std::string& where, const std::string& field) {
  for (const auto& [key, value] : m) {
    bool known = false;
    for (auto k : kMetadataKeys) known |= key == k;
    if (!known)
      throw Error(Errc::config, where, field + "." + key,
                  "unknown meta_data.json field (model_name, model_type, track, base_model_type, base_model_name, dataset, "
                  "additional_info)");
    if (key == "track" && value != "internal_reasoning" && value != "agentic_reasoning")
      throw Error(Errc::config, where, field + ".track", "expected internal_reasoning | agentic_reasoning, found '" + value + "'");
    if (key == "base_model_type" && value != "API" && value != "OpenWeighted")
      throw Error(Errc::config, where, field + ".base_model_type", "expected API | OpenWeighted, found '" + value + "'");
    if (value.empty() && (key == "model_name" || key == "base_model_name" || key == "dataset"))
      throw Error(Errc::config, where, field + "." + key, "must not be empty");
  }
}

inline SubmissionMetadata metadata_from_json(const nlohmann::json& j, const std::string& path, const std::string& field) {
  if (!j.is_object()) throw Error(Errc::config, path, field, "expected an object: meta_data.json field -> string");
  SubmissionMetadata m;
  for (auto& [key, value] : j.items()) {
    if (!value.is_string()) throw Error(Errc::config, path, field + "." + key, "expected a string");
    m[key] = value.get<std::string>();
  }
  check_metadata(m, path, field);
  return m;
}

inline void finalize(RunConfig& c, const std::string& where) {
  if (c.models.empty()) throw Error(Errc::config, where, "models", "no model to evaluate");
  if (c.splits.empty()) throw Error(Errc::config, where, "splits", "no dataset split to evaluate on");
  if (c.protocol != "curebench" && c.protocol != "official" && c.protocol != "lm-eval")
    throw Error(Errc::config, where, "protocol", "expected curebench, official or lm-eval, found '" + c.protocol + "'");
  if (c.protocol != "lm-eval" && (c.num_fewshot || !c.fewshot_path.empty() || !c.lm_eval_task.empty()))
    throw Error(Errc::config, where, c.num_fewshot ? "num_fewshot" : !c.fewshot_path.empty() ? "fewshot" : "lm_eval_task",
                "only --protocol lm-eval takes few-shot examples and lm-eval task names");
  if (c.num_fewshot && c.fewshot_path.empty())
    throw Error(Errc::config, where, "fewshot", std::to_string(c.num_fewshot) + "-shot needs a pool file of examples");
  if (c.num_fewshot > 64) throw Error(Errc::config, where, "num_fewshot", "expected 0..64");
  if (c.policy != "curebench" && c.policy != "seed" && c.policy != "kit")
    throw Error(Errc::config, where, "policy", "expected curebench, seed or kit, found '" + c.policy + "'");
  if (c.max_new_tokens < 1) throw Error(Errc::config, where, "max_new_tokens", "must be >= 1");
  if (c.batch_size < 1) throw Error(Errc::config, where, "batch_size", "must be >= 1");
  check_metadata(c.metadata, where, "metadata");
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    auto& m = c.models[i];
    const auto f = "models[" + std::to_string(i) + "]";
    if (m.name.empty()) m.name = std::filesystem::path(m.path).filename().string();
    check_metadata(m.metadata, where, f + ".metadata");
    if (m.mode != "generate" && m.mode != "loglikelihood")
      throw Error(Errc::config, where, f + ".mode", "expected generate or loglikelihood, found '" + m.mode + "'");
    if (c.protocol == "lm-eval" && m.mode != "loglikelihood")
      throw Error(Errc::config, where, f + ".mode", "protocol lm-eval scores choices: use mode loglikelihood");
    for (char ch : m.name)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
        throw Error(Errc::config, where, f + ".name", "use letters, digits, '-', '_' and '.' only (it names a folder)");
  }
  c.hash = sha256_hex(to_json_value(c).dump());
}

inline RunConfig run_config_from_json(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw Error(Errc::config, path, "", "run config must be a JSON object");
  const auto base = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) { return p.empty() || p.front() == '/' ? p : (base / p).lexically_normal().string(); };
  RunConfig c;
  c.protocol = json_get_or<std::string>(j, "protocol", c.protocol, path);
  c.policy = json_get_or<std::string>(j, "policy", c.policy, path);
  c.num_fewshot = json_get_or<std::size_t>(j, "num_fewshot", 0, path);
  c.fewshot_path = resolve(json_get_or<std::string>(j, "fewshot", "", path));
  c.lm_eval_task = json_get_or<std::string>(j, "lm_eval_task", "", path);
  c.max_new_tokens = json_get_or<std::int64_t>(j, "max_new_tokens", default_max_new_tokens(c.protocol), path);
  if (auto t = j.find("enable_thinking"); t != j.end() && !t->is_null()) c.enable_thinking = json_get<bool>(j, "enable_thinking", path);
  c.batch_size = json_get_or<std::int64_t>(j, "batch_size", c.batch_size, path);
  c.sampling_seed = json_get_or<std::uint64_t>(j, "sampling_seed", 0, path);
  if (auto t = j.find("temperature"); t != j.end() && !t->is_null()) c.temperature = json_get<double>(j, "temperature", path);
  if (auto n = j.find("notice"); n != j.end() && n->is_string()) c.notice = n->get<std::string>();
  c.draw_dashboard = json_get_or<bool>(j, "draw_dashboard", true, path);
  c.allow_duplicate_ids = json_get_or<bool>(j, "allow_duplicate_ids", false, path);
  // The kit's config spells it "metadata" (or "meta_data").
  for (const char* key : {"metadata", "meta_data"})
    if (auto m = j.find(key); m != j.end() && !m->is_null()) c.metadata = metadata_from_json(*m, path, key);
  auto models = j.find("models");
  if (models == j.end() || !models->is_array()) throw Error(Errc::config, path, "models", "expected a list of models");
  for (std::size_t i = 0; i < models->size(); ++i) {
    const auto& mj = (*models)[i];
    const auto f = "models[" + std::to_string(i) + "]";
    if (!mj.is_object()) throw Error(Errc::config, path, f, "expected an object");
    ModelConfig m;
    try {
      m.path = resolve(json_get<std::string>(mj, "path", path));
      m.name = json_get_or<std::string>(mj, "name", "", path);
      m.tokenizer = resolve(json_get_or<std::string>(mj, "tokenizer", "", path));
      m.quant = json_get_or<std::string>(mj, "quant", m.quant, path);
      m.mode = json_get_or<std::string>(mj, "mode", m.mode, path);
      m.device = json_get_or<std::string>(mj, "device", m.device, path);
      m.dtype = json_get_or<std::string>(mj, "dtype", "", path);
      m.quantize_lm_head = json_get_or<bool>(mj, "quantize_lm_head", false, path);
      if (auto b = mj.find("gpu_budget"); b != mj.end() && b->is_string()) m.gpu_budget = parse_bytes(b->get<std::string>(), f + ".gpu_budget");
      if (auto b = mj.find("cpu_budget"); b != mj.end() && b->is_string()) m.cpu_budget = parse_bytes(b->get<std::string>(), f + ".cpu_budget");
      if (auto md = mj.find("metadata"); md != mj.end() && !md->is_null()) m.metadata = metadata_from_json(*md, path, "metadata");
    } catch (const Error& e) {
      throw Error(e.code(), path, f + "." + e.field(), e.message());
    }
    c.models.push_back(std::move(m));
  }
  auto splits = j.find("splits");
  if (splits == j.end() || !splits->is_object()) throw Error(Errc::config, path, "splits", "expected an object: split name -> {path, limit, seed}");
  for (auto& [name, sj] : splits->items()) {
    SplitConfig s;
    s.name = name;
    if (sj.is_string()) s.path = resolve(sj.get<std::string>());
    else if (sj.is_object()) {
      s.path = resolve(json_get<std::string>(sj, "path", path));
      s.limit = json_get_or<std::size_t>(sj, "limit", 0, path);
      if (auto seed = sj.find("seed"); seed != sj.end() && !seed->is_null()) s.seed = json_get<std::uint64_t>(sj, "seed", path);
    } else {
      throw Error(Errc::config, path, "splits." + name, "expected a path or {path, limit, seed}");
    }
    c.splits.push_back(std::move(s));
  }
  finalize(c, path);
  return c;
}

inline RunConfig load_run_config(const std::string& path) { return run_config_from_json(read_json_file(path), path); }

}  // namespace curebench::eval
