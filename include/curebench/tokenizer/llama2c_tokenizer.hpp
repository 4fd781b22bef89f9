#pragma once
// llama2.c's tokenizer export (tok512.bin, tokenizer.bin): int32 max_token_length, then per token
// float score, int32 byte length, bytes. The file stores no count: tokens run to the end of the file.
// export wrote "▁" as a space and BOS/EOS as "\n<s>\n" / "\n</s>\n"; we restore SentencePiece spelling.
#include "curebench/core/error.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/tokenizer/sentencepiece_bpe.hpp"

#include <cstdint>
#include <cstring>
#include <string>

namespace curebench::tokenizer {

inline ScoredVocab parse_llama2c_tokenizer(std::span<const std::byte> bytes, const std::string& path) {
  std::size_t pos = 0;
  auto read = [&](void* dst, std::size_t n, const std::string& field) {
    if (bytes.size() - pos < n)
      throw Error(Errc::format, path, field,
                  "truncated at byte " + std::to_string(pos) + ": expected " + std::to_string(n) + " more bytes, found " +
                      std::to_string(bytes.size() - pos));
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  int32_t max_len = 0;
  read(&max_len, 4, "max_token_length");
  require(max_len > 0 && max_len <= 4096, Errc::format, path, "max_token_length",
          "expected 1..4096, found " + std::to_string(max_len));

  ScoredVocab v;
  while (pos < bytes.size()) {
    const std::string field = "token " + std::to_string(v.pieces.size());
    float score = 0;
    int32_t len = 0;
    read(&score, 4, field + " score");
    read(&len, 4, field + " length");
    require(len >= 0 && len <= max_len, Errc::format, path, field + " length",
            "expected 0.." + std::to_string(max_len) + " (max_token_length), found " + std::to_string(len));
    std::string text(static_cast<std::size_t>(len), '\0');
    read(text.data(), text.size(), field + " bytes");
    require(!find_invalid_utf8(text), Errc::format, path, field, "piece is not valid UTF-8");

    TokenType type = TokenType::normal;
    const auto id = static_cast<int32_t>(v.pieces.size());
    if (text == "\n<s>\n" || text == "<s>") {
      text = "<s>", type = TokenType::control, v.bos_id = id;
    } else if (text == "\n</s>\n" || text == "</s>") {
      text = "</s>", type = TokenType::control, v.eos_id = id;
    } else if (text == "<unk>") {
      type = TokenType::unknown, v.unk_id = id;
    } else if (detail::byte_token_value(text) >= 0) {
      type = TokenType::byte;
    } else {
      std::string piece;
      for (char c : text) piece += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      text = std::move(piece);
    }
    v.pieces.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  require(!v.pieces.empty(), Errc::format, path, "tokens", "file holds no tokens");
  return v;
}

inline SentencePieceBpe load_llama2c_tokenizer(const std::string& path) {
  MappedFile file(path);
  return SentencePieceBpe(parse_llama2c_tokenizer(file.bytes(), path), path);
}

}  // namespace curebench::tokenizer
