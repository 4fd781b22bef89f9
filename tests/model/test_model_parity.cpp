// model/: the generic decoder against transformers 5.17 on tiny random checkpoints of every family
// (tests/data/model/*/reference.json): fp32 logits within 1e-4, bf16 within 2 % of the logit range,
// and identical 32-token greedy continuations.
#include "model/model_fixtures.hpp"
#include "curebench/runtime/generate.hpp"

namespace cb = curebench;

class ModelParity : public ::testing::TestWithParam<std::string> {};

static at::Tensor logits_for(const cb::model::Decoder& m, const std::vector<std::int64_t>& ids) {
  auto t = at::tensor(ids, at::kLong).view({1, -1});
  auto cache = m.make_cache(1, t.size(1));
  return m.forward(t, at::ones_like(t, at::kBool), cache, 0)[0];
}

TEST_P(ModelParity, Float32LogitsMatchTransformers) {
  auto ref = fixture_reference(GetParam());
  auto model = cb::model::load_hf_model(model_fixture(GetParam()), {.dtype = at::kFloat});
  auto expected = json_matrix(ref["logits_f32"]);
  auto got = logits_for(model.decoder, json_ids(ref["input_ids"][0]));
  ASSERT_EQ(got.sizes(), expected.sizes());
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4);
}

TEST_P(ModelParity, BFloat16LogitsWithinTwoPercentOfRange) {
  auto ref = fixture_reference(GetParam());
  auto model = cb::model::load_hf_model(model_fixture(GetParam()), {.dtype = at::kBFloat16});
  auto expected = json_matrix(ref["logits_f32"]);
  auto got = logits_for(model.decoder, json_ids(ref["input_ids"][0]));
  double range = (expected.max() - expected.min()).item<double>();
  EXPECT_LE((got - expected).abs().max().item<double>(), 0.02 * range);
}

TEST_P(ModelParity, GreedyContinuationMatchesTransformers) {
  auto ref = fixture_reference(GetParam());
  auto model = cb::model::load_hf_model(model_fixture(GetParam()), {.dtype = at::kFloat});
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = 32;
  opt.ignore_eos = true;
  auto row1 = json_ids(ref["input_ids"][1]);
  row1.resize(7);
  // Both prompts in one batch (different lengths, so row 1 is left-padded).
  auto gens = cb::runtime::generate(model.decoder, {json_ids(ref["input_ids"][0]), row1}, opt);
  EXPECT_EQ(gens[0].tokens, json_ids(ref["greedy_f32"]));
  EXPECT_EQ(gens[1].tokens, json_ids(ref["greedy_prompt_row1"]));
}

INSTANTIATE_TEST_SUITE_P(Families, ModelParity, ::testing::ValuesIn(model_fixture_names()),
                         [](const auto& info) { return info.param; });
