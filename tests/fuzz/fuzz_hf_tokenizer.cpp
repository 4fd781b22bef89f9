// libFuzzer target: tokenizer.json loading (tokenizer/hf_tokenizer.hpp, through parse_json_text as
// load_hf_tokenizer reads it) + encoding of arbitrary bytes + decoding of the ids and of arbitrary ids.
// Input layout: u16 LE text length L | L bytes of text | tokenizer.json text (rest of the input).
// Contract: a tokenizer or a curebench::Error; encode/decode return or throw curebench::Error; every id
// produced is < vocab_size(). Anything else (nlohmann exceptions, UB, > 1 s) is a bug.
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/hf_tokenizer.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t len = std::min<std::size_t>(data[0] | (data[1] << 8), size - 2);
  std::string_view text(reinterpret_cast<const char*>(data + 2), len);
  std::string_view json(reinterpret_cast<const char*>(data + 2 + len), size - 2 - len);
  try {
    auto j = curebench::parse_json_text(json, "tokenizer.json");
    curebench::tokenizer::HfTokenizer tok(j, nlohmann::json(), "tokenizer.json");
    try {
      auto ids = tok.encode(text, true);
      for (auto id : ids)
        if (id < 0 || static_cast<std::size_t>(id) >= tok.vocab_size()) std::abort();
      (void)tok.decode(ids, true);
      (void)tok.decode(ids, false);
    } catch (const curebench::Error&) {
    }
    std::vector<int32_t> raw(text.size() / 4);
    if (!raw.empty()) std::memcpy(raw.data(), text.data(), raw.size() * 4);
    try {
      (void)tok.decode(raw, false);
    } catch (const curebench::Error&) {
    }
    (void)tok.piece_to_id(text);
  } catch (const curebench::Error&) {
  }
  return 0;
}
