#pragma once
// One writer per run folder. `curebench eval` holds an exclusive flock(2) on <folder>/run.lock for the whole run;
// `curebench report` holds a shared one while it reads, so it never reads a folder that an eval is writing, and
// two evals never append to one samples log. flock belongs to the open file description: a killed holder's lock
// goes with its last descriptor, so a stale lock needs no clean-up (the next run simply takes it). The file is
// opened O_NOFOLLOW | O_CLOEXEC (a planted symlink is refused, a gnuplot child does not inherit the lock), and
// the exclusive holder writes its pid into it only to name itself in the refusal another process prints.
#include "curebench/core/error.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

namespace curebench {

inline constexpr const char* kRunLockName = "run.lock";

class FolderLock {
 public:
  FolderLock() = default;
  FolderLock(FolderLock&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), exclusive_(o.exclusive_), created_(o.created_), path_(std::move(o.path_)) {}
  FolderLock& operator=(FolderLock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = std::exchange(o.fd_, -1);
      exclusive_ = o.exclusive_;
      created_ = o.created_;
      path_ = std::move(o.path_);
    }
    return *this;
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock() { release(); }

  bool held() const noexcept { return fd_ >= 0; }
  bool created() const noexcept { return created_; }  // this holder made the lock file
  const std::filesystem::path& path() const noexcept { return path_; }

  // Exclusive lock on dir/run.lock (created if missing). Another holder: Errc::io naming the lock file and the
  // holder's pid, at once (no waiting). `what` words the refusal's advice.
  static FolderLock exclusive(const std::filesystem::path& dir,
                              const std::string& what = "wait for it to finish or use another --out folder") {
    FolderLock l;
    l.path_ = dir / kRunLockName;
    l.exclusive_ = true;
    l.fd_ = l.open_and_lock(O_RDWR, LOCK_EX, what);
    // The pid is a label only (the lock is the flock): rewritten in place, never through a second link.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(l.fd_, 0) != 0 || ::pwrite(l.fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
      throw Error(Errc::io, l.path_.string(), "", std::string("cannot write the lock holder's pid: ") + std::strerror(errno));
    return l;
  }

  // Shared lock on dir/run.lock for a reader. A folder without the file was never locked by an eval (or was
  // written by an older curebench): there is no writer to wait for, and an unheld lock is returned; the reader
  // creates nothing in a folder that may be someone else's.
  static FolderLock shared(const std::filesystem::path& dir,
                           const std::string& what = "wait for the run to finish, then run the command again") {
    FolderLock l;
    l.path_ = dir / kRunLockName;
    l.fd_ = l.open_and_lock(O_RDONLY, LOCK_SH, what);
    return l;
  }

  // Releases the lock. remove_file: also unlinks the lock file first (while still holding it), for a holder that
  // made it and leaves nothing else behind; a process waiting on the old file notices and retries (open_and_lock).
  void release(bool remove_file = false) noexcept {
    if (fd_ < 0) return;
    if (remove_file) ::unlink(path_.c_str());
    else if (exclusive_) (void)!::ftruncate(fd_, 0);  // a finished holder leaves no pid behind to be misread
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int open_and_lock(int access, int op, const std::string& what) {
    const std::string p = path_.string();
    for (int attempt = 0; attempt < 8; ++attempt) {
      int fd = ::open(p.c_str(), access | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      bool made = false;
      if (fd < 0 && errno == ENOENT) {
        if (access == O_RDONLY) return -1;  // shared: nothing to lock
        fd = ::open(p.c_str(), access | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
        made = fd >= 0;
        if (fd < 0 && errno == EEXIST) continue;  // another process made it just now: open that one
      }
      if (fd < 0) {
        const int err = errno;
        throw Error(Errc::io, p, "",
                    err == ELOOP ? std::string("the lock file is a symbolic link; refusing to follow it")
                                 : std::string("cannot open the run folder's lock file: ") + std::strerror(err));
      }
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        ::close(fd);
        throw Error(Errc::io, p, "", "expected a regular file with one link as the run folder's lock file");
      }
      if (::flock(fd, op | LOCK_NB) != 0) {
        const int err = errno;
        std::string holder = holder_of(fd);
        ::close(fd);
        if (err == EWOULDBLOCK)
          throw Error(Errc::io, p, "", "the run folder is in use: " + holder + " holds its lock; " + what);
        throw Error(Errc::io, p, "", std::string("cannot lock the run folder: ") + std::strerror(err));
      }
      // Locked, but the file may have been unlinked (a holder that removed it on release) between our open and
      // flock: then a newcomer could lock a new file at the same name. Only the file the name points at counts.
      struct stat named {};
      if (::lstat(p.c_str(), &named) != 0 || named.st_ino != st.st_ino || named.st_dev != st.st_dev) {
        ::close(fd);
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      created_ = made;
      return fd;
    }
    throw Error(Errc::io, p, "", "the lock file keeps being replaced; is another program removing it?");
  }

  // "process 123" from the pid the exclusive holder wrote; a pid that no longer runs, or none, is a reader's lock.
  static std::string holder_of(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    long pid = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && pid < 100000000; ++i) pid = pid * 10 + (buf[i] - '0');
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) return "process " + std::to_string(pid);
    return "another process (a reader such as curebench report)";
  }

  int fd_ = -1;
  bool exclusive_ = false, created_ = false;
  std::filesystem::path path_;
};

}  // namespace curebench
