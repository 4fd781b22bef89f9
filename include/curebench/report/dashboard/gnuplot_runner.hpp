#pragma once
// Runs a gnuplot script. gnuplot is looked up when a figure is drawn, not when this header is included, so
// programs that never draw need no gnuplot; a missing one is a typed error ("gnuplot not found on PATH").
// The script goes to a file through gnuplot-iostream and gnuplot runs it as a child process: its exit status
// and stderr are then ours to report, and a failing gnuplot cannot kill the caller with SIGPIPE.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"

#include <gnuplot-iostream.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace curebench::report {

inline bool is_executable_file(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// CUREBENCH_GNUPLOT (a path) wins; otherwise the first executable `gnuplot` on PATH.
inline std::filesystem::path find_gnuplot() {
  if (const char* env = std::getenv("CUREBENCH_GNUPLOT"); env && *env) {
    if (!is_executable_file(env))
      throw Error(Errc::not_found, env, "CUREBENCH_GNUPLOT", "not an executable file (expected the path of gnuplot 5)");
    return env;
  }
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    if (is_executable_file(dir / "gnuplot")) return dir / "gnuplot";
    start = end + 1;
  }
  throw Error(Errc::not_found, "gnuplot", "PATH",
              "gnuplot not found on PATH: install gnuplot 5.4 with the pngcairo and svg terminals "
              "(Debian: apt-get install gnuplot-nox) or set CUREBENCH_GNUPLOT to its path");
}

// Runs `script`; on failure throws with gnuplot's first error lines and keeps the script for inspection.
inline void run_gnuplot(const std::string& script) {
  namespace fs = std::filesystem;
  const auto exe = find_gnuplot();
  static std::atomic<int> calls{0};  // two draws in one process must not share a script file
  const auto stem = fs::temp_directory_path() /
                    ("curebench-report." + std::to_string(::getpid()) + "." + std::to_string(calls++));
  const std::string script_path = stem.string() + ".gp", err_path = stem.string() + ".stderr";
  try {
    Gnuplot gp(">" + script_path);  // gnuplot-iostream's file mode: the command stream lands in the file
    gp << script << std::flush;
  } catch (const std::ios_base::failure& e) {
    throw Error(Errc::io, script_path, "", std::string("cannot write the gnuplot script: ") + e.what());
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string exe_s = exe.string();
  std::vector<char*> argv{exe_s.data(), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, exe_s.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error(Errc::io, exe_s, "", std::string("cannot start gnuplot: ") + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string err;
  try {
    err = read_text_file(err_path, 1 << 20);
  } catch (const Error&) {
  }
  std::error_code ec;
  fs::remove(err_path, ec);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fs::remove(script_path, ec);
    return;
  }
  // gnuplot prints the offending command, a caret line, then "line N: message"; keep the message lines.
  std::string detail;
  std::size_t pos = 0;
  while (pos < err.size() && detail.size() < 400) {
    auto end = err.find('\n', pos);
    auto line = err.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.find("line ") != std::string::npos || line.find("rror") != std::string::npos) detail += line + " | ";
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (detail.empty()) detail = err.substr(0, 400);
  auto code = err.find("unknown or ambiguous terminal") != std::string::npos ? Errc::unsupported : Errc::internal;
  std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  throw Error(code, script_path, "", "gnuplot " + how + " (script kept for inspection): " + detail);
}

}  // namespace curebench::report
