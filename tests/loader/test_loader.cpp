// loader/: strategy chain, budget planning, discovery, warm-up and injected faults. Every fault ends in
// a successful fallback or a clear error, with every attempt recorded and the memory given back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "curebench/io/safetensors_writer.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/discover.hpp"
#include "curebench/loader/load_for_quant.hpp"
#include "curebench/runtime/generate.hpp"
#include "loader/fault_fixtures.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;
using cb::loader::Chain;
using cb::loader::FullPrecision;
using cb::loader::LayerOffload;
using cb::loader::QuantizeOnLoad;
// Two full-precision strategies: the fallback mechanics without quantization in the way.
using FpChain = Chain<FullPrecision<>, FullPrecision<LayerOffload>>;

namespace {
using loader_faults::rewrite_tensor;
fs::path scratch_copy(const std::string& fixture, const std::string& tag) {
  return loader_faults::scratch_copy(model_fixture(fixture), tag);
}

// How many of the first n greedy tokens of `model` on stories260K's reference case 1 equal the f32 reference's.
int greedy_agreement_with_reference(const cb::model::Decoder& model, int n) {
  auto refs = cb::read_json_file(std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/greedy_references.json");
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = n;
  opt.ignore_eos = true;
  auto g = cb::runtime::generate(model, {json_ids(refs["cases"][1]["prompt_ids"])}, opt);
  auto expected = json_ids(refs["cases"][1]["output_ids"]);
  int agree = 0;
  for (int i = 0; i < n; ++i) agree += g[0].tokens[i] == expected[i];
  return agree;
}

cb::loader::LoadRequest cpu_request() {
  cb::loader::LoadRequest r;
  r.dtype = at::kFloat;
  r.workload = {.batch = 1, .context = 64};
  return r;
}

// Loads through FpChain expecting both strategies skipped before loading, each with `reason` in its words.
void expect_every_attempt_skipped(const cb::loader::CheckpointInfo& info, const cb::loader::LoadRequest& req,
                                  const std::string& reason) {
  try {
    FpChain{}.load(info, req);
    FAIL();
  } catch (const FpChain::ChainError& e) {
    ASSERT_EQ(e.attempts.size(), 2u);
    for (auto& a : e.attempts) {
      EXPECT_EQ(a.outcome, "skipped");
      EXPECT_NE(a.reason.find(reason), std::string::npos) << a.reason;
    }
  }
}
}  // namespace

TEST(LoaderChain, FirstStrategyLoadsAndPassesWarmup) {
  auto info = cb::loader::inspect_checkpoint(model_fixture("qwen2"));
  auto res = FpChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "FullPrecision");
  ASSERT_EQ(res.attempts.size(), 1u);
  EXPECT_EQ(res.attempts[0].outcome, "ok");
  EXPECT_GT(res.attempts[0].predicted.weight_bytes, 0);
  // The loaded model is the real one: the transformers greedy reference still holds.
  auto ref = fixture_reference("qwen2");
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = 32;
  opt.ignore_eos = true;
  EXPECT_EQ(cb::runtime::generate(res.model.decoder, {json_ids(ref["input_ids"][0])}, opt)[0].tokens, json_ids(ref["greedy_f32"]));
}

TEST(LoaderFaults, InjectedOomFallsBackToNextStrategy) {
  auto info = cb::loader::inspect_checkpoint(model_fixture("llama"));
  auto req = cpu_request();
  req.faults = {.oom_at_tensor = "model.layers.2.mlp.down_proj.weight", .only_strategy = "FullPrecision"};
  auto res = FpChain{}.load(info, req);
  ASSERT_EQ(res.attempts.size(), 2u);
  EXPECT_EQ(res.attempts[0].outcome, "failed");
  EXPECT_EQ(res.attempts[0].error_code, "out_of_memory");
  EXPECT_NE(res.attempts[0].reason.find("model.layers.2.mlp.down_proj.weight"), std::string::npos);
  EXPECT_TRUE(res.attempts[0].memory_reclaimed);
  EXPECT_EQ(res.attempts[1].outcome, "ok");
  EXPECT_EQ(res.strategy, "FullPrecision+Offload");
}

TEST(LoaderFaults, BudgetTooSmallSkipsWithReasonBeforeLoading) {
  auto info = cb::loader::inspect_checkpoint(model_fixture("llama"));
  auto req = cpu_request();
  req.budget.cpu_bytes = 64 * 1024;  // the fixture needs ~0.6 MB
  expect_every_attempt_skipped(info, req, "over the budget");
}

