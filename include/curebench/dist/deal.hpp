#pragma once
// Which questions each rank answers: dealt so that every rank gets about the same amount of work.
// Longest-processing-time first: items by cost, longest first (ties: dataset order), each to the rank with the least
// work so far (ties: the lowest rank). Every rank computes the same deal from the same inputs, so no rank has to
// send another its share. A rank's items are returned in dataset order, so its batches follow the dataset as a
// one-process run's do. The deal depends on the questions still to run, not on how many ran before: a resume with
// another world size deals what is left over its own ranks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

namespace curebench::dist {

inline std::vector<std::vector<std::size_t>> deal_by_cost(const std::vector<std::uint64_t>& cost, int world_size) {
  const auto n = static_cast<std::size_t>(std::max(1, world_size));
  std::vector<std::vector<std::size_t>> share(n);
  std::vector<std::size_t> order(cost.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<std::uint64_t> load(n, 0);
  for (auto i : order) {
    const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[r] += cost[i];
    share[r].push_back(i);
  }
  for (auto& s : share) std::sort(s.begin(), s.end());
  return share;
}

}  // namespace curebench::dist
