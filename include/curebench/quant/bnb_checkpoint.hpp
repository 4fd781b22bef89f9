#pragma once
// Pre-quantized bitsandbytes linears in safetensors checkpoints (HF save_pretrained, unsloth *-bnb-4bit),
// read and written in bnb's own layout (formats-and-anchors.md 2.1). Detection goes by tensor names, not
// by config.json, because some published repos ship without quantization_config (unsloth#1597):
//   4-bit  <p>.weight U8 [n/2, 1] (+ any dtype with quant_storage != uint8: viewed as bytes)
//          <p>.weight.absmax  F32 [blocks] | U8 [blocks] (double quant)   <p>.weight.quant_map F32 [16]
//          <p>.weight.nested_absmax F32, <p>.weight.nested_quant_map F32 [256]   (double quant only)
//          <p>.weight.quant_state.bitsandbytes__nf4 | __fp4  U8 JSON {quant_type, blocksize, dtype, shape,
//          nested_blocksize, nested_dtype, nested_offset}
//   8-bit  <p>.weight I8 [out, in], <p>.SCB F32 [out] (row absmax; w = q * SCB / 127)
// A U8 [N, 1] weight with no quant_state sibling is refused loudly: used as a matrix it produces the
// "mat1 and mat2 shapes cannot be multiplied (… x 1x15728640)" failures seen in unsloth#10017 / #10276.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/torch_compat.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/io/safetensors_writer.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::quant {

namespace bnb_detail {

inline at::Tensor load(const io::SafetensorsSet::Ref& ref) {
  auto st = compat::to_scalar_type(ref.info->dtype, ref.file->path(), ref.info->name);
  auto bytes = ref.file->bytes(*ref.info);
  return at::from_blob(const_cast<std::byte*>(bytes.data()), ref.info->shape, at::TensorOptions().dtype(st)).clone();
}

inline std::string dtype_string(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kFloat: return "float32";
    default: throw Error(Errc::unsupported, "", "dtype", std::string("bnb quant_state dtype for ") + c10::toString(t));
  }
}
inline at::ScalarType parse_dtype(const std::string& s, const std::string& path, const std::string& field) {
  for (auto t : {at::kBFloat16, at::kHalf, at::kFloat})
    if (dtype_string(t) == s || "torch." + dtype_string(t) == s) return t;
  throw Error(Errc::format, path, field, "expected bfloat16, float16 or float32, found \"" + s + "\"");
}

inline DType disk_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kByte: return DType::U8;
    case at::kChar: return DType::I8;
    case at::kInt: return DType::I32;
    case at::kLong: return DType::I64;
    default: throw Error(Errc::unsupported, "", "dtype", std::string("no safetensors dtype for ") + c10::toString(t));
  }
}

