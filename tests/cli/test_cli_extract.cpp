// `curebench extract` as a user runs it: JSON lines in input order, the three policies, and errors that
// name the file and the line.
#include "cli/run_cli.hpp"

#include <sstream>
#include <vector>

namespace {

std::string record(const std::string& id, const std::string& output) {
  nlohmann::json q = {{"id", id},
                      {"question_type", "multi_choice"},
                      {"question", "SYNTHETIC EXAMPLE. Which anticoagulant needs no INR monitoring?"},
                      {"correct_answer", "B"},
                      {"options", {{"A", "Warfarin"}, {"B", "Apixaban"}, {"C", "Aspirin"}, {"D", "Heparin"}}}};
  return nlohmann::json{{"question", q}, {"output", output}}.dump() + "\n";
}

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

const std::string kInput = record("q1", "Answer: based on renal function, the best choice is B.") +
                           record("q2", "A 70-year-old man; apixaban is the best choice.") +
                           "\n" +  // blank lines are skipped, line numbers still count them
                           record("q3", "<think>maybe A</think>\nFinal answer: \\boxed{D}") +
                           record("q4", "I cannot tell without more data.");

TEST(CliExtract, CurebenchPolicyJsonLinesInOrder) {
  auto path = scratch_file("extract_ok.jsonl", kInput);
  auto r = run_cli("extract --jsonl " + path + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = json_lines(r.out);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0]["id"], "q1");
  EXPECT_EQ(v[0]["answer"], "B");
  EXPECT_EQ(v[0]["rule"], "answer_statement");
  EXPECT_EQ(v[1]["answer"], "B");
  EXPECT_EQ(v[2]["answer"], "D");
  EXPECT_EQ(v[2]["rule"], "answer_statement");  // "Final answer:" is read first, the boxed wrapper is decoration
  EXPECT_EQ(v[2]["line"], 4);
  EXPECT_TRUE(v[3]["answer"].is_null());
  EXPECT_TRUE(v[3]["span"].is_null());
  EXPECT_FALSE(v[3]["reason"].get<std::string>().empty());
  // The span indexes the output string of that line: bytes [s, e) of "...\boxed{D}" are "D".
  std::string out3 = "<think>maybe A</think>\nFinal answer: \\boxed{D}";
  EXPECT_EQ(out3.substr(v[2]["span"][0].get<std::size_t>(), 1), "D");
}

TEST(CliExtract, SeedAndKitPoliciesReproduceTheirBugs) {
  auto path = scratch_file("extract_policies.jsonl", kInput);
  auto seed = json_lines(run_cli("extract --jsonl " + path + " --policy seed --json").out);
  auto kit = json_lines(run_cli("extract --jsonl " + path + " --policy kit --json").out);
  ASSERT_EQ(seed.size(), 4u);
  ASSERT_EQ(kit.size(), 4u);
  EXPECT_EQ(seed[0]["answer"], "B");  // right by accident: the b of "based"
  EXPECT_EQ(seed[0]["span"], nlohmann::json::array({8, 9}));
  EXPECT_EQ(seed[3]["answer"], "A");  // letter-anywhere fallback
  EXPECT_EQ(kit[0]["answer"], "A");   // first character of "Answer"
  EXPECT_EQ(kit[1]["answer"], "A");   // the article
}

TEST(CliExtract, TextOutputOneLinePerRecord) {
  auto path = scratch_file("extract_text.jsonl", kInput);
  auto r = run_cli("extract --jsonl " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4);
  EXPECT_NE(r.out.find("q3\tD\tanswer_statement"), std::string::npos) << r.out;
}

TEST(CliExtract, MalformedLineNamesFileAndLine) {
  auto path = scratch_file("extract_bad.jsonl", record("q1", "The answer is B.") + "{\"question\": {\"options\": {\"A\": \"x\"}}, \"output\": 3}\n");
  auto r = run_cli("extract --jsonl " + path + " --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("output"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\"answer\""), std::string::npos) << "no partial output: " << r.out;
  auto j = json_lines(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["error"]["code"], "dataset");
}

TEST(CliExtract, InvalidJsonAndMissingOptionsAreErrors) {
  auto bad_json = scratch_file("extract_badjson.jsonl", record("q1", "B") + record("q2", "C") + "{not json\n");
  auto r = run_cli("extract --jsonl " + bad_json);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad_json + ":3"), std::string::npos) << r.err;
  auto no_opts = scratch_file("extract_noopts.jsonl", "{\"question\": {\"id\": \"x\"}, \"output\": \"B\"}\n");
  r = run_cli("extract --jsonl " + no_opts);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("question.options"), std::string::npos) << r.err;
  r = run_cli("extract --jsonl /nonexistent/x.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  r = run_cli("extract --jsonl " + bad_json + " --policy nosuch");
  EXPECT_NE(r.exit_code, 0);  // CLI11 validation error
}

}  // namespace
