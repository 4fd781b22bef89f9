#pragma once
// Every input curebench reads is a regular file. A FIFO in place of config.json would block open() for ever
// (nobody writes to it), /dev/zero never ends, a folder reads as an error deep inside a parser: each is
// refused here first, by name and by what it is, before a byte is read.
#include "curebench/core/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace curebench {

namespace detail {
inline const char* file_kind(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
inline Error not_regular(const std::string& path, mode_t m) {
  return Error(Errc::io, path, "", std::string("expected a regular file, found ") + file_kind(m));
}
}  // namespace detail

// Throws Errc::io unless path names (through links) a regular file. For readers that open by name
// (std::ifstream); a reader that holds a descriptor uses open_regular_file instead.
inline void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(Errc::io, path, "", std::string("cannot open: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw detail::not_regular(path, st.st_mode);
}

// The binary input stream of a regular file, or Errc::io naming it: the one way the stream readers open files.
inline std::ifstream open_regular_ifstream(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::io, path, "", std::string("cannot open for reading: ") + std::strerror(errno));
  return in;
}

// open(2) that cannot block on a FIFO (O_NONBLOCK until the descriptor is known to be a regular file) and
// refuses anything else. Returns the descriptor; the caller closes it. `what` words the failure ("cannot
// open", "cannot open for appending").
inline int open_regular_file(const std::string& path, int flags, mode_t mode = 0644, const char* what = "cannot open") {
  // Named first: opening a reader-less FIFO for writing fails with ENXIO, which would word it badly.
  if (struct stat named {}; ::stat(path.c_str(), &named) == 0 && !S_ISREG(named.st_mode)) throw detail::not_regular(path, named.st_mode);
  int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) throw Error(Errc::io, path, "", std::string(what) + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t m = st.st_mode;
    ::close(fd);
    throw detail::not_regular(path, m);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace curebench
