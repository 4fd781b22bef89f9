#pragma once
// `curebench study`'s figures (issue 21 point 4): one per task, peak memory (x, MiB) against the task's headline
// score (y: entity F1, or micro F1 for RE and multi-label) with its 95 % interval as an error bar, one point per
// precision joined per (model, method), each point labelled with its precision. Drawn from the study's
// results.json (eval/tasks/study.hpp); every text from the config (model, method, task, precision names) reaches
// gnuplot only through gp::str (report/dashboard/gnuplot_script.hpp), numbers through datablocks.
// Files: DIR/figures/<task>.png and .svg, each whole or not at all (drawn in a private mkdtemp folder, checked
// complete, renamed into place).
#include "curebench/core/error.hpp"
#include "curebench/report/dashboard.hpp"
#include "curebench/report/dashboard/gnuplot_runner.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"

#include <nlohmann/json.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace curebench::report {

// The headline figure of a task family: (key in the score JSON, axis label).
inline std::pair<std::string, std::string> study_headline(const std::string& family) {
  if (family == "ner") return {"f1", "entity F1 (95 % CI)"};
  return {"micro_f1", family == "re" ? "micro F1 without the negative label (95 % CI)" : "micro F1 (95 % CI)"};
}

// gnuplot commands for one task's figure (the terminal and output are set by the caller).
inline void study_figure_body(gp::Script& s, const nlohmann::json& results, const nlohmann::json& task) {
  const auto name = task.at("name").get<std::string>();
  const auto [key, axis] = study_headline(task.at("family").get<std::string>());
  gp::begin_panel(s, name + ": score against peak memory, one point per precision");
  s << "set xlabel " << gp::str("peak memory (MiB, " + results.at("memory_kind").get<std::string>() + ")") << "\n"
    << "set ylabel " << gp::str(axis) << "\n"
    << "set key outside bottom center horizontal\n";
  struct Series {
    std::string title;
    std::vector<std::vector<double>> rows;  // x, y, lo, hi
    std::vector<std::string> labels;
  };
  std::vector<Series> series;
  double xmin = 1e300, xmax = 0;
  for (const auto& c : results.at("cells")) {
    if (c.at("task") != name) continue;
    const std::string title = c.at("model").get<std::string>() + " / " + c.at("method").get<std::string>();
    auto it = std::find_if(series.begin(), series.end(), [&](const Series& x) { return x.title == title; });
    if (it == series.end()) it = series.insert(series.end(), Series{title, {}, {}});
    const auto& sc = c.at("score");
    const double y = sc.at(key).get<double>(), x = c.at("peak_memory_bytes").get<double>() / (1024.0 * 1024.0);
    double lo = y, hi = y;
    if (sc.contains("ci") && sc["ci"].contains(key)) lo = sc["ci"][key]["lo"].get<double>(), hi = sc["ci"][key]["hi"].get<double>();
    it->rows.push_back({x, y, lo, hi});
    it->labels.push_back(c.at("precision").get<std::string>());
    xmin = std::min(xmin, x), xmax = std::max(xmax, x);
  }
  if (series.empty()) return gp::no_data_panel(s, name, "no cell of this task in results.json");
  const double pad = std::max(1.0, (xmax - xmin) * 0.15);
  s << "set xrange [" << gp::num(std::max(0.0, xmin - pad), 3) << ":" << gp::num(xmax + pad, 3) << "]\n"
    << "set yrange [-0.05:1.05]\n";
  for (const auto& se : series)
    for (std::size_t i = 0; i < se.rows.size(); ++i)
      s << gp::label(se.labels[i], se.rows[i][0], se.rows[i][1], "left offset 0.8,0.6");
  std::string plot = "plot ";
  const std::uint32_t colors[] = {gp::color::validation, gp::color::test, gp::color::other, gp::color::ok,
                                  gp::color::failed, gp::color::gpu, gp::color::time};
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto block = s.datablock(series[k].rows);
    plot += (k ? ", " : "") + block + " using 1:2:3:4 with yerrorlines lw 1.5 pt 7 ps 1.2 lc " +
            gp::rgb(colors[k % std::size(colors)]) + " title " + gp::str(series[k].title);
  }
  s << plot << "\n";
}

// The script of every task's figure; `output_of(task, ext)` names each file.
template <class OutputOf>
std::string study_figures_script(const nlohmann::json& results, OutputOf&& output_of) {
  gp::Script s;
  const std::string font = "font \"DejaVu Sans,12\"";
  for (const auto& t : results.at("tasks")) {
    for (const char* term : {"pngcairo", "svg"}) {
      const std::string ext = std::string(term) == "svg" ? ".svg" : ".png";
      s << "set terminal " << term << " size 900,600 noenhanced " << font << " background rgb \"white\"\n"
        << "set output " << gp::str(output_of(t.at("name").get<std::string>(), ext)) << "\n";
      study_figure_body(s, results, t);
      s << "set output\n";
    }
  }
  return s.text();
}

// Draws DIR/figures/<task>.{png,svg}; returns the files. Throws (not_found) without gnuplot, before writing.
inline std::vector<std::filesystem::path> draw_study_figures(const nlohmann::json& results, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  find_gnuplot();
  const auto out = dir / "figures";
  fs::create_directories(out);
  std::string tmpl = (out / (".draw-" + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw Error(Errc::io, out.string(), "", std::string("cannot write in the figures folder: ") + std::strerror(errno));
  const fs::path draw(tmpl);
  std::vector<std::pair<fs::path, fs::path>> renames;
  auto cleanup = [&] {
    for (const auto& [drawn, final_path] : renames) ::unlink(drawn.c_str());
    ::rmdir(draw.c_str());
  };
  try {
    // Task names are checked folder names (eval/tasks/study.hpp): letters, digits, '.', '_', '-'.
    const auto script = study_figures_script(results, [&](const std::string& task, const std::string& ext) {
      renames.emplace_back(draw / (task + ext), out / (task + ext));
      return renames.back().first.string();
    });
    const auto warnings = run_gnuplot(script);
    for (const auto& [drawn, final_path] : renames)
      if (!detail::figure_complete(drawn))
        throw Error(Errc::io, out.string(), final_path.filename().string(),
                    "gnuplot did not write this figure completely" +
                        (warnings.empty() ? std::string() : ": " + detail::gnuplot_error_lines(warnings)));
    std::vector<fs::path> files;
    for (const auto& [drawn, final_path] : renames) {
      if (std::rename(drawn.c_str(), final_path.c_str()) != 0)
        throw Error(Errc::io, final_path.string(), "", std::string("cannot rename the drawn figure into place: ") +
                                                           std::strerror(errno));
      files.push_back(final_path);
    }
    cleanup();
    return files;
  } catch (...) {
    cleanup();
    throw;
  }
}

}  // namespace curebench::report
