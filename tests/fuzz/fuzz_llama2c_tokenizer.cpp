// libFuzzer target: llama2.c tokenizer file (tok512.bin format, tokenizer/llama2c_tokenizer.hpp) + encoding
// of arbitrary text with it + decoding of the ids it made and of arbitrary ids.
// Input layout: u16 LE text length L | L bytes of text | the tokenizer file (rest of the input).
// Contract: a vocabulary or a curebench::Error; encode of invalid UTF-8 and decode of unknown ids are
// curebench::Error; encode(text) then decode round-trips without crashing. Anything else is a bug.
#include "curebench/tokenizer/llama2c_tokenizer.hpp"

#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t len = std::min<std::size_t>(data[0] | (data[1] << 8), size - 2);
  std::string_view text(reinterpret_cast<const char*>(data + 2), len);
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data + 2 + len), size - 2 - len);
  try {
    curebench::tokenizer::SentencePieceBpe tok(curebench::tokenizer::parse_llama2c_tokenizer(file, "tok.bin"), "tok.bin");
    try {
      auto ids = tok.encode(text, true);
      for (auto id : ids)
        if (id < 0 || static_cast<std::size_t>(id) >= tok.vocab_size()) std::abort();
      (void)tok.decode(ids, true);
      (void)tok.decode(ids, false);
    } catch (const curebench::Error&) {
    }
    // The text's bytes reinterpreted as ids: out-of-range ids must be refused, in-range ones decoded.
    std::vector<int32_t> raw(text.size() / 4);
    if (!raw.empty()) std::memcpy(raw.data(), text.data(), raw.size() * 4);
    for (auto& id : raw) id = static_cast<int32_t>(static_cast<uint32_t>(id) % (tok.vocab_size() + 2)) - 1;
    try {
      (void)tok.decode(raw, false);
    } catch (const curebench::Error&) {
    }
    (void)tok.piece_to_id(text);
  } catch (const curebench::Error&) {
  }
  return 0;
}
