// quant/chunking: the quantizers stream a weight in slabs of rows. Every output byte must equal the
// whole-tensor computation's (whole_tensor_reference.hpp, the code before streaming, kept verbatim) for any
// slab size, on shapes whose row count is no multiple of the slab, whose blocks run across row ends and
// whose element count is odd; and the transient host memory of a large weight must stay near one slab.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include "curebench/core/memory.hpp"
#include "curebench/quant/weight.hpp"
#include "quant/whole_tensor_reference.hpp"

namespace q = curebench::quant;
namespace ref = whole_tensor_reference;

namespace {
// Bit patterns, so -0.0 vs 0.0 and every float/bf16 rounding would show.
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto as_int = [](const at::Tensor& t) {
    auto c = t.contiguous();
    switch (c.element_size()) {
      case 1: return c.view(at::kByte);
      case 2: return c.view(at::kShort);
      case 4: return c.view(at::kInt);
      default: return c.view(at::kLong);
    }
  };
  return at::equal(as_int(a), as_int(b));
}

// Weight-like values with the cases that matter for absmax quantization: an all-zero row (absmax 0),
// an outlier row, and exact ties with code values.
at::Tensor weight(std::int64_t rows, std::int64_t cols, at::ScalarType dt, int seed) {
  at::manual_seed(seed);
  auto w = at::randn({rows, cols}) * 0.02;
  w[0].zero_();
  w[rows / 2] *= 50;
  w[rows - 1].fill_(0.5);
  return w.to(dt);
}

// Slab sizes: one row (or one block multiple), a ragged middle size, and the whole tensor in one slab.
std::vector<std::int64_t> chunk_sizes(std::int64_t rows, std::int64_t cols) {
  return {1, cols * 7 + 5, rows * cols / 3 + 1, q::kChunkElements};
}

template <q::Codebook C>
void expect_bnb4_identical(const at::Tensor& w, std::int64_t blocksize, bool dq) {
  auto want = ref::quantize_bnb4<C>(w, blocksize, dq);
  for (auto chunk : chunk_sizes(w.size(0), w.size(1))) {
    SCOPED_TRACE("shape " + std::to_string(w.size(0)) + "x" + std::to_string(w.size(1)) + " block " + std::to_string(blocksize) +
                 " dq " + std::to_string(dq) + " chunk " + std::to_string(chunk));
    auto got = q::quantize_bnb4<C>(w, blocksize, dq, chunk);
    EXPECT_TRUE(same_bits(got.packed, want.packed));
    EXPECT_TRUE(same_bits(got.absmax, want.absmax));
    ASSERT_EQ(got.nested.has_value(), dq);
    if (dq) {
      EXPECT_EQ(std::memcmp(&got.nested->offset, &want.nested->offset, sizeof(float)), 0);  // mean over all blocks
      EXPECT_TRUE(same_bits(got.nested->absmax, want.nested->absmax));
    }
  }
}
}  // namespace

TEST(ChunkedQuant, SlabRowsKeepBlocksWhole) {
  EXPECT_EQ(q::rows_for_whole_blocks(4096, 64), 1);
  EXPECT_EQ(q::rows_for_whole_blocks(96, 64), 2);    // 2 x 96 = 3 blocks
  EXPECT_EQ(q::rows_for_whole_blocks(33, 64), 64);   // odd width: 64 rows = 33 blocks
  EXPECT_EQ(q::slab_rows(300, 256, 1, 1000), 3);
  EXPECT_EQ(q::slab_rows(300, 96, 2, 1000), 10);
  EXPECT_EQ(q::slab_rows(99, 33, 64, 10), 64);       // at least one multiple, even above the element bound
  EXPECT_EQ(q::slab_rows(5, 256, 1, q::kChunkElements), 5);
  std::vector<std::pair<std::int64_t, std::int64_t>> slabs;
  q::for_each_slab(10, 4, [&](std::int64_t r, std::int64_t n) { slabs.emplace_back(r, n); });
  EXPECT_EQ(slabs, (std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 4}, {4, 4}, {8, 2}}));
}

