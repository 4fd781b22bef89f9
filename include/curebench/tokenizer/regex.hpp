#pragma once
// PCRE2 (JIT, UTF + UCP) for the Split pre-tokenizer patterns that tokenizer.json files carry: they use
// Unicode classes (\p{L}, \p{N}) and lookahead, which std::regex cannot express.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "curebench/core/error.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::tokenizer {

// HF tokenizers runs these patterns with Oniguruma, where \s is Unicode White_Space; PCRE2's \s lacks
// U+0085 (NEL). Spell it out so both engines agree.
inline std::string oniguruma_compatible(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char n = pattern[i + 1];
      if (n == 's') out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
      else if (n == 'S') out += in_class ? "\\S" : "[^\\s\\x{85}]";  // inside a class \S stays as is
      else out.append(pattern.substr(i, 2));
      ++i;
      continue;
    }
    if (c == '[' && !in_class) in_class = true;
    else if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

class Regex {
 public:
  explicit Regex(std::string_view pattern, std::string source = {}) : pattern_(pattern), source_(std::move(source)) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    std::string p = oniguruma_compatible(pattern);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(), PCRE2_UTF | PCRE2_UCP, &err,
                                     &offset, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw Error(Errc::unsupported, source_, "pattern",
                  "cannot compile regex at offset " + std::to_string(offset) + ": " + reinterpret_cast<char*>(msg));
    }
    code_ = std::shared_ptr<pcre2_code>(code, Free{});
    jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  }

  // Byte ranges [begin, end) of successive non-overlapping matches in valid UTF-8 `text`.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), &pcre2_match_data_free);
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t start = 0;
    while (start <= text.size()) {
      int rc = jit_ ? pcre2_jit_match(code_.get(), subject, text.size(), start, 0, md.get(), nullptr)
                    : PCRE2_ERROR_JIT_STACKLIMIT;
      // The JIT stack is small (32 KiB); long whitespace runs can exhaust it, so retry interpreted.
      if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        rc = pcre2_match(code_.get(), subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0)
        throw Error(Errc::tokenizer, source_, "byte " + std::to_string(start),
                    "regex match failed with PCRE2 error " + std::to_string(rc) + " for pattern " + pattern_);
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      std::size_t b = ov[0], e = ov[1];
      if (e == b) {  // empty match: step over one character
        if (b >= text.size()) break;
        start = b + utf8_char_len(text, b);
        continue;
      }
      out.emplace_back(b, e);
      start = e;
    }
    return out;
  }

  const std::string& pattern() const { return pattern_; }

 private:
  static std::size_t utf8_char_len(std::string_view s, std::size_t i) {
    auto b = static_cast<unsigned char>(s[i]);
    return b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
  }
  struct Free {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };
  std::string pattern_;
  std::string source_;  // the file the pattern came from, named by match errors (a pattern that backtracks past PCRE2's limit)
  std::shared_ptr<pcre2_code> code_;
  bool jit_ = false;
};

}  // namespace curebench::tokenizer
