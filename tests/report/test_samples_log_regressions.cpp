// Inputs the fuzzers (tests/fuzz/) found that crashed a reader; each must now be a typed curebench::Error.
#include "curebench/report/dashboard/run_data.hpp"
#include "curebench/report/samples_log.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace cb = curebench;

// fuzz_samples_log: a finished line holding a number beyond double's range ("150e6732") made nlohmann throw
// out_of_range.406, which escaped recover() (it caught parse_error only) and terminated the process.
TEST(SamplesLogRegressions, NumberOverflowInAFinishedLineIsAFormatError) {
  auto path = cb::hostile::write_file("overflow_samples.jsonl", "{\"id\": 150e6732}\n");
  auto e = cb::hostile::error_of([&] { cb::report::SamplesLog log(path); });
  EXPECT_EQ(e.code(), cb::Errc::format);
  EXPECT_NE(e.field().find("line 1"), std::string::npos) << e.what();
}

// The dashboard's samples.jsonl reader had the same catch (found by review of the fuzzer's crash).
TEST(SamplesLogRegressions, DashboardReaderNumberOverflowIsAFormatError) {
  auto path = cb::hostile::write_file("overflow_dashboard.jsonl", "{\"latency_ms\": 1e400}\n");
  std::vector<cb::report::Sample> out;
  auto e = cb::hostile::error_of([&] { cb::report::read_samples(path, out); });
  EXPECT_EQ(e.code(), cb::Errc::format);
}

}  // namespace
