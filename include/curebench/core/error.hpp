#pragma once
// Typed errors: every refusal names the file, the field (or byte offset) and what was expected.
// One line in what(), so a CLI can print it as is; to_json() for --json output.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace curebench {

enum class Errc {
  io,                // cannot open / read / write a file
  format,            // bytes on disk do not follow the format (truncated, bad JSON, bad offsets)
  config,            // a config field is missing or has the wrong type/value
  unsupported,       // a valid input we do not handle (unknown architecture, dtype, quant type)
  shape,             // tensor shape disagrees with the config or another tensor
  not_found,         // a named tensor/file/token does not exist
  invalid_argument,  // a caller/CLI argument is wrong
  out_of_memory,     // an allocation or a memory budget was exceeded
  tokenizer,         // tokenizer file or input text problems
  dataset,           // dataset record problems
  numeric,           // NaN/Inf or a failed fidelity check
  distributed,       // a rank of a data-parallel run failed, vanished or disagrees with the others
  internal,          // a bug in curebench
};

inline constexpr std::string_view to_string(Errc c) noexcept {
  switch (c) {
    case Errc::io: return "io";
    case Errc::format: return "format";
    case Errc::config: return "config";
    case Errc::unsupported: return "unsupported";
    case Errc::shape: return "shape";
    case Errc::not_found: return "not_found";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::out_of_memory: return "out_of_memory";
    case Errc::tokenizer: return "tokenizer";
    case Errc::dataset: return "dataset";
    case Errc::numeric: return "numeric";
    case Errc::distributed: return "distributed";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

class Error : public std::runtime_error {
 public:
  Error(Errc code, std::string path, std::string field, std::string message)
      : std::runtime_error(compose(code, path, field, message)),
        code_(code), path_(std::move(path)), field_(std::move(field)), message_(std::move(message)) {}

  Errc code() const noexcept { return code_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& field() const noexcept { return field_; }
  const std::string& message() const noexcept { return message_; }

 private:
  // what() quotes bytes from files (a token piece, a header excerpt) and goes to a terminal: line breaks become
  // spaces, other control bytes \xHH (an ESC from a hostile tokenizer must not drive the terminal), and the
  // Unicode line breaks that line readers split on (U+0085, U+2028, U+2029) \uHHHH, so it stays one line.
  static std::string one_line(const std::string& s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '\n' || c == '\r') {
        out += ' ';
      } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) {
        out += "\\u0085";
        ++i;
      } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
        out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
        i += 2;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }
  static std::string compose(Errc code, const std::string& path, const std::string& field,
                             const std::string& message) {
    std::string out = "error[" + std::string(to_string(code)) + "]";
    if (!path.empty()) out += " " + path;
    if (!field.empty()) out += (path.empty() ? " " : ": ") + field;
    out += ": " + message;
    return one_line(std::move(out));
  }

  Errc code_;
  std::string path_, field_, message_;
};

inline void to_json(nlohmann::json& j, const Error& e) {
  j = nlohmann::json{{"code", std::string(to_string(e.code()))},
                     {"path", e.path()},
                     {"field", e.field()},
                     {"message", e.message()}};
}

// Short helpers keep validation code readable: `require(cond, Errc::format, path, field, msg)`.
inline void require(bool ok, Errc code, std::string_view path, std::string_view field, std::string_view msg) {
  if (!ok) throw Error(code, std::string(path), std::string(field), std::string(msg));
}

}  // namespace curebench
