#pragma once
// The StudyTask concept (prompt + answer parser + metric for one task family) and run_task, which drives one
// over a split with a prompting method and any text generator. The generator is a function from prompts to
// outputs, so this header needs no model: the CLI plugs in runtime::generate, the tests an oracle.
// Tasks: NerTask (ner_task.hpp), RelationTask (relation_task.hpp), MultiLabelTask (multilabel_task.hpp), QaTask
// (qa_task.hpp: eval's multiple-choice questions); methods:
// ZeroShot, FewShot, ChainOfThought (prompting.hpp).
#include "curebench/core/error.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/tasks/multilabel_task.hpp"
#include "curebench/eval/tasks/ner_task.hpp"
#include "curebench/eval/tasks/prompting.hpp"
#include "curebench/eval/tasks/qa_task.hpp"
#include "curebench/eval/tasks/relation_task.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <concepts>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval::tasks {

template <class T>
concept StudyTask = requires(const T& t, const typename T::Item& item, const std::vector<const typename T::Item*>& ex,
                             std::string_view output, typename T::Score& score, const typename T::Prediction& p) {
  { T::name } -> std::convertible_to<std::string_view>;
  { t.prompt(item, ex) } -> std::same_as<Conversation>;
  { t.parse(item, output) } -> std::same_as<typename T::Prediction>;
  { t.score() } -> std::same_as<typename T::Score>;
  score.add(item, p);
  { std::as_const(score).to_json() } -> std::convertible_to<nlohmann::json>;
  { t.prediction_json(item, p) } -> std::convertible_to<nlohmann::json>;
};
static_assert(StudyTask<NerTask>);
static_assert(StudyTask<RelationTask>);
static_assert(StudyTask<MultiLabelTask>);
static_assert(StudyTask<QaTask>);
static_assert(PromptingMethod<ZeroShot, NerSentence> && PromptingMethod<FewShot<NerSentence>, NerSentence>);
static_assert(PromptingMethod<ZeroShot, RelationItem> && PromptingMethod<FewShot<RelationItem>, RelationItem>);
static_assert(PromptingMethod<ZeroShot, MultiLabelItem> && PromptingMethod<FewShot<MultiLabelItem>, MultiLabelItem>);
static_assert(PromptingMethod<ChainOfThought, NerSentence> && PromptingMethod<ChainOfThought, RelationItem> &&
              PromptingMethod<ChainOfThought, MultiLabelItem>);
static_assert(PromptingMethod<ZeroShot, Question> && PromptingMethod<FewShot<Question>, Question> &&
              PromptingMethod<ChainOfThought, Question>);

// What one item produced: the prompt, the raw output and the parsed prediction (as prediction_json writes it).
struct TaskRecord {
  Conversation prompt;
  std::string output;
  nlohmann::json prediction;
};

using Generator = std::function<std::vector<std::string>(const std::vector<Conversation>&)>;

// Runs `items` in batches of `batch`; on_record sees every item in order (its output whole: the method's answer()
// is what the parser reads of it). A few-shot example that is one of
// `items` (by id or text) is refused (Errc::internal): FewShot already drops those, this proves it per prompt.
template <StudyTask T, PromptingMethod<typename T::Item> Method>
typename T::Score run_task(const T& task, const std::vector<typename T::Item>& items, const Method& method,
                           const Generator& generate, std::size_t batch = 8,
                           const std::function<void(const TaskRecord&)>& on_record = nullptr) {
  require(batch > 0, Errc::invalid_argument, "", "batch", "batch size must be at least 1");
  std::set<std::string> evaluated;
  for (const auto& i : items) evaluated.insert(item_id(i)), evaluated.insert(item_text(i));
  auto score = task.score();
  for (std::size_t first = 0; first < items.size(); first += batch) {
    const std::size_t last = std::min(items.size(), first + batch);
    std::vector<Conversation> prompts;
    for (std::size_t i = first; i < last; ++i) {
      auto examples = method.examples(items[i]);
      for (const auto* e : examples)
        require(!evaluated.count(item_id(*e)) && !evaluated.count(item_text(*e)), Errc::internal, "", "examples",
                "a few-shot example is an item of the evaluated split: " + item_id(*e));
      prompts.push_back(method.prompt(task.prompt(items[i], examples)));
    }
    auto outputs = generate(prompts);
    require(outputs.size() == prompts.size(), Errc::internal, "", "generate", "the generator returned a wrong count");
    for (std::size_t i = first; i < last; ++i) {
      const auto& out = outputs[i - first];
      auto p = task.parse(items[i], method.answer(out));
      score.add(items[i], p);
      if (on_record) on_record({std::move(prompts[i - first]), out, task.prediction_json(items[i], p)});
    }
  }
  return score;
}

}  // namespace curebench::eval::tasks
