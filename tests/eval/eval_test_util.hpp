#pragma once
// Unique temp files for tests that ctest runs in parallel.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace curebench::test {

inline std::filesystem::path temp_path(std::string_view name) {
  auto dir = std::filesystem::temp_directory_path() / ("curebench_eval_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / std::string(name);
}

inline std::filesystem::path write_temp(std::string_view name, std::string_view bytes) {
  auto p = temp_path(name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

}  // namespace curebench::test
