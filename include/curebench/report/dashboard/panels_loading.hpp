#pragma once
// Panels about getting a model onto the device: peak memory (GiB) with load time, and the loader chain —
// which strategy was skipped, which failed and why, which succeeded (the seed only printed the winner).
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/panels_accuracy.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace curebench::report::panels {

inline constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

inline std::string gib_text(double bytes) {
  double g = bytes / kGiB;
  return gp::fixed(g, g < 10 ? 2 : 1);
}

inline void memory_and_load_time(gp::Script& s, const RunData& run) {
  const char* title = "Peak memory (GiB) and load time";
  bool any = false;
  double mem_max = 0, time_max = 0;
  for (auto& m : run.models) {
    auto g = m.peak_gpu(), r = m.peak_rss();
    if (g || r || m.load_seconds) any = true;
    mem_max = std::max({mem_max, g.value_or(0) / kGiB, r.value_or(0) / kGiB});
    time_max = std::max(time_max, m.load_seconds.value_or(0));
  }
  if (!any) return gp::no_data_panel(s, title, "no memory or load-time fields in results.json");
  gp::begin_panel(s, title);
  double ytop = mem_max > 0 ? mem_max * 1.25 : 1;
  double y2top = time_max > 0 ? time_max * 1.25 : 1;
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size()) << "set yrange [0:" << gp::num(ytop, 3)
    << "]\nset ylabel \"peak memory (GiB)\"\nset y2range [0:" << gp::num(y2top, 3)
    << "]\nset y2tics nomirror\nset y2label \"load time (s)\"\nset boxwidth 0.3 absolute\n"
    << "set key top left horizontal\n";
  std::vector<std::vector<double>> gpu, host, load;
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    auto& m = run.models[i];
    double x = static_cast<double>(i);
    auto g = m.peak_gpu(), r = m.peak_rss();
    bool on_gpu = m.device ? m.device->rfind("cuda", 0) == 0 : (g && *g > 0);
    if (g && on_gpu) {
      gpu.push_back({x - 0.16, *g / kGiB});
      s << gp::label(gib_text(*g), x - 0.16, *g / kGiB + ytop * 0.03, "center font \",9\"");
    } else {
      s << gp::label(on_gpu ? "n/a" : "no GPU", x - 0.16, ytop * 0.04, "center font \",9\" tc rgb \"#777777\"");
    }
    if (r) {
      host.push_back({x + 0.16, *r / kGiB});
      s << gp::label(gib_text(*r), x + 0.16, *r / kGiB + ytop * 0.03, "center font \",9\"");
    } else {
      s << gp::label("n/a", x + 0.16, ytop * 0.04, "center font \",9\" tc rgb \"#777777\"");
    }
    if (m.load_seconds) {
      load.push_back({x, *m.load_seconds});
      s << "set label " << gp::str(gp::fixed(*m.load_seconds, 1) + " s") << " at first " << gp::num(x, 3) << ", second "
        << gp::num(*m.load_seconds, 3) << " center offset 0,1.1 font \",10\" tc "
        << gp::rgb(gp::color::time) << " front\n";
    }
  }
  auto series = [&](std::vector<std::vector<double>>& rows, const std::string& style, const std::string& key) {
    if (rows.empty()) return "NaN " + style + " title " + gp::str(key);
    return s.datablock(rows) + " using 1:2 " + style + " title " + gp::str(key);
  };
  std::string a = series(gpu, "with boxes lc " + gp::rgb(gp::color::gpu), "GPU peak");
  std::string b = series(host, "with boxes lc " + gp::rgb(gp::color::host), "host RSS peak");
  std::string c = load.empty() ? "NaN with points pt 9 ps 2 lc " + gp::rgb(gp::color::time) + " title \"load time\""
                               : s.datablock(load) + " using 1:2 axes x1y2 with points pt 9 ps 2.2 lc " +
                                     gp::rgb(gp::color::time) + " title \"load time (right axis)\"";
  s << "plot " << a << ", " << b << ", " << c << "\n";
}

inline std::uint32_t outcome_color(const std::string& outcome) {
  if (outcome == "ok") return gp::color::ok;
  if (outcome == "failed") return gp::color::failed;
  return gp::color::skipped;
}

inline void loader_attempts(gp::Script& s, const RunData& run) {
  const char* title = "Loader chain: attempts in order";
  std::size_t max_attempts = 0;
  bool any = false;
  for (auto& m : run.models) {
    max_attempts = std::max(max_attempts, std::max<std::size_t>(m.attempts.size(), m.load_strategy ? 1 : 0));
    any = any || !m.attempts.empty() || m.load_strategy;
  }
  if (!any) return gp::no_data_panel(s, title, "no load.attempts in results.json");
  gp::begin_panel(s, title);
  const std::size_t cols = std::max<std::size_t>(max_attempts, 2);
  const std::size_t name_chars = cols <= 2 ? 26 : cols == 3 ? 17 : 12;
  const auto n = run.models.size();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(gp::shorten(run.models[n - 1 - i].name, 20));  // first on top
  std::vector<std::string> attempt_tics;
  for (std::size_t k = 0; k < cols; ++k) attempt_tics.push_back("attempt " + std::to_string(k + 1));
  s << gp::ytics(names) << gp::xtics(attempt_tics) << "set xrange [-0.5:" << gp::num(cols - 0.5, 1)
    << "]\nset yrange [-0.6:" << gp::num(n - 0.4, 1) << "]\nunset grid\nset border 0\nset tics scale 0\n"
    << "set style fill solid 0.35 border lc rgb \"#333333\"\nset key outside bottom center horizontal\n";
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < n; ++i) {
    auto& m = run.models[i];
    double y = static_cast<double>(n - 1 - i);
    std::vector<LoadAttempt> attempts = m.attempts;
    if (attempts.empty() && m.load_strategy) {  // only the winner was recorded
      LoadAttempt a;
      a.strategy = *m.load_strategy;
      a.outcome = "ok";
      a.seconds = m.load_seconds;
      attempts.push_back(a);
    }
    if (attempts.empty()) {
      s << gp::label("no load record", 0, y, "center font \",10\" tc rgb \"#777777\"");
      continue;
    }
    for (std::size_t k = 0; k < attempts.size() && k < cols; ++k) {
      auto& a = attempts[k];
      double x = static_cast<double>(k);
      rows.push_back({x, y, x - 0.46, x + 0.46, y - 0.34, y + 0.34, static_cast<double>(outcome_color(a.outcome))});
      std::string detail = a.outcome;
      if (a.error_code) detail += " (" + *a.error_code + ")";
      if (a.seconds) detail += ", " + gp::fixed(*a.seconds, *a.seconds < 1 ? 3 : 1) + " s";
      s << gp::label(gp::shorten(a.strategy, name_chars) + "\n" + gp::shorten(detail, name_chars + 4), x, y,
                     "center font \",10\"");
    }
  }
  std::string plot = "plot ";
  if (!rows.empty())
    plot += s.datablock(rows) + " using 1:2:3:4:5:6:7 with boxxyerror lc rgb variable notitle, ";
  plot += "NaN with boxes lc " + gp::rgb(gp::color::ok) + " title \"ok\", NaN with boxes lc " +
          gp::rgb(gp::color::failed) + " title \"failed\", NaN with boxes lc " + gp::rgb(gp::color::skipped) +
          " title \"skipped\"";
  s << plot << "\n";
}

}  // namespace curebench::report::panels
