#pragma once
// Checkpoint discovery: walk a folder tree, report every loadable checkpoint (config.json + weights,
// bnb pre-quantized folders, *.gguf files) and every candidate that was skipped, with the reason —
// instead of the seed's "first folder with a config.json, in filesystem order".
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "curebench/loader/checkpoint.hpp"

namespace curebench::loader {

struct Skipped {
  std::filesystem::path path;
  std::string reason;
};

struct Discovery {
  std::vector<CheckpointInfo> found;
  std::vector<Skipped> skipped;
  std::vector<std::filesystem::path> gguf_files;  // single-file checkpoints
};

inline Discovery discover(const std::filesystem::path& root, int max_depth = 8) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(root)) throw Error(Errc::not_found, root.string(), "", "not a folder");
  Discovery d;
  std::vector<fs::path> dirs{root};
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it.depth() >= max_depth) it.disable_recursion_pending();
    if (it->is_directory()) dirs.push_back(it->path());
    else if (it->is_regular_file() && it->path().extension() == ".gguf") d.gguf_files.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end());
  std::sort(d.gguf_files.begin(), d.gguf_files.end());
  for (const auto& dir : dirs) {
    bool has_config = fs::exists(dir / "config.json");
    bool has_weights = false;
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors" || e.path().filename() == "model.safetensors.index.json") has_weights = true;
    if (!has_config && !has_weights) continue;
    if (!has_config) {
      d.skipped.push_back({dir, "safetensors weights but no config.json"});
      continue;
    }
    if (!has_weights) {
      bool pytorch_bin = fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json");
      d.skipped.push_back({dir, pytorch_bin ? "only pickled pytorch_model.bin weights (unsafe to load; convert to safetensors)"
                                            : "config.json but no weights"});
      continue;
    }
    try {
      auto info = inspect_checkpoint(dir);
      if (info.tokenizer_files.empty()) d.skipped.push_back({dir, "loadable, but no tokenizer files (tokenizer.json / tokenizer.model): text prompts impossible"});
      d.found.push_back(std::move(info));
    } catch (const Error& e) {
      d.skipped.push_back({dir, e.what()});
    }
  }
  // Single-file GGUF checkpoints are checkpoints too (kind gguf); unreadable ones are skipped with the reason.
  for (const auto& g : d.gguf_files) {
    try {
      d.found.push_back(inspect_gguf(g));
    } catch (const Error& e) {
      d.skipped.push_back({g, e.what()});
    }
  }
  return d;
}

inline void to_json(nlohmann::json& j, const Discovery& d) {
  j = nlohmann::json{{"found", d.found}, {"skipped", nlohmann::json::array()}, {"gguf_files", nlohmann::json::array()}};
  for (auto& s : d.skipped) j["skipped"].push_back({{"path", s.path.string()}, {"reason", s.reason}});
  for (auto& g : d.gguf_files) j["gguf_files"].push_back(g.string());
}

}  // namespace curebench::loader
