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
