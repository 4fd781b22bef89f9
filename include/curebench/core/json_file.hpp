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

namespace detail {

// nlohmann's DOM builder behind a depth check. The callback form of json::parse (the obvious way to check
// depth) rescans the parent object after every nested value ends to drop discarded ones: quadratic in the number
// of members (a safetensors header of 100,000 tensors took minutes). The SAX form below builds the same DOM
// in one pass and refuses depth before it allocates a level.
class DepthLimitedDom {
 public:
  using Json = nlohmann::json;
  DepthLimitedDom(Json& root, int max_depth, const std::string& path) : dom_(root, true), max_depth_(max_depth), path_(path) {}
  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) { return dom_.number_float(v, s); }
  bool string(Json::string_t& v) { return dom_.string(v); }
  bool binary(Json::binary_t& v) { return dom_.binary(v); }
  bool key(Json::string_t& v) { return dom_.key(v); }
  bool start_object(std::size_t n) { return enter() && dom_.start_object(n); }
  bool end_object() { --depth_; return dom_.end_object(); }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() { --depth_; return dom_.end_array(); }
  template <class Exception>  // the static type is thrown again: parse_error, or out_of_range for 1e400
  bool parse_error(std::size_t pos, const std::string& token, const Exception& e) {
    return dom_.parse_error(pos, token, e);
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_)
      throw Error(Errc::format, path_, "", "JSON nesting deeper than " + std::to_string(max_depth_));
    return true;
  }
  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  int depth_ = 0, max_depth_;
  const std::string& path_;
};

}  // namespace detail

inline nlohmann::json parse_json_text(std::string_view text, const std::string& path, JsonLimits lim = {}) {
  if (text.size() > lim.max_bytes)
    throw Error(Errc::format, path, "", "JSON text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                            std::to_string(lim.max_bytes));
  nlohmann::json root;
  detail::DepthLimitedDom sax(root, lim.max_depth, path);  // at most max_depth nested objects/arrays
  try {
    nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(Errc::format, path, "byte " + std::to_string(e.byte), std::string("invalid JSON: ") + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    // A number literal beyond double's range (e.g. 1e400) is out_of_range.406, not a parse_error.
    throw Error(Errc::format, path, "", std::string("invalid JSON: ") + e.what());
  }
  return root;
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
