#pragma once
// Entry point of the dashboards: draw every figure of a run folder as PNG and SVG, plus report.md.
//   auto drawn = curebench::report::draw_dashboard("runs/2025-01-01");   // writes runs/2025-01-01/report/
// Each file appears whole or not at all: gnuplot draws into a private folder beside them; the files are
// checked and renamed into place once every figure is complete.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/report/dashboard/figures.hpp"
#include "curebench/report/dashboard/gnuplot_runner.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/report_page.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <nlohmann/json.hpp>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
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

namespace detail {

// A private folder for one drawing, made with mkdtemp inside the report folder (0700, a name nobody can
// predict): gnuplot writes there, so a symlink planted in a shared report folder redirects nothing, and the
// drawn files are renamed into place from the same file system. Removed with its files on every way out;
// one left by a killed process (".draw-<pid>-XXXXXX" whose pid is gone) is removed by the next drawing.
class DrawDir {
 public:
  explicit DrawDir(const std::filesystem::path& out_dir) {
    std::string tmpl = (out_dir / (".draw-" + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data()))
      throw Error(Errc::io, out_dir.string(), "", std::string("cannot write in the report folder: ") + std::strerror(errno));
    path_ = tmpl;
  }
  DrawDir(const DrawDir&) = delete;
  DrawDir& operator=(const DrawDir&) = delete;
  ~DrawDir() { remove_draw_dir(path_); }
  const std::filesystem::path& path() const { return path_; }

  // Removes only the file names a drawing writes, then the folder if that left it empty.
  static void remove_draw_dir(const std::filesystem::path& dir) {
    for (auto& f : figures())
      for (const char* ext : {".png", ".svg"}) ::unlink((dir / (f.stem + ext)).c_str());
    ::rmdir(dir.c_str());
  }

 private:
  std::filesystem::path path_;
};

inline void remove_stale_draw_dirs(const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto& e : fs::directory_iterator(out_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".draw-", 0) != 0 || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    const auto dash = name.find('-', 6);
    if (dash == std::string::npos || dash == 6 || name.size() != dash + 7 ||
        name.find_first_not_of("0123456789", 6) != dash)
      continue;
    const long pid = std::strtol(name.substr(6, dash - 6).c_str(), nullptr, 10);
    if (!process_alive(pid)) stale.push_back(e.path());
  }
  for (auto& dir : stale) DrawDir::remove_draw_dir(dir);
}

// A figure is complete when its format's end marker is there: a PNG ends with the IEND chunk, an SVG with
// </svg>. gnuplot exits 0 after a failed write (a full disk), so its status alone does not say this.
inline bool figure_complete(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(p, ec))) return false;
  const auto size = std::filesystem::file_size(p, ec);
  if (ec || size < 16) return false;
  std::ifstream in(p, std::ios::binary);
  const std::size_t tail_len = size < 64 ? size : 64;
  std::string head(8, '\0'), tail(tail_len, '\0');
  in.read(head.data(), 8);
  in.seekg(static_cast<std::streamoff>(size - tail_len));
  in.read(tail.data(), static_cast<std::streamsize>(tail_len));
  if (!in) return false;
  if (p.extension() == ".png") {
    static const std::string sig("\x89PNG\r\n\x1a\n", 8), iend("IEND\xae\x42\x60\x82", 8);
    return head == sig && tail.compare(tail.size() - 8, 8, iend) == 0;
  }
  const auto end = tail.find_last_not_of(" \r\n\t");
  return end != std::string::npos && end >= 5 && tail.compare(end - 5, 6, "</svg>") == 0;
}

}  // namespace detail

// Draws every figure into out_dir. Each file appears whole or not at all; when any figure fails, every
// previous file stays as it was and the error (io, naming the folder) says which one.
inline DrawResult draw_dashboard(const RunData& run, const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  find_gnuplot();  // refuse before touching the output folder
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw Error(Errc::io, out_dir.string(), "", "cannot create the report folder: " + ec.message());
  detail::remove_stale_draw_dirs(out_dir);
  const auto figs = figures();
  detail::DrawDir draw(out_dir);
  std::vector<std::pair<fs::path, fs::path>> renames;  // drawn -> final
  auto script = report_script(run, figs, [&](const std::string& stem, const std::string& ext) {
    renames.emplace_back(draw.path() / (stem + ext), out_dir / (stem + ext));
    return renames.back().first.string();
  });
  const std::string warnings = run_gnuplot(script);
  for (auto& [drawn, final_path] : renames)
    if (!detail::figure_complete(drawn))
      throw Error(Errc::io, out_dir.string(), final_path.filename().string(),
                  "gnuplot did not write this figure completely (disk full?); the previous files are kept" +
                      (warnings.empty() ? std::string() : ": " + detail::gnuplot_error_lines(warnings)));
  DrawResult result{out_dir, {}};
  for (auto& [drawn, final_path] : renames) {
    if (std::rename(drawn.c_str(), final_path.c_str()) != 0)
      throw Error(Errc::io, final_path.string(), "", std::string("cannot rename the drawn figure into place: ") +
                                                         std::strerror(errno));
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
  if (!out_dir) {
    // RUN_DIR may be someone else's folder: its report/ must be a folder, not a link to elsewhere.
    const auto report = run_dir / "report";
    std::error_code ec;
    if (std::filesystem::is_symlink(std::filesystem::symlink_status(report, ec)))
      throw Error(Errc::io, report.string(), "", "is a symbolic link; refusing to draw through it (pass --out)");
    return draw_dashboard(run, report);
  }
  return draw_dashboard(run, *out_dir);
}

}  // namespace curebench::report
