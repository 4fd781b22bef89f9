// `curebench load` and `curebench discover` as a user runs them.
#include "cli/run_cli.hpp"

TEST(CliLoad, ReportsAttemptsAndChosenStrategy) {
  auto r = run_cli("load --model " + data("model/mistral") + " --dtype f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["strategy"], "QuantizeOnLoad<nf4-b64-dq>");  // nothing stored quantized: the chain goes on to 4-bit
  EXPECT_EQ(j["attempts"][0]["strategy"], "Prequantized");
  EXPECT_EQ(j["attempts"][0]["outcome"], "skipped");
  EXPECT_EQ(j["attempts"][1]["outcome"], "ok");
  r = run_cli("load --model " + data("model/mistral") + " --dtype f32 --strategies FullPrecision --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["strategy"], "FullPrecision");
  EXPECT_EQ(j["checkpoint"]["architecture"], "MistralForCausalLM");
}

// --strategies takes the chain's names or the --quant vocabulary's (issue 20 point 2): nf4-dq is the chain's
// QuantizeOnLoad<nf4-b64-dq>; a name the chain does not hold (nf4 without double quant is not in it) is refused
// with the chain listed.
TEST(CliLoad, StrategiesByQuantNameAndUnknownOnesRefused) {
  auto r = run_cli("load --model " + data("model/mistral") + " --dtype f32 --strategies nf4-dq --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["strategy"], "QuantizeOnLoad<nf4-b64-dq>");
  r = run_cli("load --model " + data("model/mistral") + " --dtype f32 --strategies int8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["strategy"], "QuantizeOnLoad<int8>");
  r = run_cli("load --model " + data("model/mistral") + " --dtype f32 --strategies nf4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no strategy \"nf4\" (QuantizeOnLoad<nf4-b64>) in the chain: Prequantized"), std::string::npos) << r.err;
  r = run_cli("load --model " + data("model/mistral") + " --strategies Bogus");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no strategy \"Bogus\" in the chain"), std::string::npos) << r.err;
}

TEST(CliLoad, InjectedOomFallsBackAndBudgetSkips) {
  auto r = run_cli("load --model " + data("model/llama") + " --dtype f32 --inject-oom-at model.layers.0.self_attn.q_proj.weight "
                   "--strategies FullPrecision --json");
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out.substr(0, r.out.find("\n{")));  // attempts first, then the error line
  EXPECT_EQ(j["attempts"][0]["error_code"], "out_of_memory");
  r = run_cli("load --model " + data("model/llama") + " --cpu-budget 10KiB --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("over the budget"), std::string::npos);
}

TEST(CliDiscover, FindsTheFixtures) {
  auto r = run_cli("discover " + data("model") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["found"].size(), 6u);
}
