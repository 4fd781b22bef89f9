// Inputs the fuzzers (tests/fuzz/) found that crashed a reader; each must now be a typed curebench::Error.
#include "curebench/core/json_file.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

curebench::Errc code_of(const std::string& text) {
  try {
    curebench::parse_json_text(text, "in.json");
  } catch (const curebench::Error& e) {
    return e.code();
  }
  return curebench::Errc::internal;  // parsed: not what these tests expect
}

// fuzz_hf_config / fuzz_safetensors: a number literal beyond double's range made nlohmann throw
// out_of_range.406, which escaped parse_json_text (it caught parse_error only) and terminated the process.
TEST(JsonRegressions, NumberOverflowIsAFormatError) {
  EXPECT_EQ(code_of(R"({"bos_token_id": 11e400})"), curebench::Errc::format);
  EXPECT_EQ(code_of(R"({"w": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}})"), curebench::Errc::format);
  EXPECT_EQ(code_of("-1e400"), curebench::Errc::format);
}

}  // namespace

namespace {

curebench::Errc get_code(const std::string& text) {
  try {
    auto j = curebench::parse_json_text(text, "config.json");
    (void)curebench::json_get<std::int64_t>(j, "n", "config.json");
  } catch (const curebench::Error& e) {
    return e.code();
  }
  return curebench::Errc::internal;
}

// fuzz_hf_config: "num_attention_heads": 89223372036854775807 is too long for 64 bits, so nlohmann stores a
// double, and get<int64_t>() cast 8.9e19 to long: undefined behaviour (UBSan: outside the range of long).
TEST(JsonRegressions, OutOfRangeIntegersAreConfigErrors) {
  EXPECT_EQ(get_code(R"({"n": 89223372036854775807})"), curebench::Errc::config);
  EXPECT_EQ(get_code(R"({"n": 1e30})"), curebench::Errc::config);
  EXPECT_EQ(get_code(R"({"n": -1e30})"), curebench::Errc::config);
  EXPECT_EQ(get_code(R"({"n": 18446744073709551615})"), curebench::Errc::config);  // u64 above INT64_MAX
  auto j = curebench::parse_json_text(R"({"a": 9223372036854775807, "b": -9223372036854775808, "c": 64.0})", "c.json");
  EXPECT_EQ(curebench::json_get<std::int64_t>(j, "a", "c.json"), INT64_MAX);
  EXPECT_EQ(curebench::json_get<std::int64_t>(j, "b", "c.json"), INT64_MIN);
  EXPECT_EQ(curebench::json_get<std::int64_t>(j, "c", "c.json"), 64);
  EXPECT_THROW(curebench::json_get<std::int32_t>(j, "a", "c.json"), curebench::Error);
  EXPECT_THROW(curebench::json_get<std::uint32_t>(j, "b", "c.json"), curebench::Error);
}

}  // namespace
