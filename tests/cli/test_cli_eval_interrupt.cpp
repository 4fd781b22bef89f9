// `curebench eval` stopped for real and started again: SIGKILL (nothing can be flushed), SIGTERM and SIGINT
// (the CLI stops between batches). A real run on the stories260K checkpoint and shipped questions is killed
// once its samples log holds some but not all records, then resumed with the same config and out dir; the
// result must equal an uninterrupted run's, with every question exactly once and no temp file left.
// The run folder itself (issue 19, points 4-6 and 8): --out on a folder that is not a run folder deletes
// nothing, a failed start leaves no run_config.json, a second eval (or a report) is refused while one writes,
// a resume re-runs questions edited since they were answered, and samples lines are bounded on resume.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "cli/run_cli.hpp"
#include "cli/run_files.hpp"
#include "cli/spawn_cli.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/core/run_lock.hpp"


namespace {
namespace fs = std::filesystem;

constexpr std::size_t kVal = 10, kTest = 6;  // questions per split; batch size 1: one record per batch

std::string src(const std::string& rel) { return std::string(CUREBENCH_SOURCE_DIR) + "/" + rel; }

fs::path scratch_dir(const std::string& name) { return fresh_scratch_dir("curebench_interrupt", name); }

// A small real config: one model, generate mode, greedy, both splits cut to their first records.
std::string write_config(const fs::path& dir, const std::string& val = src("datasets/default/val.jsonl"), std::size_t n_val = kVal,
                         std::size_t n_test = kTest, std::int64_t max_new_tokens = 48) {
  nlohmann::json cfg = {
      {"max_new_tokens", max_new_tokens},
      {"batch_size", 1},
      {"draw_dashboard", false},
      {"models", {{{"name", "stories"}, {"path", data("models/stories260K/hf")}, {"mode", "generate"}, {"quant", "none"}, {"device", "cpu"}, {"dtype", "f32"}}}},
      {"splits", {{"val", {{"path", val}, {"limit", n_val}}},
                  {"test", {{"path", src("datasets/default/test.jsonl")}, {"limit", n_test}}}}}};
  auto p = (dir / "run.json").string();
  std::ofstream(p) << cfg.dump(2);
  return p;
}

Child spawn_eval(const std::string& config, const fs::path& out_dir, const fs::path& logs, const std::string& tag) {
  return spawn_cli({"eval", "--config", config, "--out", out_dir.string()}, logs, tag);
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

namespace {
pid_t dead_pid() {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  wait_status(dead);
  return dead;
}

void plant(const fs::path& p, const std::string& bytes = "theirs") {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string eval_args(const std::string& config, const fs::path& out) { return "eval --config " + config + " --out " + out.string(); }

std::size_t lines_of(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }
}  // namespace

// Issue 19 (4): the stale-temp sweep walked the whole --out tree before anything proved it a run folder and
// deleted every "*.tmp.<digits>*" of a dead pid; a failed start left run_config.json behind, tying the folder to
// that config. Now nothing is deleted in a folder that is not a run folder, only this program's exact temp names
// in one that is, and run_config.json (and run.lock, and a folder it made) appear only once the run starts.
TEST(CliEvalRunFolder, OutOnAFolderThatIsNoRunFolderDeletesNothing) {
  auto dir = scratch_dir("not_a_run_folder");
  auto out = dir / "theirs";
  const std::string d = std::to_string(dead_pid());
  const std::vector<std::string> theirs{"notes.tmp." + d, "results.json.tmp." + d, "draft.docx.tmp." + d + ".x1",
                                        "models/stories/submission.zip.tmp." + d, "deep/er/cache.tmp." + d};
  for (auto& n : theirs) plant(out / n);

  // A run that cannot start (its dataset is missing) writes nothing into the folder, and makes no folder.
  auto broken = write_config(dir, (dir / "missing.jsonl").string());
  auto r = run_cli(eval_args(broken, out), 300);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing.jsonl"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "run_config.json")) << "a failed start tied the folder to its config";
  EXPECT_FALSE(fs::exists(out / curebench::kRunLockName));
  for (auto& n : theirs) EXPECT_TRUE(fs::exists(out / n)) << n << " was deleted";
  r = run_cli(eval_args(broken, dir / "fresh"), 300);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir / "fresh")) << "the folder a failed start made is left behind";

  // A run that starts writes into the folder but deletes none of its files, look-alikes included.
  auto config = write_config(dir, src("datasets/default/val.jsonl"), 2, 1, 8);
  r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out / "run_config.json"));
  for (auto& n : theirs) EXPECT_TRUE(fs::exists(out / n)) << n << " was deleted";

  // Now a run folder: a resume removes the temp files its own writers leave behind, by their exact names only.
  const std::string d2 = std::to_string(dead_pid()), live = std::to_string(::getpid());
  const std::vector<std::string> stale{"results.json.tmp." + d2, "run_config.json.tmp." + d2, "models/stories/submission.zip.tmp." + d2 + ".aB3xYz",
                                       "models/stories/samples.jsonl.tmp." + d2, "models/stories/submission/meta_data.json.tmp." + d2,
                                       "report/report.md.tmp." + d2};
  const std::vector<std::string> kept{"results.json.tmp." + live, "notes.json.tmp." + d2, "models/stories/x.tmp." + d2,
                                      "models/other/results.json.tmp." + d2};
  for (auto& n : stale) plant(out / n);
  for (auto& n : kept) plant(out / n);
  r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (auto& n : stale) EXPECT_FALSE(fs::exists(out / n)) << n << " was not swept";
  for (auto& n : kept) EXPECT_TRUE(fs::exists(out / n)) << n << " was deleted";
  // (Of the first files, the two that carry the exact temp names of this run's own files are now its own.)
  for (auto& n : theirs)
    if (n != "results.json.tmp." + d && n != "models/stories/submission.zip.tmp." + d) EXPECT_TRUE(fs::exists(out / n)) << n << " was deleted";
  fs::remove_all(dir);
}

