// `curebench inspect FILE.gguf` as a user runs it: the real stories260K GGUFs and a corrupt one.
#include "cli/run_cli.hpp"

TEST(CliInspectGguf, RealFileJson) {
  auto r = run_cli("inspect --json " + data("models/stories260K/stories260K.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["tensor_count"], 48);   // README: 48 tensors, 19 keys
  EXPECT_EQ(j["metadata_count"], 19);
  auto& md = j["metadata"];
  auto tokens = std::find_if(md.begin(), md.end(), [](auto& e) { return e["key"] == "tokenizer.ggml.tokens"; });
  ASSERT_NE(tokens, md.end());
  EXPECT_EQ((*tokens)["type"], "array[string]");
  EXPECT_EQ((*tokens)["value"]["length"], 512);  // summarized, not 512 strings
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::array({512, 64}));
}

TEST(CliInspectGguf, QuantizedFileTextListsTypes) {
  auto r = run_cli("inspect " + data("models/stories260K/derived/stories260K-Q4_0.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("GGUF v3, 21 keys, 48 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blk.0.attn_q.weight  Q4_0 [64,64]  2304 B"), std::string::npos) << r.out;  // 128 blocks x 18 B
  EXPECT_NE(r.out.find("general.file_type (u32) = 2"), std::string::npos) << r.out;
}

TEST(CliInspectGguf, CorruptFileIsOneLineWithOffset) {
  std::string bytes("GGUF\x03\0\0\0", 8);
  bytes += std::string("\0\0\0\0\0\0\0\0", 8);              // 0 tensors
  bytes += std::string("\0\0\0\0\0\0\0\x10", 8);            // 2^60 metadata entries
  auto p = scratch_file("huge.gguf", bytes);
  auto r = run_cli("inspect --json " + p);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "format");
  EXPECT_EQ(j["error"]["field"], "n_kv");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("at byte 16"), std::string::npos);
}
