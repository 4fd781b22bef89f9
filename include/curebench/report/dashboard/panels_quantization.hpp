#pragma once
// Quantization fidelity: how far each quantized model's next-token distribution moved from its reference
// (mean KL per token) against the bits it stores per weight, with the weight memory saved against 16 bits.
// Without fidelity numbers the panel falls back to accuracy against bits per weight.
#include "curebench/report/dashboard/derived.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/panels_accuracy.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace curebench::report::panels {

inline std::string saved_text(const ModelRun& m) {
  auto saved = memory_saved_vs_16bit(m);
  if (!saved) return "";
  return (*saved >= 0 ? "saves " : "uses ") + gp::fixed(std::abs(*saved) * 100, 0) + " % weight memory";
}

inline void bits_axis(gp::Script& s, double max_bits) {
  double top = max_bits > 16 ? 34 : 18;
  s << "set xrange [0:" << gp::num(top, 0) << "]\nset xtics (2, 4, 8, 16" << (top > 18 ? ", 32" : "") << ")\n"
    << "set xlabel \"bits per weight (scales included)\"\nset grid xtics ytics lc rgb \"#dddddd\"\nunset key\n";
}

inline void quantization_fidelity(gp::Script& s, const RunData& run) {
  const char* title = "Quantization fidelity vs bits per weight";
  struct Point {
    const ModelRun* m;
    double bits, y;
  };
  std::vector<Point> kl, acc;
  std::vector<std::string> references;
  double max_bits = 0;
  for (auto& m : run.models) {
    auto bits = bits_per_weight(m);
    if (!bits) continue;
    max_bits = std::max(max_bits, *bits);
    if (m.quantization && m.quantization->kl_mean && *m.quantization->kl_mean > 0)
      kl.push_back({&m, *bits, *m.quantization->kl_mean});
    else if (!m.quantization || !m.quant || *m.quant == "none")
      references.push_back(m.name + " (" + gp::num(*bits, 1) + " bits)");
    if (auto* sp = m.primary_split()) acc.push_back({&m, *bits, *sp->accuracy * 100});
  }
  if (kl.empty() && acc.empty())
    return gp::no_data_panel(s, title, "no quantization block and no bits per weight to place models on");
  gp::begin_panel(s, kl.empty() ? "Accuracy vs bits per weight (no KL measured)" : title);
  bits_axis(s, max_bits);
  std::vector<PlacedLabel> placed;
  std::vector<std::vector<double>> rows;
  const double xmax = max_bits > 16 ? 34 : 18;
  if (!kl.empty()) {
    double lo = 1e300, hi = 0;
    for (auto& p : kl) lo = std::min(lo, p.y), hi = std::max(hi, p.y);
    double ylo = std::pow(10.0, std::floor(std::log10(lo)) - 0.3), yhi = std::pow(10.0, std::ceil(std::log10(hi)) + 0.3);
    s << "set logscale y\nset format y \"%g\"\n" << gp::yrange(ylo, yhi, 8, true)
      << "set ylabel \"mean KL(reference || quantized) per token\"\n";
    for (auto& p : kl) {
      rows.push_back({p.bits, p.y});
      std::string text = p.m->name + "\nKL " + gp::num(p.y, 4);
      if (p.m->quantization->top1_agreement) text += ", top-1 " + gp::fixed(*p.m->quantization->top1_agreement * 100, 1) + " %";
      if (auto t = saved_text(*p.m); !t.empty()) text += "\n" + t;
      // Placement works on log10(y) so "close" means close on the drawn axis.
      double ly = std::log10(p.y) - std::log10(ylo), lmax = std::log10(yhi) - std::log10(ylo);
      auto before = placed.size();
      scatter_label(placed, text, p.bits, ly, xmax, lmax);
      double shifted = std::pow(10.0, placed[before].y + std::log10(ylo));
      bool right_side = p.bits < 0.62 * xmax;
      s << "set label " << gp::str(text) << " at " << gp::num(p.bits, 3) << "," << gp::num(shifted, 8)
        << (right_side ? " left offset char 1.2,0.5" : " right offset char -1.2,0.5") << " font \",10\" front\n";
    }
    if (!references.empty()) {
      std::string note = "reference precision, no KL: ";
      for (std::size_t i = 0; i < references.size(); ++i) note += (i ? ", " : "") + references[i];
      s << "set label " << gp::str(note) << " at graph 0.02, graph 0.04 left font \",9\" tc rgb \"#777777\"\n";
    }
  } else {
    s << "set yrange [0:100]\nset ytics 0,20,100\nset ylabel \"accuracy on val (%)\"\n";
    for (auto& p : acc) {
      rows.push_back({p.bits, p.y});
      std::string text = p.m->name;
      if (auto t = saved_text(*p.m); !t.empty()) text += "\n" + t;
      s << scatter_label(placed, text, p.bits, p.y, xmax, 100);
    }
  }
  auto block = s.datablock(rows);  // written before the plot command that names it
  s << "plot " << block << " using 1:2 with points pt 7 ps 1.8 lc " << gp::rgb(gp::color::test)
    << " notitle\n";
}

}  // namespace curebench::report::panels
