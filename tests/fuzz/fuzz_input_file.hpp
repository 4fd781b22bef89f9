#pragma once
// The readers take a path (they mmap the file), so each fuzz input is written to one in-memory file
// (memfd) that is reused for every input and opened through /proc/self/fd/N. No disk I/O, no temp files
// left behind when libFuzzer stops on a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace curebench::fuzz {

class InputFile {
 public:
  InputFile() {
    fd_ = ::memfd_create("curebench-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  // Replaces the file's content with `data` and returns a path that opens it.
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) {
      std::perror("memfd write");
      std::abort();
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace curebench::fuzz