// Found by tests/fuzz/cli_adversarial/special_files.py: a config claiming a 540 GB model over a 1 TiB sparse
// shard was tried with no budget until libtorch's allocator failed. Without --cpu-budget the host budget is
// the installed RAM, so the plan is refused before a byte is allocated; an explicit budget still overrides.
TEST(LoaderFaults, PlanBeyondInstalledRamIsSkippedWithoutABudget) {
  auto info = cb::loader::inspect_checkpoint(model_fixture("llama"));
  info.spec.vocab_size = std::int64_t{1} << 22;
  info.spec.hidden_size = info.spec.intermediate_size = std::int64_t{1} << 15;
  info.spec.num_heads = info.spec.num_kv_heads = 256;
  info.spec.head_dim = 128;
  auto req = cpu_request();
  ASSERT_GT(cb::physical_memory_bytes(), 0);
  expect_every_attempt_skipped(info, req, "of RAM installed (no --cpu-budget given)");
  req.budget.cpu_bytes = std::int64_t{1} << 50;
  EXPECT_TRUE(FullPrecision<>{}.check(info, req).ok);
}

TEST(LoaderFaults, CorruptShardIsAClearErrorWithEveryAttemptRecorded) {
  auto dir = scratch_copy("llama3_rope_tied_sharded", "corrupt");
  auto info = cb::loader::inspect_checkpoint(dir);  // headers are fine at inspection time...
  {
    // ...then the second shard's data is truncated, as an interrupted download leaves it.
    auto shard = dir / "model-00002-of-00002.safetensors";
    fs::resize_file(shard, fs::file_size(shard) / 2);
  }
  try {
    FpChain{}.load(info, cpu_request());
    FAIL();
  } catch (const FpChain::ChainError& e) {
    ASSERT_EQ(e.attempts.size(), 2u);
    for (auto& a : e.attempts) {
      EXPECT_EQ(a.outcome, "failed");
      EXPECT_EQ(a.error_code, "format");
      EXPECT_NE(a.reason.find("model-00002-of-00002.safetensors"), std::string::npos) << a.reason;
    }
  }
}

TEST(LoaderFaults, NanWeightsAreCaughtByWarmup) {
  auto dir = scratch_copy("llama", "nan");
  rewrite_tensor(dir / "model.safetensors", "model.layers.1.mlp.up_proj.weight", [](std::vector<std::byte>& d, cb::DType&) {
    float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(d.data() + 40, &nan, sizeof nan);
  });
  auto info = cb::loader::inspect_checkpoint(dir);
  try {
    FpChain{}.load(info, cpu_request());
    FAIL();
  } catch (const FpChain::ChainError& e) {
    ASSERT_FALSE(e.attempts.empty());
    EXPECT_EQ(e.attempts[0].error_code, "numeric");
    EXPECT_NE(e.attempts[0].reason.find("non-finite"), std::string::npos);
  }
}

TEST(LoaderFaults, UnsupportedDtypeNamesTheTensor) {
  auto dir = scratch_copy("llama", "dtype");
  rewrite_tensor(dir / "model.safetensors", "model.norm.weight", [](std::vector<std::byte>& d, cb::DType& t) {
    t = cb::DType::F8_E4M3;  // 64 f32 values -> 256 fp8 values: shape changes with dtype, so keep bytes = numel
    d.resize(64);
  });
  auto info = cb::loader::inspect_checkpoint(dir);
  try {
    FpChain{}.load(info, cpu_request());
    FAIL();
  } catch (const FpChain::ChainError& e) {
    EXPECT_EQ(e.attempts[0].error_code, "unsupported");
    EXPECT_NE(e.attempts[0].reason.find("model.norm.weight"), std::string::npos);
  }
}

TEST(LoaderFaults, UnreadableWeightsFile) {
  auto dir = scratch_copy("llama", "unreadable");
  fs::remove(dir / "model.safetensors");
  fs::create_directory(dir / "model.safetensors");  // a folder where the file should be (root reads any file)
  EXPECT_THROW(cb::loader::inspect_checkpoint(dir), cb::Error);
}