inline void add(io::SafetensorsWriter& w, const std::string& name, const at::Tensor& t, std::vector<std::int64_t> shape) {
  auto c = t.to(at::kCPU).contiguous();
  w.add(name, disk_dtype(c.scalar_type()), std::move(shape),
        std::span<const std::byte>(static_cast<const std::byte*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
}
inline void add(io::SafetensorsWriter& w, const std::string& name, const at::Tensor& t) { add(w, name, t, t.sizes().vec()); }

template <Codebook C>
Weight read_4bit(const io::SafetensorsSet& set, const std::string& p, const io::SafetensorsSet::Ref& state_ref) {
  const std::string w_name = p + ".weight";
  const auto& path = state_ref.file->path();
  const std::string state_name = state_ref.info->name;
  auto sb = state_ref.file->bytes(*state_ref.info);
  auto state = parse_json_text(std::string_view(reinterpret_cast<const char*>(sb.data()), sb.size()), path, JsonLimits{1 << 20, 4});
  const std::string expect_type = C == Codebook::nf4 ? "nf4" : "fp4";
  auto qt = json_get<std::string>(state, "quant_type", path);
  if (qt != expect_type) throw Error(Errc::format, path, state_name + ".quant_type", "expected \"" + expect_type + "\", found \"" + qt + "\"");
  auto shape = json_get<std::vector<std::int64_t>>(state, "shape", path);
  if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0)
    throw Error(Errc::format, path, state_name + ".shape", "expected [out, in] with positive sizes");
  Bnb4<C> q;
  q.out = shape[0], q.in = shape[1];
  q.blocksize = json_get<std::int64_t>(state, "blocksize", path);
  if (q.blocksize < 16 || (q.blocksize & (q.blocksize - 1)) != 0)
    throw Error(Errc::format, path, state_name + ".blocksize", "expected a power of two >= 16, found " + std::to_string(q.blocksize));
  q.dtype = parse_dtype(json_get<std::string>(state, "dtype", path), path, state_name + ".dtype");
  const std::int64_t n = q.out * q.in, blocks = (n + q.blocksize - 1) / q.blocksize;

  auto wref = set.at(w_name);
  auto raw = load(wref);
  q.packed = (raw.scalar_type() == at::kByte ? raw : raw.contiguous().view(at::kByte)).reshape({-1});
  if (q.packed.numel() != (n + 1) / 2)
    throw Error(Errc::shape, wref.file->path(), w_name, "holds " + std::to_string(q.packed.numel()) + " bytes; shape [" +
                                                           std::to_string(q.out) + ", " + std::to_string(q.in) + "] packs into " + std::to_string((n + 1) / 2));
  auto aref = set.at(w_name + ".absmax");
  q.absmax = load(aref).reshape({-1});
  if (q.absmax.numel() != blocks)
    throw Error(Errc::shape, aref.file->path(), aref.info->name, "expected " + std::to_string(blocks) + " blocks of " +
                                                                    std::to_string(q.blocksize) + ", found " + std::to_string(q.absmax.numel()));
  if (auto m = set.find(w_name + ".quant_map")) {
    q.code = load(*m).to(at::kFloat).reshape({-1});
    if (q.code.numel() != 16) throw Error(Errc::shape, m->file->path(), m->info->name, "expected 16 code values, found " + std::to_string(q.code.numel()));
  } else {
    q.code = codebook_tensor(C);
  }
  if (state.contains("nested_offset")) {
    NestedAbsmax nest;
    nest.offset = json_get<float>(state, "nested_offset", path);
    nest.blocksize = json_get_or<std::int64_t>(state, "nested_blocksize", 256, path);
    if (nest.blocksize <= 0) throw Error(Errc::format, path, state_name + ".nested_blocksize", "must be positive");
    auto nref = set.at(w_name + ".nested_absmax");
    nest.absmax = load(nref).to(at::kFloat).reshape({-1});
    const auto nblocks = (blocks + nest.blocksize - 1) / nest.blocksize;
    if (nest.absmax.numel() != nblocks)
      throw Error(Errc::shape, nref.file->path(), nref.info->name, "expected " + std::to_string(nblocks) + " values, found " + std::to_string(nest.absmax.numel()));
    auto cref = set.at(w_name + ".nested_quant_map");
    nest.code = load(cref).to(at::kFloat).reshape({-1});
    if (nest.code.numel() != 256) throw Error(Errc::shape, cref.file->path(), cref.info->name, "expected 256 values, found " + std::to_string(nest.code.numel()));
    if (q.absmax.scalar_type() != at::kByte)
      throw Error(Errc::format, aref.file->path(), aref.info->name, "double quant stores absmax as U8 codes, found " + std::string(c10::toString(q.absmax.scalar_type())));
    q.nested = std::move(nest);
  } else {
    q.absmax = q.absmax.to(at::kFloat);
  }
  return q;
}

}  // namespace bnb_detail

