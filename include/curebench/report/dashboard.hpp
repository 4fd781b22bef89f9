#pragma once
// Entry point of the dashboards: draw every figure of a run folder as PNG and SVG, plus report.md.
//   auto drawn = curebench::report::draw_dashboard("runs/2025-01-01");   // writes runs/2025-01-01/report/
// Each file appears whole or not at all: gnuplot draws to temp names, which are renamed once it succeeded.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/report/dashboard/figures.hpp"
#include "curebench/report/dashboard/gnuplot_runner.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/report_page.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace curebench::report {

struct DrawResult {
  std::filesystem::path out_dir;
  std::vector<std::filesystem::path> files;  // every file written, report.md last
};

inline void to_json(nlohmann::json& j, const DrawResult& r) {
  j = nlohmann::json{{"out_dir", r.out_dir.string()}, {"files", nlohmann::json::array()}};
  for (auto& f : r.files) j["files"].push_back(f.string());
}

// The whole gnuplot script of a report; `output_of(stem, ext)` names the file each figure goes to.
template <class OutputOf>
std::string report_script(const RunData& run, const std::vector<Figure>& figs, OutputOf&& output_of) {
  gp::Script s;
  const std::string font = "font \"DejaVu Sans,12\"";
  for (auto& f : figs) {
    const std::string size = " size " + std::to_string(f.width) + "," + std::to_string(f.height);
    s << "set terminal pngcairo" << size << " noenhanced " << font << " background rgb \"white\" linewidth 1.2\n"
      << "set output " << gp::str(output_of(f.stem, ".png")) << "\n";
    figure_body(s, f, run);
    s << "set output\n";
    s << "set terminal svg" << size << " noenhanced " << font << " background rgb \"white\" linewidth 1.2\n"
      << "set output " << gp::str(output_of(f.stem, ".svg")) << "\n";
    figure_body(s, f, run);
    s << "set output\n";
  }
  return s.text();
}

inline DrawResult draw_dashboard(const RunData& run, const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  find_gnuplot();  // refuse before touching the output folder
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw Error(Errc::io, out_dir.string(), "", "cannot create the report folder: " + ec.message());
  const auto figs = figures();
  const std::string tmp_suffix = ".tmp." + std::to_string(::getpid());
  std::vector<std::pair<fs::path, fs::path>> renames;  // temp -> final
  auto script = report_script(run, figs, [&](const std::string& stem, const std::string& ext) {
    auto final_path = out_dir / (stem + ext);
    auto tmp = out_dir / ("." + stem + ext + tmp_suffix);
    renames.emplace_back(tmp, final_path);
    return tmp.string();
  });
  auto drop_temps = [&] {
    for (auto& [tmp, _] : renames) fs::remove(tmp, ec);
  };
  try {
    run_gnuplot(script);
  } catch (...) {
    drop_temps();
    throw;
  }
  DrawResult result{out_dir, {}};
  for (auto& [tmp, final_path] : renames) {
    if (!fs::exists(tmp) || fs::file_size(tmp) == 0) {
      drop_temps();
      throw Error(Errc::internal, final_path.string(), "", "gnuplot finished but did not write this file");
    }
    if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
      drop_temps();
      throw Error(Errc::io, final_path.string(), "", "cannot rename the drawn figure into place");
    }
    result.files.push_back(final_path);
  }
  atomic_write(out_dir / "report.md", report_markdown(run, figs));
  result.files.push_back(out_dir / "report.md");
  return result;
}

// Reads RUN_DIR/results.json (+ models/*/samples.jsonl) and draws into out_dir (default RUN_DIR/report).
inline DrawResult draw_dashboard(const std::filesystem::path& run_dir,
                                 const std::optional<std::filesystem::path>& out_dir = std::nullopt) {
  auto run = read_run_data(run_dir);
  return draw_dashboard(run, out_dir ? *out_dir : run_dir / "report");
}

}  // namespace curebench::report
