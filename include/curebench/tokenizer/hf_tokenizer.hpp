#pragma once
// A Hugging Face tokenizer.json, run the way HF tokenizers (Rust) runs it:
//   added tokens split out -> normalizer -> pre-tokenizer -> BPE -> post-processor (add_special_tokens)
// and decode: ids -> pieces (specials dropped on request) -> decoder chain.
// bos/eos/pad come from tokenizer_config.json beside the file when there is one.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/added_vocabulary.hpp"
#include "curebench/tokenizer/bpe_model.hpp"
#include "curebench/tokenizer/decoders.hpp"
#include "curebench/tokenizer/normalizers.hpp"
#include "curebench/tokenizer/post_processor.hpp"
#include "curebench/tokenizer/pre_tokenizers.hpp"
#include "curebench/tokenizer/tokenizer.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace curebench::tokenizer {

inline void parse_decoder(const nlohmann::json& j, const std::string& path, std::vector<DecoderStep>& out) {
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j["type"].is_string(), Errc::format, path, "decoder",
          "expected an object with a string \"type\"");
  const auto type = j["type"].get<std::string>();
  if (type == "Sequence") {
    require(j.contains("decoders") && j["decoders"].is_array(), Errc::format, path, "decoder.decoders", "expected an array");
    for (const auto& d : j["decoders"]) parse_decoder(d, path, out);
  } else if (type == "ByteLevel") {
    out.push_back(ByteLevelDecoder{});
  } else if (type == "ByteFallback") {
    out.push_back(ByteFallbackDecoder{});
  } else if (type == "Fuse") {
    out.push_back(FuseDecoder{});
  } else if (type == "Replace") {
    auto p = parse_pattern(j.value("pattern", nlohmann::json()), path, "decoder.pattern");
    require(!p.regex, Errc::unsupported, path, "decoder.pattern", "a Regex pattern in a Replace decoder is not supported");
    out.push_back(ReplaceDecoder{p.literal, j.value("content", std::string())});
  } else if (type == "Strip") {
    auto content = j.value("content", std::string(" "));
    std::size_t i = 0;
    char32_t c = content.empty() ? U' ' : utf8_next(content, i);
    out.push_back(StripDecoder{c, j.value("start", std::size_t{0}), j.value("stop", std::size_t{0})});
  } else if (type == "Metaspace") {
    MetaspaceDecoder d;
    d.replacement = j.value("replacement", d.replacement);
    if (j.contains("prepend_scheme")) d.prepend = j["prepend_scheme"].get<std::string>() != "never";
    else d.prepend = j.value("add_prefix_space", true);
    out.push_back(d);
  } else {
    throw Error(Errc::unsupported, path, "decoder.type",
                "decoder \"" + type + "\" is not supported (supported: Sequence, ByteLevel, ByteFallback, Fuse, "
                "Replace, Strip, Metaspace)");
  }
}

// A value of the wrong JSON type deep inside a section (a number where a flag or a token name belongs) surfaces
// from nlohmann as a type_error, which no caller expects; it becomes a format error naming the file and the
// section (fuzz_hf_tokenizer, 2026-12-07: four such inputs aborted the fuzzer).
template <class F>
decltype(auto) json_section(const std::string& path, const char* section, F&& parse) {
  try {
    return parse();
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::format, path, section, std::string("a value has the wrong JSON type: ") + e.what());
  }
}

