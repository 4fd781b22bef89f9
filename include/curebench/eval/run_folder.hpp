#pragma once
// The folder an evaluation writes (`eval --out`), as the pipeline holds it for one run:
//  - locked (core/run_lock.hpp) before anything in it is read or written: a second eval into it is refused with
//    the holder's pid, and `curebench report` waits for nothing half-written;
//  - proven before anything in it is deleted: only a folder whose run_config.json parses and carries this
//    config's hash is a run folder (`resuming()`), and only there are stale temp files swept, by their exact names;
//  - tied to its config only once the run can start: claim() writes run_config.json right before the first
//    output (the first samples log), so a run that fails earlier (a missing dataset, a model that does not load)
//    leaves no run_config.json behind, and no lock file or folder that it made.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/run_lock.hpp"
#include "curebench/eval/run_config.hpp"

namespace curebench::eval {

class RunFolder {
 public:
  RunFolder(std::filesystem::path dir, const RunConfig& cfg) : dir_(std::move(dir)), cfg_(cfg) {
    namespace fs = std::filesystem;
    std::error_code ec;
    made_dir_ = !fs::exists(fs::symlink_status(dir_, ec));
    fs::create_directories(dir_, ec);
    if (ec || !fs::is_directory(dir_))
      throw Error(Errc::io, dir_.string(), "", "cannot create the run folder" + (ec ? ": " + ec.message() : std::string()));
    try {
      lock_ = FolderLock::exclusive(dir_);
      resuming_ = check_config();
    } catch (...) {
      abandon();
      throw;
    }
  }
  ~RunFolder() {
    if (!claimed_) abandon();
  }
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::filesystem::path& dir() const noexcept { return dir_; }
  // run_config.json was there, parsed, and holds this config's hash: a run of this config to resume.
  bool resuming() const noexcept { return resuming_; }

  // Writes run_config.json (once): from here on the folder belongs to this config.
  void claim() {
    if (claimed_) return;
    if (!resuming_) {
      auto json = to_json_value(cfg_);
      json["hash"] = cfg_.hash;
      atomic_write(dir_ / "run_config.json", dump_json(json, 2) + "\n");
    }
    claimed_ = true;
  }

  // Removes stale temp files (TempName, core/interrupt.hpp) of the files this program writes, folder by folder
  // (relative to the run folder), and only in a proven run folder. Returns how many were removed.
  std::size_t sweep(const std::vector<std::pair<std::filesystem::path, std::vector<TempName>>>& by_folder) const {
    if (!resuming_) return 0;
    std::size_t removed = 0;
    for (const auto& [rel, names] : by_folder) removed += remove_stale_temp_files(dir_ / rel, names);
    return removed;
  }

 private:
  // A run folder belongs to one config: resuming with another config would mix samples. An edited or corrupt
  // run_config.json (hash missing, not a string, not an object) is refused like another config's.
  bool check_config() const {
    const auto path = dir_ / "run_config.json";
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return false;
    auto old = read_json_file(path.string());
    const bool readable = old.is_object() && old.contains("hash") && old["hash"].is_string();
    if (!readable)
      throw Error(Errc::config, path.string(), "hash",
                  "expected the config hash (a string) this run folder was started with; the file was edited or is "
                  "corrupt: use a new --out folder (or delete it) to start over");
    if (old["hash"].get<std::string>() != cfg_.hash)
      throw Error(Errc::config, path.string(), "hash",
                  "this run folder holds a run of another config; use a new --out folder (or delete it) to start over");
    return true;
  }

  // Undoes what this run made before it claimed the folder: its lock file, and the folder if it made it (empty).
  void abandon() noexcept {
    const bool remove_lock = lock_.created();
    lock_.release(remove_lock);
    std::error_code ec;
    if (made_dir_ && remove_lock) std::filesystem::remove(dir_, ec);  // only when empty
  }

  std::filesystem::path dir_;
  const RunConfig& cfg_;
  FolderLock lock_;
  bool made_dir_ = false, resuming_ = false, claimed_ = false;
};

}  // namespace curebench::eval
