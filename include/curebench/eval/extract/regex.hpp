#pragma once
// A compiled PCRE2 pattern (UTF + UCP, JIT when the library has it) and an iterator over its matches.
// Offsets are bytes into the subject, so spans stay valid in the caller's original text.
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "curebench/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval::extract {

struct RegexMatch {
  // groups[0] is the whole match; an unset group is {npos, npos}.
  std::vector<std::pair<std::size_t, std::size_t>> groups;
  bool has(std::size_t g) const { return g < groups.size() && groups[g].first != std::string_view::npos; }
  std::size_t begin(std::size_t g = 0) const { return groups[g].first; }
  std::size_t end(std::size_t g = 0) const { return groups[g].second; }
};

class Regex {
 public:
  enum Flags : std::uint32_t { none = 0, caseless = PCRE2_CASELESS, multiline = PCRE2_MULTILINE };

  explicit Regex(std::string_view pattern, std::uint32_t flags = caseless) : pattern_(pattern) {
    int err = 0;
    PCRE2_SIZE at = 0;
    auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                               PCRE2_UTF | PCRE2_UCP | flags, &err, &at, nullptr);
    if (!code) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof buf);
      throw Error(Errc::internal, "", "regex", "pattern '" + pattern_ + "' does not compile at offset " +
                                                   std::to_string(at) + ": " + reinterpret_cast<char*>(buf));
    }
    code_.reset(code);
    // JIT is an optimisation: without it (or on a platform PCRE2 cannot JIT for) matching is interpreted.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }

  // Every non-overlapping match from `from` on. The subject must be valid UTF-8 (Scan guarantees that).
  std::vector<RegexMatch> find_all(std::string_view subject, std::size_t from = 0, std::size_t max = SIZE_MAX) const {
    std::vector<RegexMatch> out;
    MatchData md(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    std::size_t pos = from;
    while (pos <= subject.size() && out.size() < max) {
      int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), pos,
                           PCRE2_NO_UTF_CHECK, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) throw Error(Errc::internal, "", "regex", "matching '" + pattern_ + "' failed with code " + std::to_string(rc));
      auto* ov = pcre2_get_ovector_pointer(md.get());
      std::uint32_t n = pcre2_get_ovector_count(md.get());
      RegexMatch m;
      for (std::uint32_t g = 0; g < n; ++g)
        m.groups.emplace_back(ov[2 * g] == PCRE2_UNSET ? std::string_view::npos : ov[2 * g],
                              ov[2 * g + 1] == PCRE2_UNSET ? std::string_view::npos : ov[2 * g + 1]);
      std::size_t next = m.end() > m.begin() ? m.end() : next_char(subject, m.end());
      out.push_back(std::move(m));
      pos = next;
    }
    return out;
  }

  std::optional<RegexMatch> search(std::string_view subject, std::size_t from = 0) const {
    auto all = find_all(subject, from, 1);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
  }

  const std::string& pattern() const noexcept { return pattern_; }

 private:
  struct CodeFree { void operator()(pcre2_code* c) const { pcre2_code_free(c); } };
  struct DataFree { void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); } };
  using MatchData = std::unique_ptr<pcre2_match_data, DataFree>;

  // After an empty match, step one whole UTF-8 character so the next search starts on a boundary.
  static std::size_t next_char(std::string_view s, std::size_t i) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    return i;
  }

  std::string pattern_;
  std::unique_ptr<pcre2_code, CodeFree> code_;
};

}  // namespace curebench::eval::extract
