#pragma once
// SentencePiece BPE by piece score (what llama2.c's tok512.bin and GGUF "llama" vocabularies hold):
// spaces become "▁", a dummy "▁" is prepended, characters merge pairwise by the best score of the
// merged piece (ties: leftmost), and characters outside the vocabulary fall back to <0xHH> byte pieces.
// Decoding follows the tokenizer.json that Llama-2 ships (Replace ▁, ByteFallback, Fuse, Strip 1 space).
#include "curebench/core/error.hpp"
#include "curebench/tokenizer/bpe_merge.hpp"
#include "curebench/tokenizer/decoders.hpp"
#include "curebench/tokenizer/tokenizer.hpp"
#include "curebench/tokenizer/utf8.hpp"
#include "curebench/tokenizer/vocab.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::tokenizer {

struct ScoredVocab {
  std::vector<std::string> pieces;  // "▁" spelled as U+2581
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::optional<int32_t> unk_id, bos_id, eos_id, pad_id;
  bool add_dummy_prefix = true;
  bool add_bos = true, add_eos = false;  // what add_special_tokens=true adds
};

class SentencePieceBpe {
 public:
  SentencePieceBpe(ScoredVocab v, std::string source) : v_(std::move(v)), source_(std::move(source)) {
    require(v_.scores.size() == v_.pieces.size() && v_.types.size() == v_.pieces.size(), Errc::internal, source_,
            "vocab", "pieces, scores and types differ in length");
    // Every reader checks these against its own field names; this is the last line before an id outside the
    // vocabulary could reach a caller (encode emits unk_id for unknown bytes, bos_id at the start).
    for (const auto& [name, id] : {std::pair{"unk_id", v_.unk_id}, {"bos_id", v_.bos_id}, {"eos_id", v_.eos_id}, {"pad_id", v_.pad_id}})
      require(!id || (*id >= 0 && static_cast<std::size_t>(*id) < v_.pieces.size()), Errc::format, source_, name,
              "id " + std::to_string(id.value_or(0)) + " outside the vocabulary of " + std::to_string(v_.pieces.size()));
    byte_ids_.fill(-1);
    for (int32_t id = 0; id < static_cast<int32_t>(v_.pieces.size()); ++id) {
      const auto& p = v_.pieces[id];
      if (v_.types[id] == TokenType::byte) {
        int b = detail::byte_token_value(p);
        require(b >= 0, Errc::format, source_, "token " + std::to_string(id),
                "byte piece must be spelled <0xHH>, found \"" + p + "\"");
        byte_ids_[b] = id;
        continue;
      }
      // Control pieces ("<s>") are never produced from text; the first spelling of a piece wins.
      if (v_.types[id] != TokenType::control) map_.emplace(p, id);
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const {
    require_valid_utf8(text);
    std::vector<int32_t> ids;
    if (add_special_tokens && v_.add_bos && v_.bos_id) ids.push_back(*v_.bos_id);
    encode_text(text, ids);
    if (add_special_tokens && v_.add_eos && v_.eos_id) ids.push_back(*v_.eos_id);
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      check_id(id);
      if (skip_special_tokens && v_.types[id] == TokenType::control) continue;
      tokens.push_back(v_.pieces[id]);
    }
    static const auto steps_strip = sentencepiece_decoders(true);
    static const auto steps_keep = sentencepiece_decoders(false);
    return run_decoders(v_.add_dummy_prefix ? steps_strip : steps_keep, std::move(tokens));
  }

  std::string id_to_piece(int32_t id) const {
    check_id(id);
    return v_.pieces[id];
  }
  std::optional<int32_t> piece_to_id(std::string_view piece) const {
    if (auto id = find_piece(map_, piece)) return id;
    for (int32_t id = 0; id < static_cast<int32_t>(v_.pieces.size()); ++id)
      if (v_.pieces[id] == piece) return id;  // control and byte pieces
    return std::nullopt;
  }
  std::size_t vocab_size() const { return v_.pieces.size(); }
  std::optional<int32_t> bos_id() const { return v_.bos_id; }
  std::vector<int32_t> eos_ids() const { return v_.eos_id ? std::vector<int32_t>{*v_.eos_id} : std::vector<int32_t>{}; }
  std::optional<int32_t> pad_id() const { return v_.pad_id; }
  bool is_special(int32_t id) const { check_id(id); return v_.types[id] == TokenType::control; }
  const ScoredVocab& vocab() const { return v_; }

 private:
  void check_id(int32_t id) const {
    if (id < 0 || id >= static_cast<int32_t>(v_.pieces.size()))
      throw Error(Errc::tokenizer, source_, "id", "token id " + std::to_string(id) + " outside [0, " +
                                                      std::to_string(v_.pieces.size()) + ")");
  }

  void encode_text(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    static constexpr std::string_view kSpace = "\xE2\x96\x81";
    std::string norm;
    norm.reserve(text.size() + 3);
    if (v_.add_dummy_prefix) norm += kSpace;
    for (char c : text) {
      if (c == ' ') norm += kSpace;
      else norm += c;
    }
    std::vector<std::pair<int32_t, uint32_t>> units;
    for (std::size_t i = 0; i < norm.size();) {
      std::size_t start = i;
      utf8_next(norm, i);
      auto ch = std::string_view(norm).substr(start, i - start);
      units.emplace_back(find_piece(map_, ch).value_or(-1), static_cast<uint32_t>(ch.size()));
    }
    auto symbols = make_symbols(units);
    std::string_view all = norm;
    bpe_merge<float>(symbols, [&](const BpeSymbol& l, const BpeSymbol& r) -> std::optional<PairMerge<float>> {
      auto id = find_piece(map_, all.substr(l.start, l.len + r.len));
      if (!id) return std::nullopt;
      return PairMerge<float>{-v_.scores[*id], *id};
    });
    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
      const auto& s = symbols[i];
      if (s.id >= 0) {
        out.push_back(s.id);
        continue;
      }
      for (std::size_t k = 0; k < s.len; ++k) {
        int32_t b = byte_ids_[static_cast<unsigned char>(all[s.start + k])];
        if (b >= 0) out.push_back(b);
        else if (v_.unk_id) out.push_back(*v_.unk_id);
        else throw Error(Errc::tokenizer, source_, "byte_fallback", "no byte piece and no <unk> for a character");
      }
    }
  }

  ScoredVocab v_;
  std::string source_;
  PieceMap map_;
  std::array<int32_t, 256> byte_ids_{};
};

static_assert(TextTokenizer<SentencePieceBpe>);

}  // namespace curebench::tokenizer
