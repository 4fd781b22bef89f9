#pragma once
// Helpers for the *_hostile tests: write crafted bytes to a scratch file, and run a reader expecting a
// typed curebench::Error (never another exception, never success).
#include "curebench/core/error.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>

namespace curebench::hostile {

inline std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("curebench_hostile." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

inline std::string write_file(const std::string& name, const std::string& bytes) {
  auto p = scratch(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p.string();
}

inline std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}
inline std::string le32(std::uint32_t n) { return le64(n).substr(0, 4); }

// The error `f` throws; fails the test when it throws nothing or something other than curebench::Error.
inline Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected curebench::Error, got another exception: " << e.what();
    return Error(Errc::internal, "", "", e.what());
  }
  ADD_FAILURE() << "expected curebench::Error, got success";
  return Error(Errc::internal, "", "", "no error");
}

}  // namespace curebench::hostile
