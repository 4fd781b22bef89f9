#pragma once
// Chain<S...>: try loader strategies in order. Each attempt is recorded (times, outcome, error, peak
// host and GPU memory, device free before/after); between attempts memory is reclaimed deterministically
// (the failed model is destroyed, the CUDA cache emptied, the heap trimmed) and we check it came back.
#include <exception>
#include <string>
#include <tuple>
#include <vector>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/loader/strategy.hpp"
#include "curebench/loader/warmup.hpp"

namespace curebench::loader {

struct Attempt {
  std::string strategy;
  std::string outcome;  // ok | failed | skipped
  std::string reason;   // why skipped/failed, or a note
  std::string error_code;
  std::int64_t started_ms = 0, finished_ms = 0;
  double seconds = 0;
  MemoryPlan predicted;
  std::int64_t peak_rss_bytes = 0, rss_before_bytes = 0, rss_after_bytes = 0;
  std::int64_t gpu_allocated_peak_bytes = 0, gpu_reserved_peak_bytes = 0;
  std::int64_t gpu_free_before_bytes = 0, gpu_free_after_bytes = 0, gpu_allocated_after_bytes = 0;
  bool memory_reclaimed = true;  // after a failure: GPU allocations back to where they were
};

inline void to_json(nlohmann::json& j, const Attempt& a) {
  j = nlohmann::json{{"strategy", a.strategy}, {"outcome", a.outcome}, {"reason", a.reason.empty() ? nlohmann::json() : nlohmann::json(a.reason)},
                     {"error_code", a.error_code.empty() ? nlohmann::json() : nlohmann::json(a.error_code)},
                     {"started_at_ms", a.started_ms}, {"finished_at_ms", a.finished_ms}, {"seconds", a.seconds},
                     {"predicted", to_json_plan(a.predicted)}, {"peak_rss_bytes", a.peak_rss_bytes},
                     {"rss_before_bytes", a.rss_before_bytes}, {"rss_after_bytes", a.rss_after_bytes},
                     {"peak_gpu_bytes", a.gpu_allocated_peak_bytes}, {"gpu_reserved_peak_bytes", a.gpu_reserved_peak_bytes},
                     {"gpu_free_before_bytes", a.gpu_free_before_bytes}, {"gpu_free_after_bytes", a.gpu_free_after_bytes},
                     {"memory_reclaimed", a.memory_reclaimed}};
}

struct LoadResult {
  model::LoadedModel model;
  std::string strategy;
  std::vector<Attempt> attempts;
};

// Maps what a strategy can throw to (code, message); libtorch's CUDA OOM is an out_of_memory like ours.
inline std::pair<std::string, std::string> describe_failure(std::exception_ptr ep) {
  const Error e = error_from_exception(ep);
  return {std::string(to_string(e.code())), e.what()};
}

template <LoaderStrategy... S>
class Chain {
 public:
  Chain() = default;
  explicit Chain(S... s) : strategies_(std::move(s)...) {}

  static std::vector<std::string> names() { return {S{}.name()...}; }

  // `only`: run just these strategies (by name), in chain order; empty = all.
  LoadResult load(const CheckpointInfo& c, const LoadRequest& r, const std::vector<std::string>& only = {}) const {
    std::vector<Attempt> attempts;
    std::optional<LoadResult> result;
    std::apply([&](const auto&... s) { (try_one(s, c, r, only, attempts, result), ...); }, strategies_);
    if (result) {
      result->attempts = std::move(attempts);
      return std::move(*result);
    }
    std::string why;
    for (auto& a : attempts) why += (why.empty() ? "" : "; ") + a.strategy + " " + a.outcome + ": " + a.reason;
    if (attempts.empty()) why = "no strategy selected";
    throw ChainError(c.path.string(), why, std::move(attempts));
  }

  struct ChainError : Error {
    ChainError(const std::string& path, const std::string& why, std::vector<Attempt> a)
        : Error(Errc::unsupported, path, "loader", "every loader strategy failed or was skipped: " + why), attempts(std::move(a)) {}
    std::vector<Attempt> attempts;
  };

 private:
  template <class Strategy>
  static void try_one(const Strategy& s, const CheckpointInfo& c, const LoadRequest& r, const std::vector<std::string>& only,
                      std::vector<Attempt>& attempts, std::optional<LoadResult>& result) {
    if (result) return;  // an earlier strategy succeeded
    if (!only.empty() && std::find(only.begin(), only.end(), s.name()) == only.end()) return;
    Attempt a;
    a.strategy = s.name();
    a.started_ms = unix_millis();
    Timer timer;
    auto before_gpu = gpu_memory();
    a.gpu_free_before_bytes = before_gpu.device_free_bytes;
    a.rss_before_bytes = host_memory().rss_bytes;
    auto verdict = s.check(c, r);
    a.predicted = verdict.plan;
    a.reason = verdict.reason;
    if (!verdict.ok) {
      a.outcome = "skipped";
    } else {
      reset_peak_rss();
      reset_gpu_peak();
      try {
        auto m = s.load(c, r);
        warmup_check(m);
        a.outcome = "ok";
        record_peaks(a);
        result.emplace(LoadResult{std::move(m), a.strategy, {}});
      } catch (...) {
        auto [code, msg] = describe_failure(std::current_exception());
        a.outcome = "failed";
        a.error_code = code;
        a.reason = msg;
        record_peaks(a);
      }
      if (!result) {  // reclaim before the next attempt and check that the memory came back
        empty_gpu_cache();
        release_free_heap();
        auto after = gpu_memory();
        a.gpu_allocated_after_bytes = after.allocated_bytes;
        a.memory_reclaimed = after.allocated_bytes <= before_gpu.allocated_bytes;
      }
    }
    auto after = gpu_memory();
    a.gpu_free_after_bytes = after.device_free_bytes;
    a.rss_after_bytes = host_memory().rss_bytes;
    a.finished_ms = unix_millis();
    a.seconds = timer.seconds();
    attempts.push_back(std::move(a));
  }

  static void record_peaks(Attempt& a) {
    a.peak_rss_bytes = host_memory().peak_rss_bytes;
    auto g = gpu_memory();
    a.gpu_allocated_peak_bytes = g.allocated_peak_bytes;
    a.gpu_reserved_peak_bytes = g.reserved_peak_bytes;
  }

  std::tuple<S...> strategies_;
};

}  // namespace curebench::loader
