// Inputs the fuzzers (tests/fuzz/) found that crashed a reader; each must now be a typed curebench::Error.
#include "curebench/core/json_file.hpp"

#include <gtest/gtest.h>

#include <chrono>
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

curebench::Errc code_of_limited(const std::string& text, int max_depth) {
  try {
    curebench::parse_json_text(text, "in.json", curebench::JsonLimits{std::size_t{1} << 20, max_depth});
  } catch (const curebench::Error& e) {
    return e.code();
  }
  return curebench::Errc::internal;
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

namespace {

// Issue 19, point 7: the depth-checking callback parser rescanned the parent object after each nested value,
// quadratic in its members: a safetensors header of 100,000 tensors (6.7 MB) ran for minutes. Linear now. The check
// is a ratio, 100,000 members against 10,000 in the same process (linear: about 10x; the quadratic parser: about
// 100x), because an absolute bound failed a sanitizer build on a busy machine (11.9 s against 10, the thirteenth
// session's CI run beside a build and a fuzzer); the absolute ceiling only catches a parser gone pathological.
// benchmarks/bench_io.cpp BM_JsonManyMembers has the speed.
TEST(JsonRegressions, ManyNestedMembersParseInLinearTime) {
  auto parse_seconds = [](int members) {
    std::string text = "{";
    for (int i = 0; i < members; ++i)
      text += (i ? ",\"model.layers." : "\"model.layers.") + std::to_string(i) +
              ".weight\":{\"dtype\":\"BF16\",\"shape\":[4096,4096],\"data_offsets\":[0,33554432]}";
    text += "}";
    const auto t0 = std::chrono::steady_clock::now();
    auto j = curebench::parse_json_text(text, "big.json", curebench::JsonLimits{std::size_t{64} << 20, 8});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(j.size(), static_cast<std::size_t>(members));
    EXPECT_EQ(j["model.layers." + std::to_string(members - 1) + ".weight"]["shape"][1], 4096);
    return s;
  };
  const double small = parse_seconds(10000), big = parse_seconds(100000);
  EXPECT_LT(big, 40 * small + 0.5) << "10,000 members took " << small << " s, 100,000 took " << big << " s";
  EXPECT_LT(big, 120.0) << "100,000 members took " << big << " s";
}

// The depth limit counts nested objects and arrays: max_depth of them parse, one more is refused.
TEST(JsonRegressions, DepthLimitCountsContainers) {
  auto nest = [](int n) { return std::string(n, '[') + "1" + std::string(n, ']'); };
  EXPECT_NO_THROW(curebench::parse_json_text(nest(8), "d.json", curebench::JsonLimits{1 << 20, 8}));
  EXPECT_EQ(code_of_limited(nest(9), 8), curebench::Errc::format);
  EXPECT_NO_THROW(curebench::parse_json_text(nest(64), "d.json"));
  EXPECT_EQ(code_of_limited(nest(65), 64), curebench::Errc::format);
}

}  // namespace
