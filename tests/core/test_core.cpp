// core/: typed errors, bounded JSON, atomic writes, memory probes, timer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/core/timer.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

TEST(Error, OneLineNamesPathAndField) {
  cb::Error e(cb::Errc::format, "/x/model.safetensors", "lm_head.weight", "bad\nthing");
  EXPECT_STREQ(e.what(), "error[format] /x/model.safetensors: lm_head.weight: bad thing");
  nlohmann::json j = e;
  EXPECT_EQ(j["code"], "format");
  EXPECT_EQ(j["field"], "lm_head.weight");
}

TEST(JsonFile, RejectsDeepNesting) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  try {
    cb::parse_json_text(deep, "deep.json");
    FAIL() << "expected an error";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::format);
    EXPECT_NE(std::string(e.what()).find("nesting"), std::string::npos);
  }
}

TEST(JsonFile, ParseErrorNamesBytePosition) {
  try {
    cb::parse_json_text("{\"a\": 1,,}", "bad.json");
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.path(), "bad.json");
    EXPECT_NE(e.field().find("byte"), std::string::npos);
  }
}

TEST(JsonFile, TypedGetNamesField) {
  auto j = nlohmann::json::parse(R"({"hidden_size": "sixty-four"})");
  EXPECT_THROW(cb::json_get<int>(j, "hidden_size", "config.json"), cb::Error);
  EXPECT_THROW(cb::json_get<int>(j, "missing", "config.json"), cb::Error);
  EXPECT_EQ(cb::json_get_or<int>(j, "missing", 7, "config.json"), 7);
}

TEST(AtomicWrite, ReplacesWholeFileAndLeavesNoTemp) {
  auto dir = fs::temp_directory_path() / ("curebench_atomic_test." + std::to_string(::getpid()));
  fs::remove_all(dir);
  cb::atomic_write(dir / "out.json", "first");
  cb::atomic_write(dir / "out.json", "second");
  std::ifstream in(dir / "out.json");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s, "second");
  int files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
  fs::remove_all(dir);
}

TEST(Memory, RssGrowsWithTouchedAllocation) {
  auto before = cb::host_memory();
  ASSERT_GT(before.rss_bytes, 0);
  std::vector<char> big(64 << 20, 1);
  auto after = cb::host_memory();
  EXPECT_GT(after.rss_bytes, before.rss_bytes + (32 << 20));
  EXPECT_GE(after.peak_rss_bytes, after.rss_bytes);
}

TEST(Timer, Monotonic) {
  cb::Timer t;
  EXPECT_GE(t.seconds(), 0.0);
  EXPECT_GT(cb::unix_millis(), 1'700'000'000'000);
}
