#pragma once
// What a checkpoint on disk is, decided before loading: its kind (plain safetensors, bitsandbytes
// pre-quantized, GPTQ, AWQ, GGUF), its ModelSpec, its weight and tokenizer files. Pre-quantized bnb folders are
// recognised by config.json's quantization_config or, when that is missing (as in some unsloth
// repos), by their tensor names; GPTQ and AWQ by quant_method in quantization_config, quantize_config.json
// (AutoGPTQ) or quant_config.json (AutoAWQ): their tensors alone do not say which layout they are in.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/io/gguf.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/model/gguf_spec.hpp"
#include "curebench/model/hf_config.hpp"
#include "curebench/quant/gptq_awq_checkpoint.hpp"

namespace curebench::loader {

enum class CheckpointKind { hf_safetensors, hf_bnb_4bit, hf_bnb_8bit, hf_gptq, hf_awq, gguf };

inline std::string to_string(CheckpointKind k) {
  switch (k) {
    case CheckpointKind::hf_safetensors: return "hf-safetensors";
    case CheckpointKind::hf_bnb_4bit: return "hf-bnb-4bit";
    case CheckpointKind::hf_bnb_8bit: return "hf-bnb-8bit";
    case CheckpointKind::hf_gptq: return "hf-gptq";
    case CheckpointKind::hf_awq: return "hf-awq";
    case CheckpointKind::gguf: return "gguf";
  }
  return "?";
}

struct CheckpointInfo {
  std::filesystem::path path;  // the folder (or the .gguf file)
  CheckpointKind kind = CheckpointKind::hf_safetensors;
  model::ModelSpec spec;
  std::vector<std::string> weight_files, tokenizer_files;
  std::int64_t bytes_on_disk = 0;
  nlohmann::json quantization_config;  // null when absent
  std::optional<quant::GptqAwqConfig> gptq_awq;  // hf_gptq / hf_awq: the parsed config
};

inline const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "tok512.bin"};

inline std::vector<std::string> tokenizer_files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (auto* f : kTokenizerFiles)
    if (std::filesystem::exists(dir / f)) out.push_back(f);
  return out;
}

// A single .gguf file: spec from its metadata; its tokenizer is embedded when tokenizer.ggml.tokens is there.
// quantization_config lists the ggml types of its tensors, e.g. {"format": "gguf", "tensor_types": {"Q8_0": 35, "F32": 13}}.
inline CheckpointInfo inspect_gguf(const std::filesystem::path& path) {
  io::GGUFFile f(path.string());
  CheckpointInfo info;
  info.path = path;
  info.kind = CheckpointKind::gguf;
  info.spec = model::spec_from_gguf(f);
  info.weight_files = {path.filename().string()};
  if (f.contains("tokenizer.ggml.tokens")) info.tokenizer_files = {path.filename().string()};
  info.bytes_on_disk = static_cast<std::int64_t>(f.file_size());
  nlohmann::json types = nlohmann::json::object();
  for (const auto& t : f.tensors()) {
    auto& n = types[std::string(io::ggml_type_name(t.type))];
    n = n.is_null() ? 1 : n.get<int>() + 1;
  }
  info.quantization_config = {{"format", "gguf"}, {"tensor_types", types}};
  return info;
}

inline CheckpointInfo inspect_checkpoint(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw Error(Errc::not_found, path.string(), "", "no such file or folder");
  if (fs::is_regular_file(path) && path.extension() == ".gguf") return inspect_gguf(path);
  if (!fs::is_directory(path))
    throw Error(Errc::unsupported, path.string(), "", "expected a checkpoint folder (config.json + *.safetensors) or a .gguf file");
  CheckpointInfo info;
  info.path = path;
  auto config_path = path / "config.json";
  if (!fs::exists(config_path)) throw Error(Errc::not_found, path.string(), "config.json", "no config.json in the folder");
  auto config = read_json_file(config_path.string());
  info.spec = model::spec_from_hf_config(config, config_path.string());
  io::SafetensorsSet set(path);
  for (auto& shard : set.shards()) {
    info.weight_files.push_back(fs::path(shard->path()).filename().string());
    info.bytes_on_disk += static_cast<std::int64_t>(shard->file_size());
  }
  info.tokenizer_files = tokenizer_files_in(path);
  if (auto q = config.find("quantization_config"); q != config.end() && q->is_object()) info.quantization_config = *q;
  const auto& qc = info.quantization_config;
  bool bnb4 = qc.is_object() && json_get_or(qc, "load_in_4bit", false, config_path.string());
  bool bnb8 = qc.is_object() && json_get_or(qc, "load_in_8bit", false, config_path.string());
  bool packed_int = false;  // GPTQ or AWQ tensors (<prefix>.qweight)
  for (const auto& name : set.names()) {
    if (name.find(".quant_state.bitsandbytes__") != std::string::npos) bnb4 = true;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".SCB") == 0) bnb8 = true;
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".qweight") == 0) packed_int = true;
  }
  info.gptq_awq = quant::find_gptq_awq_config(path, config);
  if (info.gptq_awq) {
    info.kind = info.gptq_awq->method == quant::GptqAwqConfig::Method::gptq ? CheckpointKind::hf_gptq : CheckpointKind::hf_awq;
    if (info.quantization_config.is_null()) info.quantization_config = info.gptq_awq->to_json();
  } else if (packed_int) {
    throw Error(Errc::config, config_path.string(), "quantization_config",
                "the checkpoint holds *.qweight tensors (GPTQ or AWQ) but neither config.json's quantization_config, quantize_config.json "
                "nor quant_config.json says which (quant_method \"gptq\" or \"awq\")");
  } else if (bnb4) info.kind = CheckpointKind::hf_bnb_4bit;
  else if (bnb8) info.kind = CheckpointKind::hf_bnb_8bit;
  return info;
}

inline void to_json(nlohmann::json& j, const CheckpointInfo& c) {
  j = nlohmann::json{{"path", c.path.string()}, {"kind", to_string(c.kind)}, {"architecture", c.spec.architecture},
                     {"parameters", c.spec.parameter_count()}, {"weight_files", c.weight_files},
                     {"tokenizer_files", c.tokenizer_files}, {"bytes_on_disk", c.bytes_on_disk}};
  if (c.gptq_awq) j["quantization"] = c.gptq_awq->to_json();
}

}  // namespace curebench::loader
