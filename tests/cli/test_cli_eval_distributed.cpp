// `curebench eval` data-parallel (issue 23 point 1, docs/scaling.md): 2 and 3 ranks on the CPU over localhost, as
// torchrun would start them (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), write what one process writes - the same
// samples in the same order, the same results and submission - timings and the records' `rank` aside. A killed rank
// (a follower, or rank 0 which hosts the store) stops the others with a clear error within the timeout, and a
// restart with another number of ranks resumes to the one-process result.
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>

#include "cli/run_cli.hpp"
#include "cli/run_files.hpp"
#include "cli/spawn_cli.hpp"
#include "dist/free_port.hpp"

namespace {
namespace fs = std::filesystem;

constexpr std::size_t kQuestions = 16;  // 10 val + 6 test

std::string src(const std::string& rel) { return std::string(CUREBENCH_SOURCE_DIR) + "/" + rel; }

fs::path scratch_dir(const std::string& name) { return fresh_scratch_dir("curebench_dist", name); }

// Batches of 2: a rank's batches hold other questions than the one process's, so equal outputs also say the
// generation does not depend on which questions share a batch.
std::string write_config(const fs::path& dir) {
  nlohmann::json cfg = {
      {"max_new_tokens", 24},
      {"batch_size", 2},
      {"draw_dashboard", false},
      {"models", {{{"name", "stories"}, {"path", data("models/stories260K/hf")}, {"mode", "generate"}, {"quant", "none"}, {"device", "cpu"}, {"dtype", "f32"}}}},
      {"splits", {{"val", {{"path", src("datasets/default/val.jsonl")}, {"limit", 10}}},
                  {"test", {{"path", src("datasets/default/test.jsonl")}, {"limit", 6}}}}}};
  auto p = (dir / "run.json").string();
  std::ofstream(p) << cfg.dump(2);
  return p;
}


// Starts `world` ranks of one eval (torchrun's variables), `extra` appended to every rank's arguments.
std::vector<Child> start_ranks(int world, const std::string& config, const fs::path& out, const fs::path& logs,
                               const std::string& tag, std::vector<std::string> extra = {}) {
  const auto port = std::to_string(free_port());
  std::vector<Child> ranks;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> args{"eval", "--config", config, "--out", out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ranks.push_back(spawn_cli(args, logs, tag + ".rank" + std::to_string(r),
                              {{"RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(world)},
                               {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}}));
  }
  return ranks;
}

// The samples log with what differs between two runs of one config taken out (timing, rank).
std::vector<nlohmann::json> records(const fs::path& log, std::set<int>* ranks = nullptr) {
  std::vector<nlohmann::json> out;
  for (auto& line : read_lines(log).lines) {
    auto j = nlohmann::json::parse(line);
    if (ranks && j.contains("rank")) ranks->insert(j["rank"].get<int>());
    j.erase("latency_ms");
    j.erase("rank");
    out.push_back(j);
  }
  return out;
}

std::vector<std::string> rank_logs(const fs::path& model_dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(model_dir))
    if (e.path().filename().string().rfind("samples.rank", 0) == 0) out.push_back(e.path().string());
  return out;
}

struct Reference {
  fs::path dir;
  std::vector<nlohmann::json> records;
  nlohmann::json results;
  std::string submission;
};

const Reference& reference() {
  static Reference ref = [] {
    Reference r;
    r.dir = scratch_dir("reference");
    auto res = run_cli("eval --config " + write_config(r.dir) + " --out " + (r.dir / "run").string(), 300);
    EXPECT_EQ(res.exit_code, 0) << res.err;
    r.records = records(r.dir / "run/models/stories/samples.jsonl");
    r.results = comparable_results(r.dir / "run/results.json");
    r.submission = slurp((r.dir / "run/models/stories/submission/submission.csv").string());
    return r;
  }();
  return ref;
}

void expect_like_one_process(const fs::path& out, int world_size, const std::string& why) {
  const auto& ref = reference();
  ASSERT_EQ(ref.records.size(), kQuestions);
  std::set<int> ranks;
  EXPECT_EQ(records(out / "models/stories/samples.jsonl", &ranks), ref.records) << why;
  EXPECT_EQ(comparable_results(out / "results.json"), ref.results) << why;
  EXPECT_EQ(slurp((out / "models/stories/submission/submission.csv").string()), ref.submission) << why;
  EXPECT_TRUE(rank_logs(out / "models/stories").empty()) << "rank logs are merged and removed";
  auto results = nlohmann::json::parse(slurp((out / "results.json").string()));
  EXPECT_EQ(results["run"]["world_size"], world_size) << why;
  if (world_size > 1) EXPECT_EQ(results["models"][0]["throughput"]["ranks"], world_size);
  for (int r : ranks) EXPECT_TRUE(r >= 0 && r < 3) << r;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

TEST(CliEvalDistributed, TwoAndThreeRanksWriteWhatOneProcessWrites) {
  for (int world : {2, 3}) {
    auto dir = scratch_dir("ranks" + std::to_string(world));
    auto config = write_config(dir);
    auto ranks = start_ranks(world, config, dir / "run", dir, "run", {"--dist-timeout", "60"});
    for (int r = 0; r < world; ++r) {
      const int st = wait_status(ranks[static_cast<std::size_t>(r)].pid);
      EXPECT_EQ(exit_code(st), 0) << "rank " << r << ": " << slurp(ranks[static_cast<std::size_t>(r)].err);
    }
    std::set<int> seen;
    records(dir / "run/models/stories/samples.jsonl", &seen);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(world)) << "every rank answered some questions";
    expect_like_one_process(dir / "run", world, std::to_string(world) + " ranks");
    EXPECT_NE(slurp(ranks[1].out).find("rank 1 of " + std::to_string(world) + " done"), std::string::npos) << slurp(ranks[1].out);
  }
}

// kill -9 of rank `victim` once its rank log holds a record; the survivor must stop with Errc::distributed within
// the heartbeat timeout (plus the batch it is in), then a restart with `restart_world` ranks resumes.
void kill_and_resume(int victim, int restart_world, const std::string& survivor_says) {
  auto dir = scratch_dir("kill" + std::to_string(victim));
  auto config = write_config(dir);
  const auto model_dir = dir / "run/models/stories";
  auto ranks = start_ranks(2, config, dir / "run", dir, "first", {"--dist-timeout", "3"});
  const auto victim_log = model_dir / ("samples.rank" + std::to_string(victim) + ".jsonl");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (read_lines(victim_log).lines.empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_FALSE(read_lines(victim_log).lines.empty()) << slurp(ranks[static_cast<std::size_t>(victim)].err);
  ::kill(ranks[static_cast<std::size_t>(victim)].pid, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  wait_status(ranks[static_cast<std::size_t>(victim)].pid);
  const auto& survivor = ranks[static_cast<std::size_t>(1 - victim)];
  const int st = wait_status(survivor.pid);
  const double stopped_after_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_EQ(exit_code(st), 1) << slurp(survivor.err);
  const auto err = slurp(survivor.err);
  EXPECT_NE(err.find("error[distributed]"), std::string::npos) << err;
  EXPECT_NE(err.find(survivor_says), std::string::npos) << err;
  EXPECT_NE(err.find("run the same command again"), std::string::npos) << err;
  EXPECT_LT(stopped_after_s, 60.0) << "a dead rank must not leave the others waiting";
  EXPECT_FALSE(fs::exists(dir / "run/results.json"));

  if (restart_world == 1) {
    auto res = run_cli("eval --config " + config + " --out " + (dir / "run").string(), 300);
    ASSERT_EQ(res.exit_code, 0) << res.err;
  } else {
    auto again = start_ranks(restart_world, config, dir / "run", dir, "again");
    for (auto& c : again) EXPECT_EQ(exit_code(wait_status(c.pid)), 0) << slurp(c.err);
  }
  expect_like_one_process(dir / "run", restart_world, "resumed with " + std::to_string(restart_world) + " rank(s)");
}

TEST(CliEvalDistributed, AKilledFollowerStopsRankZeroAndThreeRanksResume) {
  kill_and_resume(1, 3, "rank 1 sent no heartbeat");
}

TEST(CliEvalDistributed, AKilledRankZeroStopsTheFollowerAndOneProcessResumes) {
  kill_and_resume(0, 1, "lost contact with rank 0");
}

TEST(CliEvalDistributed, RanksGivenDifferentConfigsRefuseToStart) {
  auto dir = scratch_dir("mismatch");
  auto config = write_config(dir);
  const auto port = std::to_string(free_port());
  auto env = [&](int r) {
    return std::map<std::string, std::string>{{"RANK", std::to_string(r)}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}};
  };
  auto r0 = spawn_cli({"eval", "--config", config, "--out", (dir / "run").string()}, dir, "r0", env(0));
  auto r1 = spawn_cli({"eval", "--config", config, "--out", (dir / "run").string(), "--policy", "seed"}, dir, "r1", env(1));
  for (auto* c : {&r0, &r1}) {
    EXPECT_EQ(exit_code(wait_status(c->pid)), 1) << slurp(c->err);
    EXPECT_NE(slurp(c->err).find("every rank must be given the same run config"), std::string::npos) << slurp(c->err);
  }
  EXPECT_FALSE(fs::exists(dir / "run/run_config.json")) << "nothing was started";
}

TEST(CliEvalDistributed, BadLaunchVariablesAreRefusedByName) {
  auto dir = scratch_dir("badenv");
  auto config = write_config(dir);
  auto c = spawn_cli({"eval", "--config", config, "--out", (dir / "run").string()}, dir, "bad", {{"RANK", "2"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(exit_code(wait_status(c.pid)), 1);
  EXPECT_NE(slurp(c.err).find("RANK"), std::string::npos) << slurp(c.err);
  auto res = run_cli("eval --config " + config + " --out " + (dir / "run2").string() + " --rank 0", 60);
  EXPECT_NE(res.exit_code, 0);
  EXPECT_NE(res.err.find("--world-size"), std::string::npos) << res.err;
}