// The bnb-quantized linear at `prefix` (e.g. "model.layers.0.mlp.down_proj"), or nullopt when the weight
// there is a plain dense tensor (or absent).
inline std::optional<Weight> read_prequantized_linear(const io::SafetensorsSet& set, const std::string& prefix) {
  const std::string w_name = prefix + ".weight";
  auto wref = set.find(w_name);
  if (!wref) return std::nullopt;
  if (auto s = set.find(w_name + ".quant_state.bitsandbytes__nf4")) return bnb_detail::read_4bit<Codebook::nf4>(set, prefix, *s);
  if (auto s = set.find(w_name + ".quant_state.bitsandbytes__fp4")) return bnb_detail::read_4bit<Codebook::fp4>(set, prefix, *s);
  if (auto scb = set.find(prefix + ".SCB")) {
    const auto& info = *wref->info;
    if (info.dtype != DType::I8 || info.shape.size() != 2)
      throw Error(Errc::format, wref->file->path(), w_name, "has an SCB sibling (bnb 8-bit) but is " + std::string(dtype_name(info.dtype)) +
                                                               " with " + std::to_string(info.shape.size()) + " dims; expected I8 [out, in]");
    Int8 q;
    q.q = bnb_detail::load(*wref);
    q.scb = bnb_detail::load(*scb).to(at::kFloat).reshape({-1});
    if (q.scb.numel() != q.q.size(0))
      throw Error(Errc::shape, scb->file->path(), scb->info->name, "expected " + std::to_string(q.q.size(0)) + " row scales, found " + std::to_string(q.scb.numel()));
    q.dtype = at::kBFloat16;
    return q;
  }
  const auto& info = *wref->info;
  const bool packed_like = info.dtype == DType::U8 && (info.shape.size() == 1 || (info.shape.size() == 2 && info.shape[1] == 1));
  if (packed_like || set.contains(w_name + ".absmax"))
    throw Error(Errc::format, wref->file->path(), w_name,
                "looks like a bitsandbytes 4-bit packed weight (U8 [" + std::to_string(info.shape.empty() ? 0 : info.shape[0]) +
                    ", 1]) but has no " + w_name + ".quant_state.bitsandbytes__nf4/__fp4 sibling; the checkpoint is incomplete");
  return std::nullopt;
}

// Writes `w` at `prefix` in bnb's layout (NF4/FP4: packed + quant_state; Int8: weight + SCB; Dense: as is).
inline void write_bnb_linear(io::SafetensorsWriter& out, const std::string& prefix, const Weight& w) {
  using namespace bnb_detail;
  const std::string wn = prefix + ".weight";
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, NF4> || std::is_same_v<V, FP4>) {
          add(out, wn, v.packed, {v.packed.numel(), 1});
          add(out, wn + ".absmax", v.absmax);
          add(out, wn + ".quant_map", v.code.to(at::kFloat));
          nlohmann::ordered_json state = {{"quant_type", V::kCodebook == Codebook::nf4 ? "nf4" : "fp4"},
                                          {"blocksize", v.blocksize},
                                          {"dtype", dtype_string(v.dtype)},
                                          {"shape", {v.out, v.in}}};
          if (v.nested) {
            add(out, wn + ".nested_absmax", v.nested->absmax.to(at::kFloat));
            add(out, wn + ".nested_quant_map", v.nested->code.to(at::kFloat));
            state["nested_blocksize"] = v.nested->blocksize;
            state["nested_dtype"] = "float32";
            state["nested_offset"] = v.nested->offset;
          }
          auto text = state.dump();
          std::vector<std::uint8_t> bytes(text.begin(), text.end());
          out.add(wn + ".quant_state.bitsandbytes__" + std::string(V::kCodebook == Codebook::nf4 ? "nf4" : "fp4"), DType::U8,
                  {static_cast<std::int64_t>(bytes.size())}, bytes);
        } else if constexpr (std::is_same_v<V, Int8>) {
          add(out, wn, v.q.to(at::kChar));
          add(out, prefix + ".SCB", v.scb.to(at::kFloat));
        } else if constexpr (std::is_same_v<V, Dense>) {
          add(out, wn, v.w);
        } else {
          throw Error(Errc::unsupported, "", wn, "bitsandbytes checkpoints hold NF4, FP4, int8 or dense linears, not this format");
        }
      },
      w);
}

}  // namespace curebench::quant
