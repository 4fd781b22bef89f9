#pragma once
// models/<name>/samples.jsonl: one SampleRecord per line, appended as each question finishes, so a killed
// run resumes where it stopped. (The one output that is not written with atomic_write: it is append-only.)
//  - every record is one write() of "<json>\n" on an O_APPEND descriptor, then fdatasync;
//  - on open, the finished records are read back. A last line without its "\n" is what a kill in the
//    middle of a write leaves: it is dropped, reported (dropped_partial_bytes) and cut off the file, so
//    the next append starts on a clean line. Any other bad line is corruption and throws with its line.
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
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace curebench::report {

class SamplesLog {
 public:
  explicit SamplesLog(std::filesystem::path path) : path_(std::move(path)) {
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
    if (std::filesystem::exists(path_)) recover();
    fd_ = open_regular_file(path_.string(), O_WRONLY | O_CREAT | O_APPEND, 0644, "cannot open for appending");
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
    nlohmann::json j = r;
    std::string line = dump_json(j) + "\n";
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

 private:
  void recover() {
    std::string text = read_text_file(path_.string(), std::size_t{4} << 30);
    std::size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) {  // killed mid-write: drop the fragment and cut it off the file
        dropped_partial_bytes_ = text.size() - pos;
        std::filesystem::resize_file(path_, pos);
        break;
      }
      ++line_no;
      std::string_view line(text.data() + pos, nl - pos);
      pos = nl + 1;
      if (eval::is_blank(line)) continue;
      std::string where = eval::line_field(line_no, "");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range.406 for 1e400
        throw Error(Errc::format, path_.string(), where, std::string("corrupt record (not the last line): ") + e.what());
      }
      eval::SampleRecord r = eval::sample_from_json(j, path_.string(), where);
      keys_.insert({r.split, r.id});
      finished_.push_back(std::move(r));
    }
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<eval::SampleRecord> finished_;
  std::set<std::pair<std::string, std::string>> keys_;
  std::size_t dropped_partial_bytes_ = 0;
};

}  // namespace curebench::report
