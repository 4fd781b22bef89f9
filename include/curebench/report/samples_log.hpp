#pragma once
// models/<name>/samples.jsonl: one SampleRecord per line, appended as each question finishes, so a killed
// run resumes where it stopped. (Appended, not written with atomic_write; only drop() rewrites it, atomically.)
//  - every record is one write() of "<json>\n" on an O_APPEND descriptor, then fdatasync;
//  - on open, the finished records are read back with a bounded line reader (eval::kMaxSampleLineBytes: a
//    longer line is Errc::format naming the line, before it is read whole). A last line without its "\n" is
//    what a kill in the middle of a write leaves: it is dropped, reported (dropped_partial_bytes) and cut off
//    the file, so the next append starts on a clean line. Any other bad line is corruption and throws with its
//    line, and so does a second record of one (split, id): only two runs writing one folder at once (which the
//    run folder's lock now prevents) leave that, and which of the two answers counts would be a guess.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/regular_file.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/sample.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace curebench::report {

class SamplesLog {
 public:
  explicit SamplesLog(std::filesystem::path path, std::size_t max_line_bytes = eval::kMaxSampleLineBytes)
      : path_(std::move(path)), max_line_bytes_(max_line_bytes) {
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
    // The log is appended to and cut in place: a symlink planted in its name would make a resume truncate or
    // append to the file it points at (a torn-looking last line of ~/.bashrc cut off). Refused, not followed.
    std::error_code ec;
    if (std::filesystem::is_symlink(std::filesystem::symlink_status(path_, ec)))
      throw Error(Errc::io, path_.string(), "", "a symlink in place of the samples log: refused (it is written in place)");
    if (std::filesystem::exists(path_)) recover();
    open_for_append();
  }
  ~SamplesLog() {
    if (fd_ >= 0) ::close(fd_);
  }
  SamplesLog(const SamplesLog&) = delete;
  SamplesLog& operator=(const SamplesLog&) = delete;

  const std::vector<eval::SampleRecord>& finished() const { return finished_; }
  bool done(const std::string& split, const std::string& id) const { return keys_.count({split, id}) > 0; }
  std::size_t dropped_partial_bytes() const { return dropped_partial_bytes_; }
  const std::filesystem::path& path() const { return path_; }

  void append(const eval::SampleRecord& r) {
    if (done(r.split, r.id))
      throw Error(Errc::internal, path_.string(), r.split + "/" + r.id, "a second record of one question");
    nlohmann::json j = r;
    std::string line = dump_json(j) + "\n";
    // What could not be read back must not be written: the resume would stop at this line.
    if (line.size() - 1 > max_line_bytes_)
      throw Error(Errc::format, path_.string(), r.split + "/" + r.id,
                  "record of " + std::to_string(line.size() - 1) + " bytes exceeds the samples line limit of " +
                      std::to_string(max_line_bytes_) + " bytes");
    std::size_t done_bytes = 0;
    while (done_bytes < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done_bytes, line.size() - done_bytes);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(Errc::io, path_.string(), "", std::string("append failed: ") + std::strerror(errno));
      }
      done_bytes += static_cast<std::size_t>(n);
    }
    ::fdatasync(fd_);
    keys_.insert({r.split, r.id});
    finished_.push_back(r);
  }

  // Removes the records of `keys` (questions to run again) by rewriting the log atomically, so each question
  // keeps at most one record and a kill during the rewrite leaves the old log or the new one whole.
  void drop(const std::set<std::pair<std::string, std::string>>& keys) {
    std::vector<eval::SampleRecord> kept;
    std::string text;
    for (auto& r : finished_) {
      if (keys.count({r.split, r.id})) continue;
      text += dump_json(nlohmann::json(r)) + "\n";
      kept.push_back(std::move(r));
    }
    ::close(fd_);
    fd_ = -1;
    atomic_write(path_, text);
    finished_ = std::move(kept);
    keys_.clear();
    for (auto& r : finished_) keys_.insert({r.split, r.id});
    open_for_append();
  }

 private:
  void open_for_append() {
    fd_ = open_regular_file(path_.string(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644, "cannot open for appending");
  }

  void recover() {
    const std::string path = path_.string();
    std::map<std::pair<std::string, std::string>, std::size_t> first_line;
    const std::size_t tail = eval::for_each_sample_json(
        path,
        [&](std::size_t line_no, const nlohmann::json& j) {
          const std::string where = eval::line_field(line_no, "");
          eval::SampleRecord r = eval::sample_from_json(j, path, where);
          auto [it, fresh] = first_line.emplace(std::pair{r.split, r.id}, line_no);
          if (!fresh)
            throw Error(Errc::format, path, where,
                        "a second record of " + r.split + "/" + r.id + " (first on line " + std::to_string(it->second) +
                            "): two runs wrote this folder at once; start over in a new --out folder");
          keys_.insert(it->first);
          finished_.push_back(std::move(r));
        },
        max_line_bytes_);
    if (tail > 0) {  // killed mid-write: drop the fragment and cut it off the file
      dropped_partial_bytes_ = tail;
      std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - tail);
    }
  }

  std::filesystem::path path_;
  std::size_t max_line_bytes_;
  int fd_ = -1;
  std::vector<eval::SampleRecord> finished_;
  std::set<std::pair<std::string, std::string>> keys_;
  std::size_t dropped_partial_bytes_ = 0;
};

}  // namespace curebench::report
