#pragma once
// The one BPE merge loop: repeatedly merge the best adjacent pair (lowest rank, then leftmost), as HF
// tokenizers' Word::merge_all and SentencePiece's bpe_model do with a heap. Vocabularies differ only in
// how a pair is ranked (merge list rank, or -score), so that is the customization point.
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

namespace curebench::tokenizer {

struct BpeSymbol {
  int32_t id = -1;          // vocabulary id, or -1 for a span the vocabulary lacks
  uint32_t start = 0;       // byte span in the word the symbols cover
  uint32_t len = 0;         // 0 marks a symbol merged into its left neighbour
  int32_t prev = -1, next = -1;
};

template <class Rank>
struct PairMerge {
  Rank rank;
  int32_t new_id;
};

// PairRanker: what a pair of neighbours would merge into, if anything.
template <class F, class Rank>
concept PairRanker = requires(const F& f, const BpeSymbol& l, const BpeSymbol& r) {
  { f(l, r) } -> std::same_as<std::optional<PairMerge<Rank>>>;
};

// Merges `symbols` (linked in order, as make_symbols builds them) in place.
template <class Rank, class F>
  requires PairRanker<F, Rank>
void bpe_merge(std::vector<BpeSymbol>& symbols, const F& rank_pair) {
  struct Entry {
    Rank rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Entry& o) const { return rank != o.rank ? o.rank < rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  auto push = [&](int32_t left) {
    if (left < 0) return;
    int32_t right = symbols[left].next;
    if (right < 0) return;
    if (auto m = rank_pair(symbols[left], symbols[right])) queue.push(Entry{m->rank, left, m->new_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push(i);

  while (!queue.empty()) {
    Entry top = queue.top();
    queue.pop();
    BpeSymbol& left = symbols[top.pos];
    if (left.len == 0 || left.next < 0) continue;
    BpeSymbol& right = symbols[left.next];
    // An entry is stale when a neighbour changed since it was queued (HF compares the merge target).
    auto now = rank_pair(left, right);
    if (!now || now->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    push(left.prev);
    push(top.pos);
  }
}

// Symbols for a word from (id, byte length) units in order.
inline std::vector<BpeSymbol> make_symbols(const std::vector<std::pair<int32_t, uint32_t>>& units) {
  std::vector<BpeSymbol> out(units.size());
  uint32_t offset = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    out[i].id = units[i].first;
    out[i].start = offset;
    out[i].len = units[i].second;
    out[i].prev = static_cast<int32_t>(i) - 1;
    out[i].next = i + 1 < units.size() ? static_cast<int32_t>(i + 1) : -1;
    offset += units[i].second;
  }
  return out;
}

}  // namespace curebench::tokenizer
