#pragma once
// `curebench report RUN_DIR [--out DIR] [--json]`: (re)draws the dashboards of a run folder — PNG and SVG of
// the dashboard and the four paper figures, plus report.md — into RUN_DIR/report/ or DIR.
// It holds a shared lock on RUN_DIR/run.lock while it reads and draws (core/run_lock.hpp): while an eval writes
// the folder, report refuses at once with one line naming the eval's pid instead of reading half a run.
#include <filesystem>
#include <optional>
#include <string>

#include "cli_common.hpp"
#include "curebench/core/run_lock.hpp"
#if defined(CUREBENCH_WITH_REPORTS)
#include "curebench/report/dashboard.hpp"
#endif

namespace cli {

inline void add_report(CLI::App& app, Context& ctx) {
  static std::string run_dir, out_dir;
  auto* sub = app.add_subcommand("report", "Draw the dashboards (PNG + SVG) and report.md of a run folder");
  sub->add_option("run_dir", run_dir, "Run folder holding results.json and models/<name>/samples.jsonl")->required();
  sub->add_option("--out", out_dir, "Output folder (default RUN_DIR/report)");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
#if defined(CUREBENCH_WITH_REPORTS)
    std::optional<std::filesystem::path> out;
    if (!out_dir.empty()) out = out_dir;
    auto lock = std::filesystem::is_directory(run_dir) ? curebench::FolderLock::shared(run_dir) : curebench::FolderLock{};
    auto drawn = curebench::report::draw_dashboard(run_dir, out);
    if (ctx.json) {
      print_json(drawn);
    } else {
      std::cout << "wrote " << drawn.files.size() << " files to " << drawn.out_dir.string() << "\n";
      for (auto& f : drawn.files) std::cout << "  " << f.string() << "\n";
    }
#else
    throw curebench::Error(curebench::Errc::unsupported, run_dir, "",
                           "this curebench was built with CUREBENCH_WITH_REPORTS=OFF: no dashboards");
#endif
  });
}

}  // namespace cli
