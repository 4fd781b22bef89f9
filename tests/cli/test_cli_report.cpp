// `curebench report` as a user runs it: draws every file from the fixture run, lists them with --json, and
// refuses a malformed results.json with a one-line typed error naming the file.
#include <filesystem>

#include "cli/run_cli.hpp"

namespace {
std::string report_scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("curebench_cli_report." + std::to_string(::getpid()) + "." + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}
}  // namespace

TEST(CliReport, DrawsEveryFileAndListsThemAsJson) {
  auto out = report_scratch("out");
  auto r = run_cli("report " + data("report/fixture_run") + " --out " + out + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["out_dir"], out);
  ASSERT_EQ(j["files"].size(), 11u);
  for (auto& f : j["files"]) {
    auto p = f.get<std::string>();
    EXPECT_EQ(p.rfind(out, 0), 0u) << p;
    EXPECT_GT(std::filesystem::file_size(p), 0u) << p;
  }
  EXPECT_TRUE(std::filesystem::exists(out + "/dashboard.png"));
  EXPECT_TRUE(std::filesystem::exists(out + "/report.md"));
  std::filesystem::remove_all(out);
}

TEST(CliReport, MalformedResultsIsATypedErrorNamingTheFile) {
  auto dir = report_scratch("bad");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/results.json") << "{\"models\": [";
  auto r = run_cli("report " + dir + " --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "format");
  EXPECT_EQ(j["error"]["path"], dir + "/results.json");
  EXPECT_FALSE(std::filesystem::exists(dir + "/report"));
  std::filesystem::remove_all(dir);
}

TEST(CliReport, MissingRunFolderIsNotFound) {
  auto r = run_cli("report /nonexistent/run --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["code"], "not_found");
}
