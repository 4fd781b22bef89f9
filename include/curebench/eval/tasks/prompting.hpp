#pragma once
// Prompting methods for the study's tasks, as a policy: which solved examples precede the item, what the item's
// turn asks for (prompt()), and which part of the model's output the task's parser reads (answer()).
//  - ZeroShot: none; the task's prompt and the whole output as they are.
//  - FewShot: k examples from a pool the caller builds from the train/dev split only. Pool items whose id or
//    text also occurs in the evaluated split are dropped first (a masked sentence can repeat under another
//    id; a test sentence must never be shown solved). The rest is ranked once by SHA-256("<seed>\n<id>") - the same hash rank as
//    `--limit --seed` (eval/dataset.hpp) - so the choice depends only on (seed, pool ids), not on file order;
//    every item gets the same first k of that ranking, shown in rank order. Prompt and output as they are.
//  - ChainOfThought (zero-shot chain-of-thought): no examples; the item's turn gains kChainOfThoughtInstruction -
//    reason step by step, then end with a line "Answer: <the answer in the format asked above>". The parser reads
//    only the text after the LAST "Answer:" of the output (ASCII case-insensitive, anywhere in a line, so "Final
//    answer:" counts too): a model that revises itself is read at its last word, and its reasoning, which may name
//    labels or entities it then rejects, is never read. No "Answer:" at all: the parser reads an empty answer
//    (NER: no entity; RE: the negative label, counted in parse_failures; multi-label: no label, counted in
//    answers_without_a_label).
#include "curebench/core/error.hpp"
#include "curebench/eval/chat_message.hpp"
#include "curebench/eval/sha256.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval::tasks {

// What a method needs of an item: an id and the text the model reads.
template <class Item>
concept PromptItem = requires(const Item& i) {
  { item_id(i) } -> std::convertible_to<std::string>;
  { item_text(i) } -> std::convertible_to<std::string>;
};

template <class M, class Item>
concept PromptingMethod = requires(const M& m, const Item& item, Conversation c, std::string_view output) {
  { m.examples(item) } -> std::same_as<std::vector<const Item*>>;
  { m.name() } -> std::convertible_to<std::string>;
  { m.prompt(std::move(c)) } -> std::same_as<Conversation>;  // the task's prompt (examples included) -> what is sent
  { m.answer(output) } -> std::same_as<std::string_view>;    // the model's output -> what the task's parser reads
};

struct ZeroShot {
  template <class Item>
  std::vector<const Item*> examples(const Item&) const { return {}; }
  std::string name() const { return "zero-shot"; }
  Conversation prompt(Conversation c) const { return c; }
  std::string_view answer(std::string_view output) const { return output; }
};

inline constexpr std::string_view kChainOfThoughtInstruction =
    "\nThink step by step: first write your reasoning, then end with one line that starts with \"Answer:\" followed "
    "by your answer in the format asked above.\nReasoning:";

struct ChainOfThought {
  template <class Item>
  std::vector<const Item*> examples(const Item&) const { return {}; }
  std::string name() const { return "chain-of-thought"; }
  Conversation prompt(Conversation c) const {
    require(!c.empty() && c.back().role == "user", Errc::internal, "", "prompt", "the prompt must end with a user turn");
    c.back().content += kChainOfThoughtInstruction;
    return c;
  }
  // The text after the last "Answer:" (ASCII case-insensitive); "" when there is none.
  std::string_view answer(std::string_view output) const {
    constexpr std::string_view marker = "answer:";
    for (std::size_t at = output.size() >= marker.size() ? output.size() - marker.size() + 1 : 0; at-- > 0;) {
      bool match = true;
      for (std::size_t i = 0; i < marker.size() && match; ++i) {
        char ch = output[at + i];
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        match = ch == marker[i];
      }
      if (match) return output.substr(at + marker.size());
    }
    return {};
  }
};

template <PromptItem Item>
class FewShot {
 public:
  FewShot(std::vector<Item> pool, const std::vector<Item>& evaluated, std::size_t k, std::uint64_t seed)
      : k_(k), seed_(seed) {
    require(k_ > 0, Errc::invalid_argument, "", "k", "few-shot needs k >= 1 (k = 0 is zero-shot)");
    std::set<std::string> seen;
    for (const auto& e : evaluated) seen.insert(item_id(e)), seen.insert(item_text(e));
    for (auto& p : pool)
      if (!seen.count(item_id(p)) && !seen.count(item_text(p))) pool_.push_back(std::move(p));
    require(pool_.size() >= k_, Errc::invalid_argument, "", "k",
            "the example pool has " + std::to_string(pool_.size()) + " items outside the evaluated split; few-shot "
            "with k = " + std::to_string(k_) + " needs at least k");
    std::vector<std::pair<std::array<std::uint8_t, 32>, std::size_t>> ranked;
    for (std::size_t i = 0; i < pool_.size(); ++i)
      ranked.push_back({Sha256{}.update(std::to_string(seed_)).update("\n").update(item_id(pool_[i])).digest(), i});
    std::sort(ranked.begin(), ranked.end());
    for (const auto& r : ranked) order_.push_back(r.second);
  }

  std::vector<const Item*> examples(const Item& item) const {
    std::vector<const Item*> out;
    const std::string text = item_text(item);
    // Skips the item itself, should the caller have left it out of `evaluated`.
    for (std::size_t i = 0; i < order_.size() && out.size() < k_; ++i)
      if (item_text(pool_[order_[i]]) != text) out.push_back(&pool_[order_[i]]);
    return out;
  }
  std::string name() const { return std::to_string(k_) + "-shot (seed " + std::to_string(seed_) + ")"; }
  Conversation prompt(Conversation c) const { return c; }
  std::string_view answer(std::string_view output) const { return output; }
  const std::vector<Item>& pool() const { return pool_; }

 private:
  std::vector<Item> pool_;
  std::size_t k_;
  std::uint64_t seed_;
  std::vector<std::size_t> order_;
};

}  // namespace curebench::eval::tasks
