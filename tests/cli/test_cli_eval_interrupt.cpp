// `curebench eval` stopped for real and started again: SIGKILL (nothing can be flushed), SIGTERM and SIGINT
// (the CLI stops between batches). A real run on the stories260K checkpoint and shipped questions is killed
// once its samples log holds some but not all records, then resumed with the same config and out dir; the
// result must equal an uninterrupted run's, with every question exactly once and no temp file left.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "cli/run_cli.hpp"
#include "curebench/core/interrupt.hpp"

extern char** environ;

namespace {
namespace fs = std::filesystem;

constexpr std::size_t kVal = 10, kTest = 6;  // questions per split; batch size 1: one record per batch

std::string src(const std::string& rel) { return std::string(CUREBENCH_SOURCE_DIR) + "/" + rel; }

fs::path scratch_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("curebench_interrupt." + std::to_string(::getpid()) + "." + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A small real config: one model, generate mode, greedy, both splits cut to their first records.
std::string write_config(const fs::path& dir) {
  nlohmann::json cfg = {
      {"max_new_tokens", 48},
      {"batch_size", 1},
      {"draw_dashboard", false},
      {"models", {{{"name", "stories"}, {"path", data("models/stories260K/hf")}, {"mode", "generate"}, {"quant", "none"}, {"device", "cpu"}, {"dtype", "f32"}}}},
      {"splits", {{"val", {{"path", src("datasets/default/val.jsonl")}, {"limit", kVal}}},
                  {"test", {{"path", src("datasets/default/test.jsonl")}, {"limit", kTest}}}}}};
  auto p = (dir / "run.json").string();
  std::ofstream(p) << cfg.dump(2);
  return p;
}

// Lines of the samples log; `complete` is false when the last one has no newline (a torn record).
struct LogLines {
  std::vector<std::string> lines;
  bool complete = true;
};
LogLines read_lines(const fs::path& p) {
  LogLines r;
  std::string text = slurp(p.string());
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      r.complete = false;
      r.lines.push_back(text.substr(pos));
      break;
    }
    r.lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return r;
}

struct Child {
  pid_t pid = -1;
  std::string out, err;
};

Child spawn_eval(const std::string& config, const fs::path& out_dir, const fs::path& logs, const std::string& tag) {
  Child c;
  c.out = (logs / (tag + ".stdout")).string();
  c.err = (logs / (tag + ".stderr")).string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string exe = CUREBENCH_CLI, out = out_dir.string();
  std::vector<char*> argv{exe.data(), const_cast<char*>("eval"), const_cast<char*>("--config"), const_cast<char*>(config.c_str()),
                          const_cast<char*>("--out"), out.data(), nullptr};
  int rc = posix_spawn(&c.pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) c.pid = -1;
  return c;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// (split, id) -> the record's answer-bearing fields; timings are left out on purpose.
std::map<std::pair<std::string, std::string>, nlohmann::json> answers(const fs::path& log) {
  std::map<std::pair<std::string, std::string>, nlohmann::json> out;
  for (auto& line : read_lines(log).lines) {
    auto j = nlohmann::json::parse(line);
    out[{j["split"].get<std::string>(), j["id"].get<std::string>()}] = {j["output"], j["answer"], j["rule"], j["gold"], j["correct"], j["prompt_sha256"], j["output_tokens"]};
  }
  return out;
}

// Timings inside the per-split metrics: measured, so they differ between any two runs.
void drop_timings(nlohmann::json& j) {
  if (j.is_object()) {
    j.erase("latency_ms_mean");
    j.erase("tokens_per_second");
  }
  if (j.is_structured())
    for (auto& v : j) drop_timings(v);
}

// results.json without what legitimately differs between runs (times, speeds, memory, load attempts).
nlohmann::json comparable_results(const fs::path& results) {
  auto r = nlohmann::json::parse(slurp(results.string()));
  nlohmann::json models = nlohmann::json::array();
  for (auto& m : r["models"]) {
    drop_timings(m["splits"]);
    models.push_back({m["name"], m["splits"], m["generalization_gap"], m["quant"], m["parameters"]});
  }
  return {{"config_hash", r["run"]["config_hash"]}, {"models", models}};
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().string());
  return out;
}

struct Reference {
  fs::path dir;
  std::map<std::pair<std::string, std::string>, nlohmann::json> answers;
  nlohmann::json results;
};

void interrupt_and_resume(int sig, const Reference& ref) {
  const std::string tag = sig == SIGKILL ? "kill" : sig == SIGTERM ? "term" : "int";
  auto dir = scratch_dir(tag);
  auto config = write_config(dir);
  auto out = dir / "run";
  auto log = out / "models" / "stories" / "samples.jsonl";
  const std::size_t total = kVal + kTest;

  // Stop it once the log holds a few records (polled every millisecond; a record is one sample).
  Child c = spawn_eval(config, out, dir, tag + "1");
  ASSERT_GT(c.pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  std::size_t seen = 0;
  while ((seen = read_lines(log).lines.size()) < 3 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(c.pid, &status, WNOHANG) == c.pid) FAIL() << "eval ended before it was interrupted: " << slurp(c.err);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(seen, 3u) << "no samples within 3 minutes: " << slurp(c.err);
  ::kill(c.pid, sig);
  const int status = wait_status(c.pid);
  if (sig == SIGKILL) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  } else {
    // Graceful: exit 128 + signal and one line that says what happened and how to resume.
    ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    auto err = read_lines(c.err).lines;
    ASSERT_FALSE(err.empty());
    const std::string last = err.back();
    EXPECT_EQ(last.rfind(std::string("interrupted[") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + "]: ", 0), 0u) << last;
    EXPECT_NE(last.find("run the same command again to resume"), std::string::npos) << last;
    EXPECT_NE(last.find(log.string()), std::string::npos) << last;
    EXPECT_TRUE(read_lines(log).complete) << "a graceful stop leaves no torn record";
  }
  const auto partial = read_lines(log).lines.size();
  EXPECT_GE(partial, 3u);
  ASSERT_LT(partial, total) << "the run finished before the signal landed; nothing was interrupted";
  EXPECT_FALSE(fs::exists(out / "results.json"));

  // Same config, same out dir: it resumes and finishes.
  Child again = spawn_eval(config, out, dir, tag + "2");
  ASSERT_GT(again.pid, 0);
  const int status2 = wait_status(again.pid);
  ASSERT_TRUE(WIFEXITED(status2) && WEXITSTATUS(status2) == 0) << slurp(again.err);

  auto final_log = read_lines(log);
  EXPECT_TRUE(final_log.complete) << "torn last record";
  std::multiset<std::pair<std::string, std::string>> keys;
  for (auto& line : final_log.lines) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << "torn or corrupt record: " << line;
    keys.insert({j["split"].get<std::string>(), j["id"].get<std::string>()});
  }
  EXPECT_EQ(final_log.lines.size(), total);
  for (auto& [key, _] : ref.answers) EXPECT_EQ(keys.count(key), 1u) << key.first << "/" << key.second << " must appear exactly once";
  EXPECT_EQ(answers(log), ref.answers) << "greedy: the resumed run answers as the uninterrupted one";
  EXPECT_EQ(comparable_results(out / "results.json"), ref.results);
  EXPECT_EQ(temp_files(out), std::vector<std::string>{});
  fs::remove_all(dir);
}
}  // namespace

