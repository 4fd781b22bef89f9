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
  const char* title = "Peak memory (GiB) and load time (s)";
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
  // Three bars per model; load time is the third, read on the right axis (its own unit, its own colour).
  double ytop = mem_max > 0 ? mem_max * 1.45 : 1;  // headroom for the key above the bars
  double y2top = time_max > 0 ? time_max * 1.45 : 1;
  const double w = 0.26;
  s << gp::xtics(model_tics(run, 40)) << xrange_for(run.models.size()) << "set yrange [0:" << gp::num(ytop, 3)
    << "]\nset ylabel \"peak memory (GiB)\"\nset y2range [0:" << gp::num(y2top, 3)
    << "]\nset y2tics nomirror tc " << gp::rgb(gp::color::time) << "\nset y2label \"load time (s)\" tc "
    << gp::rgb(gp::color::time) << "\nset boxwidth " << gp::num(w, 2) << " absolute\n"
    << "set key top left vertical font \",10\"\n";
  std::vector<std::vector<double>> gpu, host, load;
  auto missing = [&](double x, const char* text) {
    s << gp::label(text, x, ytop * 0.04, "center font \",9\" tc rgb \"#777777\"");
  };
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    auto& m = run.models[i];
    double x = static_cast<double>(i);
    auto g = m.peak_gpu(), r = m.peak_rss();
    bool on_gpu = m.device ? m.device->rfind("cuda", 0) == 0 : (g && *g > 0);
    if (g && on_gpu) {
      gpu.push_back({x - w, *g / kGiB});
      s << gp::label(gib_text(*g), x - w, *g / kGiB + ytop * 0.03, "center font \",9\"");
    } else {
      missing(x - w, on_gpu ? "n/a" : "no\nGPU");
    }
    if (r) {
      host.push_back({x, *r / kGiB});
      s << gp::label(gib_text(*r), x, *r / kGiB + ytop * 0.03, "center font \",9\"");
    } else {
      missing(x, "n/a");
    }
    if (m.load_seconds) {
      load.push_back({x + w, *m.load_seconds});
      s << "set label " << gp::str(gp::fixed(*m.load_seconds, 1)) << " at first " << gp::num(x + w, 3)
        << ", second " << gp::num(*m.load_seconds + y2top * 0.03, 3) << " center font \",9\" tc "
        << gp::rgb(gp::color::time) << " front\n";
    } else {
      missing(x + w, "n/a");
    }
  }
  auto series = [&](std::vector<std::vector<double>>& rows, std::uint32_t c, const std::string& axes,
                    const std::string& key) {
    std::string style = " with boxes lc " + gp::rgb(c) + " title " + gp::str(key);
    if (rows.empty()) return "NaN" + style;
    return s.datablock(rows) + " using 1:2 " + axes + style;
  };
  std::string a = series(gpu, gp::color::gpu, "axes x1y1", "GPU peak (GiB)");
  std::string b = series(host, gp::color::host, "axes x1y1", "host RSS peak (GiB)");
  std::string c = series(load, gp::color::time, "axes x1y2", "load time (s, right axis)");
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
  const std::size_t name_chars = cols <= 2 ? 20 : cols == 3 ? 14 : 10;
  const auto n = run.models.size();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(gp::wrap_name(run.models[n - 1 - i].name, 18));  // first on top
  s << gp::ytics(names) << "set xrange [-0.5:" << gp::num(cols - 0.5, 1) << "]\nset yrange [-0.6:"
    << gp::num(n - 0.15, 2) << "]\nunset grid\nset border 0\nset tics scale 0\nunset xtics\n"
    << "set style fill solid 0.35 border lc rgb \"#333333\"\nset key outside bottom center horizontal\n";
  for (std::size_t k = 0; k < cols; ++k)  // column headers above the first row
    s << gp::label("attempt " + std::to_string(k + 1), static_cast<double>(k), n - 0.5, "center font \",10\" tc rgb \"#555555\"");
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
      rows.push_back({x, y, x - 0.47, x + 0.47, y - 0.36, y + 0.36, static_cast<double>(outcome_color(a.outcome))});
      // "QuantizeOnLoad<NF4<64>>" breaks before its parameters rather than being cut.
      std::string name = a.strategy;
      if (auto lt = name.find('<'); name.size() > name_chars && lt != std::string::npos && lt > 0)
        name = gp::shorten(name.substr(0, lt), name_chars) + "\n" + gp::shorten(name.substr(lt), name_chars);
      else
        name = gp::shorten(name, name_chars);
      std::string text = name + "\n" + a.outcome;
      if (a.seconds) text += ", " + gp::fixed(*a.seconds, *a.seconds < 1 ? 3 : 1) + " s";
      if (a.error_code) text += "\n" + gp::shorten(*a.error_code, name_chars);
      s << gp::label(text, x, y, "center font \",9\"");
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
