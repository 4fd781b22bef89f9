#pragma once
// tokenizer.json "model": {"type": "BPE"}: vocab, ranked merges, byte_fallback, unk/fuse_unk, ignore_merges,
// continuing_subword_prefix / end_of_word_suffix. Semantics follow HF tokenizers' BPE::merge_word.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/bpe_merge.hpp"
#include "curebench/tokenizer/utf8.hpp"
#include "curebench/tokenizer/vocab.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace curebench::tokenizer {

class BpeModel {
 public:
  BpeModel(const nlohmann::json& m, const std::string& path) {
    const auto type = json_get_or(m, "type", std::string("BPE"), path);
    require(type == "BPE", Errc::unsupported, path, "model.type", "only BPE models are supported, found \"" + type + "\"");
    require(m.contains("vocab") && m["vocab"].is_object(), Errc::format, path, "model.vocab", "expected an object");
    require(m.contains("merges") && m["merges"].is_array(), Errc::format, path, "model.merges", "expected an array");
    // Ids index a dense table of pieces: one id far above the entry count (2^31 - 1 in a 10-entry vocab) would
    // allocate gigabytes. Real vocabularies number their pieces 0..N-1; a gap of up to 2^20 is tolerated.
    const auto max_id = static_cast<int64_t>(m["vocab"].size()) + (int64_t{1} << 20);
    for (const auto& [piece, id] : m["vocab"].items()) {
      require(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31), Errc::format,
              path, "model.vocab[" + piece + "]", "expected a non-negative id");
      require(id.get<int64_t>() < max_id, Errc::format, path, "model.vocab[" + piece + "]",
              "id " + std::to_string(id.get<int64_t>()) + " is far above the vocab's " +
                  std::to_string(m["vocab"].size()) + " entries (ids must number the pieces from 0)");
      auto i = id.get<int32_t>();
      vocab_.emplace(piece, i);
      if (static_cast<std::size_t>(i) >= pieces_.size()) pieces_.resize(i + 1);
      pieces_[i] = piece;
    }
    auto opt_string = [&](const char* key) -> std::string {
      return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string();
    };
    if (auto unk = opt_string("unk_token"); !unk.empty()) unk_id_ = find_piece(vocab_, unk);
    prefix_ = opt_string("continuing_subword_prefix");
    suffix_ = opt_string("end_of_word_suffix");
    fuse_unk_ = json_get_or(m, "fuse_unk", false, path);
    byte_fallback_ = json_get_or(m, "byte_fallback", false, path);
    ignore_merges_ = json_get_or(m, "ignore_merges", false, path);
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b) byte_ids_[b] = find_piece(vocab_, byte_piece(static_cast<unsigned char>(b))).value_or(-1);

    const auto& merges = m["merges"];
    merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const auto& e = merges[rank];
      std::string a, b;
      if (e.is_string()) {  // "a b" (older files)
        auto s = e.get<std::string>();
        auto sp = s.find(' ', 1);
        require(sp != std::string::npos, Errc::format, path, "model.merges[" + std::to_string(rank) + "]",
                "expected \"left right\", found \"" + s + "\"");
        a = s.substr(0, sp), b = s.substr(sp + 1);
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        a = e[0].get<std::string>(), b = e[1].get<std::string>();
      } else {
        throw Error(Errc::format, path, "model.merges[" + std::to_string(rank) + "]", "expected a string or a pair");
      }
      auto ia = find_piece(vocab_, a), ib = find_piece(vocab_, b);
      // The merged piece drops the right side's continuing_subword_prefix (HF BPE builder).
      std::string merged = a + (prefix_.empty() || b.compare(0, prefix_.size(), prefix_) != 0 ? b : b.substr(prefix_.size()));
      auto im = find_piece(vocab_, merged);
      require(ia && ib && im, Errc::format, path, "model.merges[" + std::to_string(rank) + "]",
              "merge \"" + a + " " + b + "\" uses a piece missing from the vocab");
      merges_.emplace(key(*ia, *ib), PairMerge<uint32_t>{static_cast<uint32_t>(rank), *im});
    }
  }

  // Ids for one pre-tokenized word.
  void encode_word(std::string_view w, std::vector<int32_t>& out) const {
    if (ignore_merges_)
      if (auto id = find_piece(vocab_, w)) {
        out.push_back(*id);
        return;
      }
    std::vector<std::pair<int32_t, uint32_t>> units;
    std::optional<std::pair<int32_t, uint32_t>> unk;  // pending (possibly fused) unknown
    std::string scratch;
    for (std::size_t i = 0; i < w.size();) {
      std::size_t start = i;
      utf8_next(w, i);
      auto ch = w.substr(start, i - start);
      std::string_view piece = ch;
      if ((!prefix_.empty() && start > 0) || (!suffix_.empty() && i == w.size())) {
        scratch = (start > 0 ? prefix_ : std::string()) + std::string(ch) + (i == w.size() ? suffix_ : std::string());
        piece = scratch;
      }
      if (auto id = find_piece(vocab_, piece)) {
        if (unk) units.push_back(*unk), unk.reset();
        units.emplace_back(*id, static_cast<uint32_t>(ch.size()));
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (unsigned char b : ch) all = all && byte_ids_[b] >= 0;
        if (all) {
          for (unsigned char b : ch) units.emplace_back(byte_ids_[b], 1u);
          continue;
        }
      }
      if (unk_id_) {
        if (unk && fuse_unk_) unk->second += static_cast<uint32_t>(ch.size());
        else {
          if (unk) units.push_back(*unk);
          unk = std::pair<int32_t, uint32_t>{*unk_id_, static_cast<uint32_t>(ch.size())};
        }
      }
      // Without an unk token HF drops the character.
    }
    if (unk) units.push_back(*unk);
    if (units.empty()) return;
    auto symbols = make_symbols(units);
    bpe_merge<uint32_t>(symbols, [&](const BpeSymbol& l, const BpeSymbol& r) -> std::optional<PairMerge<uint32_t>> {
      auto it = merges_.find(key(l.id, r.id));
      if (it == merges_.end()) return std::nullopt;
      return it->second;
    });
    for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
  }

  std::optional<int32_t> piece_to_id(std::string_view p) const { return find_piece(vocab_, p); }
  const std::string* id_to_piece(int32_t id) const {
    return id >= 0 && static_cast<std::size_t>(id) < pieces_.size() ? &pieces_[id] : nullptr;
  }
  std::size_t size() const { return pieces_.size(); }

 private:
  static uint64_t key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

  PieceMap vocab_;
  std::vector<std::string> pieces_;
  std::unordered_map<uint64_t, PairMerge<uint32_t>> merges_;
  std::optional<int32_t> unk_id_;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace curebench::tokenizer
