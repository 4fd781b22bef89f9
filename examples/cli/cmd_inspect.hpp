#pragma once
// `curebench inspect PATH`: what a safetensors file, a sharded index or a checkpoint folder holds.
#include <filesystem>
#include <map>

#include "cli_common.hpp"
#include "curebench/io/gguf_json.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/loader/budget.hpp"
#include "curebench/model/hf_config.hpp"
#include "curebench/quant/gptq_awq_checkpoint.hpp"

namespace cli {

inline nlohmann::json inspect_safetensors(const std::filesystem::path& path) {
  curebench::io::SafetensorsSet set(path);
  nlohmann::json j;
  j["path"] = path.string();
  j["files"] = nlohmann::json::array();
  std::map<std::string, std::int64_t> params_by_dtype;
  std::uint64_t total_bytes = 0;
  std::int64_t total_params = 0;
  for (auto& shard : set.shards()) {
    j["files"].push_back(*shard);
    for (auto& t : shard->tensors()) {
      params_by_dtype[std::string(curebench::dtype_name(t.dtype))] += t.numel();
      total_params += t.numel();
      total_bytes += t.nbytes();
    }
  }
  j["tensor_count"] = set.size();
  j["total_elements"] = total_params;
  j["total_bytes"] = total_bytes;
  j["elements_by_dtype"] = params_by_dtype;
  // A checkpoint folder: architecture, parameter count and what it needs at each weight format.
  auto dir = std::filesystem::is_directory(path) ? path : path.parent_path();
  if (std::filesystem::exists(dir / "config.json")) {
    auto spec = curebench::model::load_hf_config(dir / "config.json");
    j["model"] = spec;
    nlohmann::json est;
    namespace ld = curebench::loader;
    for (auto f : {ld::WeightFormat::bf16, ld::WeightFormat::int8, ld::WeightFormat::nf4_double_quant, ld::WeightFormat::int4_g128}) {
      auto plan = ld::plan_memory(spec, f, {.batch = 1, .context = 4096});
      est[ld::to_string(f)] = ld::to_json_plan(plan);
    }
    // GPTQ / AWQ: how it is stored, and its estimate as stored.
    if (auto q = curebench::quant::find_gptq_awq_config(dir, curebench::read_json_file((dir / "config.json").string()))) {
      j["quantization"] = q->to_json();
      const auto bits = ld::packed_int_bits_per_weight(q->bits, q->group_size, spec.hidden_size, spec.hidden_size,
                                                       q->method == curebench::quant::GptqAwqConfig::Method::gptq);
      est["as-stored"] = ld::to_json_plan(ld::plan_memory_bits(spec, bits, 2, {.batch = 1, .context = 4096}));
    }
    j["memory_estimate"] = est;
    j["memory_estimate_workload"] = {{"batch", 1}, {"context", 4096}};
  }
  return j;
}

inline void print_inspect_text(const nlohmann::json& j) {
  for (auto& f : j["files"]) {
    std::cout << f["path"].get<std::string>() << ": " << f["tensors"].size() << " tensors, "
              << f["file_bytes"].get<std::uint64_t>() << " bytes (header " << f["header_bytes"].get<std::uint64_t>()
              << ")\n";
    for (auto& t : f["tensors"]) {
      std::cout << "  " << t["name"].get<std::string>() << "  " << t["dtype"].get<std::string>() << " [";
      bool first = true;
      for (auto& d : t["shape"]) {
        std::cout << (first ? "" : ", ") << d.get<std::int64_t>();
        first = false;
      }
      std::cout << "]  " << t["nbytes"].get<std::uint64_t>() << " B\n";
    }
  }
  std::cout << "total: " << j["tensor_count"] << " tensors, " << j["total_elements"] << " elements, "
            << j["total_bytes"] << " bytes\n";
  if (j.contains("model")) {
    std::cout << "model: " << j["model"]["architecture"].get<std::string>() << ", " << j["model"]["parameters"]
              << " parameters, " << j["model"]["num_layers"] << " layers, dtype " << j["model"]["dtype"].get<std::string>() << "\n";
    if (j.contains("quantization")) {
      const auto& q = j["quantization"];
      std::cout << "quantization: " << q["format"].get<std::string>() << ", " << q["bits"] << " bits, group size " << q["group_size"]
                << ", act-order " << (q["act_order"].get<bool>() ? "yes" : "no") << ", sym " << (q["sym"].get<bool>() ? "yes" : "no")
                << " (" << q["source"].get<std::string>() << ")\n";
    }
    for (auto& [fmt, plan] : j["memory_estimate"].items())
      std::cout << "  " << fmt << ": weights " << plan["weight_bytes"].get<std::int64_t>() / 1048576.0 << " MiB, total at batch 1 x 4096 "
                << plan["total_bytes"].get<std::int64_t>() / 1048576.0 << " MiB\n";
  }
}

// GGUF: metadata keys with their types (long arrays summarized) and the tensor table.
inline void print_gguf_text(const nlohmann::json& j) {
  std::cout << j["path"].get<std::string>() << ": GGUF v" << j["version"] << ", " << j["metadata_count"] << " keys, "
            << j["tensor_count"] << " tensors, " << j["file_bytes"] << " bytes (alignment " << j["alignment"] << ")\n";
  for (auto& kv : j["metadata"]) std::cout << "  " << kv["key"].get<std::string>() << " (" << kv["type"].get<std::string>() << ") = " << curebench::dump_json(kv["value"]) << "\n";
  for (auto& t : j["tensors"])
    std::cout << "  " << t["name"].get<std::string>() << "  " << t["type"].get<std::string>() << " " << t["shape"].dump() << "  "
              << t["nbytes"].get<std::uint64_t>() << " B\n";
  std::cout << "total: " << j["tensor_count"] << " tensors, " << j["total_elements"] << " elements, " << j["total_bytes"] << " bytes\n";
}

inline void add_inspect(CLI::App& app, Context& ctx) {
  static std::string path;
  auto* sub = app.add_subcommand("inspect", "Show the tensors (names, dtypes, shapes, sizes) of a safetensors file or folder, or a GGUF file's metadata and tensors");
  sub->add_option("path", path, "A .safetensors file, a model.safetensors.index.json, a .gguf file, or a folder")->required();
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    if (std::filesystem::path(path).extension() == ".gguf") {
      auto j = curebench::io::gguf_summary_json(curebench::io::GGUFFile(path));
      if (ctx.json) print_json(j);
      else print_gguf_text(j);
      return;
    }
    auto j = inspect_safetensors(path);
    if (ctx.json) print_json(j);
    else print_inspect_text(j);
  });
}

}  // namespace cli
