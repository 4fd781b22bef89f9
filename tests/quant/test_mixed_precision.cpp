// quant/mixed_precision + fidelity + sensitivity on the real stories260K model: rules by name and layer,
// composed into QuantizeOnLoad; fidelity measures checked against runtime::score (an independent path).
#include <gtest/gtest.h>

#include "curebench/loader/chain.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/fidelity.hpp"
#include "curebench/quant/mixed_precision.hpp"
#include "curebench/quant/quantize_model.hpp"
#include "curebench/quant/sensitivity.hpp"
#include "curebench/runtime/score.hpp"

namespace cb = curebench;
namespace q = curebench::quant;

namespace {
std::string stories(const std::string& leaf) { return std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/" + leaf; }
std::vector<std::vector<std::int64_t>> token_set() {
  return q::token_set_from_json(cb::read_json_file(stories("greedy_references.json")), "greedy_references.json");
}
cb::model::LoadedModel f32() {
  cb::model::LoadOptions o;
  o.dtype = at::kFloat;
  return cb::model::load_hf_model(stories("hf"), o);
}
}  // namespace

TEST(MixedPrecision, LayerIndexFromEitherSpelling) {
  EXPECT_EQ(q::layer_of("model.layers.12.mlp.down_proj.weight"), 12);
  EXPECT_EQ(q::layer_of("blk.3.attn_q.weight"), 3);
  EXPECT_FALSE(q::layer_of("lm_head.weight"));
  EXPECT_FALSE(q::layer_of("model.embed_tokens.weight"));
}

TEST(MixedPrecision, RulesByRoleLayerAndName) {
  q::MixedPrecisionRules r{.keep_lm_head = true, .keep_first = 1, .keep_last = 2, .keep_layers = {5}, .keep_names = {"mlp.down_proj"}};
  EXPECT_TRUE(r.keep("lm_head.weight", 10));
  EXPECT_TRUE(r.keep("output.weight", 10));
  EXPECT_TRUE(r.keep("model.layers.0.self_attn.q_proj.weight", 10));
  EXPECT_FALSE(r.keep("model.layers.1.self_attn.q_proj.weight", 10));
  EXPECT_TRUE(r.keep("model.layers.5.self_attn.q_proj.weight", 10));
  EXPECT_TRUE(r.keep("model.layers.8.self_attn.q_proj.weight", 10));
  EXPECT_TRUE(r.keep("blk.9.attn_q.weight", 10));
  EXPECT_FALSE(r.keep("blk.7.attn_q.weight", 10));
  EXPECT_TRUE(r.keep("model.layers.3.mlp.down_proj.weight", 10));
  EXPECT_FALSE(q::MixedPrecisionRules{.keep_lm_head = false}.keep("lm_head.weight", 10));
}

TEST(MixedPrecision, ComposedIntoQuantizeOnLoad) {
  using MP = q::MixedPrecision<q::NF4Config<64, true>>;
  using Strategy = cb::loader::QuantizeOnLoad<MP>;
  EXPECT_EQ(Strategy{}.name(), "QuantizeOnLoad<nf4-b64-dq+mixed>");
  Strategy s{.config = MP{.rules = {.keep_first = 1, .keep_last = 1}}};
  cb::loader::LoadRequest req;
  req.dtype = at::kFloat;
  req.workload = {.batch = 1, .context = 64};
  auto info = cb::loader::inspect_checkpoint(stories("hf"));
  auto mixed = s.load(info, req);
  const auto& L = mixed.decoder.weights().layers;
  EXPECT_TRUE(std::holds_alternative<q::Dense>(L[0].q) && std::holds_alternative<q::Dense>(L[0].down));
  EXPECT_TRUE(std::holds_alternative<q::Dense>(L[4].gate));
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(std::holds_alternative<q::NF4>(L[i].up)) << i;
  // Keeping the ends in f32 brings the model closer to its f32 self than NF4 everywhere.
  auto all = cb::loader::QuantizeOnLoad<q::NF4Config<64, true>>{}.load(info, req);
  auto ref = f32();
  auto seqs = token_set();
  auto fm = q::compare_models(ref.decoder, mixed.decoder, seqs), fa = q::compare_models(ref.decoder, all.decoder, seqs);
  EXPECT_LT(fm.kl_mean, fa.kl_mean);
  EXPECT_GT(fm.weight_bytes_quant, fa.weight_bytes_quant);
}

TEST(Fidelity, SelfComparisonIsExactAndPerplexityMatchesScore) {
  auto ref = f32();
  auto seqs = token_set();
  auto f = q::compare_models(ref.decoder, ref.decoder, seqs);
  EXPECT_EQ(f.sequences, 5);
  EXPECT_EQ(f.positions, 349);
  EXPECT_EQ(f.kl_mean, 0.0);
  EXPECT_EQ(f.kl_max, 0.0);
  EXPECT_EQ(f.top1_agreement, 1.0);
  EXPECT_EQ(f.ppl_delta, 0.0);
  // Perplexity from runtime::score (batched, padded, its own log-softmax): context = first token.
  std::vector<cb::runtime::ScoreRequest> reqs;
  for (auto& s : seqs) reqs.push_back({{s.front()}, std::vector<std::int64_t>(s.begin() + 1, s.end())});
  double nll = 0;
  std::int64_t n = 0;
  for (auto& r : cb::runtime::score(ref.decoder, reqs)) nll -= r.sum_logprob, n += r.num_tokens;
  EXPECT_EQ(n, 349);
  EXPECT_NEAR(f.ppl_ref, std::exp(nll / n), 1e-4 * f.ppl_ref);
}

TEST(Fidelity, KLIsPositiveAndOrderedByBits) {
  auto ref = f32();
  auto seqs = token_set();
  auto run = [&](const std::string& name) {
    cb::model::LoadOptions o;
    o.dtype = at::kFloat;
    o.transform = q::make_transform(q::named_quant(name), {}, 5);
    auto m = cb::model::load_hf_model(stories("hf"), o);
    return q::compare_models(ref.decoder, m.decoder, seqs);
  };
  auto i8 = run("int8"), nf4 = run("nf4");
  EXPECT_GT(i8.kl_mean, 0.0);
  EXPECT_LT(i8.kl_mean, nf4.kl_mean);
  EXPECT_GT(i8.top1_agreement, nf4.top1_agreement);
  EXPECT_GE(nf4.kl_max, nf4.kl_mean);
}

TEST(Sensitivity, OneLayerAtATimeRankedByKL) {
  auto ref = f32();
  auto s = q::sensitivity_scan(ref.decoder, q::named_quant("nf4"), token_set());
  ASSERT_EQ(s.size(), 5u);
  std::vector<bool> seen(5, false);
  for (std::size_t i = 0; i < s.size(); ++i) {
    seen[static_cast<std::size_t>(s[i].layer)] = true;
    EXPECT_GT(s[i].kl_mean, 0.0);
    if (i) EXPECT_GE(s[i - 1].kl_mean, s[i].kl_mean);
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 5);
}

TEST(NamedQuant, NamesAndFit) {
  EXPECT_THROW(q::named_quant("int3"), cb::Error);
  auto g32 = q::named_quant("int4-g32");
  EXPECT_TRUE(g32.fits(at::zeros({8, 64})));
  EXPECT_FALSE(g32.fits(at::zeros({8, 172})));
  EXPECT_FALSE(g32.bnb_layout);
  EXPECT_TRUE(q::named_quant("nf4").fits(at::zeros({8, 172})));
  EXPECT_DOUBLE_EQ(q::named_quant("nf4-dq").bits_per_weight, 4.0 + 8.0 / 64 + 32.0 / (64 * 256));
}
