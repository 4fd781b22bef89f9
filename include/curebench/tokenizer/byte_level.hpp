#pragma once
// GPT-2's byte <-> unicode table: every byte maps to a printable code point so BPE can work on text.
// Printable Latin-1 bytes map to themselves; the other 68 take U+0100.. in byte order.
#include "curebench/tokenizer/utf8.hpp"

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>

namespace curebench::tokenizer {

struct ByteLevelTable {
  std::array<std::string, 256> byte_to_text;      // UTF-8 of the code point each byte stands for
  std::array<int, 0x144> char_to_byte{};           // code point -> byte, -1 when not in the table

  ByteLevelTable() {
    char_to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + extra++);
      utf8_append(byte_to_text[b], cp);
      char_to_byte[cp] = b;
    }
  }

  static const ByteLevelTable& get() {
    static const ByteLevelTable table;
    return table;
  }

  // Text bytes -> the byte-level alphabet.
  std::string encode(std::string_view bytes) const {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) out += byte_to_text[b];
    return out;
  }

  // One token back to bytes; false when a char is outside the table (the caller keeps the raw text).
  bool decode(std::string_view token, std::string& out) const {
    std::size_t mark = out.size();
    for (std::size_t i = 0; i < token.size();) {
      char32_t cp = utf8_next(token, i);
      if (cp >= char_to_byte.size() || char_to_byte[cp] < 0) {
        out.resize(mark);
        return false;
      }
      out += static_cast<char>(char_to_byte[cp]);
    }
    return true;
  }
};

}  // namespace curebench::tokenizer