class HfTokenizer {
 public:
  // `config`: tokenizer_config.json's object (may be null) for bos/eos/pad.
  HfTokenizer(const nlohmann::json& j, const nlohmann::json& config, std::string path) : path_(std::move(path)) {
    require(j.is_object(), Errc::format, path_, "", "tokenizer.json must be a JSON object");
    require(j.contains("model") && j["model"].is_object(), Errc::format, path_, "model", "missing or not an object");
    auto s = json_section(path_, "model", [&] { return std::make_shared<State>(j["model"], path_); });
    s_ = s;
    json_section(path_, "normalizer", [&] { parse_normalizer(j.value("normalizer", nlohmann::json()), path_, s->normalizers); });
    json_section(path_, "pre_tokenizer", [&] { parse_pre_tokenizer(j.value("pre_tokenizer", nlohmann::json()), path_, s->pre_tokenizers); });
    json_section(path_, "post_processor", [&] { parse_post_processor(j.value("post_processor", nlohmann::json()), path_, s->post); });
    json_section(path_, "decoder", [&] { parse_decoder(j.value("decoder", nlohmann::json()), path_, s->decoders); });
    if (j.contains("added_tokens")) {
      require(j["added_tokens"].is_array(), Errc::format, path_, "added_tokens", "expected an array");
      for (const auto& a : j["added_tokens"]) {
        AddedToken t;
        try {
          // A negative or huge id would reach encode() and index out of the embedding.
          t.id = json_token_id(a.at("id"), path_, "added_tokens");
          t.content = a.at("content").get<std::string>();
          t.special = a.value("special", false);
          t.normalized = a.value("normalized", !t.special);
          t.lstrip = a.value("lstrip", false);
          t.rstrip = a.value("rstrip", false);
          t.single_word = a.value("single_word", false);
        } catch (const nlohmann::json::exception& e) {
          throw Error(Errc::format, path_, "added_tokens", std::string("each entry needs an integer id, a string content and boolean flags: ") + e.what());
        }
        (t.normalized ? s->normalized_tokens : s->raw_tokens).add(t);
        s->added_by_content[t.content] = t.id;
        s->added_by_id[t.id] = t;
      }
    }
    s->vocab_size = s->model.size();
    for (const auto& [id, t] : s->added_by_id) s->vocab_size = std::max<std::size_t>(s->vocab_size, id + 1);
    // The post-processor's ids come out of encode(add_special_tokens) and index the embedding: an id the vocabulary
    // does not have would be an out-of-range index there (a device-side assert on a GPU).
    for (const auto* ids : {&s->post.prefix, &s->post.suffix})
      for (auto id : *ids)
        require(id >= 0 && static_cast<std::size_t>(id) < s->vocab_size, Errc::format, path_, "post_processor",
                "special token id " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(s->vocab_size) + " ids)");

    auto token_of = [&](const char* key) -> std::optional<int32_t> {
      if (!config.is_object() || !config.contains(key)) return std::nullopt;
      const auto& v = config[key];
      std::string content = v.is_string() ? v.get<std::string>() : v.is_object() ? v.value("content", std::string()) : "";
      if (content.empty()) return std::nullopt;
      return piece_to_id(content);
    };
    s->bos = token_of("bos_token");
    if (auto e = token_of("eos_token")) s->eos.push_back(*e);
    s->pad = token_of("pad_token");
    if (!s->bos && !s->post.prefix.empty()) s->bos = s->post.prefix.front();
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const {
    require_valid_utf8(text);
    std::vector<int32_t> ids;
    for (const auto& seg : s_->raw_tokens.split(text)) {
      if (seg.token >= 0) {
        ids.push_back(seg.token);
        continue;
      }
      bool at_start = seg.text.data() == text.data();
      std::string norm = apply_normalizers(s_->normalizers, std::string(seg.text));
      for (const auto& part : s_->normalized_tokens.split(norm)) {
        if (part.token >= 0) {
          ids.push_back(part.token);
          continue;
        }
        bool first = at_start && part.text.data() == norm.data();
        for (const auto& w : pre_tokenize(s_->pre_tokenizers, std::string(part.text), first))
          s_->model.encode_word(w.text, ids);
      }
    }
    if (add_special_tokens) s_->post.apply(ids);
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      if (auto it = s_->added_by_id.find(id); it != s_->added_by_id.end()) {
        if (!(skip_special_tokens && it->second.special)) tokens.push_back(it->second.content);
        continue;
      }
      const std::string* p = s_->model.id_to_piece(id);
      if (!p) throw Error(Errc::tokenizer, path_, "id", "token id " + std::to_string(id) + " is not in the vocabulary");
      tokens.push_back(*p);
    }
    return run_decoders(s_->decoders, std::move(tokens));
  }

  std::string id_to_piece(int32_t id) const {
    if (auto it = s_->added_by_id.find(id); it != s_->added_by_id.end()) return it->second.content;
    if (const std::string* p = s_->model.id_to_piece(id)) return *p;
    throw Error(Errc::tokenizer, path_, "id", "token id " + std::to_string(id) + " is not in the vocabulary");
  }
  std::optional<int32_t> piece_to_id(std::string_view piece) const {
    if (auto it = s_->added_by_content.find(std::string(piece)); it != s_->added_by_content.end()) return it->second;
    return s_->model.piece_to_id(piece);
  }
  std::size_t vocab_size() const { return s_->vocab_size; }
  std::optional<int32_t> bos_id() const { return s_->bos; }
  std::vector<int32_t> eos_ids() const { return s_->eos; }
  std::optional<int32_t> pad_id() const { return s_->pad; }
  bool is_special(int32_t id) const {
    auto it = s_->added_by_id.find(id);
    return it != s_->added_by_id.end() && it->second.special;
  }
  const std::string& path() const { return path_; }

 private:
  struct State {
    State(const nlohmann::json& m, const std::string& path) : model(m, path) {}
    BpeModel model;
    std::vector<NormalizerStep> normalizers;
    std::vector<PreTokenizerStep> pre_tokenizers;
    PostProcessor post;
    std::vector<DecoderStep> decoders;
    AddedTokenMatcher raw_tokens, normalized_tokens;
    std::unordered_map<std::string, int32_t> added_by_content;
    std::unordered_map<int32_t, AddedToken> added_by_id;
    std::size_t vocab_size = 0;
    std::optional<int32_t> bos, pad;
    std::vector<int32_t> eos;
  };
  std::string path_;
  std::shared_ptr<const State> s_;
};

static_assert(TextTokenizer<HfTokenizer>);

// tokenizer.json plus, when present, tokenizer_config.json in the same folder.
inline HfTokenizer load_hf_tokenizer(const std::string& path) {
  auto j = read_json_file(path);
  nlohmann::json config;
  auto cfg = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(cfg)) config = read_json_file(cfg.string());
  return HfTokenizer(j, config, path);
}

}  // namespace curebench::tokenizer