TEST(LoaderFaults, FailedAttemptsGiveHostMemoryBack) {
  // A checkpoint big enough (~32 MB) that a leak of its tensors would show in the resident set.
  auto dir = fs::temp_directory_path() / ("curebench_loader_big." + std::to_string(::getpid()));
  loader_faults::write_random_llama(dir, {});
  auto info = cb::loader::inspect_checkpoint(dir);
  auto req = cpu_request();
  req.faults.oom_at_tensor = "model.layers.2.mlp.down_proj.weight";  // fails late in both strategies
  // Warm the allocator once, then measure: repeated failing loads must not accumulate memory.
  EXPECT_THROW(FpChain{}.load(info, req), cb::Error);
  auto before = cb::host_memory().rss_bytes;
  for (int i = 0; i < 3; ++i) EXPECT_THROW(FpChain{}.load(info, req), cb::Error);
  auto after = cb::host_memory().rss_bytes;
  EXPECT_LT(after - before, 8 << 20) << "rss grew by " << (after - before) << " bytes over 3 failed loads of ~32 MB";
  fs::remove_all(dir);
}

TEST(LoaderChain, BudgetThatFitsOnlyFourBitPicksQuantizeOnLoad) {
  auto info = cb::loader::inspect_checkpoint(std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf");
  auto req = cpu_request();
  // stories260K: f32 needs 1.3 MiB (1.04 MB of weights); NF4+DQ 1.0 MiB, counting the f32 source and the
  // quantizer's transient for the largest linear (quant::quantize_transient_bytes). 1200 KiB fits only 4-bit.
  req.budget.cpu_bytes = 1200 * 1024;
  using Chain2 = Chain<FullPrecision<>, QuantizeOnLoad<cb::quant::NF4Config<64, true>>>;
  auto res = Chain2{}.load(info, req);
  ASSERT_EQ(res.attempts.size(), 2u);
  EXPECT_EQ(res.attempts[0].outcome, "skipped");
  EXPECT_EQ(res.strategy, "QuantizeOnLoad<nf4-b64-dq>");
  // The quantized model is real: it still tells the story's first words like the fp32 reference.
  EXPECT_GE(greedy_agreement_with_reference(res.model.decoder, 8), 4);
  EXPECT_LT(res.model.decoder.weights().bytes(), 700 * 1024);
}

// One quant vocabulary (issue 20 point 2): a --quant name loads the config `quantize --quant` writes under it
// (both go through quant::visit_named_config); before, eval's nf4 was NF4 + double quant and quantize's was not.
TEST(LoadForQuant, EveryNameLoadsTheConfigOfTheSameNameAndOthersAreRefused) {
  auto info = cb::loader::inspect_checkpoint(std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf");
  const std::map<std::string, std::string> strategy{{"nf4", "QuantizeOnLoad<nf4-b64>"}, {"nf4-dq", "QuantizeOnLoad<nf4-b64-dq>"},
                                                    {"fp4", "QuantizeOnLoad<fp4-b64>"}, {"int8", "QuantizeOnLoad<int8>"},
                                                    {"fp8", "QuantizeOnLoad<fp8>"}};
  for (const auto& [name, want] : strategy) {
    auto res = cb::loader::load_for_quant(info, cpu_request(), name, "test");
    EXPECT_EQ(res.strategy, want) << name;
    EXPECT_EQ(res.attempts.size(), 1u) << name;
  }
  // The listed names (quant_names.hpp, what config readers check) and the names the visitor knows are the same.
  for (const auto& n : cb::quant::named_quant_names())
    EXPECT_TRUE(cb::quant::visit_named_config(n, [](auto, std::int64_t, bool) {})) << n;
  for (const auto* n : {"nf4-b64", "int4", "NF4", "", "auto"})
    EXPECT_FALSE(cb::quant::visit_named_config(n, [](auto, std::int64_t, bool) {})) << n;
  EXPECT_EQ(cb::loader::load_for_quant(info, cpu_request(), "none", "test").strategy, "FullPrecision");
  EXPECT_EQ(cb::loader::load_for_quant(info, cpu_request(), "auto", "test").strategy, "QuantizeOnLoad<nf4-b64-dq>");
  // int4 needs every linear's in_features to be a multiple of its group: stories260K's down_proj (172) is not.
  try {
    cb::loader::load_for_quant(info, cpu_request(), "int4-g32", "test");
    ADD_FAILURE() << "int4-g32 loaded";
  } catch (const cb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("group of 32"), std::string::npos) << e.what();
  }
  try {
    cb::loader::load_for_quant(info, cpu_request(), "nf4-b64", "model m");
    ADD_FAILURE() << "an unknown name loaded";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::config);
    EXPECT_EQ(e.field(), "quant");
    EXPECT_NE(std::string(e.what()).find("nf4-dq, fp4, int8, fp8, int4-g32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("found \"nf4-b64\""), std::string::npos) << e.what();
  }
  try {  // a config's text reaches the terminal as JSON: an escape sequence stays inert
    cb::loader::load_for_quant(info, cpu_request(), "\x1b[2Jnf4", "model m");
    ADD_FAILURE() << "an unknown name loaded";
  } catch (const cb::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("\\u001b[2Jnf4"), std::string::npos) << e.what();
  }
}

