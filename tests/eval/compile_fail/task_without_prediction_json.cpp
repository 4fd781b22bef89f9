// Compile-fail case (ctest conformance.compile_fail.task_without_prediction_json): a study task without
// prediction_json() does not model eval::tasks::StudyTask; run_task with it is refused with the concept's name.
#include "curebench/eval/tasks/task.hpp"

struct NoPredictionJson {
  static constexpr std::string_view name = "half";
  using Item = curebench::eval::tasks::RelationItem;
  using Prediction = curebench::eval::tasks::RelationPrediction;
  using Score = curebench::eval::tasks::RelationScore;
  curebench::eval::Conversation prompt(const Item&, const std::vector<const Item*>&) const { return {}; }
  Prediction parse(const Item&, std::string_view) const { return {}; }
  Score score() const { return {}; }
};

auto refused = curebench::eval::tasks::run_task(NoPredictionJson{}, {}, curebench::eval::tasks::ZeroShot{}, nullptr);
