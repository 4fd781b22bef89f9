#pragma once
// The bytes Python's json.dumps(obj) writes (defaults: ensure_ascii=True, separators ", " and ": "), for
// the one place where a consumer compares our text with Python's: the CURE-Bench `reasoning` column.
// Non-ASCII is escaped as \uXXXX (surrogate pairs above U+FFFF); invalid UTF-8 becomes \ufffd.
#include "curebench/eval/chat_message.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::report {

inline void append_python_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  auto u16 = [&](std::uint32_t v) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(v >> shift) & 0xF];
  };
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) u16(c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; reject overlong forms, surrogates and values above U+10FFFF.
    int len = (c >= 0xF0 && c <= 0xF4) ? 4 : (c >= 0xE0) && c < 0xF0 ? 3 : (c >= 0xC2 && c < 0xE0) ? 2 : 0;
    std::uint32_t cp = len == 4 ? (c & 0x07u) : len == 3 ? (c & 0x0Fu) : (c & 0x1Fu);
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (ok) ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      u16(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u16(0xD800 + (cp >> 10));
      u16(0xDC00 + (cp & 0x3FF));
    } else {
      u16(cp);
    }
    i += static_cast<std::size_t>(len);
  }
  out += '"';
}

// json.dumps([{"role": ..., "content": ...}, ...])
inline std::string python_json_dumps(const std::vector<eval::ChatMessage>& messages) {
  std::string out = "[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) out += ", ";
    out += "{\"role\": ";
    append_python_json_string(out, messages[i].role);
    out += ", \"content\": ";
    append_python_json_string(out, messages[i].content);
    out += "}";
  }
  return out + "]";
}

}  // namespace curebench::report
