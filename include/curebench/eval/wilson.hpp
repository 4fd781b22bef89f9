#pragma once
// Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998 method 3, no continuity
// correction). With n = 50 the 95 % interval is about ±13 points: two models 2 points apart are a tie.
//   centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²),  p = k/n
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>

namespace curebench::eval {

struct Interval {
  double lo = 0.0, hi = 0.0;
};

inline constexpr double z95 = 1.959963984540054;  // Φ⁻¹(0.975)

inline std::optional<Interval> wilson_interval(std::size_t k, std::size_t n, double z = z95) {
  if (n == 0 || k > n) return std::nullopt;
  double nn = static_cast<double>(n), p = static_cast<double>(k) / nn, z2 = z * z;
  double denom = 1.0 + z2 / nn;
  double centre = (p + z2 / (2.0 * nn)) / denom;
  double half = z / denom * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  // Clamp only the rounding noise at the ends (k = 0 gives lo = 0 exactly in exact arithmetic).
  return Interval{std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace curebench::eval
