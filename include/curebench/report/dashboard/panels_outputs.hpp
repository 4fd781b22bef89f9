#pragma once
// Panels about what was asked and what came back: question types per split, answer length distribution
// (characters, from samples.jsonl), tokens per question (input/output stacked) and throughput.
#include "curebench/report/dashboard/derived.hpp"
#include "curebench/report/dashboard/gnuplot_script.hpp"
#include "curebench/report/dashboard/panels_accuracy.hpp"
#include "curebench/report/dashboard/run_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace curebench::report::panels {

// "open_ended_multi_choice" -> "open ended\nmulti choice": readable tics without rotation.
inline std::string type_tic(std::string t) {
  std::replace(t.begin(), t.end(), '_', ' ');
  if (t.size() > 12)
    if (auto pos = t.find(' ', t.size() / 2 - 2); pos != std::string::npos) t[pos] = '\n';
  return t;
}

inline void question_types(gp::Script& s, const RunData& run) {
  const char* title = "Question types per split";
  auto counts = question_type_counts(run);
  if (counts.empty()) return gp::no_data_panel(s, title, "no verification.splits.*.question_types and no samples");
  std::vector<std::string> splits;
  for (auto& name : split_names(run))
    if (counts.count(name)) splits.push_back(name);
  for (auto& [name, _] : counts)
    if (std::find(splits.begin(), splits.end(), name) == splits.end()) splits.push_back(name);
  std::vector<std::string> types;
  for (auto& [_, by_type] : counts)
    for (auto& [t, __] : by_type)
      if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  double top = 0;
  for (auto& [_, by_type] : counts)
    for (auto& [__, c] : by_type) top = std::max(top, c);
  gp::begin_panel(s, title);
  std::vector<std::string> tics;
  for (auto& t : types) tics.push_back(type_tic(t));
  const double w = std::min(0.38, 0.8 / static_cast<double>(splits.size()));
  s << gp::xtics(tics) << xrange_for(types.size()) << "set yrange [0:" << gp::num(std::max(1.0, top * 1.2), 1)
    << "]\nset ylabel \"questions\"\nset boxwidth " << gp::num(w, 3) << " absolute\nset key top right horizontal\n";
  std::string plot = "plot ";
  for (std::size_t j = 0; j < splits.size(); ++j) {
    std::vector<std::vector<double>> rows;
    for (std::size_t i = 0; i < types.size(); ++i) {
      auto it = counts[splits[j]].find(types[i]);
      if (it == counts[splits[j]].end()) continue;
      double x = static_cast<double>(i) + (static_cast<double>(j) - (splits.size() - 1) / 2.0) * w;
      rows.push_back({x, it->second});
      s << gp::label(gp::num(it->second, 0), x, it->second + top * 0.03, "center font \",10\"");
    }
    if (j) plot += ", ";
    auto color = gp::rgb(split_color(splits[j]));
    plot += rows.empty() ? "NaN with boxes lc " + color + " title " + gp::str(splits[j])
                         : s.datablock(rows) + " using 1:2 with boxes lc " + color + " title " + gp::str(splits[j]);
  }
  s << plot << "\n";
}

// A stable pseudo-random jitter so the same run always draws the same picture.
inline double jitter(std::size_t i) {
  std::uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return (static_cast<double>(h % 1000) / 1000.0 - 0.5) * 0.36;
}

inline void reasoning_length(gp::Script& s, const RunData& run) {
  const char* title = "Answer length distribution (characters)";
  bool any = false;
  double top = 0;
  for (auto& m : run.models)
    for (auto& x : m.samples)
      if (x.output_chars) any = true, top = std::max(top, *x.output_chars);
  if (!any) return gp::no_data_panel(s, title, "no output_chars in models/*/samples.jsonl");
  gp::begin_panel(s, title);
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size()) << gp::yrange(0, top * 1.18, 0)
    << "set ylabel \"output characters per answer\"\nset style boxplot nooutliers\nset boxwidth 0.55 absolute\n"
    << "set style fill empty\nset key top right horizontal\n";
  std::vector<std::vector<double>> points;
  std::string plot = "plot ";
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    auto& m = run.models[i];
    std::vector<std::vector<double>> chars;
    for (std::size_t k = 0; k < m.samples.size(); ++k) {
      auto& x = m.samples[k];
      if (!x.output_chars) continue;
      chars.push_back({*x.output_chars});
      auto c = !x.correct ? gp::color::skipped : *x.correct ? gp::color::ok : gp::color::failed;
      points.push_back({static_cast<double>(i) + jitter(k), *x.output_chars, static_cast<double>(c)});
    }
    if (chars.empty()) {
      s << "set label " << gp::str(m.samples_found ? "no output_chars" : "no samples.jsonl") << " at "
        << gp::num(static_cast<double>(i), 1) << ", graph 0.5 center font \",10\" tc rgb \"#777777\"\n";
      continue;
    }
    plot += s.datablock(chars) + " using (" + std::to_string(i) + "):1 with boxplot lc rgb \"#333333\" lw 1.5 notitle, ";
  }
  plot += s.datablock(points) + " using 1:2:3 with points pt 7 ps 0.55 lc rgb variable notitle";
  plot += ", NaN with points pt 7 lc " + gp::rgb(gp::color::ok) + " title \"correct\"";
  plot += ", NaN with points pt 7 lc " + gp::rgb(gp::color::failed) + " title \"wrong\"";
  plot += ", NaN with points pt 7 lc " + gp::rgb(gp::color::skipped) + " title \"unlabelled\"";
  s << plot << "\n";
}

