// `curebench version` and `curebench inspect` run as a user runs them.
#include "cli/run_cli.hpp"
#include <sys/stat.h>

#include <vector>

TEST(CliVersion, PrintsJson) {
  auto r = run_cli("version --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("libtorch"));
  EXPECT_TRUE(j.contains("cuda_available"));
  EXPECT_EQ(j["curebench"], curebench::kVersion);
}

// Exit codes (examples/cli/cli_common.hpp): a usage error is 2 with CLI11's one line, whatever CLI11's own code for
// it (104-114); --help is 0.
TEST(CliUsage, UsageErrorsExitTwoAndHelpExitsZero) {
  for (const char* args : {"eval --no-such-flag", "eval --batch-size abc --out /tmp/x", "no-such-command", "", "eval --max-new-tokens",
                           "score --task pos --conll x"}) {
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find("Run with --help"), std::string::npos) << args << ": " << r.err;
  }
  EXPECT_EQ(run_cli("--help").exit_code, 0);
  EXPECT_EQ(run_cli("eval --help").exit_code, 0);
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

// Found by feeding mutated project files to the CLI (docs/robustness.md, "Adversarial files through the CLI"):
// an error whose excerpt of a corrupt header holds invalid UTF-8 made `--json` throw nlohmann's type_error 316
// while printing it (abort), and GGUF metadata strings with invalid UTF-8 made `inspect --json` an internal
// error. JSON output now replaces bad bytes with U+FFFD.
TEST(CliInspect, InvalidUtf8InAnErrorExcerptStillPrintsJson) {
  const std::string header = "{\"\xff\xfe\":1}        ";  // 16 bytes, not valid UTF-8
  const std::uint64_t n = header.size();
  auto p = scratch_file("bad_utf8.safetensors", std::string(reinterpret_cast<const char*>(&n), 8) + header);
  auto r = run_cli("inspect --json " + p);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "format");
}

TEST(CliInspect, GgufStringWithInvalidUtf8PrintsJson) {
  auto u32 = [](std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [](std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  const std::string key = "general.name", value = "bad \xff\xfe name";
  std::string gguf = "GGUF" + u32(3) + u64(0) + u64(1) + u64(key.size()) + key + u32(8) + u64(value.size()) + value;
  auto p = scratch_file("bad_utf8.gguf", gguf);
  for (std::string mode : {"--json ", ""}) {
    auto r = run_cli("inspect " + mode + p);
    EXPECT_EQ(r.exit_code, 0) << mode << r.err;
    if (!mode.empty()) {
      auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["metadata_count"], 1);
    }
  }
}

// A path the OS refuses (a component over NAME_MAX) reached std::filesystem's throwing calls in several readers
// and came out as error[internal] (exit 3); the CLI now reports it as a typed io error naming the path.
TEST(CliInspect, PathTheOsRefusesIsATypedIoError) {
  const std::string path = "/tmp/" + std::string(300, 'a');
  for (std::string cmd : {"inspect --json ", "load --json --model ", "tokenize --json --text hi --tokenizer "}) {
    auto r = run_cli(cmd + path);
    EXPECT_EQ(r.exit_code, 1) << cmd << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["error"]["code"], "io") << cmd;
    EXPECT_EQ(j["error"]["path"], path) << cmd;
  }
}

// Found by tests/fuzz/cli_adversarial/special_files.py: a FIFO where a file belongs blocked open() for ever
// (nobody writes to it) in every reader, and `tokenize --jsonl /dev/zero` read without end. Every input is now
// refused unless it is a regular file, by name and by what it is, before a byte is read.
TEST(CliInspect, FifoOrDeviceInPlaceOfAFileIsRefusedNotWaitedOn) {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("curebench_cli_fifo." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy(data("models/stories260K/hf"), dir / "model", fs::copy_options::recursive);
  fs::remove(dir / "model" / "config.json");
  ASSERT_EQ(::mkfifo((dir / "model" / "config.json").c_str(), 0644), 0);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
  const std::string model = (dir / "model").string(), fifo = (dir / "fifo").string();
  const std::string tok = data("models/stories260K/tok512.bin");
  struct Case {
    std::string args, path, found;
  };
  for (const Case& c : std::vector<Case>{
           {"inspect " + model, model + "/config.json", "a FIFO (named pipe)"},
           {"load --model " + model, model + "/config.json", "a FIFO (named pipe)"},
           {"inspect " + fifo, fifo, "a FIFO (named pipe)"},
           {"extract --jsonl " + fifo, fifo, "a FIFO (named pipe)"},
           {"verify val=" + fifo, fifo, "a FIFO (named pipe)"},
           {"tokenize --tokenizer " + fifo + " --text hi", fifo, "a FIFO (named pipe)"},
           {"tokenize --tokenizer " + tok + " --jsonl /dev/zero", "/dev/zero", "a character device"},
           {"inspect " + dir.string(), "", ""},  // a folder with no checkpoint: refused, whatever the words
       }) {
    auto r = run_cli(c.args + " --json", 60);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    if (c.path.empty()) continue;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["error"]["code"], "io") << c.args;
    EXPECT_EQ(j["error"]["path"], c.path) << c.args;
    EXPECT_EQ(j["error"]["message"], "expected a regular file, found " + c.found) << c.args;
  }
  fs::remove_all(dir);
}
