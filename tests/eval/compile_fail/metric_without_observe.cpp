// Compile-fail case (ctest conformance.compile_fail.metric_without_observe): a metric without observe() does not
// model eval::metrics::Metric; composing it into Metrics<...> is refused with the concept's name.
#include "curebench/eval/metrics.hpp"

struct OnlyJson {
  nlohmann::json to_json() const { return nlohmann::json::object(); }
};

curebench::eval::metrics::Metrics<curebench::eval::metrics::Accuracy, OnlyJson> refused;
static_assert(curebench::eval::metrics::Metric<decltype(refused)>);
