#pragma once
// tokenizer.model (a SentencePiece ModelProto) read natively from the protobuf wire format — pieces,
// scores, types, trainer spec ids and the normalizer's dummy-prefix flag — and run by our own
// SentencePiece BPE. Why not libsentencepiece: Debian's build links protobuf-lite, libtorch links full
// protobuf, and a process holding both crashes in protobuf's static initialisers before main().
// Only BPE models are accepted (Llama-2, Mistral, Gemma); Unigram models are refused with a clear error.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/tokenizer/sentencepiece_bpe.hpp"

namespace curebench::tokenizer {

namespace proto {

// A bounds-checked reader of protobuf wire format (varint, fixed32/64, length-delimited).
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::string& path, std::size_t base = 0)
      : b_(bytes), path_(path), base_(base) {}
  bool done() const { return pos_ >= b_.size(); }
  std::size_t offset() const { return base_ + pos_; }

  std::uint64_t varint(const char* what) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) fail(what, "truncated varint");
      auto byte = static_cast<std::uint8_t>(b_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return v;
    }
    fail(what, "varint longer than 10 bytes");
  }
  std::span<const std::byte> bytes(const char* what) {
    auto n = varint(what);
    if (n > b_.size() - pos_) fail(what, "length " + std::to_string(n) + " runs past the end of the data");
    auto out = b_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  float fixed32_float(const char* what) {
    if (b_.size() - pos_ < 4) fail(what, "truncated fixed32");
    float f;
    std::memcpy(&f, b_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }
  void skip(std::uint32_t wire, const char* what) {
    switch (wire) {
      case 0: varint(what); return;
      case 1: need(8, what), pos_ += 8; return;
      case 2: bytes(what); return;
      case 5: need(4, what), pos_ += 4; return;
      default: fail(what, "unsupported wire type " + std::to_string(wire));
    }
  }
  [[noreturn]] void fail(const std::string& what, const std::string& msg) const {
    throw Error(Errc::format, path_, what + " (byte " + std::to_string(offset()) + ")", msg);
  }
  const std::string& path() const { return path_; }

 private:
  void need(std::size_t n, const char* what) {
    if (b_.size() - pos_ < n) fail(what, "truncated field");
  }
  std::span<const std::byte> b_;
  std::string path_;
  std::size_t base_, pos_ = 0;
};

}  // namespace proto

inline ScoredVocab parse_sentencepiece_model(std::span<const std::byte> bytes, const std::string& path) {
  ScoredVocab v;
  int model_type = 1;  // UNIGRAM unless the trainer spec says otherwise (protobuf default)
  bool byte_fallback = false;
  std::optional<std::int64_t> unk = 0, bos = 1, eos = 2, pad = -1;  // TrainerSpec defaults
  proto::Reader r(bytes, path);
  while (!r.done()) {
    auto key = r.varint("ModelProto field");
    auto field = key >> 3;
    auto wire = static_cast<std::uint32_t>(key & 7);
    if (field == 1 && wire == 2) {  // SentencePiece { piece = 1; score = 2; type = 3 }
      proto::Reader p(r.bytes("pieces"), path);
      std::string piece;
      float score = 0;
      int type = 1;
      while (!p.done()) {
        auto k = p.varint("SentencePiece field");
        if ((k >> 3) == 1 && (k & 7) == 2) {
          auto s = p.bytes("SentencePiece.piece");
          piece.assign(reinterpret_cast<const char*>(s.data()), s.size());
        } else if ((k >> 3) == 2 && (k & 7) == 5) {
          score = p.fixed32_float("SentencePiece.score");
        } else if ((k >> 3) == 3 && (k & 7) == 0) {
          type = static_cast<int>(p.varint("SentencePiece.type"));
        } else {
          p.skip(static_cast<std::uint32_t>(k & 7), "SentencePiece");
        }
      }
      if (type < 1 || type > 6) r.fail("pieces[" + std::to_string(v.pieces.size()) + "].type", "unknown piece type " + std::to_string(type));
      v.pieces.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(static_cast<TokenType>(type));
      if (v.pieces.size() > (1u << 24)) r.fail("pieces", "more than 16M pieces");
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      proto::Reader t(r.bytes("trainer_spec"), path);
      while (!t.done()) {
        auto k = t.varint("TrainerSpec field");
        auto f = k >> 3;
        if ((k & 7) != 0) {
          t.skip(static_cast<std::uint32_t>(k & 7), "TrainerSpec");
          continue;
        }
        auto val = static_cast<std::int64_t>(static_cast<std::int32_t>(t.varint("TrainerSpec value")));
        if (f == 3) model_type = static_cast<int>(val);
        else if (f == 35) byte_fallback = val != 0;
        else if (f == 40) unk = val;
        else if (f == 41) bos = val;
        else if (f == 42) eos = val;
        else if (f == 43) pad = val;
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec { add_dummy_prefix = 3 }
      proto::Reader n(r.bytes("normalizer_spec"), path);
      while (!n.done()) {
        auto k = n.varint("NormalizerSpec field");
        if ((k >> 3) == 3 && (k & 7) == 0) v.add_dummy_prefix = n.varint("NormalizerSpec.add_dummy_prefix") != 0;
        else n.skip(static_cast<std::uint32_t>(k & 7), "NormalizerSpec");
      }
    } else {
      r.skip(wire, "ModelProto");
    }
  }
  if (v.pieces.empty()) throw Error(Errc::format, path, "pieces", "the model holds no pieces");
  if (model_type != 2)
    throw Error(Errc::unsupported, path, "trainer_spec.model_type",
                "only BPE SentencePiece models are supported (found type " + std::to_string(model_type) + (model_type == 1 ? ", Unigram)" : ")"));
  (void)byte_fallback;  // byte pieces (<0x..>) are used whenever present, as SentencePiece does with byte_fallback
  const auto n = static_cast<std::int64_t>(v.pieces.size());
  auto id = [&](std::optional<std::int64_t> x) -> std::optional<int32_t> {
    if (!x || *x < 0 || *x >= n) return std::nullopt;
    return static_cast<int32_t>(*x);
  };
  v.unk_id = id(unk), v.bos_id = id(bos), v.eos_id = id(eos), v.pad_id = id(pad);
  return v;
}

inline SentencePieceBpe load_sentencepiece_model(const std::string& path) {
  MappedFile file(path);
  return SentencePieceBpe(parse_sentencepiece_model(file.bytes(), path), path);
}

}  // namespace curebench::tokenizer