inline void tokens_per_question(gp::Script& s, const RunData& run) {
  const char* title = "Average tokens per question (input + output)";
  std::vector<std::optional<TokenMeans>> means;
  double top = 0;
  for (auto& m : run.models) {
    means.push_back(token_means(m));
    if (means.back()) top = std::max(top, means.back()->input + means.back()->output);
  }
  if (top <= 0) return gp::no_data_panel(s, title, "no tokens.input_mean/output_mean and no samples");
  gp::begin_panel(s, title);
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size()) << gp::yrange(0, top * 1.25, 0)
    << "set ylabel \"tokens per question (mean)\"\nset boxwidth 0.5 absolute\nset key top left horizontal\n"
    << "set label \"each model counts with its own tokenizer: compare lengths across families in characters\""
    << " at graph 0.99, graph 0.93 right font \",9\" tc rgb \"#777777\"\n";
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    double x = static_cast<double>(i);
    if (!means[i]) {
      s << gp::label("n/a", x, top * 0.04, "center font \",10\" tc rgb \"#777777\"");
      continue;
    }
    auto [in, out] = *means[i];
    rows.push_back({x, in, in + out});
    s << gp::label(gp::num(in, 0), x, in / 2, "center font \",10\"")
      << gp::label(gp::num(out, 0), x, in + out / 2, "center font \",10\" tc rgb \"#ffffff\"")
      << gp::label(gp::num(in + out, 0) + " total", x, in + out + top * 0.04, "center font \",10\"");
  }
  auto block = s.datablock(rows);
  // The total bar drawn first, the input bar over it: a stacked bar without gnuplot's histogram mode.
  s << "plot " << block << " using 1:3 with boxes lc " << gp::rgb(gp::color::output) << " title \"output (generated)\", "
    << block << " using 1:2 with boxes lc " << gp::rgb(gp::color::input) << " title \"input (prompt)\"\n";
}

inline void throughput(gp::Script& s, const RunData& run) {
  const char* title = "Throughput (tokens/s)";
  struct Bar {
    double x, v;
    std::uint32_t c;
  };
  std::vector<Bar> decode, prefill, scored, overall;
  for (std::size_t i = 0; i < run.models.size(); ++i) {
    auto& m = run.models[i];
    double x = static_cast<double>(i);
    if (m.decode_tokens_per_second && *m.decode_tokens_per_second > 0)
      decode.push_back({x - 0.16, *m.decode_tokens_per_second, gp::color::gpu});
    if (m.prefill_tokens_per_second && *m.prefill_tokens_per_second > 0)
      prefill.push_back({x + 0.16, *m.prefill_tokens_per_second, gp::color::host});
    // A loglikelihood run generates nothing: its rate is the tokens it scored, not its one-token continuations.
    if (m.scored_tokens_per_second && *m.scored_tokens_per_second > 0)
      scored.push_back({x, *m.scored_tokens_per_second, gp::color::time});
    else if (!m.decode_tokens_per_second && !m.prefill_tokens_per_second)
      if (auto* sp = m.primary_split() ? m.primary_split() : (m.splits.empty() ? nullptr : &m.splits.front());
          sp && sp->tokens_per_second && *sp->tokens_per_second > 0)
        overall.push_back({x, *sp->tokens_per_second, gp::color::other});
  }
  if (decode.empty() && prefill.empty() && scored.empty() && overall.empty())
    return gp::no_data_panel(s, title, "no throughput or tokens_per_second in results.json");
  double lo = 1e300, hi = 0;
  for (auto* v : {&decode, &prefill, &scored, &overall})
    for (auto& b : *v) lo = std::min(lo, b.v), hi = std::max(hi, b.v);
  const bool log = hi / lo > 30;  // one axis for prefill and decode: they differ by 10-100x
  gp::begin_panel(s, title);
  s << gp::xtics(model_tics(run)) << xrange_for(run.models.size()) << "set ylabel \"tokens per second\"\n"
    << "set boxwidth 0.3 absolute\nset key top left horizontal\n";
  if (log)
    s << "set logscale y\n" << gp::yrange(lo / 3, hi * 4, 3, true)
      << "set label \"log scale\" at graph 0.99, graph 0.93 right font \",9\" tc rgb \"#777777\"\n";
  else
    s << gp::yrange(0, hi * 1.2, 3);
  std::string plot = "plot ";
  auto series = [&](std::vector<Bar>& bars, const char* key) {
    if (bars.empty()) return;
    std::vector<std::vector<double>> rows;
    for (auto& b : bars) {
      rows.push_back({b.x, b.v});
      double y = log ? b.v * 1.3 : b.v + hi * 0.03;
      s << gp::label(gp::num(b.v, b.v < 100 ? 1 : 0), b.x, y, "center font \",9\"");
    }
    if (plot.size() > 5) plot += ", ";
    plot += s.datablock(rows) + " using 1:2 with boxes lc " + gp::rgb(bars.front().c) + " title " + gp::str(key);
  };
  series(decode, "decode");
  series(prefill, "prefill");
  series(scored, "scored (loglikelihood)");
  series(overall, "end to end");
  s << plot << "\n";
}

}  // namespace curebench::report::panels
