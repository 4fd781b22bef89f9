#pragma once
// GPTQ and AWQ Hugging Face safetensors checkpoints: their config (transformers' GPTQConfig / AwqConfig in
// config.json's quantization_config, AutoGPTQ's quantize_config.json, AutoAWQ's quant_config.json) and their
// packed linears, read as stored into quant::GPTQ / quant::AWQ after every tensor's dtype, shape and range is
// checked. A module with <prefix>.weight and no <prefix>.qweight (lm_head, embeddings, modules_to_not_convert)
// stays dense. Layouts: gptq.hpp, awq.hpp; sources: docs/quantization.md.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::quant {

struct GptqAwqConfig {
  enum class Method { gptq, awq } method = Method::gptq;
  int bits = 4;
  std::int64_t group_size = 128;  // -1: one group over the whole input (GPTQ only)
  bool desc_act = false;          // GPTQ act-order: g_idx is a permutation of groups, not i / group_size
  bool sym = true;                // GPTQ symmetric: every zero is 2^(bits-1)
  bool zeros_minus_one = true;    // GPTQ classic "gptq" checkpoint_format; "gptq_v2" stores true zeros
  std::string source;             // the file the config came from

  std::string format() const { return method == Method::awq ? "awq-gemm" : zeros_minus_one ? "gptq" : "gptq_v2"; }
  nlohmann::json to_json() const {
    return {{"format", format()}, {"bits", bits}, {"group_size", group_size}, {"act_order", desc_act},
            {"sym", method == Method::awq ? false : sym}, {"source", source}};
  }
};

namespace gptq_awq_detail {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline at::Tensor load(const io::SafetensorsSet::Ref& ref) {
  auto st = compat::to_scalar_type(ref.info->dtype, ref.file->path(), ref.info->name);
  auto bytes = ref.file->bytes(*ref.info);
  return at::from_blob(const_cast<std::byte*>(bytes.data()), ref.info->shape, at::TensorOptions().dtype(st)).clone();
}

inline std::string shape_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The tensor <prefix>.<field>, required, of one of `dtypes`, 2-D or 1-D as `dims` says.
inline io::SafetensorsSet::Ref require_tensor(const io::SafetensorsSet& set, const std::string& prefix, const std::string& field,
                                              std::initializer_list<DType> dtypes, std::size_t dims, const std::string& what) {
  const auto name = prefix + "." + field;
  auto ref = set.find(name);
  if (!ref) throw Error(Errc::not_found, set.origin(), name, "missing " + field + " (" + what + ") beside " + prefix + ".qweight");
  const auto& info = *ref->info;
  if (std::find(dtypes.begin(), dtypes.end(), info.dtype) == dtypes.end())
    throw Error(Errc::format, ref->file->path(), name, field + " is " + std::string(dtype_name(info.dtype)) + "; expected " + what);
  if (info.shape.size() != dims)
    throw Error(Errc::shape, ref->file->path(), name, field + " has " + std::to_string(info.shape.size()) + " dims; expected " + what);
  return *ref;
}

inline void require_shape(const io::SafetensorsSet::Ref& ref, const std::string& field, const std::vector<std::int64_t>& want) {
  if (ref.info->shape != want)
    throw Error(Errc::shape, ref.file->path(), ref.info->name, field + " shape " + shape_str(ref.info->shape) + ", expected " + shape_str(want));
}

}  // namespace gptq_awq_detail