TEST(ChunkedQuant, NF4AndFP4EqualWholeTensorBytes) {
  // 300x256: 1200 blocks (5 nested blocks of 256, the last partial); 301x96: blocks across row ends and a
  // partial last block; 99x33: odd element count (a last lone nibble) and 64-row slabs.
  for (auto [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{{300, 256}, {301, 96}, {99, 33}}) {
    for (auto dt : {at::kBFloat16, at::kFloat}) {
      auto w = weight(rows, cols, dt, static_cast<int>(rows + cols));
      for (bool dq : {false, true}) {
        expect_bnb4_identical<q::Codebook::nf4>(w, 64, dq);
        expect_bnb4_identical<q::Codebook::fp4>(w, 64, dq);
      }
      expect_bnb4_identical<q::Codebook::nf4>(w, 128, true);
    }
  }
}

TEST(ChunkedQuant, NestedAbsmaxStreamsTooWithTheGlobalMean) {
  // 5000 x 64 = 5000 blocks -> 20 nested blocks; a 1000-element chunk streams the nested pass in 768-row
  // slabs, while the offset is the mean over all 5000 blocks.
  auto w = weight(5000, 64, at::kBFloat16, 11);
  auto want = ref::quantize_bnb4<q::Codebook::nf4>(w, 64, true);
  auto got = q::quantize_nf4(w, 64, true, 1000);
  EXPECT_EQ(std::memcmp(&got.nested->offset, &want.nested->offset, sizeof(float)), 0);
  EXPECT_TRUE(same_bits(got.absmax, want.absmax));
  EXPECT_TRUE(same_bits(got.nested->absmax, want.nested->absmax));
  EXPECT_TRUE(same_bits(got.packed, want.packed));
  // A per-slab mean would differ: the slabs' absmax means are not the global one.
  auto plain = q::quantize_nf4(w, 64, false);
  EXPECT_NE(plain.absmax.narrow(0, 0, 768).mean().item<float>(), got.nested->offset);
}

TEST(ChunkedQuant, Int8EqualsWholeTensorBytes) {
  for (auto [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{{301, 96}, {1000, 64}, {7, 4099}}) {
    for (auto dt : {at::kBFloat16, at::kFloat}) {
      auto w = weight(rows, cols, dt, static_cast<int>(rows * 3 + cols));
      auto want = ref::quantize_int8(w);
      for (auto chunk : chunk_sizes(rows, cols)) {
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " chunk " + std::to_string(chunk));
        auto got = q::quantize_int8(w, chunk);
        EXPECT_TRUE(same_bits(got.q, want.q));
        EXPECT_TRUE(same_bits(got.scb, want.scb));
      }
    }
  }
}

TEST(ChunkedQuant, Int4EqualsWholeTensorBytesEveryGroup) {
  for (auto [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{{301, 256}, {37, 512}}) {
    auto w = weight(rows, cols, at::kBFloat16, static_cast<int>(rows + 7 * cols));
    for (int g : {32, 64, 128, 256}) {
      auto want = ref::quantize_int4(w, g);
      for (auto chunk : chunk_sizes(rows, cols)) {
        SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " group " + std::to_string(g) + " chunk " + std::to_string(chunk));
        auto got = q::quantize_int4(w, g, chunk);
        EXPECT_TRUE(same_bits(got.packed, want.packed));
        EXPECT_TRUE(same_bits(got.scales_and_zeros, want.scales_and_zeros));
      }
    }
  }
}

TEST(ChunkedQuant, LegacyBlockwiseQuantizeKeepsItsInt64Codes) {
  auto x = weight(40, 50, at::kFloat, 5).view({-1});  // 1-D input, 2000 elements, partial last block
  auto code = q::codebook_tensor(q::Codebook::nf4);
  auto [want_codes, want_absmax] = ref::blockwise_quantize(x, 64, code);
  auto got = q::blockwise_quantize(x, 64, code);
  EXPECT_TRUE(same_bits(got.codes, want_codes));
  EXPECT_TRUE(same_bits(got.absmax, want_absmax));
}

namespace {
struct PeakCase {
  const char* name;
  std::function<q::Weight(const at::Tensor&)> run;
};

// Runs each case on `w` after a warm-up on 64 rows and reports peak RSS growth over the call, the
// outputs' bytes and seconds; nullopt when the peak cannot be reset.
std::optional<std::vector<std::array<double, 3>>> measure_peaks(const at::Tensor& w, const std::vector<PeakCase>& cases, const char* label) {
  std::vector<std::array<double, 3>> out;
  for (const auto& c : cases) {
    c.run(w.narrow(0, 0, 64));  // first use of each code path (allocator arenas, thread buffers), outside the measurement
    curebench::release_free_heap();
    if (!curebench::reset_peak_rss()) return std::nullopt;
    const auto before = curebench::host_memory().rss_bytes;
    const auto t0 = std::chrono::steady_clock::now();
    auto qw = c.run(w);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto grown = curebench::host_memory().peak_rss_bytes - before;
    std::printf("%s %s: peak RSS growth %.1f MiB, outputs %.1f MiB, %.2f s\n", label, c.name, grown / 1048576.0,
                q::weight_bytes(qw) / 1048576.0, seconds);
    out.push_back({static_cast<double>(grown), static_cast<double>(q::weight_bytes(qw)), seconds});
  }
  return out;
}
}  // namespace

// An 8192 x 4096 bf16 weight (64 MiB, 33.5 M values). The whole-tensor path held at least a float32 copy,
// its zero-padded twin and int64 codes at once: 4 + 4 + 8 = 16 bytes per value (512 MiB; 1.3 GiB measured
// for nf4-dq by the test below) before its other temporaries. Streamed, the growth of the resident set must
// stay within the outputs plus quant::quantize_transient_bytes, and the transient under one float32 copy.
TEST(ChunkedQuant, PeakHostMemoryIsOneSlabNotTheTensor) {
  auto w = weight(8192, 4096, at::kBFloat16, 21);
  const std::int64_t n = w.numel();
  constexpr std::int64_t kRuntimeSlack = 8 << 20;  // allocator and page granularity: not per value
  std::vector<PeakCase> cases{{"nf4-dq", [](const at::Tensor& x) { return q::Weight{q::quantize_nf4(x, 64, true)}; }},
                              {"int8", [](const at::Tensor& x) { return q::Weight{q::quantize_int8(x)}; }},
                              {"int4-g128", [](const at::Tensor& x) { return q::Weight{q::quantize_int4(x, 128)}; }}};
  auto peaks = measure_peaks(w, cases, "streamed");
  if (!peaks) GTEST_SKIP() << "/proc/self/clear_refs not writable: cannot reset the peak";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto grown = static_cast<std::int64_t>((*peaks)[i][0]), outputs = static_cast<std::int64_t>((*peaks)[i][1]);
    RecordProperty(std::string(cases[i].name) + "_peak_growth_bytes", std::to_string(grown));
    EXPECT_LE(grown, outputs + q::quantize_transient_bytes(n) + kRuntimeSlack) << cases[i].name;
    EXPECT_LT(grown - outputs, n * 4) << cases[i].name << ": the transient reached a float32 copy of the whole weight";
  }
}

