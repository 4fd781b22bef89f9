#pragma once
// Row chunks for streaming quantization. A weight is quantized one slab of rows at a time into outputs
// allocated once at their final size, so the float32 working copy (and the index tensors) are bounded by
// one chunk instead of the whole tensor: Llama-3-8B's 128256x4096 classifier made ~12 GB of them. A slab's
// row count keeps every quantization block or group inside one slab, so the result does not depend on the
// chunk size (tests/quant/test_chunked.cpp checks it byte for byte against the whole-tensor path).
#include <algorithm>
#include <cstdint>
#include <numeric>

namespace curebench::quant {

// Elements per slab: 16 Mi float32 = 64 MiB working copy. Quantizers take it as a parameter (tests use
// small values to get many slabs and a ragged last one).
inline constexpr std::int64_t kChunkElements = std::int64_t{1} << 24;

// Slices inside a slab (the absmax reduction, the nearest-code search) stay at or under this many values.
inline constexpr std::int64_t kSliceElements = std::int64_t{1} << 20;
// On a GPU the nearest-code search takes the whole slab: 1 Mi slices made ~460 K small launches for an 8B
// model, ~2 s of its load (measured on the H100: NF4-DQ load 11.1 s); 9 bytes per slab value is 144 MiB.
inline constexpr std::int64_t kCudaSliceElements = kChunkElements;
inline constexpr std::int64_t search_slice_elements(bool on_cuda) { return on_cuda ? kCudaSliceElements : kSliceElements; }

// Bytes that quantizing one weight of `elements` values adds at most, beyond the source weight and the
// outputs: the slab's float32 working copy and uint8 codes (5 bytes per slab value), per-block or per-group
// temporaries of the slab (scales, zeros, masks: at most 12 bytes per 16 values), the nearest-code
// search's running distance, candidate distance and mask (9 bytes per slice value), and, for bnb double
// quant, the float32 absmax of every block (4 bytes per 64 values), which the mean needs all at once.
// Large weights: 80 + 12 + 9 MiB + elements / 16, whatever their size (on a GPU 80 + 12 + 144 MiB + elements / 16).
inline constexpr std::int64_t quantize_transient_bytes(std::int64_t elements, bool on_cuda = false) {
  const auto slab = std::min(elements, kChunkElements);
  return 5 * slab + slab * 3 / 4 + 9 * std::min(elements, search_slice_elements(on_cuda)) + elements / 16;
}

// The smallest row count whose rows * cols elements are whole blocks of `block` elements (row-major flat
// order: bnb blocks run across row ends when cols is not a multiple of the block).
inline std::int64_t rows_for_whole_blocks(std::int64_t cols, std::int64_t block) { return block / std::gcd(cols, block); }

// Rows per slab: a multiple of `row_multiple`, as many as fit `max_elements` (at least one multiple), and
// no more than the tensor has.
inline std::int64_t slab_rows(std::int64_t rows, std::int64_t cols, std::int64_t row_multiple, std::int64_t max_elements) {
  const auto fit = max_elements / std::max<std::int64_t>(cols, 1) / row_multiple * row_multiple;
  return std::min(std::max(rows, std::int64_t{1}), std::max(row_multiple, fit));
}

// f(first_row, row_count) for consecutive slabs of `step` rows (the last may be shorter).
template <class F>
void for_each_slab(std::int64_t rows, std::int64_t step, F&& f) {
  for (std::int64_t r = 0; r < rows; r += step) f(r, std::min(step, rows - r));
}

}  // namespace curebench::quant
