// `curebench verify` as a user runs it, on the shipped default pair and on a leaking pair.
#include "cli/run_cli.hpp"

namespace {
std::string src(const std::string& rel) { return std::string(CUREBENCH_SOURCE_DIR) + "/" + rel; }
}  // namespace

TEST(CliVerify, ShippedDefaultPairPassesWithUnlabelledTestWarning) {
  auto r = run_cli("verify --json val=" + src("datasets/default/val.jsonl") + " test=" + src("datasets/default/test.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verification"]["passed"], true);
  EXPECT_EQ(j["verification"]["splits"]["val"]["labelled"], 30);
  EXPECT_EQ(j["verification"]["splits"]["test"]["labelled"], 0);
  EXPECT_EQ(j["verification"]["splits"]["test"]["question_types"]["open_ended_multi_choice"], 8);
  EXPECT_EQ(j["verification"]["warnings"][0], "test split has no labels: accuracy not measurable");
  EXPECT_EQ(j["datasets"][0]["records"], 30);
}

TEST(CliVerify, LeakageFailsWithExitTwo) {
  auto p = scratch_file("leak.jsonl", R"({"id":"a","question_type":"open_ended","question":"Q"})" "\n");
  auto r = run_cli("verify val=" + p + " test=" + p);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.out.find("1 ids appear in both val and test (leakage)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos);
  // Like every non-zero exit, one line on stderr (also with --json, where stdout holds the report).
  for (std::string mode : {"", "--json "}) {
    auto rr = run_cli("verify " + mode + "val=" + p + " test=" + p);
    EXPECT_EQ(rr.exit_code, 2);
    EXPECT_EQ(std::count(rr.err.begin(), rr.err.end(), '\n'), 1) << rr.err;
    EXPECT_EQ(rr.err.rfind("error[verification]: ", 0), 0u) << rr.err;
  }
}

TEST(CliVerify, BadRecordNamesFileAndLine) {
  auto p = scratch_file("bad_type.jsonl", R"({"id":"a","question_type":"mcq","question":"Q"})" "\n");
  auto r = run_cli("verify --json val=" + p);
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "dataset");
  EXPECT_EQ(j["error"]["field"], "line 1: question_type");
}
