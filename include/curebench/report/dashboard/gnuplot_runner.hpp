#pragma once
// Runs a gnuplot script. gnuplot is looked up when a figure is drawn, not when this header is included, so
// programs that never draw need no gnuplot; a missing one is a typed error ("gnuplot not found on PATH").
// gnuplot is spawned directly (no shell: the CUREBENCH_GNUPLOT path is an argv[0], never a command line) and
// reads the script from a pipe as the file /dev/stdin, so it stops at the first error with its line number,
// as for a script file; gnuplot-iostream writes the command stream into that pipe. Nothing is written to a
// shared folder: no script file that a planted symlink could redirect, nothing left in /tmp by a kill.
// gnuplot's stderr goes to an anonymous memory file (memfd), read after it exits, so a chatty gnuplot can never
// block on a full pipe while we write. A gnuplot that dies early cannot kill the caller with SIGPIPE.
#include "curebench/core/error.hpp"

#include <gnuplot-iostream.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
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

namespace detail {

// Closes a descriptor once, on every path out of run_gnuplot.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int release() { return std::exchange(fd, -1); }
};

// SIGPIPE blocked on this thread while writing into gnuplot's stdin: a gnuplot that exits early turns the write
// into EPIPE. A SIGPIPE raised meanwhile is consumed before the old mask comes back.
class BlockSigpipe {
 public:
  BlockSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~BlockSigpipe() {
    if (!sigismember(&old_, SIGPIPE)) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  const sigset_t& old_mask() const { return old_; }

 private:
  sigset_t pipe_{}, old_{};
};

inline std::string read_all_from_start(int fd, std::size_t max_bytes) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) < 0) return out;
  char buf[4096];
  while (out.size() < max_bytes) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// gnuplot prints the offending command, a caret line, then "\"/dev/stdin\" line N: message"; keep those lines.
inline std::string gnuplot_error_lines(const std::string& err) {
  std::string detail;
  std::size_t pos = 0;
  while (pos < err.size() && detail.size() < 400) {
    auto end = err.find('\n', pos);
    auto line = err.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.find("line ") != std::string::npos || line.find("rror") != std::string::npos) detail += line + " | ";
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return detail.empty() ? err.substr(0, 400) : detail;
}

}  // namespace detail

// Runs `script` to its end; returns gnuplot's stderr (warnings) on success, throws with its error lines otherwise.
inline std::string run_gnuplot(const std::string& script) {
  const auto exe = find_gnuplot();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw Error(Errc::io, exe.string(), "", std::string("pipe: ") + std::strerror(errno));
  detail::Fd read_end(p[0]), write_end(p[1]);
  detail::Fd err_fd(::memfd_create("curebench-gnuplot-stderr", MFD_CLOEXEC));
  if (err_fd.fd < 0) throw Error(Errc::io, exe.string(), "", std::string("memfd_create: ") + std::strerror(errno));

  detail::BlockSigpipe no_sigpipe;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.fd, STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_fd.fd, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &no_sigpipe.old_mask());  // gnuplot runs with the caller's mask, not ours
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::string exe_s = exe.string(), script_arg = "/dev/stdin";
  std::vector<char*> argv{exe_s.data(), script_arg.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, exe_s.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error(Errc::io, exe_s, "", std::string("cannot start gnuplot: ") + std::strerror(rc));
  read_end.reset();

  bool written = false;
  if (FILE* fh = ::fdopen(write_end.fd, "w")) {
    write_end.release();  // the FILE owns it now
    Gnuplot gp(fh);       // gnuplot-iostream's stream over the pipe; closed (EOF for gnuplot) when gp goes
    gp << script << std::flush;
    written = !gp.fail();
  }
  write_end.reset();  // fdopen failed: still close, so gnuplot sees EOF and exits instead of waiting for ever
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string err = detail::read_all_from_start(err_fd.fd, std::size_t{1} << 20);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && written) return err;
  const std::string how = !WIFEXITED(status)          ? "was killed by signal " + std::to_string(WTERMSIG(status))
                          : WEXITSTATUS(status) != 0 ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                                     : "stopped reading its script";
  auto code = err.find("unknown or ambiguous terminal") != std::string::npos ? Errc::unsupported : Errc::internal;
  throw Error(code, exe_s, "", "gnuplot " + how + ": " + detail::gnuplot_error_lines(err));
}

}  // namespace curebench::report
