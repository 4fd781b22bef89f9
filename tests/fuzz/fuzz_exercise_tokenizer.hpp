#pragma once
// What every tokenizer target does with a tokenizer it managed to build: encode the fuzzed text, check every
// id is inside the vocabulary, decode those ids both ways, decode the text's bytes reinterpreted as ids (out
// of range ones must be refused with curebench::Error), and look pieces up. Works on any type with the
// Tokenizer concept's members (tokenizer/tokenizer.hpp).
#include "curebench/core/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace curebench::fuzz {

template <class Tok>
void exercise_tokenizer(const Tok& tok, std::string_view text) {
  try {
    auto ids = tok.encode(text, true);
    for (auto id : ids)
      if (id < 0 || static_cast<std::size_t>(id) >= tok.vocab_size()) std::abort();
    (void)tok.decode(ids, true);
    (void)tok.decode(ids, false);
  } catch (const curebench::Error&) {
  }
  std::vector<std::int32_t> raw(text.size() / 4);
  if (!raw.empty()) std::memcpy(raw.data(), text.data(), raw.size() * 4);
  try {
    (void)tok.decode(raw, false);
  } catch (const curebench::Error&) {
  }
  for (std::int32_t id : {0, 1, static_cast<std::int32_t>(tok.vocab_size()) - 1}) {
    try {
      (void)tok.id_to_piece(id);
    } catch (const curebench::Error&) {
    }
  }
}

// Input layout of the two-part targets: u16 LE text length L | L bytes of text | the file (rest).
struct TextAndFile {
  std::string_view text;
  const std::uint8_t* file;
  std::size_t file_size;
};
inline bool split_text_and_file(const std::uint8_t* data, std::size_t size, TextAndFile& out) {
  if (size < 2) return false;
  std::size_t len = std::min<std::size_t>(data[0] | (data[1] << 8), size - 2);
  out.text = std::string_view(reinterpret_cast<const char*>(data + 2), len);
  out.file = data + 2 + len;
  out.file_size = size - 2 - len;
  return true;
}

}  // namespace curebench::fuzz
