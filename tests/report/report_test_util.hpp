#pragma once
// Unique temp folders for report tests that ctest runs in parallel.
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace curebench::test {

inline std::filesystem::path report_temp_dir(std::string_view name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("curebench_report_" + std::string(name) + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace curebench::test