// Issue 19 (5): two evals of one config into one --out both exited 0 with every sample written twice. The run
// folder is locked: a second eval, and a report, are refused at once with one line naming the writer's pid; the
// first run finishes with every question exactly once; a lock left by a killed run is taken over (the SIGKILL
// case of KilledOrStoppedRunsResumeToTheUninterruptedResult resumes through it).
TEST(CliEvalRunFolder, SecondEvalAndReportAreRefusedWhileOneWrites) {
  auto dir = scratch_dir("locked");
  auto config = write_config(dir);
  auto out = dir / "run";
  auto log = out / "models" / "stories" / "samples.jsonl";
  Child first = spawn_eval(config, out, dir, "first");
  ASSERT_GT(first.pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (read_lines(log).lines.empty() && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(first.pid, &status, WNOHANG) == first.pid) FAIL() << "eval ended before the test: " << slurp(first.err);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::string holder = "process " + std::to_string(first.pid) + " holds its lock";
  auto second = run_cli(eval_args(config, out), 300);
  auto report = run_cli("report " + out.string(), 300);
  const bool first_still_running = ::waitpid(first.pid, nullptr, WNOHANG) == 0;
  for (auto* r : {&second, &report}) {
    EXPECT_EQ(r->exit_code, 1) << r->err;
    EXPECT_EQ(lines_of(r->err), 1u) << r->err;
    EXPECT_EQ(r->err.rfind("error[io] " + (out / curebench::kRunLockName).string() + ": the run folder is in use: ", 0), 0u) << r->err;
    EXPECT_NE(r->err.find(holder), std::string::npos) << r->err;
  }
  const int status = wait_status(first.pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(first.err);
  // Refused at once, so the first was still writing (a second eval that ran instead took as long as the first).
  EXPECT_TRUE(first_still_running) << "the first eval had finished when the second one and the report ended";
  auto final_log = read_lines(log);
  std::set<std::pair<std::string, std::string>> keys;
  for (auto& line : final_log.lines) {
    auto j = nlohmann::json::parse(line);
    keys.insert({j["split"].get<std::string>(), j["id"].get<std::string>()});
  }
  EXPECT_EQ(final_log.lines.size(), kVal + kTest);
  EXPECT_EQ(keys.size(), kVal + kTest) << "a question was answered twice";
  // Released on exit: the next command takes the folder (a resume with nothing left to do, then a report).
  auto again = run_cli(eval_args(config, out), 300);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_lines(log).lines.size(), kVal + kTest);
  fs::remove_all(dir);
}

// Issue 19 (6): a finished question edited afterwards (text, options, answer) kept its old sample on resume and
// results.json was computed from it, while provenance named the new file's hash. Now the record hash and the
// rendered prompt's hash are compared per question; what changed is run again, named on stderr and in
// results.json provenance.rerun, and the log keeps one record per question.
TEST(CliEvalRunFolder, ResumeRerunsQuestionsEditedSinceTheyWereAnswered) {
  auto dir = scratch_dir("edited");
  std::vector<nlohmann::json> records;
  {
    std::ifstream in(src("datasets/default/val.jsonl"));
    for (std::string line; records.size() < 4 && std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(records.size(), 4u);
  auto write_val = [&] {
    std::ofstream o(dir / "val.jsonl", std::ios::binary | std::ios::trunc);
    for (auto& r : records) o << r.dump() << "\n";
  };
  write_val();
  auto config = write_config(dir, (dir / "val.jsonl").string(), 4, 1, 8);
  auto out = dir / "run";
  auto log = out / "models" / "stories" / "samples.jsonl";
  auto r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto by_id = [&] {
    std::map<std::string, nlohmann::json> m;
    for (auto& line : read_lines(log).lines) {
      auto j = nlohmann::json::parse(line);
      EXPECT_TRUE(m.emplace(j["split"].get<std::string>() + "/" + j["id"].get<std::string>(), j).second) << "twice: " << line;
    }
    return m;
  };
  const auto before = by_id();
  ASSERT_EQ(before.size(), 5u);

  // Unchanged: nothing is run again, and results.json names no re-run.
  r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("changed since"), std::string::npos) << r.err;
  EXPECT_EQ(by_id(), before);
  EXPECT_FALSE(nlohmann::json::parse(slurp((out / "results.json").string()))["provenance"].contains("rerun"));

  // Edit the first question's text and move the second one's answer to another option.
  const std::string id0 = records[0]["id"], id1 = records[1]["id"];
  records[0]["question"] = records[0]["question"].get<std::string>() + " (edited)";
  const std::string old_answer = records[1]["correct_answer"];
  const std::string new_answer = old_answer == "A" ? "B" : "A";
  records[1]["correct_answer"] = new_answer;
  write_val();
  r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 finished question(s) changed since they were answered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"val/" + id0 + "\" (question+prompt)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"val/" + id1 + "\" (question)"), std::string::npos) << r.err;
  const auto after = by_id();
  ASSERT_EQ(after.size(), 5u);
  EXPECT_NE(after.at("val/" + id0)["prompt_sha256"], before.at("val/" + id0)["prompt_sha256"]);
  EXPECT_EQ(after.at("val/" + id1)["gold"], new_answer) << "results computed from the old answer";
  for (auto& [key, rec] : before)
    if (key != "val/" + id0 && key != "val/" + id1) EXPECT_EQ(after.at(key), rec) << key << " was run again";
  auto results = nlohmann::json::parse(slurp((out / "results.json").string()));
  ASSERT_TRUE(results["provenance"].contains("rerun"));
  EXPECT_EQ(results["provenance"]["rerun"],
            (nlohmann::json{{{"model", "stories"}, {"split", "val"}, {"id", id0}, {"changed", "question+prompt"}},
                            {{"model", "stories"}, {"split", "val"}, {"id", id1}, {"changed", "question"}}}));
  fs::remove_all(dir);
}

