#pragma once
// Runs the built curebench CLI (path baked in by CMake) and captures stdout, stderr and the exit code.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "curebench/version.hpp"

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// timeout_s > 0: a CLI that hangs (a FIFO opened for reading) is killed and the exit code is 124.
inline CliResult run_cli(const std::string& args, int timeout_s = 0) {
  // Unique capture files: ctest runs test cases of one binary in parallel processes.
  static int call = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("curebench_cli_test." + std::to_string(::getpid()) + "." + std::to_string(call++));
  std::filesystem::create_directories(dir);
  auto out = (dir / "stdout").string(), err = (dir / "stderr").string();
  std::string cmd = (timeout_s > 0 ? "timeout -k 5 " + std::to_string(timeout_s) + " " : std::string()) +
                    std::string(CUREBENCH_CLI) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}

inline std::string data(const std::string& rel) { return std::string(CUREBENCH_TEST_DATA) + "/" + rel; }

inline std::string scratch_file(const std::string& name, const std::string& bytes) {
  auto dir = std::filesystem::temp_directory_path() / ("curebench_cli_files." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = (dir / name).string();
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}
