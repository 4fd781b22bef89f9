// `curebench generate` reproduces reference continuations from the command line.
#include "cli/run_cli.hpp"
#include "cli/run_files.hpp"
#include "cli/spawn_cli.hpp"
#include "curebench/core/json_file.hpp"
#include "dist/free_port.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>

namespace {
std::string join(const nlohmann::json& ids) {
  std::string s;
  for (auto& v : ids) s += (s.empty() ? "" : ",") + std::to_string(v.get<long long>());
  return s;
}
}  // namespace

TEST(CliGenerate, StoriesGreedyMatchesLlama2cReference) {
  auto refs = curebench::read_json_file(data("models/stories260K/greedy_references.json"));
  auto& c = refs["cases"][1];
  auto r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt-ids " + join(c["prompt_ids"]) +
                   " --max-new-tokens " + std::to_string(c["output_ids"].size()) + " --greedy --ignore-eos --dtype f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["output_ids"], c["output_ids"]);
  EXPECT_EQ(j["stop_reason"], "max_new_tokens");
}

TEST(CliGenerate, TransformersFixtureGreedy) {
  for (std::string name : {"gemma2", "qwen2", "mistral"}) {
    auto ref = curebench::read_json_file(data("model/" + name + "/reference.json"));
    auto r = run_cli("generate --model " + data("model/" + name) + " --prompt-ids " + join(ref["input_ids"][0]) +
                     " --max-new-tokens 32 --greedy --ignore-eos --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["output_ids"], ref["greedy_f32"]) << name;
  }
}

TEST(CliGenerate, BadInputsExitNonZeroWithOneLine) {
  auto r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt-ids 1,x,3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--prompt-ids"), std::string::npos);
  r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt-ids 1,99999");
  EXPECT_EQ(r.exit_code, 1);
  r = run_cli("generate --model /nonexistent --prompt-ids 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos);
  r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt-ids 1 --dtype f8");
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliGenerate, TextPromptUsesTheRealTokenizer) {
  // llama2.c's tokenizer encodes "Once upon a time" as [1, 403, 407, 261, 378]; the continuation must be
  // the reference's, and the decoded text must start the way the reference story does.
  auto refs = curebench::read_json_file(data("models/stories260K/greedy_references.json"));
  auto& c = refs["cases"][1];
  ASSERT_EQ(c["prompt"], "Once upon a time");
  auto r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt \"Once upon a time\" --max-new-tokens " +
                   std::to_string(c["output_ids"].size()) + " --greedy --ignore-eos --dtype f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"], c["prompt_ids"]);
  EXPECT_EQ(j["output_ids"], c["output_ids"]);
  EXPECT_EQ(j["text"].get<std::string>().rfind(", there was a little girl named Lily", 0), 0u) << j["text"];
}

namespace {
// A copy of the real stories260K model in a scratch folder, with config.json edited or a tensor's bytes patched.
std::filesystem::path stories_copy(const std::string& name) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("curebench_cli_generate." + std::to_string(::getpid()) + "." + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (auto f : {"config.json", "generation_config.json", "model.safetensors", "tok512.bin"})
    fs::copy_file(data("models/stories260K/hf/") + f, dir / f);
  return dir;
}

void set_config(const std::filesystem::path& dir, const std::string& key, const nlohmann::json& value) {
  auto c = curebench::read_json_file((dir / "config.json").string());
  c[key] = value;
  std::ofstream((dir / "config.json").string()) << c.dump();
}

// Overwrites the first float of an F32 tensor in model.safetensors with a quiet NaN.
void poison_tensor(const std::filesystem::path& dir, const std::string& tensor) {
  const auto path = (dir / "model.safetensors").string();
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::uint64_t n = 0;
  f.read(reinterpret_cast<char*>(&n), 8);
  std::string header(n, '\0');
  f.read(header.data(), static_cast<std::streamsize>(n));
  auto h = nlohmann::json::parse(header);
  ASSERT_EQ(h[tensor]["dtype"], "F32");
  const auto at = 8 + n + h[tensor]["data_offsets"][0].get<std::uint64_t>();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  f.seekp(static_cast<std::streamoff>(at));
  f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
}
}  // namespace

