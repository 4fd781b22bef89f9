#pragma once
// Monotonic timing for telemetry; wall-clock timestamps only for the audit trail.
#include <chrono>
#include <cstdint>

namespace curebench {

class Timer {
 public:
  using clock = std::chrono::steady_clock;
  Timer() : start_(clock::now()) {}
  void reset() { start_ = clock::now(); }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }
  double millis() const { return seconds() * 1e3; }

 private:
  clock::time_point start_;
};

// Unix epoch milliseconds (system clock): for start/end stamps that a reader correlates with logs.
inline std::int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace curebench
