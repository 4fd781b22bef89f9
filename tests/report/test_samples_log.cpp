// samples.jsonl: append, read back on resume, a torn last line (killed run) is dropped and cut off.
#include "curebench/report/rank_logs.hpp"
#include "curebench/report/samples_log.hpp"

#include "report_test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace curebench;
using curebench::report::SamplesLog;

namespace {
eval::SampleRecord sample(std::string id, std::string split = "val") {
  eval::SampleRecord r;
  r.id = std::move(id);
  r.split = std::move(split);
  r.type = eval::QuestionType::open_ended_multi_choice;
  r.prompt_sha256 = eval::sha256_hex("prompt " + r.id);
  r.output = "line one\nline \"two\" caf\xC3\xA9";
  r.answer = 'C';
  r.rule = "answer_prefix";
  r.span = std::pair<std::size_t, std::size_t>{3, 4};
  r.gold = 'C';
  r.correct = true;
  r.input_tokens = 12;
  r.output_tokens = 7;
  eval::measure_output(r);
  r.latency_ms = 12.5;
  r.stop_reason = "eos";
  r.messages = {{"user", "q"}, {"assistant", "a"}};
  return r;
}
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(SamplesLog, RoundTripsEveryField) {
  auto dir = test::report_temp_dir("log_roundtrip");
  {
    SamplesLog log(dir / "samples.jsonl");
    EXPECT_TRUE(log.finished().empty());
    log.append(sample("q1"));
    auto s2 = sample("q2", "test");
    s2.answer.reset();
    s2.span.reset();
    s2.correct.reset();
    s2.gold.reset();
    s2.error = "generation failed";
    log.append(s2);
  }
  SamplesLog again(dir / "samples.jsonl");
  ASSERT_EQ(again.finished().size(), 2u);
  EXPECT_EQ(again.dropped_partial_bytes(), 0u);
  const auto& a = again.finished()[0];
  auto want = sample("q1");
  EXPECT_EQ(a.output, want.output);
  EXPECT_EQ(a.answer, 'C');
  EXPECT_EQ(a.span, want.span);
  EXPECT_EQ(a.correct, true);
  EXPECT_EQ(a.output_chars, 24u);  // 25 bytes: "é" is one code point, two bytes
  EXPECT_EQ(a.output_bytes, 25u);
  EXPECT_EQ(a.messages, want.messages);
  EXPECT_EQ(a.type, eval::QuestionType::open_ended_multi_choice);
  const auto& b = again.finished()[1];
  EXPECT_FALSE(b.answer);
  EXPECT_FALSE(b.correct);
  EXPECT_EQ(b.error, "generation failed");
  EXPECT_TRUE(again.done("val", "q1"));
  EXPECT_TRUE(again.done("test", "q2"));
  EXPECT_FALSE(again.done("val", "q2"));
}

TEST(SamplesLog, TruncatedLastLineFromAKilledRunIsIgnoredAndCut) {
  auto dir = test::report_temp_dir("log_truncated");
  auto path = dir / "samples.jsonl";
  {
    SamplesLog log(path);
    log.append(sample("q1"));
    log.append(sample("q2"));
  }
  std::string whole = slurp(path);
  std::size_t first_end = whole.find('\n') + 1;
  // Simulate a kill in the middle of writing the second record.
  std::filesystem::resize_file(path, first_end + 40);
  {
    SamplesLog log(path);
    ASSERT_EQ(log.finished().size(), 1u);
    EXPECT_EQ(log.finished()[0].id, "q1");
    EXPECT_EQ(log.dropped_partial_bytes(), 40u);
    EXPECT_FALSE(log.done("val", "q2"));
    EXPECT_EQ(std::filesystem::file_size(path), first_end);  // fragment removed before appending
    log.append(sample("q2"));
  }
  SamplesLog resumed(path);
  ASSERT_EQ(resumed.finished().size(), 2u);
  EXPECT_EQ(resumed.finished()[1].id, "q2");
  EXPECT_EQ(slurp(path), whole);  // byte-identical to the uninterrupted run
}

TEST(SamplesLog, APlantedSymlinkIsRefusedAndItsTargetUntouched) {
  auto dir = test::report_temp_dir("log_symlink");
  const auto victim = dir / "victim.txt";
  std::ofstream(victim, std::ios::binary) << "export PATH=/usr/bin\nalias ll='ls -l'";  // no final newline: "torn"
  std::filesystem::create_symlink(victim, dir / "samples.jsonl");
  try {
    SamplesLog log(dir / "samples.jsonl");
    FAIL() << "a symlinked samples log was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io);
    EXPECT_NE(std::string(e.what()).find("symlink"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(victim), "export PATH=/usr/bin\nalias ll='ls -l'");
}

// Data-parallel runs (report/rank_logs.hpp): rank logs merged into samples.jsonl in dataset order, one record per
// (split, id) (samples.jsonl's first, then rank order), a rank's torn last line left out, the rank logs removed.
TEST(RankLogs, MergeKeepsDatasetOrderAndOneRecordPerQuestion) {
  namespace rl = curebench::report;
  auto dir = test::report_temp_dir("rank_merge");
  {
    SamplesLog main(dir / "samples.jsonl");
    main.append(sample("q3"));
  }
  auto with_output = [](std::string id, std::string out, int rank) {
    auto r = sample(std::move(id));
    r.output = std::move(out);
    r.rank = rank;
    return r;
  };
  {
    SamplesLog r0(rl::rank_log_path(dir, 0));
    r0.append(with_output("q2", "from rank 0", 0));
    r0.append(with_output("q3", "second copy", 0));  // q3 is already in samples.jsonl: that one stays
    SamplesLog r2(rl::rank_log_path(dir, 2));
    r2.append(with_output("q1", "from rank 2", 2));
    r2.append(with_output("q0", "not in this run", 2));
  }
  std::ofstream(rl::rank_log_path(dir, 2), std::ios::app | std::ios::binary) << "{\"id\": \"q4\", \"spl";  // torn
  const std::map<rl::SampleKey, std::size_t> order{{{"val", "q1"}, 0}, {{"val", "q2"}, 1}, {{"val", "q3"}, 2}, {{"val", "q4"}, 3}};
  EXPECT_EQ(rl::merge_rank_logs(dir, order), 2u);
  EXPECT_TRUE(rl::rank_log_paths(dir).empty());
  SamplesLog merged(dir / "samples.jsonl");
  std::vector<std::string> ids, outputs;
  for (auto& r : merged.finished()) ids.push_back(r.id), outputs.push_back(r.output);
  EXPECT_EQ(ids, (std::vector<std::string>{"q1", "q2", "q3", "q0"}));
  EXPECT_EQ(outputs[0], "from rank 2");
  EXPECT_EQ(outputs[2], sample("q3").output);
  EXPECT_EQ(merged.finished()[0].rank, 2);
  EXPECT_FALSE(merged.finished()[2].rank.has_value());
  EXPECT_EQ(rl::merge_rank_logs(dir, order), 0u) << "nothing left to merge";
}

TEST(RankLogs, ASymlinkedRankLogIsRefused) {
  namespace rl = curebench::report;
  auto dir = test::report_temp_dir("rank_symlink");
  const auto victim = dir / "victim.txt";
  std::ofstream(victim) << "keep me\n";
  std::filesystem::create_symlink(victim, rl::rank_log_path(dir, 1));
  EXPECT_THROW(rl::merge_rank_logs(dir, {}), Error);
  EXPECT_EQ(slurp(victim), "keep me\n");
}

TEST(SamplesLog, CorruptCompleteLineIsAnErrorWithItsLine) {
  auto dir = test::report_temp_dir("log_corrupt");
  auto path = dir / "samples.jsonl";
  {
    SamplesLog log(path);
    log.append(sample("q1"));
  }
  std::ofstream(path, std::ios::app) << "{not json}\n";
  try {
    SamplesLog log(path);
    FAIL() << "corrupt line accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::format);
    EXPECT_EQ(e.field(), "line 2");
  }
}
