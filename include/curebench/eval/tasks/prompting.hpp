#pragma once
// Prompting methods for the study's tasks, as a policy: which solved examples precede the item.
//  - ZeroShot: none.
//  - FewShot: k examples from a pool the caller builds from the train/dev split only. Pool items whose id or
//    text also occurs in the evaluated split are dropped first (a masked sentence can repeat under another
//    id; a test sentence must never be shown solved). The rest is ranked once by SHA-256("<seed>\n<id>") - the same hash rank as
//    `--limit --seed` (eval/dataset.hpp) - so the choice depends only on (seed, pool ids), not on file order;
//    every item gets the same first k of that ranking, shown in rank order.
#include "curebench/core/error.hpp"
#include "curebench/eval/sha256.hpp"

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

// What a method needs of an item: an id and the text the model reads.
template <class Item>
concept PromptItem = requires(const Item& i) {
  { item_id(i) } -> std::convertible_to<std::string>;
  { item_text(i) } -> std::convertible_to<std::string>;
};

template <class M, class Item>
concept PromptingMethod = requires(const M& m, const Item& item) {
  { m.examples(item) } -> std::same_as<std::vector<const Item*>>;
  { m.name() } -> std::convertible_to<std::string>;
};

struct ZeroShot {
  template <class Item>
  std::vector<const Item*> examples(const Item&) const { return {}; }
  std::string name() const { return "zero-shot"; }
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
  const std::vector<Item>& pool() const { return pool_; }

 private:
  std::vector<Item> pool_;
  std::size_t k_;
  std::uint64_t seed_;
  std::vector<std::size_t> order_;
};

}  // namespace curebench::eval::tasks
