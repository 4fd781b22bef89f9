#pragma once
// Ctrl-C and SIGTERM during a long run. The first signal only sets a flag; the run stops at its next safe
// point (between batches, when every finished sample is already on disk) by throwing `Interrupted`, which the
// CLI turns into one line and exit code 128 + signal. The handler resets itself (SA_RESETHAND), so a second
// signal kills at once, as users expect from a second Ctrl-C; resuming then works as after a kill.
// Stale temp files of an earlier killed process are swept by `remove_stale_temp_files`.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace curebench {

// Written only by the handler (async-signal-safe: one store to a sig_atomic_t).
inline volatile std::sig_atomic_t g_interrupt_signal = 0;

extern "C" inline void curebench_on_interrupt(int sig) { g_interrupt_signal = sig; }

inline void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = curebench_on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_RESETHAND;  // restart reads/writes; the second signal takes the default action
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

inline int interrupt_requested() noexcept { return static_cast<int>(g_interrupt_signal); }

inline const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

// Not a curebench::Error: nothing was wrong with the input, and the exit code differs (128 + signal).
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int sig, const std::string& where)
      : std::runtime_error("interrupted[" + std::string(signal_name(sig)) + "]: " + where), signal_(sig) {}
  int signal() const noexcept { return signal_; }

 private:
  int signal_;
};

inline void throw_if_interrupted(const std::string& where) {
  if (int sig = interrupt_requested()) throw Interrupted(sig, where);
}

// atomic_write and the submission/dashboard writers name temp files "<name>.tmp.<pid>" (libzip appends
// ".XXXXXX"). A process killed between create and rename leaves one behind; remove those whose process is
// gone. Returns how many were removed.
inline std::size_t remove_stale_temp_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> stale;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string rest = name.substr(at + 5);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9 || (digits < rest.size() && rest[digits] != '.')) continue;
    const long pid = std::strtol(rest.substr(0, digits).c_str(), nullptr, 10);
    const bool alive = pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    if (!alive) stale.push_back(it->path());
  }
  std::size_t removed = 0;
  for (auto& p : stale) removed += fs::remove(p, ec) ? 1 : 0;
  return removed;
}

}  // namespace curebench
