// core/: typed errors (and what any exception means as one), bounded JSON, atomic writes, regular-file checks,
// memory probes, timer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <new>
#include <stdexcept>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/core/regular_file.hpp"
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

// Found by tests/fuzz/cli_adversarial/inputs.py (SEED=4): a GGUF token piece quoted in an error held a 0x1C byte,
// which line readers (Python's splitlines among them) take for a line break; an ESC would drive the terminal.
TEST(Error, ControlBytesFromFilesAreEscapedInWhat) {
  cb::Error e(cb::Errc::format, "f.gguf", "token 49", "found \"\x1c" "0x2E>\" and \x1b[31mred\x7f, \xc2\x85|\xe2\x80\xa8|\xe2\x80\xa9 end\ttab");
  const std::string w = e.what();
  EXPECT_EQ(w, "error[format] f.gguf: token 49: found \"\\x1C0x2E>\" and \\x1B[31mred\\x7F, \\u0085|\\u2028|\\u2029 end\ttab");
  EXPECT_EQ(e.message().find("\\x1C"), std::string::npos);  // the message keeps the bytes; JSON output escapes them
  for (unsigned char c : w) EXPECT_TRUE(c >= 0x20 || c == '\t') << int(c);
  // Valid UTF-8 that is not a line break passes through.
  EXPECT_NE(std::string(cb::Error(cb::Errc::format, "", "", "caf\xc3\xa9 \xe2\x80\x99").what()).find("caf\xc3\xa9 \xe2\x80\x99"), std::string::npos);
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

TEST(RegularFile, FifoDeviceAndFolderAreRefusedWithoutBlocking) {
  const auto dir = fs::temp_directory_path() / ("curebench_core_fifo." + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto expect_refused = [](const std::string& path, const std::string& found, auto&& read) {
    try {
      read(path);
      ADD_FAILURE() << path << " was read";
    } catch (const cb::Error& e) {
      EXPECT_EQ(e.code(), cb::Errc::io);
      EXPECT_EQ(e.path(), path);
      EXPECT_EQ(e.message(), "expected a regular file, found " + found);
    }
  };
  // Each of these blocked for ever on the FIFO before (open(2) waits for a writer).
  auto mapped = [](const std::string& p) { cb::MappedFile f(p); };
  auto text = [](const std::string& p) { cb::read_text_file(p); };
  auto for_append = [](const std::string& p) { ::close(cb::open_regular_file(p, O_WRONLY | O_APPEND)); };
  for (auto* read : {+mapped, +text, +for_append}) {
    expect_refused(fifo, "a FIFO (named pipe)", read);
    expect_refused(dir.string(), "a folder", read);
  }
  expect_refused("/dev/zero", "a character device", mapped);
  expect_refused("/dev/null", "a character device", text);
  EXPECT_THROW(cb::require_regular_file((dir / "missing").string()), cb::Error);
  std::ofstream(dir / "ok") << "x";
  EXPECT_NO_THROW(cb::require_regular_file((dir / "ok").string()));
  EXPECT_EQ(cb::MappedFile((dir / "ok").string()).size(), 1u);
  fs::remove_all(dir);
}

TEST(ErrorFromException, AllocatorFailuresAreOutOfMemoryOnOneLine) {
  auto from = [](auto&& thrower) {
    try {
      thrower();
    } catch (...) {
      return cb::error_from_exception(std::current_exception());
    }
    return cb::Error(cb::Errc::internal, "", "", "nothing thrown");
  };
  // libtorch's CPU allocator, as printed by libtorch 1.13 (message, then a C++ stack trace).
  auto torch = from([] {
    throw std::runtime_error("[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can't allocate memory: "
                             "you tried to allocate 549755813888 bytes.\nframe #0: c10::alloc_cpu(unsigned long)");
  });
  EXPECT_EQ(torch.code(), cb::Errc::out_of_memory);
  EXPECT_EQ(std::string(torch.what()).find('\n'), std::string::npos);
  EXPECT_EQ(torch.message().find("frame #0"), std::string::npos);
  EXPECT_EQ(from([] { throw std::runtime_error("CUDA out of memory. Tried to allocate 2.00 GiB"); }).code(), cb::Errc::out_of_memory);
  EXPECT_EQ(from([] { throw std::bad_alloc(); }).code(), cb::Errc::out_of_memory);
  auto fs_error = from([] { throw fs::filesystem_error("listing", fs::path("/x/y"), std::make_error_code(std::errc::permission_denied)); });
  EXPECT_EQ(fs_error.code(), cb::Errc::io);
  EXPECT_EQ(fs_error.path(), "/x/y");
  auto ours = from([] { throw cb::Error(cb::Errc::shape, "f", "t", "m"); });
  EXPECT_EQ(ours.code(), cb::Errc::shape);
  EXPECT_EQ(ours.path(), "f");
  auto other = from([] { throw std::logic_error("a bug\nsecond line"); });
  EXPECT_EQ(other.code(), cb::Errc::internal);
  EXPECT_EQ(other.message(), "a bug");
}
