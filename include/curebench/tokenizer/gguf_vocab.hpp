#pragma once
// Vocabularies embedded in GGUF files (tokenizer.ggml.*):
//   model "llama": SentencePiece BPE by score (tokens, scores, token_type) -> SentencePieceBpe;
//   model "gpt2":  byte-level BPE (tokens, merges, token_type) with the pre-tokenizer named by
//                  tokenizer.ggml.pre -> the equivalent tokenizer.json, run by HfTokenizer.
#include "curebench/core/error.hpp"
#include "curebench/io/gguf.hpp"
#include "curebench/tokenizer/hf_tokenizer.hpp"
#include "curebench/tokenizer/sentencepiece_bpe.hpp"
#include "curebench/tokenizer/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace curebench::tokenizer {

namespace gguf_detail {
inline std::optional<int32_t> opt_id(const io::GGUFFile& f, const char* key) {
  if (!f.contains(key)) return std::nullopt;
  auto id = f.get<int64_t>(key);
  // Converters write u32 -1 (4294967295) for "no such token".
  if (id == 0xFFFFFFFFLL || id == -1) return std::nullopt;
  if (id < 0 || id > 0x7FFFFFFF) throw Error(Errc::format, f.path(), key, "token id " + std::to_string(id) + " out of range");
  return static_cast<int32_t>(id);
}

// Split regexes of llama.cpp's pre-tokenizer names, as the matching tokenizer.json files spell them.
inline nlohmann::json pre_tokenizer_for(const std::string& pre, const std::string& path) {
  static const char* kLlama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kQwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  auto split_then_bytes = [](const char* re) {
    return nlohmann::json{{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}},
                            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  };
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") return split_then_bytes(kLlama3);
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") return split_then_bytes(kQwen2);
  if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2")
    return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  throw Error(Errc::unsupported, path, "tokenizer.ggml.pre",
              "pre-tokenizer \"" + pre + "\" is not supported (supported: llama-bpe, qwen2, deepseek-r1-qwen, default)");
}
}  // namespace gguf_detail

inline Tokenizer load_gguf_tokenizer(const io::GGUFFile& f) {
  const std::string& path = f.path();
  require(f.contains("tokenizer.ggml.model"), Errc::not_found, path, "tokenizer.ggml.model",
          "the file embeds no tokenizer");
  const auto model = f.get<std::string>("tokenizer.ggml.model");
  auto tokens = f.get_strings("tokenizer.ggml.tokens");
  std::vector<int64_t> types = f.contains("tokenizer.ggml.token_type") ? f.get_ints("tokenizer.ggml.token_type")
                                                                       : std::vector<int64_t>(tokens.size(), 1);
  require(types.size() == tokens.size(), Errc::format, path, "tokenizer.ggml.token_type",
          "expected " + std::to_string(tokens.size()) + " entries (one per token), found " + std::to_string(types.size()));
  const auto bos = gguf_detail::opt_id(f, "tokenizer.ggml.bos_token_id");
  const auto eos = gguf_detail::opt_id(f, "tokenizer.ggml.eos_token_id");
  const auto pad = gguf_detail::opt_id(f, "tokenizer.ggml.padding_token_id");
  const auto unk = gguf_detail::opt_id(f, "tokenizer.ggml.unknown_token_id");
  for (const auto& [name, id] : {std::pair{"bos", bos}, {"eos", eos}, {"padding", pad}, {"unknown", unk}})
    require(!id || (*id >= 0 && static_cast<std::size_t>(*id) < tokens.size()), Errc::format, path,
            std::string("tokenizer.ggml.") + name + "_token_id", "id outside the vocabulary");

  if (model == "llama") {
    ScoredVocab v;
    v.scores = f.get_floats("tokenizer.ggml.scores");
    require(v.scores.size() == tokens.size(), Errc::format, path, "tokenizer.ggml.scores",
            "expected " + std::to_string(tokens.size()) + " scores, found " + std::to_string(v.scores.size()));
    for (auto t : types) {
      require(t >= 1 && t <= 6, Errc::format, path, "tokenizer.ggml.token_type", "expected 1..6, found " + std::to_string(t));
      v.types.push_back(static_cast<TokenType>(t));
    }
    v.pieces = std::move(tokens);
    v.bos_id = bos, v.eos_id = eos, v.pad_id = pad;
    v.unk_id = unk;
    v.add_bos = f.get_or<bool>("tokenizer.ggml.add_bos_token", true);
    v.add_eos = f.get_or<bool>("tokenizer.ggml.add_eos_token", false);
    v.add_dummy_prefix = f.get_or<bool>("tokenizer.ggml.add_space_prefix", true);
    return Tokenizer(SentencePieceBpe(std::move(v), path), "gguf");
  }
  if (model == "gpt2") {
    // The same tokenizer, spelled as tokenizer.json, so one implementation runs both.
    nlohmann::json j;
    nlohmann::json vocab = nlohmann::json::object();
    nlohmann::json added = nlohmann::json::array();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (types[i] == 3 || types[i] == 4)  // control, user_defined: matched before BPE
        added.push_back({{"id", i}, {"content", tokens[i]}, {"special", types[i] == 3}, {"normalized", false}});
      else
        vocab[tokens[i]] = i;
    }
    j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", f.get_strings("tokenizer.ggml.merges")},
                  {"ignore_merges", f.get_or<std::string>("tokenizer.ggml.pre", "") == "llama-bpe"}};
    j["added_tokens"] = added;
    const auto pre = f.get_or<std::string>("tokenizer.ggml.pre", "");
    j["normalizer"] = pre == "qwen2" || pre == "deepseek-r1-qwen" ? nlohmann::json{{"type", "NFC"}} : nlohmann::json();
    j["pre_tokenizer"] = gguf_detail::pre_tokenizer_for(pre, path);
    j["decoder"] = {{"type", "ByteLevel"}};
    if (bos && f.get_or<bool>("tokenizer.ggml.add_bos_token", false))
      j["post_processor"] = {{"type", "TemplateProcessing"},
                             {"single", {{{"SpecialToken", {{"id", tokens[*bos]}}}}, {{"Sequence", {{"id", "A"}}}}}},
                             {"special_tokens", {{tokens[*bos], {{"id", tokens[*bos]}, {"ids", {*bos}}}}}}};
    nlohmann::json config;
    if (bos) config["bos_token"] = tokens[*bos];
    if (eos) config["eos_token"] = tokens[*eos];
    if (pad) config["pad_token"] = tokens[*pad];
    return Tokenizer(HfTokenizer(j, config, path), "gguf");
  }
  throw Error(Errc::unsupported, path, "tokenizer.ggml.model",
              "tokenizer model \"" + model + "\" is not supported (supported: llama, gpt2)");
}

inline Tokenizer load_gguf_tokenizer(const std::string& path) { return load_gguf_tokenizer(io::GGUFFile(path)); }

}  // namespace curebench::tokenizer