// A quantization_config object (or a quantize_config.json / quant_config.json body) -> GptqAwqConfig, or
// nullopt when it describes neither GPTQ nor AWQ. `file_kind`: "gptq" / "awq" when the file name already says it.
inline std::optional<GptqAwqConfig> parse_gptq_awq_config(const nlohmann::json& qc, const std::string& path, const std::string& file_kind = "") {
  using namespace gptq_awq_detail;
  if (!qc.is_object()) return std::nullopt;
  auto method = lower(json_get_or<std::string>(qc, "quant_method", file_kind, path));
  GptqAwqConfig c;
  c.source = path;
  if (method == "gptq") {
    c.method = GptqAwqConfig::Method::gptq;
    c.bits = json_get_or<int>(qc, "bits", 4, path);
    c.group_size = json_get_or<std::int64_t>(qc, "group_size", 128, path);
    c.desc_act = json_get_or<bool>(qc, "desc_act", false, path);
    c.sym = json_get_or<bool>(qc, "sym", true, path);
    // transformers / AutoGPTQ: checkpoint_format; GPTQModel's newer configs: format.
    auto fmt = lower(json_get_or<std::string>(qc, "checkpoint_format", json_get_or<std::string>(qc, "format", "gptq", path), path));
    if (fmt == "gptq_v2") c.zeros_minus_one = false;
    else if (fmt != "gptq")
      throw Error(Errc::unsupported, path, "checkpoint_format", "GPTQ checkpoint_format \"" + fmt + "\" is not read (gptq and gptq_v2 are)");
    if (c.bits != 4 && c.bits != 8)
      throw Error(Errc::unsupported, path, "bits", "GPTQ with " + std::to_string(c.bits) + " bits is not read (4 and 8 are)");
    if (c.group_size != -1 && c.group_size <= 0)
      throw Error(Errc::config, path, "group_size", "expected -1 or a positive group size, found " + std::to_string(c.group_size));
    return c;
  }
  if (method == "awq") {
    c.method = GptqAwqConfig::Method::awq;
    c.bits = json_get_or<int>(qc, "bits", json_get_or<int>(qc, "w_bit", 4, path), path);
    c.group_size = json_get_or<std::int64_t>(qc, "group_size", json_get_or<std::int64_t>(qc, "q_group_size", 128, path), path);
    c.sym = false;
    auto version = lower(json_get_or<std::string>(qc, "version", "gemm", path));
    if (version == "gemv" || version == "gemv_fast")
      throw Error(Errc::unsupported, path, "version",
                  "AWQ \"" + version + "\" layout (qweight packed along the input, [out, in / 8]) is not read; only the \"gemm\" layout is");
    if (version != "gemm") throw Error(Errc::unsupported, path, "version", "AWQ version \"" + version + "\" is not read; only \"gemm\" is");
    if (!json_get_or<bool>(qc, "zero_point", true, path))
      throw Error(Errc::unsupported, path, "zero_point", "AWQ without zero points is not read");
    if (c.bits != 4) throw Error(Errc::unsupported, path, "bits", "AWQ with " + std::to_string(c.bits) + " bits is not read (4 is)");
    if (c.group_size <= 0) throw Error(Errc::config, path, "group_size", "AWQ needs a positive group size, found " + std::to_string(c.group_size));
    return c;
  }
  return std::nullopt;
}

// The GPTQ/AWQ config of a checkpoint folder: config.json's quantization_config first, then AutoGPTQ's
// quantize_config.json, then AutoAWQ's quant_config.json.
inline std::optional<GptqAwqConfig> find_gptq_awq_config(const std::filesystem::path& dir, const nlohmann::json& config_json) {
  if (auto q = config_json.find("quantization_config"); q != config_json.end() && q->is_object())
    if (auto c = parse_gptq_awq_config(*q, (dir / "config.json").string() + ":quantization_config")) return c;
  if (auto p = dir / "quantize_config.json"; std::filesystem::is_regular_file(p)) return parse_gptq_awq_config(read_json_file(p.string()), p.string(), "gptq");
  if (auto p = dir / "quant_config.json"; std::filesystem::is_regular_file(p)) return parse_gptq_awq_config(read_json_file(p.string()), p.string(), "awq");
  return std::nullopt;
}