// One process for the reference and the three interruptions (ctest runs each TEST in its own process).
TEST(CliEvalInterrupt, KilledOrStoppedRunsResumeToTheUninterruptedResult) {
  Reference ref;
  ref.dir = scratch_dir("reference");
  auto config = write_config(ref.dir);
  Child c = spawn_eval(config, ref.dir / "run", ref.dir, "ref");
  ASSERT_GT(c.pid, 0);
  const int status = wait_status(c.pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(c.err);
  ref.answers = answers(ref.dir / "run" / "models" / "stories" / "samples.jsonl");
  ASSERT_EQ(ref.answers.size(), kVal + kTest);
  ref.results = comparable_results(ref.dir / "run" / "results.json");
  EXPECT_EQ(temp_files(ref.dir / "run"), std::vector<std::string>{});

  for (int sig : {SIGKILL, SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig == SIGKILL ? "SIGKILL" : sig == SIGTERM ? "SIGTERM" : "SIGINT");
    interrupt_and_resume(sig, ref);
  }
  fs::remove_all(ref.dir);
}

// A temp file that a killed writer left behind (atomic_write's "<name>.tmp.<pid>") is swept on resume;
// one of a live process is not.
TEST(CliEvalInterrupt, StaleTempFilesOfDeadProcessesAreRemoved) {
  auto dir = scratch_dir("stale");
  fs::create_directories(dir / "models" / "m");
  // A pid that no process has: fork a child that exits at once and use its pid after reaping it.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  wait_status(dead);
  const std::string d = std::to_string(dead), live = std::to_string(::getpid());
  for (const std::string& name : std::vector<std::string>{"results.json.tmp." + d, "models/m/submission.zip.tmp." + d + ".aB3xYz", "models/m/.dashboard.png.tmp." + d,
                    "results.json.tmp." + live, "notes.tmp.txt", "x.tmp.12ab"})
    std::ofstream(dir / name) << "partial";
  EXPECT_EQ(curebench::remove_stale_temp_files(dir), 3u);
  EXPECT_FALSE(fs::exists(dir / ("results.json.tmp." + d)));
  EXPECT_FALSE(fs::exists(dir / "models/m" / ("submission.zip.tmp." + d + ".aB3xYz")));
  EXPECT_TRUE(fs::exists(dir / ("results.json.tmp." + live)));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
  EXPECT_TRUE(fs::exists(dir / "x.tmp.12ab"));
  fs::remove_all(dir);
}