// A split that repeats an id (issue 18, point 6): every row of the id used to get the last question's prompt and
// answer, and eval exited 0. It is refused before any model runs (exit 1, naming the id and its lines, no samples),
// unless the run allows it (--allow-duplicate-ids or "allow_duplicate_ids": true): then each row is run on its own,
// keeps its own answer (its own prompt), the submission has one row per line under the file's id, and a resume
// accepts the log.
TEST(CliEvalRunFolder, DuplicatedIdIsRefusedUnlessAllowedThenEachRowKeepsItsAnswer) {
  auto dir = scratch_dir("duplicated");
  std::string first_line;
  {
    std::ifstream in(src("datasets/default/test.jsonl"));
    std::getline(in, first_line);
  }
  auto edited = nlohmann::json::parse(first_line);
  const std::string id = edited["id"].get<std::string>();
  edited["question"] = edited["question"].get<std::string>() + " (same id, other text)";
  std::ofstream(dir / "test.jsonl", std::ios::binary) << first_line << "\n" << edited.dump() << "\n";
  nlohmann::json cfg = {{"max_new_tokens", 8}, {"batch_size", 1}, {"draw_dashboard", false},
                        {"models", {{{"name", "stories"}, {"path", data("models/stories260K/hf")}, {"mode", "generate"},
                                     {"quant", "none"}, {"device", "cpu"}, {"dtype", "f32"}}}},
                        {"splits", {{"test", (dir / "test.jsonl").string()}}}};
  const auto config = (dir / "run.json").string();
  std::ofstream(config) << cfg.dump(2);
  auto out = dir / "run";
  auto log = out / "models" / "stories" / "samples.jsonl";
  auto refused = run_cli(eval_args(config, out), 300);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("\"" + id + "\" (lines 1, 2)"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--allow-duplicate-ids"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(log));
  for (int run = 0; run < 2; ++run) {  // the second run resumes the finished log
    auto r = run_cli(eval_args(config, out) + " --allow-duplicate-ids", 300);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("changed since"), std::string::npos) << r.err;
    auto lines = read_lines(log).lines;
    ASSERT_EQ(lines.size(), 2u) << "one record per row";
    auto a = nlohmann::json::parse(lines[0]), b = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(a["id"], id);
    EXPECT_EQ(b["id"], id + "#line2");
    EXPECT_NE(a["prompt_sha256"], b["prompt_sha256"]) << "each row answered its own question";
  }
  // The submission: two rows under the file's id, each with its own conversation.
  auto csv = slurp((out / "models" / "stories" / "submission" / "submission.csv").string());
  EXPECT_EQ(csv.find("\"" + id + "#line2\""), std::string::npos) << "the internal key does not reach the submission";
  auto row1 = csv.find("\n\"" + id + "\","), row2 = csv.find("\n\"" + id + "\",", row1 + 1);
  ASSERT_NE(row1, std::string::npos) << csv;
  ASSERT_NE(row2, std::string::npos) << csv;
  EXPECT_NE(csv.find("(same id, other text)", row2), std::string::npos) << "the second row carries the edited question";
  EXPECT_EQ(csv.substr(row1, row2 - row1).find("(same id, other text)"), std::string::npos);
  fs::remove_all(dir);
}

