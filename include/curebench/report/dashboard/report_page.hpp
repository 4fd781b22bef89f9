#pragma once
// report.md: the headline table (accuracy with intervals, test accuracy or "n/a (unlabelled)", gap, memory,
// throughput) and every figure embedded, so a run folder reads as a page on any Markdown viewer.
#include "curebench/report/dashboard/derived.hpp"
#include "curebench/report/dashboard/figures.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <string>
#include <vector>

namespace curebench::report {

namespace page {

inline std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

inline std::string accuracy_text(const SplitResult* s, bool say_missing_split) {
  if (!s) return say_missing_split ? "no split" : "n/a";
  if (!s->measurable()) return "n/a (unlabelled)";
  std::string t = gp::fixed(*s->accuracy * 100, 1) + " %";
  if (s->ci95) t += " (95 % CI " + gp::fixed(s->ci95->lo * 100, 1) + "–" + gp::fixed(s->ci95->hi * 100, 1) + ")";
  if (s->n_labelled) t += ", n = " + gp::num(*s->n_labelled, 0);
  return t;
}

inline std::string gap_text(const ModelRun& m) {
  auto g = generalization_gap(m);
  if (!g.value) return g.undefined_reason;
  std::string t = (*g.value >= 0 ? "+" : "") + gp::fixed(*g.value * 100, 1) + " pts";
  if (g.ci95) t += " (" + gp::fixed(g.ci95->lo * 100, 1) + " to " + gp::fixed(g.ci95->hi * 100, 1) + ")";
  return t;
}

inline std::string memory_text(const ModelRun& m) {
  constexpr double gib = 1024.0 * 1024.0 * 1024.0;
  bool on_gpu = m.device ? m.device->rfind("cuda", 0) == 0 : false;
  if (auto g = m.peak_gpu(); g && (on_gpu || *g > 0)) return gp::fixed(*g / gib, 2) + " GiB GPU";
  if (auto r = m.peak_rss()) return gp::fixed(*r / gib, 2) + " GiB host";
  return "n/a";
}

inline std::string throughput_text(const ModelRun& m) {
  if (m.decode_tokens_per_second) return gp::fixed(*m.decode_tokens_per_second, 0) + " (decode)";
  if (m.scored_tokens_per_second)
    return gp::fixed(*m.scored_tokens_per_second, 0) + " scored (loglikelihood" +
           (m.questions_per_second ? ", " + gp::fixed(*m.questions_per_second, 2) + " questions/s)" : std::string(")"));
  for (auto& s : m.splits)
    if (s.tokens_per_second) return gp::fixed(*s.tokens_per_second, 0);
  return "n/a";
}

}  // namespace page

inline std::string report_markdown(const RunData& run, const std::vector<Figure>& figs) {
  std::string md = "# Evaluation report: " + run.run_id.value_or("run") + "\n\n";
  md += "Drawn from `results.json` by `curebench report`.";
  if (run.started_at) md += " Run started " + *run.started_at;
  if (run.finished_at) md += ", finished " + *run.finished_at;
  md += ".";
  if (run.mode) md += " Mode: " + *run.mode + ".";
  if (run.protocol) md += " Protocol: " + *run.protocol + ".";
  md += " GPU: " + run.gpu.value_or("none recorded") + ".\n\n";
  if (run.notice) md += "> **Notice:** " + *run.notice + "\n\n";
  md += "| model | quant | val accuracy | test accuracy | gap (val − test) | peak memory | tokens/s |\n";
  md += "|---|---|---|---|---|---|---|\n";
  for (auto& m : run.models) {
    std::string quant = m.quant.value_or("n/a");
    if (m.dtype) quant += " / " + *m.dtype;
    md += "| " + page::cell(m.name) + " | " + page::cell(quant) + " | " +
          page::cell(page::accuracy_text(m.split(SplitRole::validation), true)) + " | " +
          page::cell(page::accuracy_text(m.split(SplitRole::test), true)) + " | " + page::cell(page::gap_text(m)) +
          " | " + page::memory_text(m) + " | " + page::throughput_text(m) + " |\n";
  }
  if (run.models.empty()) md += "| (no models in results.json) | | | | | | |\n";
  md += "\nAccuracy intervals are Wilson 95 % intervals; the gap interval combines them (Newcombe). An unlabelled "
        "split has no accuracy (\"n/a\"), so no gap is computed for it. Answer lengths are compared in characters "
        "because token counts depend on each model's tokenizer.\n";
  for (auto& f : figs) {
    md += "\n## " + f.caption + "\n\n![" + f.stem + "](" + f.stem + ".png)\n\n[SVG](" + f.stem + ".svg)\n";
  }
  return md;
}

}  // namespace curebench::report
