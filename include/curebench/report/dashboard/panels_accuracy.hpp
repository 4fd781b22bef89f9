#pragma once
// Panels about correctness: accuracy per split with Wilson intervals, the generalization gap, and accuracy
// against answer length. An unlabelled split is drawn as "n/a", never as a 0 % bar, and a gap is drawn only
// where both splits were measured (the seed pipeline drew 0 % and a -40 point "gap" instead).
#include "curebench/report/dashboard/derived.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace curebench::report::panels {

// Model names as x tics; the line width shrinks with the number of models (a panel is ~48 characters wide,
// less where a right axis takes room).
inline std::vector<std::string> model_tics(const RunData& run, std::size_t panel_chars = 48) {
  const std::size_t line_chars = std::max<std::size_t>(8, panel_chars / std::max<std::size_t>(1, run.models.size()));
  std::vector<std::string> names;
  for (auto& m : run.models) names.push_back(gp::wrap_name(m.name, line_chars));
  return names;
}

// Split names over all models, validation first, then test, then the others in the order met.
inline std::vector<std::string> split_names(const RunData& run) {
  std::vector<std::string> names;
  for (int pass = 0; pass < 3; ++pass)
    for (auto& m : run.models)
      for (auto& s : m.splits)
        if (detail::split_order(s) == pass && std::find(names.begin(), names.end(), s.name) == names.end())
          names.push_back(s.name);
  return names;
}

inline std::uint32_t split_color(const std::string& name) {
  switch (split_role(name)) {
    case SplitRole::validation: return gp::color::validation;
    case SplitRole::test: return gp::color::test;
    default: return gp::color::other;
  }
}

inline const SplitResult* find_split(const ModelRun& m, const std::string& name) {
  for (auto& s : m.splits)
    if (s.name == name) return &s;
  return nullptr;
}

inline std::string xrange_for(std::size_t n) {
  return "set xrange [-0.6:" + gp::num(static_cast<double>(n) - 0.4, 2) + "]\n";
}

inline void accuracy(gp::Script& s, const RunData& run) {
  const char* title = "Accuracy per model and split (95 % Wilson CI)";
  auto splits = split_names(run);
  if (run.models.empty()) return gp::no_data_panel(s, title, "results.json lists no models");
  if (splits.empty()) return gp::no_data_panel(s, title, "no split results in results.json");
  gp::begin_panel(s, title);
  const double n_splits = static_cast<double>(splits.size());
  const double w = std::min(0.38, 0.8 / n_splits);
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size())
    << "set yrange [0:100]\nset ytics 0,20,100\nset ylabel \"accuracy (%)\"\n"
    << "set boxwidth " << gp::num(w, 3) << " absolute\nset key top right horizontal\n";
  std::string plot = "plot ";
  for (std::size_t j = 0; j < splits.size(); ++j) {
    std::vector<std::vector<double>> rows;
    bool unlabelled_somewhere = false;
    for (std::size_t i = 0; i < run.models.size(); ++i) {
      auto* sp = find_split(run.models[i], splits[j]);
      double x = static_cast<double>(i) + (static_cast<double>(j) - (n_splits - 1) / 2) * w;
      if (!sp) continue;
      if (!sp->measurable()) {
        unlabelled_somewhere = true;
        s << gp::label("n/a\n(unlabelled)", x, 9, "center font \",11\" tc rgb \"#333333\"");
        continue;
      }
      double a = *sp->accuracy * 100;
      double lo = sp->ci95 ? sp->ci95->lo * 100 : a, hi = sp->ci95 ? sp->ci95->hi * 100 : a;
      rows.push_back({x, a, lo, hi});
      s << gp::label(gp::fixed(a, 1) + " %", x, std::min(hi + 3.5, 97.0), "center font \",10\"");
    }
    auto color = gp::rgb(split_color(splits[j]));
    std::string key = splits[j] + (unlabelled_somewhere ? " (n/a = no labels)" : "");
    if (j) plot += ", ";
    if (rows.empty()) {
      plot += "NaN with boxes lc " + color + " title " + gp::str(key);
      continue;
    }
    auto block = s.datablock(rows);
    plot += block + " using 1:2 with boxes lc " + color + " title " + gp::str(key) + ", " + block +
            " using 1:2:3:4 with yerrorbars lc rgb \"#222222\" pt 0 lw 1.2 notitle";
  }
  s << plot << "\n";
}

