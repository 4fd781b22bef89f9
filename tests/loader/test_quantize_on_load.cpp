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
      EXPECT_EQ(static_cast<std::int64_t>(rec.log->sources.size()), 7 * s.num_layers + (s.tie_word_embeddings ? 0 : 1)) << fixture;
      EXPECT_TRUE(rec.log->alive_at_next_call.empty()) << fixture << ": " << rec.log->alive_at_next_call.front();
      for (std::size_t j = 0; j < rec.log->sources.size(); ++j)
        EXPECT_TRUE(rec.log->sources[j].expired()) << fixture << ": source " << j << " still held by the loaded model";
      EXPECT_TRUE(std::holds_alternative<cb::quant::NF4>(m.decoder.weights().layers[0].down));
      cb::loader::warmup_check(m);
    }
  }
}
