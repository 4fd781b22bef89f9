// loader/quantize_on_load: the 16-bit source of each linear is released as soon as it is quantized, so a
// load never holds more than one dense linear (no whole-model 16-bit residency). A quantizer that keeps a
// weak reference to each source's storage sees, at every call, whether an earlier source is still alive.
#include <gtest/gtest.h>

#include <memory>

#include "curebench/loader/chain.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/config.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;

namespace {
struct SourceLog {
  std::vector<c10::weak_intrusive_ptr<c10::StorageImpl>> sources;
  std::vector<std::string> alive_at_next_call;  // "call k: source j alive"
};

// NF4 (block 64, double quant) that records each dense source it is handed.
struct RecordingNF4 {
  std::shared_ptr<SourceLog> log = std::make_shared<SourceLog>();
  static std::string name() { return "recording-nf4"; }
  static constexpr double bits_per_weight() { return cb::quant::NF4Config<64, true>::bits_per_weight(); }
  cb::quant::Weight quantize(const at::Tensor& w) const {
    for (std::size_t j = 0; j < log->sources.size(); ++j)
      if (!log->sources[j].expired())
        log->alive_at_next_call.push_back("call " + std::to_string(log->sources.size()) + ": source " + std::to_string(j) + " alive");
    log->sources.push_back(w.storage().getWeakStorageImpl());
    return cb::quant::NF4Config<64, true>::quantize(w);
  }
};
}  // namespace

TEST(QuantizeOnLoad, ReleasesEachDenseSourceOnceQuantized) {
  for (const std::string fixture : {"llama", "qwen2"}) {
    auto info = cb::loader::inspect_checkpoint(model_fixture(fixture));
    cb::loader::LoadRequest req;
    req.workload = {.batch = 1, .context = 32};
    for (auto dtype : {at::kFloat, at::kBFloat16}) {  // f32 source: a clone of the mapped bytes; bf16: a converted copy
      req.dtype = dtype;
      RecordingNF4 rec;
      cb::loader::QuantizeOnLoad<RecordingNF4> strategy{rec};
      auto m = strategy.load(info, req);
      const auto& s = info.spec;
      EXPECT_EQ(static_cast<std::int64_t>(rec.log->sources.size()), 7 * s.num_layers) << fixture;  // lm_head stays 16-bit
      EXPECT_TRUE(rec.log->alive_at_next_call.empty()) << fixture << ": " << rec.log->alive_at_next_call.front();
      for (std::size_t j = 0; j < rec.log->sources.size(); ++j)
        EXPECT_TRUE(rec.log->sources[j].expired()) << fixture << ": source " << j << " still held by the loaded model";
      EXPECT_TRUE(std::holds_alternative<cb::quant::NF4>(m.decoder.weights().layers[0].down));
      cb::loader::warmup_check(m);
    }
  }
}

// The classifier is quantized only when the request asks (bitsandbytes keeps it 16-bit): untied, its own
// weight; tied, a quantized copy of the embedding, which itself stays dense for the lookup. The planner agrees.
TEST(QuantizeOnLoad, ClassifierStaysSixteenBitUnlessAsked) {
  for (const std::string fixture : {"llama", "qwen2"}) {
    auto info = cb::loader::inspect_checkpoint(model_fixture(fixture));
    const auto& s = info.spec;
    cb::loader::LoadRequest req;
    req.workload = {.batch = 1, .context = 32};
    req.dtype = at::kFloat;
    cb::loader::QuantizeOnLoad<cb::quant::NF4Config<64, true>> strategy;
    auto plain = strategy.load(info, req);
    const auto& pw = plain.decoder.weights();
    ASSERT_TRUE(std::holds_alternative<cb::quant::Dense>(pw.lm_head)) << fixture;
    EXPECT_EQ(std::get<cb::quant::Dense>(pw.lm_head).w.is_same(pw.embed), s.tie_word_embeddings) << fixture;

    req.quantize_lm_head = true;
    auto quant = strategy.load(info, req);
    const auto& qw = quant.decoder.weights();
    ASSERT_TRUE(std::holds_alternative<cb::quant::NF4>(qw.lm_head)) << fixture;
    EXPECT_TRUE(at::equal(qw.embed, pw.embed)) << fixture;  // the lookup table is untouched
    const auto head_q = cb::quant::weight_bytes(qw.lm_head);
    const auto head_dense = s.tie_word_embeddings ? 0 : cb::quant::weight_bytes(pw.lm_head);
    EXPECT_EQ(qw.bytes(), pw.bytes() - head_dense + head_q) << fixture;
    auto ids = at::tensor(std::vector<std::int64_t>{1, 5, 9, 2}, at::kLong).view({1, 4});
    auto real = at::ones({1, 4}, at::kBool);
    auto c1 = plain.decoder.make_cache(1, 4), c2 = quant.decoder.make_cache(1, 4);
    EXPECT_FALSE(at::equal(plain.decoder.forward(ids, real, c1), quant.decoder.forward(ids, real, c2))) << fixture;
    // The plan moves the same way: an untied head shrinks to 4 bits, a tied one adds a 4-bit copy.
    req.quantize_lm_head = false;
    const auto planned_plain = strategy.check(info, req).plan.weight_bytes;
    req.quantize_lm_head = true;
    const auto planned_quant = strategy.check(info, req).plan.weight_bytes;
    if (s.tie_word_embeddings) EXPECT_GT(planned_quant, planned_plain) << fixture;
    else EXPECT_LT(planned_quant, planned_plain) << fixture;
  }
}
