// `curebench generate --model FILE.gguf` as a user runs it: the real stories260K GGUFs against llama2.c's
// greedy continuations (greedy_references.json), the prompt encoded with the GGUF's own vocabulary.
#include "cli/run_cli.hpp"
#include "curebench/core/json_file.hpp"

namespace {
std::string ids_arg(const nlohmann::json& ids) {
  std::string s;
  for (auto& v : ids) s += (s.empty() ? "" : ",") + std::to_string(v.get<long long>());
  return s;
}
}  // namespace

TEST(CliGenerateGGUF, F32ReproducesEveryLlama2cReference) {
  auto refs = curebench::read_json_file(data("models/stories260K/greedy_references.json"));
  ASSERT_EQ(refs["cases"].size(), 5u);
  for (auto& c : refs["cases"]) {
    auto r = run_cli("generate --model " + data("models/stories260K/stories260K.gguf") + " --prompt-ids " + ids_arg(c["prompt_ids"]) +
                     " --max-new-tokens 64 --ignore-eos --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["output_ids"], c["output_ids"]) << c["prompt_ids"];
    EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
  }
}

TEST(CliGenerateGGUF, TextPromptUsesTheEmbeddedVocabulary) {
  auto refs = curebench::read_json_file(data("models/stories260K/greedy_references.json"));
  auto r = run_cli("generate --model " + data("models/stories260K/stories260K.gguf") + " --prompt \"Once upon a time\" --max-new-tokens 64 --ignore-eos --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"], refs["cases"][1]["prompt_ids"]);
  EXPECT_EQ(j["output_ids"], refs["cases"][1]["output_ids"]);
  EXPECT_NE(j["text"].get<std::string>().find("there was a little girl named Lily."), std::string::npos) << j["text"];
}

TEST(CliGenerateGGUF, QuantizedFilesRun) {
  for (std::string f : {"stories260K-Q8_0.gguf", "stories260K-Q4_0.gguf"}) {
    auto r = run_cli("generate --model " + data("models/stories260K/derived/" + f) + " --prompt-ids 1,403,407,261,378 --max-new-tokens 16 --ignore-eos --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["output_ids"].size(), 16u) << f;
  }
}