// FP8 W8A8 on load (quant/fp8.hpp): q|k|v and gate|up stack into one FP8 weight each, and the model still tells
// stories260K's reference story (on the CPU the W8A8 product is emulated with the GPU's roundings).
TEST(LoadForQuant, Fp8StacksProjectionsAndKeepsTheGreedyStory) {
  auto info = cb::loader::inspect_checkpoint(std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf");
  auto res = cb::loader::load_for_quant(info, cpu_request(), "fp8", "test");
  EXPECT_EQ(res.strategy, "QuantizeOnLoad<fp8>");
  EXPECT_TRUE(res.model.decoder.fused_projections());
  const auto& l = res.model.decoder.weights().layers[0];
  ASSERT_TRUE(std::holds_alternative<cb::quant::FP8>(l.k));
  EXPECT_EQ(std::get<cb::quant::FP8>(l.k).q.data_ptr<std::uint8_t>(),
            std::get<cb::quant::FP8>(l.q).q.data_ptr<std::uint8_t>() + cb::quant::out_features(l.q) * cb::quant::in_features(l.q));
  EXPECT_GE(greedy_agreement_with_reference(res.model.decoder, 16), 12) << "fp8 should keep most of the f32 model's greedy tokens";
}

// The budget planner's bits per weight (loader/budget.hpp, torch-free) are the configs' own, name for name.
TEST(LoadForQuant, ThePlannersBitsPerWeightAreTheNamedConfigs) {
  using F = cb::loader::WeightFormat;
  for (F f : {F::int8, F::fp8, F::nf4, F::nf4_double_quant, F::fp4, F::int4_g32, F::int4_g64, F::int4_g128}) {
    const auto name = cb::loader::to_string(f);
    EXPECT_DOUBLE_EQ(cb::loader::bits_per_weight(f), cb::quant::named_quant(name).bits_per_weight) << name;
  }
}

TEST(LoaderChain, DefaultChainIsTheSeedOrder) {
  EXPECT_EQ(cb::loader::DefaultChain::names(),
            (std::vector<std::string>{"Prequantized", "QuantizeOnLoad<nf4-b64-dq>", "QuantizeOnLoad<int8>", "FullPrecision", "FullPrecision+Offload"}));
}

TEST(Discovery, FindsCheckpointsAndExplainsSkips) {
  auto root = fs::temp_directory_path() / ("curebench_discover." + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "models" / "a");
  fs::copy(model_fixture("qwen2"), root / "models" / "a" / "qwen2", fs::copy_options::recursive);
  fs::create_directories(root / "models" / "weights_only");
  fs::copy(model_fixture("llama") + "/model.safetensors", root / "models" / "weights_only" / "model.safetensors");
  fs::create_directories(root / "models" / "config_only");
  fs::copy(model_fixture("llama") + "/config.json", root / "models" / "config_only" / "config.json");
  fs::create_directories(root / "models" / "bad_arch");
  fs::copy(model_fixture("llama"), root / "models" / "bad_arch", fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::ofstream(root / "models" / "bad_arch" / "config.json") << R"({"architectures":["BertModel"]})";
  auto d = cb::loader::discover(root);
  ASSERT_EQ(d.found.size(), 1u);
  EXPECT_EQ(d.found[0].spec.architecture, "Qwen2ForCausalLM");
  auto reason_for = [&](const std::string& leaf) {
    for (auto& s : d.skipped)
      if (s.path.filename() == leaf) return s.reason;
    return std::string("<not skipped>");
  };
  EXPECT_NE(reason_for("weights_only").find("no config.json"), std::string::npos);
  EXPECT_NE(reason_for("config_only").find("no weights"), std::string::npos);
  EXPECT_NE(reason_for("bad_arch").find("BertModel"), std::string::npos);
  EXPECT_NE(reason_for("qwen2").find("no tokenizer"), std::string::npos);  // loadable but flagged
  fs::remove_all(root);
}

TEST(BudgetPlanner, PredictionsForKnownShapes) {
  auto s = cb::model::spec_from_hf_config(nlohmann::json::parse(R"({"architectures":["LlamaForCausalLM"],"hidden_size":4096,
    "intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256})"), "c");
  namespace ld = cb::loader;
  auto bf16 = ld::plan_memory(s, ld::WeightFormat::bf16, {.batch = 1, .context = 8192});
  EXPECT_NEAR(bf16.weight_bytes / 1e9, 16.06, 0.01);     // 8.03 B parameters x 2 bytes
  EXPECT_EQ(bf16.kv_cache_bytes, std::int64_t{1} << 30);  // 128 KiB per token x 8192 (llama.cpp: "KV self size = 1024 MiB")
  auto nf4 = ld::plan_memory(s, ld::WeightFormat::nf4_double_quant, {.batch = 1, .context = 8192});
  EXPECT_NEAR(nf4.weight_bytes / 1e9, 5.70, 0.02);        // unsloth bnb-4bit: 5.70 GB (embeddings + lm_head in bf16)
}

// A tiny Llama by hand: hidden 4, one head of 4, one kv head, intermediate 8, vocab 16, 4 layers, f32, context 8.
TEST(BudgetPlanner, SplitCostsByHand) {
  auto s = cb::model::spec_from_hf_config(nlohmann::json::parse(R"({"architectures":["LlamaForCausalLM"],"hidden_size":4,
    "intermediate_size":8,"num_hidden_layers":4,"num_attention_heads":1,"num_key_value_heads":1,"vocab_size":16})"), "c");
  auto c = cb::loader::split_costs(s, 32, 4, {.batch = 1, .context = 8});
  EXPECT_EQ(c.embed, 16 * 4 * 4);
  // linears 4x(4+4+4) + 4x4 + 3x4x8 = 160 weights x 4 bytes, norms 4 x 4 x 4, k and v: 2 x 4 x 8 tokens x 2 bytes
  EXPECT_EQ(c.layer, 160 * 4 + 64 + 128);
  EXPECT_EQ(c.head, 4 * 4 + 16 * 4 * 4);
  EXPECT_GT(c.reserve, 0);
}

// device_map="auto"'s sequential fill on given free memory (costs: embeddings 256, layer 832, head 272, 100 reserved
// per device used).
TEST(BudgetPlanner, LayerSplitFillsDevicesInOrder) {
  namespace ld = cb::loader;
  const ld::SplitCosts c{.embed = 256, .layer = 832, .head = 272, .reserve = 100};
  auto one = ld::split_layers(c, 4, {10000, 10000});  // fits on the first: the second stays unused
  EXPECT_EQ(one.layer_device, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(one.used_bytes, (std::vector<std::int64_t>{100 + 256 + 4 * 832 + 272, 0}));
  EXPECT_EQ(one.devices_used(), 1);

  // 356 + 832 = 1188; + 832 > 2000: next device 100 + 2 x 832 = 1764; then 100 + 832 + 272 = 1204 on the third.
  auto three = ld::split_layers(c, 4, {2000, 2000, 2000});
  EXPECT_EQ(three.embed_device, 0);
  EXPECT_EQ(three.layer_device, (std::vector<int>{0, 1, 1, 2}));
  EXPECT_EQ(three.head_device, 2);
  EXPECT_EQ(three.used_bytes, (std::vector<std::int64_t>{1188, 1764, 1204}));
  EXPECT_EQ(three.devices_used(), 3);

  auto skip = ld::split_layers(c, 4, {300, 5000});  // 100 + 256 > 300: even the embeddings go to the second
  EXPECT_EQ(skip.embed_device, 1);
  EXPECT_EQ(skip.layer_device, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(skip.used_bytes, (std::vector<std::int64_t>{0, 3956}));

  try {
    ld::split_layers(c, 4, {1000, 1000});  // layer 0 -> device 1 (932), layer 1 fits nowhere
    ADD_FAILURE() << "no error";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::out_of_memory);
    EXPECT_EQ(e.field(), "free_bytes");
    EXPECT_NE(e.message().find("layer 1 does not fit"), std::string::npos) << e.message();
  }
}
