#pragma once
// Which figures a report holds and which panels each one shows: the 3x3 dashboard and the paper's four
// figures (1 loading, 2 efficiency vs accuracy, 3 generalization gap, 4 tokens per model).
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/panels_accuracy.hpp"
#include "curebench/report/dashboard/panels_loading.hpp"
#include "curebench/report/dashboard/panels_outputs.hpp"
#include "curebench/report/dashboard/panels_quantization.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <string>
#include <vector>

namespace curebench::report {

using PanelFn = void (*)(gp::Script&, const RunData&);

struct Figure {
  std::string stem;     // file name without extension
  std::string caption;  // for report.md
  int width = 1000, height = 750, rows = 1, cols = 1;
  bool run_title = false;  // a title line naming the run above the panels
  std::vector<PanelFn> panels;
};

inline std::vector<Figure> figures() {
  using namespace panels;
  return {
      {"dashboard", "Dashboard: accuracy, memory and load time, loader chain, question types, length vs accuracy, "
                    "answer lengths, generalization gap, quantization fidelity, throughput",
       1800, 1500, 3, 3, true,
       {accuracy, memory_and_load_time, loader_attempts, question_types, efficiency_vs_accuracy, reasoning_length,
        generalization_gap, quantization_fidelity, throughput}},
      {"fig1_loading", "Figure 1: load time, peak memory and which loader strategy succeeded", 1700, 650, 1, 2, false,
       {memory_and_load_time, loader_attempts}},
      {"fig2_efficiency_vs_accuracy", "Figure 2: mean answer length (characters) against accuracy", 1000, 750, 1, 1,
       false, {efficiency_vs_accuracy}},
      {"fig3_generalization_gap", "Figure 3: generalization gap, only where both splits are labelled", 1000, 750, 1, 1,
       false, {generalization_gap}},
      {"fig4_tokens_per_model", "Figure 4: average input and output tokens per question", 1000, 750, 1, 1, false,
       {tokens_per_question}},
  };
}

inline std::string run_title(const RunData& run) {
  std::string t = "curebench run " + run.run_id.value_or("(no id)");
  if (run.mode) t += "  |  " + *run.mode;
  if (run.protocol) t += "  |  " + *run.protocol + " protocol";
  t += "  |  " + (run.gpu ? *run.gpu : std::string("no GPU recorded"));
  t += "  |  " + std::to_string(run.models.size()) + (run.models.size() == 1 ? " model" : " models");
  if (run.notice) t += "\nnotice: " + *run.notice;
  return t;
}

// The commands that draw one figure into whatever terminal and output are already set.
inline void figure_body(gp::Script& s, const Figure& f, const RunData& run) {
  const bool multi = f.panels.size() > 1 || f.run_title;
  if (multi) {
    s << "set multiplot layout " << std::to_string(f.rows) << "," << std::to_string(f.cols);
    if (f.run_title) s << " title " << gp::str(run_title(run)) << " font \",17\"";
    s << "\n";
  }
  for (auto panel : f.panels) panel(s, run);
  if (multi) s << "unset multiplot\n";
}

}  // namespace curebench::report