// Found by hand after the special-files campaign: a KV cache for 10^9 new tokens was left to libtorch's
// allocator, whose refusal named no field. It is sized first and refused with the sizes that explain it.
// (A context of 2^40 positions in config.json: within the real 512 the context rule below stops generation first.)
TEST(CliGenerate, KvCacheBeyondTheMachineIsOutOfMemoryWithItsSize) {
  auto dir = stories_copy("hugecontext");
  set_config(dir, "max_position_embeddings", std::int64_t{1} << 40);
  auto r = run_cli("generate --model " + dir.string() + " --prompt-ids 1 --max-new-tokens 1000000000 --json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "out_of_memory");
  EXPECT_EQ(j["error"]["field"], "kv_cache");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("x 1000000001 tokens"), std::string::npos) << j.dump();
  EXPECT_NE(j["error"]["message"].get<std::string>().find("of RAM installed"), std::string::npos) << j.dump();
  std::filesystem::remove_all(dir);
}

// Issue 19, point 8: an 11,002-token prompt against a context of 512 ran for 176 s without a word. The rule:
// a prompt longer than the context is refused; generation stops when the sequence fills the context.
TEST(CliGenerate, ThePromptMustFitTheContextAndGenerationStopsWhenItIsFull) {
  std::string long_prompt = "1";
  for (int i = 0; i < 512; ++i) long_prompt += ",300";  // 513 tokens against max_position_embeddings 512
  auto r = run_cli("generate --model " + data("models/stories260K/hf") + " --prompt-ids " + long_prompt + " --json", 60);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "invalid_argument");
  EXPECT_EQ(j["error"]["field"], "prompt");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("513 tokens exceeds the model's context of 512"), std::string::npos);
  r = run_cli("generate --model " + data("models/stories260K/hf") +
              " --prompt-ids 1,403,407 --max-new-tokens 1000000000 --greedy --ignore-eos --json", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["stop_reason"], "context_length");
  EXPECT_EQ(j["output_ids"].size(), 512u - 3u);
}

// Issue 19, point 9: NaN weights printed NaN-driven tokens with exit 0 outside the loader chain's warm-up.
TEST(CliGenerate, NonFiniteLogitsAreANumericErrorNamingTheModel) {
  auto dir = stories_copy("nan");
  poison_tensor(dir, "model.norm.weight");
  auto r = run_cli("generate --model " + dir.string() + " --prompt-ids 1,403 --max-new-tokens 4 --json", 60);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "numeric");
  EXPECT_EQ(j["error"]["path"], dir.string());
  EXPECT_EQ(j["error"]["field"], "logits");
  r = run_cli("quantize --model " + dir.string() + " --quant int8 --report --samples 1 --sample-tokens 4 --json", 120);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error[numeric] " + dir.string()), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

// --tensor-parallel as users launch it: one process per rank (torchrun's variables), each with its slice of every
// layer and a gloo group over rank 0's store. Both ranks print the one-process greedy tokens.
TEST(CliGenerate, TensorParallelTwoProcessesMatchOneProcess) {
  const auto model = data("models/stories260K/hf");
  auto one = run_cli("generate --model " + model + " --prompt-ids 1,403,407 --max-new-tokens 24 --greedy --ignore-eos --json");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto expected = nlohmann::json::parse(one.out)["output_ids"];
  ASSERT_EQ(expected.size(), 24u);
  const auto logs = fresh_scratch_dir("cli_tp", "generate");
  auto start = [&](int world, const std::string& tag) {
    const auto port = std::to_string(free_port());
    std::vector<Child> ranks;
    for (int r = 0; r < world; ++r)
      ranks.push_back(spawn_cli({"generate", "--model", model, "--prompt-ids", "1,403,407", "--max-new-tokens", "24", "--greedy",
                                 "--ignore-eos", "--json", "--tensor-parallel", "--dist-timeout", "30"},
                                logs, tag + std::to_string(r),
                                {{"RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(world)}, {"MASTER_ADDR", "127.0.0.1"},
                                 {"MASTER_PORT", port}, {"LOCAL_WORLD_SIZE", std::to_string(world)}}));
    return ranks;
  };
  auto ranks = start(2, "tp2.rank");
  for (int r = 0; r < 2; ++r) {
    auto& c = ranks[static_cast<std::size_t>(r)];
    ASSERT_GT(c.pid, 0);
    const int status = wait_status(c.pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(c.err);
    auto j = nlohmann::json::parse(slurp(c.out));
    EXPECT_EQ(j["output_ids"], expected) << "rank " << r;
    EXPECT_EQ(j["tensor_parallel"], (nlohmann::json{{"rank", r}, {"world_size", 2}}));
  }
  // 8 heads over 3 ranks: every rank stops, naming the field.
  ranks = start(3, "tp3.rank");
  for (auto& c : ranks) {
    const int status = wait_status(c.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    EXPECT_NE(slurp(c.err).find("num_attention_heads"), std::string::npos) << slurp(c.err);
  }
}

