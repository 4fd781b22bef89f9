#pragma once
// Results are never half-written: write to a temp file in the same folder, fsync, rename over the target.
#include "curebench/core/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace curebench {

inline void atomic_write(const std::filesystem::path& target, std::string_view content) {
  namespace fs = std::filesystem;
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string tmp = target.string() + ".tmp." + std::to_string(::getpid());
  // Created exclusively and never through a link: a symlink planted at the (predictable) temp name must not
  // make us write elsewhere. A name already there carries our pid, so it is a dead namesake's leftover or a
  // plant: unlink removes the entry itself (never a link's target), then the create is retried once.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::open(tmp.c_str(), kFlags, 0644);
  if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) fd = ::open(tmp.c_str(), kFlags, 0644);
  if (fd < 0) throw Error(Errc::io, tmp, "", std::string("cannot create: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(Errc::io, tmp, "", std::string("write failed: ") + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // A full disk may surface only here (delayed allocation, network file systems): a failed flush is a failed write.
  const bool synced = ::fsync(fd) == 0 || errno == EINVAL;  // EINVAL: a file system without fsync
  const int sync_err = errno;
  if (::close(fd) != 0 || !synced) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    throw Error(Errc::io, tmp, "", std::string("write failed: ") + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(Errc::io, target.string(), "", std::string("rename failed: ") + std::strerror(err));
  }
}

}  // namespace curebench
