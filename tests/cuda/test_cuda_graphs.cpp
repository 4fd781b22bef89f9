// CUDA graphs for decode (runtime/decode_graph.hpp): greedy continuations with graphs equal the eager
// path's on every transformers fixture (fp32 and bf16) and equal the llama2.c references on stories260K;
// streaming still reports every token; sampling with a seed is unchanged.
#include "model/model_fixtures.hpp"
#include "curebench/runtime/generate.hpp"

namespace cb = curebench;

namespace {
cb::model::LoadOptions cuda_opts(at::ScalarType dtype) {
  cb::model::LoadOptions o;
  o.dtype = dtype;
  o.device = at::Device(at::kCUDA);
  return o;
}
cb::runtime::GenerateOptions options(std::int64_t n, bool graphs) {
  cb::runtime::GenerateOptions o;
  o.max_new_tokens = n;
  o.ignore_eos = true;
  o.cuda_graphs = graphs;
  return o;
}
}  // namespace

class CudaGraphParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  }
};

TEST_P(CudaGraphParity, GreedyWithGraphsEqualsEager) {
  auto ref = fixture_reference(GetParam());
  auto row1 = json_ids(ref["input_ids"][1]);
  row1.resize(7);
  std::vector<std::vector<std::int64_t>> prompts{json_ids(ref["input_ids"][0]), row1, {row1[0]}};
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    auto m = cb::model::load_hf_model(model_fixture(GetParam()), cuda_opts(dtype));
    auto eager = cb::runtime::generate(m.decoder, prompts, options(32, false));
    auto graphed = cb::runtime::generate(m.decoder, prompts, options(32, true));
    for (std::size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(graphed[i].tokens, eager[i].tokens) << dtype << " row " << i;
    if (dtype == at::kFloat) {
      EXPECT_EQ(graphed[0].tokens, json_ids(ref["greedy_f32"]));
      EXPECT_EQ(graphed[1].tokens, json_ids(ref["greedy_prompt_row1"]));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, CudaGraphParity, ::testing::ValuesIn(model_fixture_names()),
                         [](const auto& info) { return info.param; });

TEST(CudaGraphs, StoriesReferencesStreamingAndSampling) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  const std::string dir = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K";
  auto m = cb::model::load_hf_model(dir + "/hf", cuda_opts(at::kFloat));
  auto refs = cb::read_json_file(dir + "/greedy_references.json");
  std::vector<std::vector<std::int64_t>> prompts;
  for (auto& c : refs["cases"]) prompts.push_back(json_ids(c["prompt_ids"]));
  auto opt = options(300, true);  // crosses the 256-column key bucket: a second graph
  std::vector<std::vector<std::int64_t>> streamed(prompts.size());
  opt.on_token = [&](std::size_t s, std::int64_t t) { streamed[s].push_back(t); };
  auto graphed = cb::runtime::generate(m.decoder, prompts, opt);
  auto eager = cb::runtime::generate(m.decoder, prompts, options(300, false));
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto expected = json_ids(refs["cases"][i]["output_ids"]);
    ASSERT_GE(graphed[i].tokens.size(), expected.size());
    EXPECT_EQ(std::vector<std::int64_t>(graphed[i].tokens.begin(), graphed[i].tokens.begin() + expected.size()), expected) << i;
    EXPECT_EQ(graphed[i].tokens, eager[i].tokens) << i;
    EXPECT_EQ(streamed[i], graphed[i].tokens) << i;
  }
  auto sampled = options(48, true);
  sampled.sampling.greedy = false;
  sampled.sampling.temperature = 0.8;
  sampled.sampling.seed = 7;
  auto s_eager = sampled;
  s_eager.cuda_graphs = false;
  auto a = cb::runtime::generate(m.decoder, prompts, sampled), b = cb::runtime::generate(m.decoder, prompts, s_eager);
  for (std::size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens) << i;
}
