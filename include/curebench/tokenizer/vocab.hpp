#pragma once
// Token id <-> piece tables shared by every tokenizer model; lookups take string_view without copies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace curebench::tokenizer {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

using PieceMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// SentencePiece / GGUF token types (same numbering in both formats).
enum class TokenType : uint8_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

inline std::optional<int32_t> find_piece(const PieceMap& map, std::string_view piece) {
  auto it = map.find(piece);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

// "<0xHH>" spelling of a byte-fallback piece.
inline std::string byte_piece(unsigned char b) {
  const char* hex = "0123456789ABCDEF";
  return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

}  // namespace curebench::tokenizer