// The same measurement of the whole-tensor reference, for docs/loader.md's comparison (1.4 GB of RSS and
// ~10 s: run by hand with CUREBENCH_MEASURE_WHOLE_TENSOR=1).
TEST(ChunkedQuant, WholeTensorPeakForComparison) {
  if (!std::getenv("CUREBENCH_MEASURE_WHOLE_TENSOR")) GTEST_SKIP() << "set CUREBENCH_MEASURE_WHOLE_TENSOR=1 to measure";
  auto w = weight(8192, 4096, at::kBFloat16, 21);
  std::vector<PeakCase> cases{
      {"nf4-dq", [](const at::Tensor& x) { return q::Weight{ref::quantize_bnb4<q::Codebook::nf4>(x, 64, true)}; }},
      {"int8", [](const at::Tensor& x) { return q::Weight{ref::quantize_int8(x)}; }},
      {"int4-g128", [](const at::Tensor& x) { return q::Weight{ref::quantize_int4(x, 128)}; }}};
  auto peaks = measure_peaks(w, cases, "whole-tensor");
  if (!peaks) GTEST_SKIP() << "/proc/self/clear_refs not writable: cannot reset the peak";
  EXPECT_GT((*peaks)[0][0], 4.0 * w.numel());  // it did hold more than a float32 copy: what streaming removes
}
