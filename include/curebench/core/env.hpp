#pragma once
// The library's tuning switches (CUREBENCH_PDL, CUREBENCH_GEMV_KERNEL, ...; docs/performance.md lists them) read from
// the environment through one set of rules, so that every switch takes the same spellings and a malformed value
// means the default, never a half-parsed number. Callers read a switch once per process (a function-local static)
// unless a test must set it. Plain C++17: the CUDA translation units include it too.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace curebench::env {

// "1" on, "0" off; unset, empty or anything else: the default.
inline bool flag(const char* name, bool fallback) {
  const char* e = std::getenv(name);
  if (!e || e[0] == '\0' || e[1] != '\0') return fallback;
  return e[0] == '1' ? true : e[0] == '0' ? false : fallback;
}

// A decimal integer in [lo, hi]; unset, not wholly a number, or out of range: the default.
inline long long integer(const char* name, long long fallback, long long lo, long long hi) {
  const char* e = std::getenv(name);
  if (!e || !*e) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(e, &end, 10);
  return errno == 0 && end && *end == '\0' && v >= lo && v <= hi ? v : fallback;
}

// One of the named values (exact spelling); unset or another word: the default.
inline int choice(const char* name, std::initializer_list<std::pair<const char*, int>> names, int fallback) {
  const char* e = std::getenv(name);
  if (!e) return fallback;
  for (const auto& [word, value] : names)
    if (std::strcmp(e, word) == 0) return value;
  return fallback;
}

}  // namespace curebench::env
