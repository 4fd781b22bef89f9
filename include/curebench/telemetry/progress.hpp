#pragma once
// One updating progress line per model on a terminal (carriage return), plain lines otherwise (CI logs):
// samples done, ETA, questions/s and the mode's token rate (output tokens generated, or tokens scored).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "curebench/core/timer.hpp"

namespace curebench::telemetry {

class Progress {
 public:
  Progress(std::string label, std::size_t total, std::string token_unit = "tokens/s", std::FILE* out = stderr)
      : label_(std::move(label)), unit_(std::move(token_unit)), total_(total), out_(out), tty_(::isatty(::fileno(out)) != 0) {}

  void update(std::size_t done, std::size_t tokens) {
    done_ = done;
    tokens_ = tokens;
    const double t = timer_.seconds();
    // On a terminal redraw often; in logs print at most every 10 % so CI output stays short.
    if (!tty_ && done != total_ && done * 10 / std::max<std::size_t>(1, total_) == last_decile_) return;
    last_decile_ = done * 10 / std::max<std::size_t>(1, total_);
    const double rate = done ? t / static_cast<double>(done) : 0.0;
    const double eta = rate * static_cast<double>(total_ - std::min(done, total_));
    std::fprintf(out_, "%s%s: %zu/%zu samples, %.0f s elapsed, ETA %.0f s, %.2f questions/s, %.1f %s%s", tty_ ? "\r" : "",
                 label_.c_str(), done, total_, t, eta, t > 0 ? static_cast<double>(done) / t : 0.0,
                 t > 0 ? static_cast<double>(tokens) / t : 0.0, unit_.c_str(), tty_ ? "   " : "\n");
    std::fflush(out_);
  }
  void finish() {
    if (tty_) std::fprintf(out_, "\n");
  }

 private:
  std::string label_, unit_;
  std::size_t total_, done_ = 0, tokens_ = 0, last_decile_ = static_cast<std::size_t>(-1);
  std::FILE* out_;
  bool tty_;
  Timer timer_;
};

}  // namespace curebench::telemetry
