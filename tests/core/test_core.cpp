// core/: typed errors (and what any exception means as one), bounded JSON, atomic writes, regular-file checks,
// memory probes, timer, the run folder lock, the stale-temp sweep.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <new>
#include <stdexcept>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/env.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/core/regular_file.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/core/run_lock.hpp"
#include "curebench/core/timer.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

// core/env.hpp: every tuning switch takes the same spellings; a malformed value means the default.
TEST(Env, SwitchesTakeExactSpellingsAndFallBackOnAnythingElse) {
  namespace env = curebench::env;
  const char* name = "CUREBENCH_TEST_ENV_SWITCH";
  auto with = [&](const char* value, auto&& read) {
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
    auto v = read();
    ::unsetenv(name);
    return v;
  };
  auto flag = [&](bool fallback) { return [=] { return env::flag(name, fallback); }; };
  EXPECT_TRUE(with("1", flag(false)));
  EXPECT_FALSE(with("0", flag(true)));
  for (const char* other : {static_cast<const char*>(nullptr), "", "10", "01", "yes", "off", " 1"}) {
    EXPECT_TRUE(with(other, flag(true))) << (other ? other : "unset");
    EXPECT_FALSE(with(other, flag(false))) << (other ? other : "unset");
  }
  auto integer = [&] { return env::integer(name, 16, 0, 1000); };
  EXPECT_EQ(with("64", integer), 64);
  EXPECT_EQ(with("0", integer), 0);
  EXPECT_EQ(with("1000", integer), 1000);
  for (const char* bad : {static_cast<const char*>(nullptr), "", "1001", "-1", "12abc", "abc", "99999999999999999999999"})
    EXPECT_EQ(with(bad, integer), 16) << (bad ? bad : "unset");
  auto choice = [&] { return env::choice(name, {{"mma", 0}, {"lut", 1}}, 2); };
  EXPECT_EQ(with("mma", choice), 0);
  EXPECT_EQ(with("lut", choice), 1);
  for (const char* other : {static_cast<const char*>(nullptr), "", "MMA", "mma ", "auto"})
    EXPECT_EQ(with(other, choice), 2) << (other ? other : "unset");
}

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

