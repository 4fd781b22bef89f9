#pragma once
// CPython's random.Random, the parts lm-evaluation-harness's few-shot sampler uses: Random(int seed) (MT19937 seeded
// by init_by_array with the seed's 32-bit words), getrandbits(k <= 32), _randbelow and sample(population, k) with
// its two branches (pool for a small population, rejection set otherwise), as in CPython 3.8-3.13 Lib/random.py.
// Checked against python3's own random in tests/eval/test_prompt.cpp (LmEval.*).
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

namespace curebench::eval {

class PythonRandom {
 public:
  explicit PythonRandom(std::uint32_t seed) {  // seeds below 2^32: one key word
    init_genrand(19650218u);
    const std::uint32_t key[1] = {seed};
    std::size_t i = 1, j = 0;
    for (std::size_t k = N; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<std::uint32_t>(j);
      ++i;
      ++j;
      if (i >= N) {
        mt_[0] = mt_[N - 1];
        i = 1;
      }
      if (j >= 1) j = 0;
    }
    for (std::size_t k = N - 1; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<std::uint32_t>(i);
      if (++i >= N) {
        mt_[0] = mt_[N - 1];
        i = 1;
      }
    }
    mt_[0] = 0x80000000u;
  }

  std::uint32_t genrand_uint32() {
    if (mti_ >= N) {
      for (std::size_t kk = 0; kk < N; ++kk) {
        const std::uint32_t y = (mt_[kk] & 0x80000000u) | (mt_[(kk + 1) % N] & 0x7fffffffu);
        mt_[kk] = mt_[(kk + M) % N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      }
      mti_ = 0;
    }
    std::uint32_t y = mt_[mti_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

  std::uint32_t getrandbits(int k) { return genrand_uint32() >> (32 - k); }  // 1 <= k <= 32

  std::uint64_t randbelow(std::uint64_t n) {  // _randbelow_with_getrandbits, n < 2^32
    int k = 0;
    while ((n >> k) != 0) ++k;  // n.bit_length()
    std::uint64_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
  }

  // random.sample(range(n), k): the indices drawn, in draw order.
  std::vector<std::size_t> sample(std::size_t n, std::size_t k) {
    if (k > n) throw std::invalid_argument("Sample larger than population or is negative");
    std::vector<std::size_t> result(k);
    std::size_t setsize = 21;
    if (k > 5) setsize += static_cast<std::size_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
    if (n <= setsize) {
      std::vector<std::size_t> pool(n);
      for (std::size_t i = 0; i < n; ++i) pool[i] = i;
      for (std::size_t i = 0; i < k; ++i) {
        const auto j = static_cast<std::size_t>(randbelow(n - i));
        result[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      std::set<std::size_t> selected;
      for (std::size_t i = 0; i < k; ++i) {
        auto j = static_cast<std::size_t>(randbelow(n));
        while (selected.count(j)) j = static_cast<std::size_t>(randbelow(n));
        selected.insert(j);
        result[i] = j;
      }
    }
    return result;
  }

 private:
  static constexpr std::size_t N = 624, M = 397;
  void init_genrand(std::uint32_t s) {
    mt_[0] = s;
    for (std::size_t i = 1; i < N; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    mti_ = N;
  }
  std::array<std::uint32_t, N> mt_{};
  std::size_t mti_ = N;
};

}  // namespace curebench::eval
