#pragma once
// Quantize a model by name at run time: the LinearTransform that load_weights applies (a NamedQuant under
// MixedPrecisionRules; weights that do not fit the format stay dense and are listed), and
// save_bnb_checkpoint, which writes a Hugging Face folder's linears in bitsandbytes layout (nf4/fp4/int8)
// with a quantization_config in config.json, so it loads back through loader::Prequantized unchanged.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/io/safetensors_writer.hpp"
#include "curebench/model/safetensors_source.hpp"
#include "curebench/model/weights.hpp"
#include "curebench/quant/bnb_checkpoint.hpp"
#include "curebench/quant/mixed_precision.hpp"
#include "curebench/quant/named_config.hpp"

namespace curebench::quant {

// `kept` (optional) collects the names of linears left dense.
inline model::LinearTransform make_transform(const NamedQuant& q, const MixedPrecisionRules& rules, std::int64_t num_layers,
                                             std::shared_ptr<std::vector<std::string>> kept = nullptr) {
  return [q, rules, num_layers, kept](const std::string& name, at::Tensor w) -> Weight {
    if (rules.keep(name, num_layers) || !q.fits(w)) {
      if (kept) kept->push_back(name);
      return Dense{std::move(w)};
    }
    return q.quantize(w);
  };
}

// HF tensor names of decoder linears (the inputs of a transform): model.layers.N.{self_attn,mlp}.*_proj.weight, lm_head.weight.
inline bool is_hf_linear_name(const std::string& name) {
  if (name == "lm_head.weight") return true;
  if (name.rfind("model.layers.", 0) != 0) return false;
  for (const char* s : {".self_attn.q_proj.weight", ".self_attn.k_proj.weight", ".self_attn.v_proj.weight", ".self_attn.o_proj.weight",
                        ".mlp.gate_proj.weight", ".mlp.up_proj.weight", ".mlp.down_proj.weight"}) {
    const std::string suffix = s;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
  }
  return false;
}

struct SavedCheckpoint {
  std::filesystem::path dir;
  std::int64_t quantized = 0;
  std::vector<std::string> kept_dense;
  std::int64_t bytes = 0;
};

inline void to_json(nlohmann::json& j, const SavedCheckpoint& s) {
  j = nlohmann::json{{"dir", s.dir.string()}, {"quantized_linears", s.quantized}, {"kept_dense", s.kept_dense}, {"bytes", s.bytes}};
}

// The transformers quantization_config block for a bnb checkpoint written with `q`.
inline nlohmann::json bnb_quantization_config(const NamedQuant& q, const std::vector<std::string>& skipped) {
  std::vector<std::string> skip;
  for (const auto& n : skipped) skip.push_back(n.size() > 7 && n.ends_with(".weight") ? n.substr(0, n.size() - 7) : n);
  if (q.name == "int8")
    return {{"quant_method", "bitsandbytes"}, {"load_in_8bit", true}, {"load_in_4bit", false}, {"llm_int8_threshold", 6.0},
            {"llm_int8_skip_modules", skip}};
  return {{"quant_method", "bitsandbytes"}, {"load_in_4bit", true}, {"load_in_8bit", false},
          {"bnb_4bit_quant_type", q.name.rfind("fp4", 0) == 0 ? "fp4" : "nf4"}, {"bnb_4bit_use_double_quant", q.name.ends_with("-dq")},
          {"bnb_4bit_compute_dtype", "bfloat16"}, {"bnb_4bit_quant_storage", "uint8"}, {"llm_int8_skip_modules", skip}};
}

// Writes `src` (an HF folder) quantized with `q` into `out` as one model.safetensors in bnb layout, plus
// config.json (with quantization_config), generation_config.json and the tokenizer files. Non-linear
// tensors are copied as stored. Everything is held in memory before the write (fine for small models).
inline SavedCheckpoint save_bnb_checkpoint(const std::filesystem::path& src, const std::filesystem::path& out, const NamedQuant& q,
                                           const MixedPrecisionRules& rules = {}) {
  namespace fs = std::filesystem;
  require(q.bnb_layout, Errc::unsupported, out.string(), "--quant",
          q.name + " has no bitsandbytes checkpoint layout; --out writes nf4, nf4-dq, fp4 or int8");
  auto config = read_json_file((src / "config.json").string());
  require(config.is_object(), Errc::config, (src / "config.json").string(), "", "not a JSON object");
  const auto num_layers = json_get_or(config, "num_hidden_layers", std::int64_t{0}, (src / "config.json").string());
  io::SafetensorsSet set(src);
  io::SafetensorsWriter writer;
  SavedCheckpoint saved;
  saved.dir = out;
  for (const auto& name : set.names()) {
    auto t = model::SafetensorsSource::to_tensor(set.at(name));
    if (is_hf_linear_name(name)) {
      const auto prefix = name.substr(0, name.size() - 7);
      if (rules.keep(name, num_layers) || !q.fits(t)) {
        saved.kept_dense.push_back(name);
        write_bnb_linear(writer, prefix, Dense{t});
      } else {
        write_bnb_linear(writer, prefix, q.quantize(t));
        ++saved.quantized;
      }
    } else {
      bnb_detail::add(writer, name, t);
    }
  }
  fs::create_directories(out);
  writer.set_metadata("format", "pt");
  writer.write((out / "model.safetensors").string());
  config["quantization_config"] = bnb_quantization_config(q, saved.kept_dense);
  atomic_write((out / "config.json").string(), config.dump(2) + "\n");
  for (const char* f : {"generation_config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "tok512.bin"})
    if (fs::exists(src / f)) fs::copy_file(src / f, out / f, fs::copy_options::overwrite_existing);
  saved.bytes = static_cast<std::int64_t>(fs::file_size(out / "model.safetensors"));
  return saved;
}

}  // namespace curebench::quant