namespace {
fs::path core_scratch(const std::string& name) {
  auto d = fs::temp_directory_path() / ("curebench_core_" + name + "." + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Runs `body` in a child process and returns what it wrote to the pipe (its exit ends the child's locks).
template <class Body>
std::string in_child(Body&& body) {
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out = body();
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

std::string try_lock(const fs::path& dir, bool exclusive) {
  try {
    auto l = exclusive ? cb::FolderLock::exclusive(dir) : cb::FolderLock::shared(dir);
    return l.held() ? "locked" : "no lock file";
  } catch (const cb::Error& e) {
    return e.what();
  }
}

pid_t dead_pid() {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  int status = 0;
  ::waitpid(dead, &status, 0);
  return dead;
}
}  // namespace

// Issue 19 (5): two evals into one --out both ran, every sample written twice. The folder lock refuses a second
// writer (and a reader) at once, naming the holder's pid; released, it is free again.
TEST(FolderLock, SecondWriterAndReadersAreRefusedNamingTheHolder) {
  auto dir = core_scratch("lock");
  EXPECT_EQ(try_lock(dir, /*exclusive=*/false), "no lock file");  // a reader creates nothing
  EXPECT_FALSE(fs::exists(dir / cb::kRunLockName));
  {
    auto held = cb::FolderLock::exclusive(dir);
    ASSERT_TRUE(held.held());
    EXPECT_TRUE(held.created());
    const std::string me = "process " + std::to_string(::getpid()) + " holds its lock";
    for (bool exclusive : {true, false}) {
      const std::string refused = in_child([&] { return try_lock(dir, exclusive); });
      EXPECT_EQ(refused.rfind("error[io] " + (dir / cb::kRunLockName).string() + ": the run folder is in use: ", 0), 0u) << refused;
      EXPECT_NE(refused.find(me), std::string::npos) << refused;
      EXPECT_EQ(refused.find('\n'), std::string::npos) << "one line";
    }
  }
  EXPECT_EQ(in_child([&] { return try_lock(dir, true); }), "locked");
  EXPECT_EQ(in_child([&] { return try_lock(dir, false); }), "locked");
  // Readers share: a second shared lock is granted while one is held, a writer is not.
  auto reader = cb::FolderLock::shared(dir);
  ASSERT_TRUE(reader.held());
  EXPECT_EQ(in_child([&] { return try_lock(dir, false); }), "locked");
  EXPECT_NE(in_child([&] { return try_lock(dir, true); }).find("the run folder is in use"), std::string::npos);
  reader.release();
  fs::remove_all(dir);
}

// A holder killed with SIGKILL cannot clean up; its lock goes with it and the next run takes the folder over.
TEST(FolderLock, LockOfAKilledProcessIsTakenOver) {
  auto dir = core_scratch("lock_killed");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t holder = ::fork();
  if (holder == 0) {
    auto l = cb::FolderLock::exclusive(dir);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_NE(try_lock(dir, true).find("process " + std::to_string(holder)), std::string::npos);
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  auto l = cb::FolderLock::exclusive(dir);  // the stale file (with the dead pid in it) is taken over
  EXPECT_TRUE(l.held());
  EXPECT_FALSE(l.created());
  fs::remove_all(dir);
}

// The lock file is opened O_NOFOLLOW: a symlink planted in a folder someone else prepared is refused, and the
// file it points at is left as it was (the pid is never written through it).
TEST(FolderLock, PlantedSymlinkOrHardLinkIsRefused) {
  auto dir = core_scratch("lock_link");
  std::ofstream(dir / "victim") << "keep me";
  fs::create_symlink(dir / "victim", dir / cb::kRunLockName);
  const std::string refused = try_lock(dir, true);
  EXPECT_NE(refused.find("symbolic link"), std::string::npos) << refused;
  fs::remove(dir / cb::kRunLockName);
  fs::create_hard_link(dir / "victim", dir / cb::kRunLockName);
  EXPECT_NE(try_lock(dir, true).find("one link"), std::string::npos);
  std::ifstream in(dir / "victim");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "keep me");
  fs::remove_all(dir);
}

// Issue 19 (4): the sweep walked the whole tree and removed any "*.tmp.<digits>*" of a dead pid. Now it removes
// only the temp names of the files it is told about, directly in the folder, and of dead processes only.
TEST(StaleTempFiles, OnlyTheExactTempNamesOfDeadWritersAreRemoved) {
  auto dir = core_scratch("sweep");
  fs::create_directories(dir / "sub");
  const std::string d = std::to_string(dead_pid()), live = std::to_string(::getpid());
  const std::vector<std::string> swept{"results.json.tmp." + d, "submission.zip.tmp." + d, "submission.zip.tmp." + d + ".aB3xYz"};
  const std::vector<std::string> kept{"results.json.tmp." + live,          // a live writer
                                      "notes.json.tmp." + d,               // not a file this program writes
                                      "results.json.tmp." + d + ".aB3xYz", // libzip's suffix only beside the zip
                                      "results.json.tmp." + d + "x",       "results.json.tmp.", ".results.json.tmp." + d,
                                      ".submission.zip.tmp." + d,          "submission.zip.tmp." + d + ".aB3x",
                                      "sub/results.json.tmp." + d};        // not below the folder
  for (auto& n : swept) std::ofstream(dir / n) << "partial";
  for (auto& n : kept) std::ofstream(dir / n) << "theirs";
  fs::create_symlink(dir / ("notes.json.tmp." + d), dir / ("results.json.tmp." + std::to_string(dead_pid())));
  const std::vector<cb::TempName> names{{"results.json"}, {"submission.zip"}, {"submission.zip", /*libzip=*/true}};
  EXPECT_EQ(cb::remove_stale_temp_files(dir, names), swept.size());
  for (auto& n : swept) EXPECT_FALSE(fs::exists(dir / n)) << n;
  for (auto& n : kept) EXPECT_TRUE(fs::exists(dir / n)) << n;
  EXPECT_EQ(cb::remove_stale_temp_files(dir / "missing", names), 0u);
  fs::remove_all(dir);
}