// Issue 19 (8, samples half): samples.jsonl lines were read whole at any length on resume (a 1.5 GB line cost
// 1.7 GB); a line past eval::kMaxSampleLineBytes (64 MiB) is now refused before it is read whole, naming file and
// line. And a second record of one question (what two concurrent runs left) is refused, not silently counted.
TEST(CliEvalRunFolder, OverLongOrDuplicateSamplesLinesAreRefusedOnResume) {
  auto dir = scratch_dir("samples_lines");
  auto config = write_config(dir, src("datasets/default/val.jsonl"), 2, 1, 8);
  auto out = dir / "run";
  auto log = out / "models" / "stories" / "samples.jsonl";
  auto r = run_cli(eval_args(config, out), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = read_lines(log).lines;
  ASSERT_EQ(lines.size(), 3u);
  const std::string original = slurp(log.string());

  // A valid record (another id) whose output makes its line 65 MiB long.
  auto huge = nlohmann::json::parse(lines[0]);
  huge["id"] = "planted";
  huge["output"] = std::string((std::size_t{65} << 20), 'x');
  std::ofstream(log, std::ios::binary | std::ios::app) << huge.dump() << "\n";
  huge = nullptr;
  r = run_cli(eval_args(config, out), 300);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error[format] " + log.string() + ": line 4: line longer than 67108864 bytes", 0), 0u) << r.err;

  std::ofstream(log, std::ios::binary | std::ios::trunc) << original << lines[1] << "\n";
  r = run_cli(eval_args(config, out), 300);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error[format] " + log.string() + ": line 4: a second record of ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(first on line 2)"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

// meta_data.json from the command line (issue 18, point 7), the kit's option names: over the run config's metadata
// (CLI > config > default, as the kit's get_metadata), in the short form and with --config; a value the kit's
// validator refuses is refused before any model loads.
TEST(CliEvalSubmission, MetadataFromTheCommandLineOverTheConfig) {
  auto dir = scratch_dir("metadata");
  const std::string model = data("models/stories260K/hf"), test = src("datasets/default/test.jsonl");
  auto meta_of = [](const fs::path& out) {
    return nlohmann::json::parse(slurp((out / "models" / "hf" / "submission" / "meta_data.json").string()));
  };
  auto r = run_cli("eval --model " + model + " --test " + test + " --max-samples 3 --max-new-tokens 1 --quant none --dtype f32 --out " +
                       (dir / "short").string() + " --model-name kit-name --model-type CustomModel --track agentic_reasoning" +
                       " --base-model-type API --base-model-name 'karpathy/stories260K' --dataset cure_bench_phase_2" +
                       " --additional-info 'two words'",
                   300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(meta_of(dir / "short"),
            (nlohmann::json{{"model_name", "kit-name"}, {"model_type", "CustomModel"}, {"track", "agentic_reasoning"},
                            {"base_model_type", "API"}, {"base_model_name", "karpathy/stories260K"}, {"dataset", "cure_bench_phase_2"},
                            {"additional_info", "two words"}, {"average_tokens_per_question", meta_of(dir / "short")["average_tokens_per_question"]},
                            {"average_tools_per_question", "0"}, {"tool_category_coverage", ""}}));
  nlohmann::json cfg = {{"max_new_tokens", 1}, {"draw_dashboard", false},
                        {"metadata", {{"model_name", "from-config"}, {"track", "agentic_reasoning"}}},
                        {"models", {{{"name", "hf"}, {"path", model}, {"quant", "none"}, {"dtype", "f32"}}}},
                        {"splits", {{"test", {{"path", test}, {"limit", 1}}}}}};
  std::ofstream(dir / "run.json") << cfg.dump();
  r = run_cli("eval --config " + (dir / "run.json").string() + " --out " + (dir / "config").string() + " --model-name from-cli", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(meta_of(dir / "config")["model_name"], "from-cli");
  EXPECT_EQ(meta_of(dir / "config")["track"], "agentic_reasoning");
  r = run_cli("eval --config " + (dir / "run.json").string() + " --out " + (dir / "bad").string() + " --track internal", 300);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("metadata.track"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "bad" / "models"));
  fs::remove_all(dir);
}

// `eval --protocol official --policy kit` (issue 18, point 4): the kit's prompts, its extractor and its submission. Each
// multi_choice row's choice is checked against the kit's function re-done here with std::regex on the upper-cased,
// stripped answer (eval_framework.py _extract_multiple_choice_answer: first character in A-E, else "([ABCDE])\)",
// else "\b([ABCDE])\b"; the first pattern cannot match upper-cased text), then the kit's post-processing (empty ->
// NOTAVALUE). Rows whose answer is not plain ASCII are left to tests/eval (kit_expected.jsonl).
TEST(CliEvalSubmission, OfficialProtocolWithTheKitPolicyChoosesAsTheKit) {
  auto dir = scratch_dir("kit_policy");
  const std::string test = src("datasets/default/test.jsonl");
  auto r = run_cli("eval --model " + data("models/stories260K/hf") + " --test " + test + " --max-samples 12 --max-new-tokens 24" +
                       " --quant none --dtype f32 --protocol official --policy kit --out " + (dir / "run").string(),
                   300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto results = nlohmann::json::parse(slurp((dir / "run" / "results.json").string()));
  EXPECT_EQ(results["run"]["protocol"], "official");
  EXPECT_EQ(results["run"]["policy"], "kit");
  std::map<std::string, std::string> type_of;
  for (auto& line : read_lines(test).lines)
    if (!line.empty()) {
      auto q = nlohmann::json::parse(line);
      type_of[q["id"].get<std::string>()] = q["question_type"].get<std::string>();
    }
  auto kit_choice = [](std::string s) -> std::string {
    auto b = s.find_first_not_of(" \t\n\r\f\v"), e = s.find_last_not_of(" \t\n\r\f\v");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'E') return std::string(1, s[0]);
    std::smatch m;
    for (const char* p : {R"((?:answer is|answer:|is)\s*([ABCDE]))", R"(([ABCDE])\))", R"(\b([ABCDE])\b)"})
      if (std::regex_search(s, m, std::regex(p))) return m[1].str();
    return "NOTAVALUE";
  };
  std::size_t checked = 0, letters = 0;
  for (auto& line : read_lines(dir / "run" / "models" / "hf" / "samples.jsonl").lines) {
    auto s = nlohmann::json::parse(line);
    if (type_of[s["id"].get<std::string>()] != "multi_choice") continue;
    const std::string out = s["output"].get<std::string>();
    if (std::any_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) continue;
    const std::string choice = s["answer"].is_null() ? "NOTAVALUE" : s["answer"].get<std::string>();
    EXPECT_EQ(choice, kit_choice(out)) << out;
    EXPECT_TRUE(s["rule"].get<std::string>().rfind("kit.", 0) == 0 || s["rule"] == "none") << s["rule"];
    ++checked;
    letters += choice != "NOTAVALUE";
  }
  EXPECT_GE(checked, 5u);
  EXPECT_GE(letters, 1u) << "no row exercised a kit rule";
  fs::remove_all(dir);
}
