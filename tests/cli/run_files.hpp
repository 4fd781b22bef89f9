#pragma once
// What a test reads back from a run folder: the lines of a samples log (torn last line flagged) and results.json
// without what legitimately differs between two runs of one config.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/run_cli.hpp"

// An empty folder of this test process under $TMPDIR: <prefix>.<pid>.<name> (left over from an earlier run, emptied).
inline std::filesystem::path fresh_scratch_dir(const std::string& prefix, const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / (prefix + "." + std::to_string(::getpid()) + "." + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Lines of the samples log; `complete` is false when the last one has no newline (a torn record).
struct LogLines {
  std::vector<std::string> lines;
  bool complete = true;
};
inline LogLines read_lines(const std::filesystem::path& p) {
  LogLines r;
  std::string text = slurp(p.string());
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      r.complete = false;
      r.lines.push_back(text.substr(pos));
      break;
    }
    r.lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return r;
}

// Timings inside the per-split metrics: measured, so they differ between any two runs.
inline void drop_timings(nlohmann::json& j) {
  if (j.is_object()) {
    j.erase("latency_ms_mean");
    j.erase("tokens_per_second");
  }
  if (j.is_structured())
    for (auto& v : j) drop_timings(v);
}

// results.json without what legitimately differs between runs (times, speeds, memory, load attempts).
inline nlohmann::json comparable_results(const std::filesystem::path& results) {
  auto r = nlohmann::json::parse(slurp(results.string()));
  nlohmann::json models = nlohmann::json::array();
  for (auto& m : r["models"]) {
    drop_timings(m["splits"]);
    models.push_back({m["name"], m["splits"], m["generalization_gap"], m["quant"], m["parameters"]});
  }
  return {{"config_hash", r["run"]["config_hash"]}, {"models", models}};
}

