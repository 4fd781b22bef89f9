// Inputs found by tests/fuzz/fuzz_safetensors_index.cpp, each refused with a typed curebench::Error naming the
// index file and the weight_map entry (before the fix: a std::filesystem_error escaped the reader, and the
// CLI reported it as an internal error).
#include "curebench/io/safetensors_index.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace cb = curebench;

TEST(SafetensorsIndexRegressions, ShardNameLongerThanTheOsAllowsIsAMissingShard) {
  // 300 bytes: over NAME_MAX (255), so stat() fails with ENAMETOOLONG instead of ENOENT.
  const std::string shard = "mo" + std::string(280, '~') + "del.safetensors";
  auto index = cb::hostile::write_file("long_shard.index.json", R"({"weight_map": {"a": ")" + shard + R"("}})");
  auto e = cb::hostile::error_of([&] { cb::io::SafetensorsSet set(index); });
  EXPECT_EQ(e.code(), cb::Errc::not_found);
  EXPECT_EQ(e.path(), index);
  EXPECT_EQ(e.field(), "weight_map.a");
  EXPECT_NE(e.message().find("does not exist"), std::string::npos) << e.what();
}

}  // namespace
