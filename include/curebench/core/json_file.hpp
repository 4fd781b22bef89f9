#pragma once
// JSON from disk with bounded size and nesting depth; parse errors name the file and byte position.
#include "curebench/core/error.hpp"
#include "curebench/core/regular_file.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace curebench {

struct JsonLimits {
  std::size_t max_bytes = std::size_t{256} << 20;  // tokenizer.json files reach ~20 MB; leave headroom
  int max_depth = 64;
};

// JSON text for output (stdout, results files). Strings that came from files or model output (an error's excerpt
// of a corrupt header, GGUF metadata, generated text cut inside a UTF-8 sequence) may hold invalid UTF-8, which
// dump() refuses with a type_error; output replaces each bad byte with U+FFFD instead.
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline nlohmann::json parse_json_text(std::string_view text, const std::string& path, JsonLimits lim = {}) {
  if (text.size() > lim.max_bytes)
    throw Error(Errc::format, path, "", "JSON text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                            std::to_string(lim.max_bytes));
  // Depth is checked while parsing, so a hostile file cannot exhaust the stack.
  auto guard = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > lim.max_depth)
      throw Error(Errc::format, path, "", "JSON nesting deeper than " + std::to_string(lim.max_depth));
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), guard);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(Errc::format, path, "byte " + std::to_string(e.byte), std::string("invalid JSON: ") + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    // A number literal beyond double's range (e.g. 1e400) is out_of_range.406, not a parse_error.
    throw Error(Errc::format, path, "", std::string("invalid JSON: ") + e.what());
  }
}

inline std::string read_text_file(const std::string& path, std::size_t max_bytes = std::size_t{256} << 20) {
  auto in = open_regular_ifstream(path);
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > max_bytes)
    throw Error(Errc::format, path, "", "file of " + std::to_string(size) + " bytes exceeds the limit of " +
                                            std::to_string(max_bytes));
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (!in) throw Error(Errc::io, path, "", "short read");
  return text;
}

inline nlohmann::json read_json_file(const std::string& path, JsonLimits lim = {}) {
  return parse_json_text(read_text_file(path, lim.max_bytes), path, lim);
}

namespace detail {
// nlohmann's get<integer>() static_casts whatever number it holds: a float out of range (1e30, or an integer
// literal too long for 64 bits, which parses as a double) is undefined behaviour, a u64 above INT64_MAX wraps.
// Integer fields are range-checked here first, so such values are a typed config error.
template <class T>
T get_checked(const nlohmann::json& v, std::string_view key, const std::string& path) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using L = std::numeric_limits<T>;
    bool ok = true;
    if (v.is_number_float()) {
      // [min, 2^digits) is exact in double for every integer type; in range, a fraction truncates as before.
      double d = v.get<double>();
      ok = std::isfinite(d) && d >= static_cast<double>(L::min()) && d < std::ldexp(1.0, L::digits);
      if (ok) return static_cast<T>(d);
    } else if (v.is_number_unsigned()) {
      ok = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(L::max());
    } else if (v.is_number_integer()) {
      auto i = v.get<std::int64_t>();
      ok = i >= 0 ? static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(L::max())
                  : L::is_signed && i >= static_cast<std::int64_t>(L::min());
    }
    if (!ok)
      throw Error(Errc::config, path, std::string(key), "expected an integer in [" + std::to_string(L::min()) + ", " +
                                                            std::to_string(L::max()) + "], found " + v.dump());
  }
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::config, path, std::string(key), std::string("wrong type: ") + e.what());
  }
}
}  // namespace detail

// Typed field access that names the file and the field on failure.
template <class T>
T json_get(const nlohmann::json& obj, std::string_view key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) throw Error(Errc::config, path, std::string(key), "missing field");
  return detail::get_checked<T>(*it, key, path);
}

template <class T>
T json_get_or(const nlohmann::json& obj, std::string_view key, T fallback, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  return detail::get_checked<T>(*it, key, path);
}

}  // namespace curebench
