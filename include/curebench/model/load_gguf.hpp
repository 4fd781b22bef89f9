#pragma once
// Load a GGUF file into a Decoder (weights as stored: quantized blocks stay blocks), and load_model(path)
// that takes either a Hugging Face folder (plain or bitsandbytes pre-quantized) or a .gguf file.
#include <filesystem>

#include "curebench/model/gguf_source.hpp"
#include "curebench/model/load.hpp"
#include "curebench/quant/bnb_checkpoint.hpp"

namespace curebench::model {

inline bool is_gguf_path(const std::filesystem::path& p) {
  return std::filesystem::is_regular_file(p) && p.extension() == ".gguf";
}

// The compute dtype when none is asked for: bf16 on CUDA, f32 on the CPU (GGUF keeps f32 norms and its
// quantized blocks decode to f32; 16-bit CPU matmuls are slow or missing in libtorch 1.13).
inline at::ScalarType default_compute_dtype(const at::Device& d) { return d.is_cuda() ? at::kBFloat16 : at::kFloat; }

// GGUF has no generation_config.json: eos/bos come from the tokenizer keys (greedy defaults otherwise).
inline io::GenerationConfig gguf_generation_config(const ModelSpec& s) {
  io::GenerationConfig g;
  g.eos_ids = s.eos_ids;
  g.bos_id = s.bos_id;
  g.pad_id = s.pad_id;
  return g;
}

inline LoadedModel load_gguf_model(const std::filesystem::path& path, const LoadOptions& opt = {}) {
  io::GGUFFile f(path.string());
  auto spec = spec_from_gguf(f);
  const auto dtype = opt.dtype.value_or(default_compute_dtype(opt.device));
  GGUFSource src(f, spec, dtype, opt.device);
  auto weights = load_weights(spec, src, opt.transform);
  auto generation = gguf_generation_config(spec);
  return LoadedModel{path, std::move(generation), Decoder(std::move(spec), std::move(weights), dtype, opt.device)};
}

// A .gguf file, or a Hugging Face folder whose bitsandbytes-quantized linears (if any) are kept as stored.
inline LoadedModel load_model(const std::filesystem::path& path, const LoadOptions& opt = {}) {
  if (is_gguf_path(path)) return load_gguf_model(path, opt);
  auto o = opt;
  if (!o.prequantized) o.prequantized = quant::read_prequantized_linear;
  return load_hf_model(path, o);
}

}  // namespace curebench::model
