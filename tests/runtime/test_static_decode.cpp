// runtime/decode_graph.hpp on the CPU: the static decode step that CUDA graphs capture (batch padded to a
// bucket, cache column as a device tensor, attention over a key bucket with an additive mask) gives the
// same greedy continuations as the eager step, on every transformers fixture and on stories260K.
#include "model/model_fixtures.hpp"
#include "curebench/runtime/generate.hpp"

namespace cb = curebench;

namespace {
cb::runtime::GenerateOptions options(std::int64_t n, bool static_decode) {
  cb::runtime::GenerateOptions o;
  o.max_new_tokens = n;
  o.ignore_eos = true;
  o.force_static_decode = static_decode;
  return o;
}
}  // namespace

TEST(StaticDecode, BatchBuckets) {
  EXPECT_EQ(cb::runtime::graph_batch_bucket(1), 1);
  EXPECT_EQ(cb::runtime::graph_batch_bucket(3), 4);
  EXPECT_EQ(cb::runtime::graph_batch_bucket(8), 8);
  EXPECT_EQ(cb::runtime::graph_batch_bucket(9), 16);
  EXPECT_EQ(cb::runtime::graph_batch_bucket(100), 104);
}

class StaticDecodeParity : public ::testing::TestWithParam<std::string> {};

TEST_P(StaticDecodeParity, GreedyEqualsEager) {
  auto ref = fixture_reference(GetParam());
  auto m = cb::model::load_hf_model(model_fixture(GetParam()), {.dtype = at::kFloat});
  auto row1 = json_ids(ref["input_ids"][1]);
  row1.resize(7);
  std::vector<std::vector<std::int64_t>> prompts{json_ids(ref["input_ids"][0]), row1, {row1[0]}};
  auto eager = cb::runtime::generate(m.decoder, prompts, options(32, false));
  auto stat = cb::runtime::generate(m.decoder, prompts, options(32, true));
  for (std::size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(stat[i].tokens, eager[i].tokens) << i;
  EXPECT_EQ(stat[0].tokens, json_ids(ref["greedy_f32"]));
  EXPECT_EQ(stat[1].tokens, json_ids(ref["greedy_prompt_row1"]));
}

INSTANTIATE_TEST_SUITE_P(Families, StaticDecodeParity, ::testing::ValuesIn(model_fixture_names()),
                         [](const auto& info) { return info.param; });

TEST(StaticDecode, StoriesReferencesAndStreaming) {
  const std::string dir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K";
  auto m = cb::model::load_hf_model(dir + "/hf", {.dtype = at::kFloat});
  auto refs = cb::read_json_file(dir + "/greedy_references.json");
  std::vector<std::vector<std::int64_t>> prompts;
  for (auto& c : refs["cases"]) prompts.push_back(json_ids(c["prompt_ids"]));
  // 300 new tokens cross the 256-column key bucket.
  auto opt = options(300, true);
  std::vector<std::vector<std::int64_t>> streamed(prompts.size());
  opt.on_token = [&](std::size_t s, std::int64_t t) { streamed[s].push_back(t); };
  auto stat = cb::runtime::generate(m.decoder, prompts, opt);
  auto eager = cb::runtime::generate(m.decoder, prompts, options(300, false));
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto expected = json_ids(refs["cases"][i]["output_ids"]);
    EXPECT_EQ(std::vector<std::int64_t>(stat[i].tokens.begin(), stat[i].tokens.begin() + expected.size()), expected) << i;
    EXPECT_EQ(stat[i].tokens, eager[i].tokens) << i;
    EXPECT_EQ(streamed[i], stat[i].tokens) << i;
  }
}
