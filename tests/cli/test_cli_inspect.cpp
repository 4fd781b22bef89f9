// `curebench version` and `curebench inspect` run as a user runs them.
#include "cli/run_cli.hpp"

TEST(CliVersion, PrintsJson) {
  auto r = run_cli("version --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("libtorch"));
  EXPECT_TRUE(j.contains("cuda_available"));
  EXPECT_EQ(j["curebench"], curebench::kVersion);
}

TEST(CliInspect, RealCheckpointJson) {
  auto r = run_cli("inspect --json " + data("models/stories260K/hf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tensor_count"], 47);
  EXPECT_EQ(j["total_elements"], 260032);
}

TEST(CliInspect, CorruptFileExitsNonZeroWithOneLine) {
  auto p = scratch_file("bad.safetensors", std::string("\x10\0\0\0\0\0\0\0{\"a\":", 13));
  auto r = run_cli("inspect " + p);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(p), std::string::npos);
}

TEST(CliInspect, MissingPathIsAnError) {
  auto r = run_cli("inspect /nonexistent/model.safetensors --json");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "io");
}

TEST(CliInspect, CheckpointFolderShowsModelAndMemoryEstimate) {
  auto r = run_cli("inspect --json " + data("models/stories260K/hf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(j["model"]["parameters"], 260032);  // the README's count, from the spec alone
  EXPECT_LT(j["memory_estimate"]["nf4-dq"]["weight_bytes"].get<std::int64_t>(),
            j["memory_estimate"]["bf16"]["weight_bytes"].get<std::int64_t>());
}