inline void generalization_gap(gp::Script& s, const RunData& run) {
  const char* title = "Generalization gap: val − test accuracy (95 % CI)";
  if (run.models.empty()) return gp::no_data_panel(s, title, "results.json lists no models");
  gp::begin_panel(s, title);
  std::vector<std::vector<double>> rows;
  double extent = 10;
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    auto g = report::generalization_gap(run.models[i]);
    double x = static_cast<double>(i);
    if (!g.value) {
      // "undefined: test split unlabelled" broken over lines so it fits the bar's slot.
      std::string why = g.undefined_reason;
      if (auto pos = why.find(": "); pos != std::string::npos) why[pos + 1] = '\n';
      if (auto pos = why.rfind(" split "); pos != std::string::npos) why[pos + 6] = '\n';
      s << gp::label(why, x, 0, "center boxed font \",10\" tc rgb \"#777777\"");  // opaque: reads over the 0 line
      continue;
    }
    double v = *g.value * 100;
    double lo = g.ci95 ? g.ci95->lo * 100 : v, hi = g.ci95 ? g.ci95->hi * 100 : v;
    rows.push_back({x, v, lo, hi});
    extent = std::max({extent, std::abs(lo), std::abs(hi)});
    std::string text = (v >= 0 ? "+" : "") + gp::fixed(v, 1) + " pts";
    s << "set label " << gp::str(text) << " at " << gp::num(x + 0.22, 3) << "," << gp::num(v, 3)
      << " left font \",10\" front\n";
  }
  double r = std::min(100.0, std::ceil((extent + 5) / 10) * 10);
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size()) << "set yrange [" << gp::num(-r, 0) << ":"
    << gp::num(r, 0) << "]\nset ylabel \"val − test (percentage points)\"\n"
    << "set xzeroaxis lt 1 lc rgb \"#444444\" lw 1\nset boxwidth 0.36 absolute\nunset key\n"
    << "set style textbox opaque noborder\n"
    << "set label \"> 0: lower accuracy on test\" at graph 0.02, graph 0.95 left font \",10\" tc rgb \"#777777\"\n";
  if (rows.empty()) {
    s << "plot 1e9 notitle\n";  // only the "undefined" labels: nothing measurable to draw
    return;
  }
  auto block = s.datablock(rows);
  s << "plot " << block << " using 1:2 with boxes lc " << gp::rgb(gp::color::gap) << " notitle, " << block
    << " using 1:2:3:4 with yerrorbars lc rgb \"#222222\" pt 0 lw 1.2 notitle\n";
}

// Point labels beside scatter points: to the right unless near the right edge; moved down when a label
// already sits close by.
struct PlacedLabel {
  double x, y;
};
inline std::string scatter_label(std::vector<PlacedLabel>& placed, const std::string& text, double x, double y,
                                 double xmax, double ymax) {
  bool right_side = x < 0.62 * xmax;
  double dy = 0.0;
  for (auto& p : placed)
    if (std::abs(p.x - x) < 0.25 * xmax && std::abs(p.y - (y + dy)) < 0.09 * ymax) dy -= 0.1 * ymax;
  placed.push_back({x, y + dy});
  return "set label " + gp::str(text) + " at " + gp::num(x, 3) + "," + gp::num(y + dy, 3) +
         (right_side ? " left offset char 1.2,0.5" : " right offset char -1.2,0.5") + " font \",10\" front\n";
}

inline void efficiency_vs_accuracy(gp::Script& s, const RunData& run) {
  const char* title = "Answer length vs accuracy";
  struct Point {
    std::string name;
    double chars, acc, lo, hi;
  };
  std::vector<Point> pts;
  std::vector<std::string> left_out;
  for (auto& m : run.models) {
    auto* sp = m.primary_split();
    auto chars = output_chars_mean(m, sp);
    if (!sp || !chars) {
      left_out.push_back(m.name + (sp ? " (no output length)" : " (no labelled split)"));
      continue;
    }
    double a = *sp->accuracy * 100;
    pts.push_back({m.name + (split_role(sp->name) == SplitRole::validation ? "" : " [" + sp->name + "]"), *chars, a,
                   sp->ci95 ? sp->ci95->lo * 100 : a, sp->ci95 ? sp->ci95->hi * 100 : a});
  }
  if (pts.empty()) return gp::no_data_panel(s, title, "no model has both a labelled split and output lengths");
  gp::begin_panel(s, title);
  double xmax = 0;
  for (auto& p : pts) xmax = std::max(xmax, p.chars);
  xmax = std::max(10.0, xmax * 1.35);
  s << "set xrange [0:" << gp::num(xmax, 0) << "]\nset yrange [0:100]\nset ytics 0,20,100\n"
    << "set xlabel \"mean output characters per answer (tokenizer-independent)\"\n"
    << "set ylabel \"accuracy on val (%), 95 % CI\"\nset grid xtics ytics lc rgb \"#dddddd\"\nunset key\n";
  std::vector<std::vector<double>> rows;
  std::vector<PlacedLabel> placed;
  for (auto& p : pts) {
    rows.push_back({p.chars, p.acc, p.lo, p.hi});
    s << scatter_label(placed, p.name, p.chars, p.acc, xmax, 100);
  }
  if (!left_out.empty()) {
    std::string note = "not shown: ";
    for (std::size_t i = 0; i < left_out.size(); ++i) note += (i ? ", " : "") + left_out[i];
    s << "set label " << gp::str(note) << " at graph 0.02, graph 0.04 left font \",9\" tc rgb \"#777777\"\n";
  }
  auto block = s.datablock(rows);
  s << "plot " << block << " using 1:2:3:4 with yerrorbars lc rgb \"#2E86AB\" pt 7 ps 1.6 lw 1.2 notitle\n";
}

}  // namespace curebench::report::panels
