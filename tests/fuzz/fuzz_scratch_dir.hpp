#pragma once
// Readers that look at file names or at files beside the input (load_tokenizer dispatches on the extension,
// model.safetensors.index.json names its shards) need a real folder: one per fuzzing process under $TMPDIR,
// holding symlinks to the in-memory input file and whatever fixed files the target adds; removed at exit.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace curebench::fuzz {

class ScratchDir {
 public:
  ScratchDir() {
    dir_ = std::filesystem::temp_directory_path() / ("curebench-fuzz." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    static std::filesystem::path* at_exit = nullptr;
    at_exit = &dir_;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*at_exit, ec);
    });
  }
  const std::filesystem::path& path() const { return dir_; }
  std::string link(const std::string& name, const std::string& target) const {
    auto p = dir_ / name;
    std::filesystem::create_symlink(target, p);
    return p.string();
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace curebench::fuzz
