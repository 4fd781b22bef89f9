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
#include <string_view>
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

// A temp file this program writes for a target file `name` in some folder, as its writers spell it:
//   "<name>.tmp.<pid>"           atomic_write and the submission zip (write_zip)
//   "<name>.tmp.<pid>.XXXXXX"    libzip's own temp file beside the zip (libzip = true)
// (The dashboards draw in a private mkdtemp folder, report/.draw-<pid>-XXXXXX, and sweep those themselves.)
struct TempName {
  std::string name;
  bool libzip = false;
};

namespace detail {
// The pid in "<digits>" or "<digits>.XXXXXX" (libzip: six letters/digits); 0 when `rest` is neither.
inline long temp_pid(std::string_view rest, bool libzip) {
  std::size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return 0;
  if (digits < rest.size()) {
    const auto suffix = rest.substr(digits);
    if (!libzip || suffix.size() != 7 || suffix[0] != '.') return 0;
    for (char c : suffix.substr(1))
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 0;
  }
  return std::strtol(std::string(rest.substr(0, digits)).c_str(), nullptr, 10);
}
}  // namespace detail

// The pid in `file` when it is one of the temp names `t` is written through, else 0.
inline long temp_file_pid(std::string_view file, const TempName& t) {
  const std::string prefix = t.name + ".tmp.";
  if (file.size() <= prefix.size() || file.substr(0, prefix.size()) != prefix) return 0;
  return detail::temp_pid(file.substr(prefix.size()), t.libzip);
}

// Whether the process that wrote a temp or draw file (its pid is in the name) still runs: this one, or one
// kill(pid, 0) reaches (EPERM: it runs under another user).
inline bool process_alive(long pid) {
  return pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// A process killed between creating a temp file and renaming it leaves the temp file behind. Removes, directly in
// `dir` (not below it), the temp files of `names` whose writing process is gone, and nothing else: a file of
// another name, a link, or a temp file of a live pid stays. The caller proves that `dir` is its own output folder
// first (eval::RunFolder); a folder someone pointed --out at keeps every file. Returns how many were removed.
inline std::size_t remove_stale_temp_files(const std::filesystem::path& dir, const std::vector<TempName>& names) {
  namespace fs = std::filesystem;
  std::vector<fs::path> stale;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string file = it->path().filename().string();
    for (const auto& t : names) {
      const long pid = temp_file_pid(file, t);
      if (pid <= 0) continue;
      if (!process_alive(pid)) stale.push_back(it->path());
      break;
    }
  }
  std::size_t removed = 0;
  for (auto& p : stale) removed += fs::remove(p, ec) ? 1 : 0;
  return removed;
}

}  // namespace curebench
