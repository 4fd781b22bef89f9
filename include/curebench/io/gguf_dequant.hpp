#pragma once
// GGUF / ggml block formats decoded to float, without libtorch. Layouts from llama.cpp
// ggml/src/ggml-common.h (block structs) and the dequantize_row_* formulas (mirrored by gguf-py quants.py):
//   Q8_0  {f16 d; i8 qs[32]}                              x = d*q
//   Q4_0  {f16 d; u8 qs[16]}                              x[j] = d*((qs[j]&15)-8), x[j+16] = d*((qs[j]>>4)-8)
//   Q4_1  {f16 d, m; u8 qs[16]}                           x = d*q + m (same nibble order as Q4_0)
//   Q5_0  {f16 d; u8 qh[4]; u8 qs[16]}                    5th bit of element j is bit j of qh (u32 LE); q-16
//   Q4_K  {f16 d, dmin; u8 scales[12]; u8 qs[128]}        8 sub-blocks of 32 with 6-bit (sc, m): d*sc*q - dmin*m
//   Q5_K  {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}   Q4_K plus one high bit per element from qh
//   Q6_K  {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}   16 sub-blocks of 16: d*sc*(q-32)
// The low nibble holds the FIRST half of a Q4_0 block: the opposite of bitsandbytes' pairing.
#include "curebench/core/error.hpp"
#include "curebench/io/gguf.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace curebench::io {

// IEEE binary16 -> binary32, exact (normals, subnormals, inf, NaN).
inline float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24; renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

inline float bf16_to_f32(std::uint16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

inline constexpr bool gguf_can_dequantize(GGMLType t) {
  switch (t) {
    case GGMLType::F32: case GGMLType::F16: case GGMLType::BF16: case GGMLType::Q8_0: case GGMLType::Q4_0:
    case GGMLType::Q4_1: case GGMLType::Q5_0: case GGMLType::Q4_K: case GGMLType::Q5_K: case GGMLType::Q6_K:
      return true;
    default:
      return false;
  }
}

namespace gguf_detail {

inline std::uint16_t u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline float half(const std::uint8_t* p) { return f16_to_f32(u16(p)); }

// 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K / Q5_K (get_scale_min_k4).
inline void scale_min_k4(int j, const std::uint8_t* q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

inline void q8_0(const std::uint8_t* b, float* y) {
  const float d = half(b);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(static_cast<std::int8_t>(b[2 + j]));
}
inline void q4_0(const std::uint8_t* b, float* y) {
  const float d = half(b);
  const std::uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0xF) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}
inline void q4_1(const std::uint8_t* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const std::uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 0xF) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}
inline void q5_0(const std::uint8_t* b, float* y) {
  const float d = half(b);
  std::uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const std::uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = d * static_cast<float>(lo - 16);
    y[j + 16] = d * static_cast<float>(hi - 16);
  }
}
inline void q4_k(const std::uint8_t* b, float* y) {
  const float d = half(b), dmin = half(b + 2);
  const std::uint8_t* scales = b + 4;
  const std::uint8_t* q = b + 16;
  for (int c = 0; c < 4; ++c, q += 32, y += 64) {  // 4 chunks of 64: low nibbles, then high nibbles
    int sc0, m0, sc1, m1;
    scale_min_k4(2 * c, scales, sc0, m0);
    scale_min_k4(2 * c + 1, scales, sc1, m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    for (int l = 0; l < 32; ++l) {
      y[l] = d0 * static_cast<float>(q[l] & 0xF) - mm0;
      y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - mm1;
    }
  }
}
inline void q5_k(const std::uint8_t* b, float* y) {
  const float d = half(b), dmin = half(b + 2);
  const std::uint8_t* scales = b + 4;
  const std::uint8_t* qh = b + 16;
  const std::uint8_t* ql = b + 48;
  for (int c = 0; c < 4; ++c, ql += 32, y += 64) {
    int sc0, m0, sc1, m1;
    scale_min_k4(2 * c, scales, sc0, m0);
    scale_min_k4(2 * c + 1, scales, sc1, m1);
    const float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
    const std::uint8_t bit_lo = static_cast<std::uint8_t>(1u << (2 * c)), bit_hi = static_cast<std::uint8_t>(2u << (2 * c));
    for (int l = 0; l < 32; ++l) {
      y[l] = d0 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & bit_lo) ? 16 : 0)) - mm0;
      y[l + 32] = d1 * static_cast<float>((ql[l] >> 4) + ((qh[l] & bit_hi) ? 16 : 0)) - mm1;
    }
  }
}
inline void q6_k(const std::uint8_t* b, float* y) {
  const std::uint8_t* ql = b;
  const std::uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const std::int8_t*>(b + 192);
  const float d = half(b + 208);
  for (int n = 0; n < 2; ++n, ql += 64, qh += 32, sc += 8, y += 128) {  // two halves of 128
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

}  // namespace gguf_detail

// Decode `n` elements of type `t` from `src` into `dst`. n must be a whole number of blocks and src must
// hold exactly n/block*bytes_per_block bytes; `what` names the tensor in errors.
inline void gguf_dequantize(GGMLType t, std::span<const std::byte> src, std::span<float> dst, const std::string& what = "") {
  const auto& info = ggml_type_info(t);
  const std::uint64_t n = dst.size();
  if (n % info.block_elems != 0)
    throw Error(Errc::shape, "", what, std::to_string(n) + " elements are not whole " + std::string(info.name) + " blocks of " +
                                           std::to_string(info.block_elems));
  const std::uint64_t blocks = n / info.block_elems;
  if (src.size() != blocks * info.block_bytes)
    throw Error(Errc::shape, "", what, std::string(info.name) + ": " + std::to_string(n) + " elements need " +
                                           std::to_string(blocks * info.block_bytes) + " bytes, found " + std::to_string(src.size()));
  if (n == 0) return;  // a 0-element tensor: its spans may be null, and memcpy(null, null, 0) is undefined
  const auto* p = reinterpret_cast<const std::uint8_t*>(src.data());
  float* y = dst.data();
  using namespace gguf_detail;
  void (*block_fn)(const std::uint8_t*, float*) = nullptr;
  switch (t) {
    case GGMLType::F32: std::memcpy(y, p, n * 4); return;
    case GGMLType::F16: for (std::uint64_t i = 0; i < n; ++i) y[i] = half(p + 2 * i); return;
    case GGMLType::BF16: for (std::uint64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(u16(p + 2 * i)); return;
    case GGMLType::Q8_0: block_fn = q8_0; break;
    case GGMLType::Q4_0: block_fn = q4_0; break;
    case GGMLType::Q4_1: block_fn = q4_1; break;
    case GGMLType::Q5_0: block_fn = q5_0; break;
    case GGMLType::Q4_K: block_fn = q4_k; break;
    case GGMLType::Q5_K: block_fn = q5_k; break;
    case GGMLType::Q6_K: block_fn = q6_k; break;
    default:
      throw Error(Errc::unsupported, "", what, "dequantizing " + std::string(info.name) + " is not implemented (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q4_K Q5_K Q6_K)");
  }
  for (std::uint64_t b = 0; b < blocks; ++b) block_fn(p + b * info.block_bytes, y + b * info.block_elems);
}

// A whole tensor of a GGUF file as floats, row-major in shape() order (ne[0] fastest).
inline std::vector<float> gguf_dequantize(const GGUFFile& f, const GGUFTensorInfo& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  try {
    gguf_dequantize(t.type, f.bytes(t), out, t.name);
  } catch (const Error& e) {
    throw Error(e.code(), f.path(), e.field(), e.message());
  }
  return out;
}

}  // namespace curebench::io
