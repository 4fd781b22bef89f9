#pragma once
// Load a Hugging Face checkpoint folder (config.json + safetensors shards) into a Decoder.
#include <filesystem>
#include <optional>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/io/generation_config.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/model/decoder.hpp"
#include "curebench/model/hf_config.hpp"
#include "curebench/model/safetensors_source.hpp"
#include "curebench/quant/gptq_awq_checkpoint.hpp"

namespace curebench::model {

// "f32" | "float32" | "bf16" | "bfloat16" | "f16" | "float16" -> ScalarType.
inline at::ScalarType parse_dtype_name(const std::string& s, const std::string& field = "dtype") {
  if (s == "f32" || s == "float32" || s == "float") return at::kFloat;
  if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
  if (s == "f16" || s == "float16" || s == "half") return at::kHalf;
  throw Error(Errc::invalid_argument, "", field, "unknown dtype '" + s + "' (f32, bf16, f16)");
}

inline std::string dtype_short_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "f32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "f16";
    default: return "other";
  }
}

// "cpu" | "cuda" | "cuda:N", refused when this build or machine has no CUDA.
inline at::Device parse_device_name(const std::string& s) {
  if (s == "cpu") return at::kCPU;
  if (s.rfind("cuda", 0) == 0) {
    if (!compat::cuda_available())
      throw Error(Errc::unsupported, "", "device", "CUDA requested but " + std::string(compat::kTorch2 ? "no GPU is visible" : "this libtorch has no CUDA"));
    return at::Device(s);
  }
  throw Error(Errc::invalid_argument, "", "device", "unknown device '" + s + "' (cpu, cuda, cuda:N)");
}

struct LoadOptions {
  std::optional<at::ScalarType> dtype;  // default: the checkpoint's declared dtype
  at::Device device = at::kCPU;
  LinearTransform transform;            // e.g. quantize linears while loading
  SafetensorsSource::PrequantizedReader prequantized;  // e.g. bnb-4bit linears kept as stored
};

struct LoadedModel {
  std::filesystem::path dir;
  io::GenerationConfig generation;
  Decoder decoder;
};

inline std::filesystem::path require_config(const std::filesystem::path& dir) {
  auto config = dir / "config.json";
  if (!std::filesystem::exists(config)) throw Error(Errc::not_found, dir.string(), "config.json", "no config.json in the model folder");
  return config;
}

// The checkpoint folder's generation_config.json; its EOS ids fill in where config.json names none.
inline io::GenerationConfig read_generation_defaults(const std::filesystem::path& dir, ModelSpec& spec) {
  auto generation = io::read_generation_config(dir / "generation_config.json");
  if (spec.eos_ids.empty()) spec.eos_ids = generation.eos_ids;
  return generation;
}

inline LoadedModel load_hf_model(const std::filesystem::path& dir, const LoadOptions& opt = {}) {
  auto spec = load_hf_config(require_config(dir));
  auto generation = read_generation_defaults(dir, spec);
  const auto dtype = opt.dtype.value_or(parse_dtype_name(spec.dtype, "config.json dtype"));
  io::SafetensorsSet set(dir);
  // A GPTQ or AWQ folder (quant_method in config.json, quantize_config.json or quant_config.json) can only be
  // read by its own reader: its linears have no <prefix>.weight.
  auto reader = opt.prequantized;
  if (auto packed = quant::find_gptq_awq_config(dir, read_json_file((dir / "config.json").string()))) reader = quant::gptq_awq_reader(*packed);
  SafetensorsSource src(set, dtype, opt.device, reader);
  auto weights = load_weights(spec, src, opt.transform);
  return LoadedModel{dir, std::move(generation), Decoder(std::move(spec), std::move(weights), dtype, opt.device)};
}

}  // namespace curebench::model