// The GPTQ/AWQ linear at `prefix` (e.g. "model.layers.0.mlp.down_proj"), or nullopt when the module is stored
// dense (no <prefix>.qweight). Every shape follows from qweight and the config, and is checked.
inline std::optional<Weight> read_gptq_awq_linear(const io::SafetensorsSet& set, const std::string& prefix, const GptqAwqConfig& c) {
  using namespace gptq_awq_detail;
  if (!set.contains(prefix + ".qweight")) return std::nullopt;
  auto qw = require_tensor(set, prefix, "qweight", {DType::I32}, 2, "int32 2-D packed codes");
  auto sc = require_tensor(set, prefix, "scales", {DType::F16, DType::BF16, DType::F32}, 2, "float [groups, out] scales");
  auto qz = require_tensor(set, prefix, "qzeros", {DType::I32}, 2, "int32 [groups, out * bits / 32] packed zeros");
  const auto per_word = 32 / c.bits;
  const auto r0 = qw.info->shape[0], r1 = qw.info->shape[1];
  if (c.method == GptqAwqConfig::Method::awq) {
    AWQ a;
    a.in = r0, a.out = r1 * per_word, a.group_size = c.group_size;
    if (a.in % c.group_size != 0)
      throw Error(Errc::shape, qw.file->path(), prefix + ".qweight", "AWQ gemm qweight [in, out / 8] has in = " + std::to_string(a.in) +
                                                                           ", not a multiple of group_size " + std::to_string(c.group_size));
    const auto groups = a.in / c.group_size;
    require_shape(sc, "scales", {groups, a.out});
    require_shape(qz, "qzeros", {groups, r1});
    a.qweight = load(qw), a.qzeros = load(qz), a.scales = load(sc);
    return a;
  }
  GPTQ g;
  g.bits = c.bits, g.zeros_minus_one = c.zeros_minus_one;
  g.in = r0 * per_word, g.out = r1;
  if (g.out % per_word != 0)
    throw Error(Errc::shape, qw.file->path(), prefix + ".qweight", "out = " + std::to_string(g.out) + " is not a multiple of " +
                                                                         std::to_string(per_word) + " (qzeros packs " + std::to_string(per_word) + " zeros per int32)");
  const auto groups = c.group_size > 0 ? (g.in + c.group_size - 1) / c.group_size : 1;
  require_shape(sc, "scales", {groups, g.out});
  require_shape(qz, "qzeros", {groups, g.out / per_word});
  g.qweight = load(qw), g.qzeros = load(qz), g.scales = load(sc);
  if (auto gi = set.find(prefix + ".g_idx")) {
    auto ref = require_tensor(set, prefix, "g_idx", {DType::I32, DType::I64}, 1, "int32 [in] group of each input row");
    require_shape(ref, "g_idx", {g.in});
    g.g_idx = load(ref).to(at::kInt);
    const auto lo = g.in ? g.g_idx.min().item<int>() : 0, hi = g.in ? g.g_idx.max().item<int>() : 0;
    if (lo < 0 || hi >= groups)
      throw Error(Errc::format, ref.file->path(), ref.info->name, "g_idx holds groups " + std::to_string(lo) + ".." + std::to_string(hi) +
                                                                     ", outside 0.." + std::to_string(groups - 1));
  } else {
    if (c.desc_act) throw Error(Errc::not_found, set.origin(), prefix + ".g_idx", "missing g_idx: desc_act (act-order) checkpoints need it");
    const auto gs = c.group_size > 0 ? c.group_size : std::max<std::int64_t>(g.in, 1);
    g.g_idx = at::div(at::arange(g.in, at::TensorOptions().dtype(at::kLong)), gs, "floor").to(at::kInt);
  }
  if (c.sym) {  // a symmetric checkpoint's zeros are all 2^(bits-1); anything else disagrees with its config
    auto z = g.zeros();
    const auto mid = 1 << (c.bits - 1);
    if (!z.eq(mid).all().item<bool>())
      throw Error(Errc::format, qz.file->path(), qz.info->name, "qzeros holds zeros from " + std::to_string(z.min().item<int>()) + " to " +
                                                                   std::to_string(z.max().item<int>()) + " but the config says sym (every zero " +
                                                                   std::to_string(mid) + ")");
  }
  return g;
}

// A PrequantizedReader for model::SafetensorsSource.
inline auto gptq_awq_reader(GptqAwqConfig c) {
  return [c = std::move(c)](const io::SafetensorsSet& set, const std::string& prefix) { return read_gptq_awq_linear(set, prefix, c); };
}

}  // namespace curebench::quant
