// CUDA (label cuda): the loader's faults on the GPU, as tests/loader/test_loader.cpp does them on the CPU,
// on real fixture checkpoints: an out-of-memory at a chosen tensor (the allocator hook
// FaultInjection::oom_at_tensor, the budget hook of GuardedSource, and the caching allocator's own OOM under
// a memory fraction), a corrupt shard, NaN weights, an unsupported dtype, a missing tokenizer and an
// unreadable weights file. Each ends in a fallback or a typed error with every attempt recorded; and GPU
// memory comes back: the caching allocator's allocated bytes after the chain returns (model destroyed) equal
// those before it, reserved bytes after empty_cache are back near where they were, and every attempt that
// ran carries its GPU telemetry. Other tests in the process may hold GPU memory: everything is a delta
// from a baseline taken after a warm-up load.
#include <gtest/gtest.h>

#include <c10/cuda/CUDACachingAllocator.h>

#include <filesystem>
#include <unistd.h>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/loader/chain.hpp"
#include "curebench/loader/discover.hpp"
#include "curebench/loader/full_precision.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/config.hpp"
#include "curebench/runtime/generate.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"
#include "loader/fault_fixtures.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;
using cb::loader::Attempt;
using cb::loader::Chain;
using cb::loader::FullPrecision;
using cb::loader::LayerOffload;
using cb::loader::QuantizeOnLoad;
using Nf4 = QuantizeOnLoad<cb::quant::NF4Config<64, true>>;
using FpChain = Chain<FullPrecision<>, FullPrecision<LayerOffload>>;
using Nf4ThenFp = Chain<Nf4, FullPrecision<>>;

namespace {
constexpr std::int64_t kMiB = 1 << 20;
// Reserved memory after empty_cache may keep one more segment than before (the large pool's 20 MiB unit).
constexpr std::int64_t kReservedSlack = 20 * kMiB;

const std::string kStories = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf";

cb::loader::LoadRequest gpu_request(at::ScalarType dtype) {
  cb::loader::LoadRequest r;
  r.device = at::Device(at::kCUDA);
  r.dtype = dtype;
  r.workload = {.batch = 1, .context = 64};
  return r;
}

fs::path scratch(const std::string& src, const std::string& tag) { return loader_faults::scratch_copy(src, "cuda_" + tag); }

// Loads nothing else: an exception from Chain::load that is not its ChainError fails the test.
template <class C>
std::vector<Attempt> attempts_of_failed_load(const cb::loader::CheckpointInfo& info, const cb::loader::LoadRequest& req) {
  try {
    C{}.load(info, req);
  } catch (const typename C::ChainError& e) {
    return e.attempts;
  }
  ADD_FAILURE() << "expected every strategy to fail on " << info.path;
  return {};
}

// Sets the caching allocator's memory fraction for one scope (restored to the whole device after).
struct MemoryFractionScope {
  explicit MemoryFractionScope(double f) { c10::cuda::CUDACachingAllocator::setMemoryFraction(f, 0); }
  ~MemoryFractionScope() { c10::cuda::CUDACachingAllocator::setMemoryFraction(1.0, 0); }
};
}  // namespace

class CudaLoaderFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
    warm_up_once();
    settle();
    base_ = cb::gpu_memory();
    ASSERT_TRUE(base_.available);
  }

  // One load of each strategy and dtype used here, with its warm-up forward, before any baseline: cuBLAS /
  // cuBLASLt workspaces and other library state made on first use stay allocated for the life of the
  // process; they are not what a failed attempt leaks.
  static void warm_up_once() {
    static bool done = false;
    if (done) return;
    done = true;
    auto info = cb::loader::inspect_checkpoint(model_fixture("llama"));
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      for (const auto& only : {"FullPrecision", "QuantizeOnLoad<nf4-b64-dq>"}) {
        auto res = Chain<Nf4, FullPrecision<>>{}.load(info, gpu_request(dtype), {only});
        cb::runtime::GenerateOptions opt;
        opt.max_new_tokens = 4;
        opt.ignore_eos = true;
        cb::runtime::generate(res.model.decoder, {{1, 2, 3}}, opt);
      }
    }
  }

  static void settle() {
    cb::device_synchronize(at::Device(at::kCUDA));
    cb::empty_gpu_cache();
  }

  // After the chain returned and its model (if any) is destroyed: nothing of it stays allocated, and
  // emptying the cache gives the device back what the attempts reserved.
  void expect_gpu_memory_back(const std::string& what) const {
    cb::device_synchronize(at::Device(at::kCUDA));
    auto after = cb::gpu_memory();
    EXPECT_EQ(after.allocated_bytes, base_.allocated_bytes)
        << what << ": " << (after.allocated_bytes - base_.allocated_bytes) << " bytes still allocated after the chain returned";
    cb::empty_gpu_cache();
    auto reclaimed = cb::gpu_memory();
    EXPECT_LE(reclaimed.reserved_bytes, base_.reserved_bytes + kReservedSlack)
        << what << ": reserved " << reclaimed.reserved_bytes << " after empty_cache, " << base_.reserved_bytes << " before";
  }

  // Every attempt's GPU fields are filled; attempts that ran reset the peak at their start (so it is at
  // least what was allocated then) and failed ones were reclaimed to the baseline before the next.
  void expect_gpu_telemetry(const std::vector<Attempt>& attempts) const {
    ASSERT_FALSE(attempts.empty());
    for (const auto& a : attempts) {
      SCOPED_TRACE(a.strategy + " " + a.outcome + " " + a.reason);
      EXPECT_GT(a.gpu_free_before_bytes, 0);
      EXPECT_GT(a.gpu_free_after_bytes, 0);
      EXPECT_LE(a.gpu_free_before_bytes, base_.device_total_bytes);
      EXPECT_GE(a.finished_ms, a.started_ms);
      if (a.outcome == "skipped") continue;
      EXPECT_GE(a.gpu_allocated_peak_bytes, base_.allocated_bytes);
      EXPECT_GT(a.gpu_allocated_peak_bytes, 0);
      EXPECT_GE(a.gpu_reserved_peak_bytes, a.gpu_allocated_peak_bytes);
      EXPECT_GT(a.peak_rss_bytes, 0);
      if (a.outcome == "failed") {
        EXPECT_FALSE(a.error_code.empty());
        EXPECT_TRUE(a.memory_reclaimed);
        EXPECT_EQ(a.gpu_allocated_after_bytes, base_.allocated_bytes);
      }
    }
  }

  std::int64_t peak_growth(const Attempt& a) const { return a.gpu_allocated_peak_bytes - base_.allocated_bytes; }

  cb::GpuMemory base_;
};

TEST_F(CudaLoaderFaults, InjectedOomAtTensorFallsBackToFullPrecision) {
  auto info = cb::loader::inspect_checkpoint(model_fixture("llama"));
  auto req = gpu_request(at::kFloat);
  req.faults = {.oom_at_tensor = "model.layers.2.mlp.down_proj.weight", .only_strategy = "QuantizeOnLoad<nf4-b64-dq>"};
  {
    auto res = Nf4ThenFp{}.load(info, req);
    ASSERT_EQ(res.attempts.size(), 2u);
    EXPECT_EQ(res.attempts[0].outcome, "failed");
    EXPECT_EQ(res.attempts[0].error_code, "out_of_memory");
    EXPECT_NE(res.attempts[0].reason.find("model.layers.2.mlp.down_proj.weight"), std::string::npos) << res.attempts[0].reason;
    EXPECT_GT(peak_growth(res.attempts[0]), 0) << "layers 0-1 were quantized on the GPU before the fault";
    EXPECT_EQ(res.attempts[1].outcome, "ok");
    EXPECT_EQ(res.strategy, "FullPrecision");
    EXPECT_TRUE(res.model.decoder.device().is_cuda());
    expect_gpu_telemetry(res.attempts);
    // The fallback is the real model: transformers' float32 greedy continuation, on the GPU.
    auto ref = fixture_reference("llama");
    cb::runtime::GenerateOptions opt;
    opt.max_new_tokens = 32;
    opt.ignore_eos = true;
    EXPECT_EQ(cb::runtime::generate(res.model.decoder, {json_ids(ref["input_ids"][0])}, opt)[0].tokens, json_ids(ref["greedy_f32"]));
  }
  expect_gpu_memory_back("injected OOM");
}

TEST_F(CudaLoaderFaults, BudgetHookOomInOffloadFallsBackToFourBitUnderTheBudget) {
  // The seed's T4 budget in miniature, on a random Llama (25.7 M parameters, 51 MB in bf16): the GPU budget
  // is 1 byte under what bf16 needs, so FullPrecision is skipped; FullPrecision+Offload plans host-resident
  // layers and then crosses a 64 KiB host budget at its first tensor (GuardedSource's budget hook); 4-bit
  // loads, with its measured GPU peak under the budget and under the planner's prediction, which counts the
  // quantizer's one-slab transient (the whole-tensor quantizer's transient alone was over this budget).
  auto dir = fs::temp_directory_path() / ("curebench_cuda_loader_budget." + std::to_string(::getpid()));
  loader_faults::write_random_llama(dir, {.hidden = 512, .intermediate = 2048, .layers = 6, .heads = 8, .kv_heads = 4, .vocab = 2048});
  auto info = cb::loader::inspect_checkpoint(dir);
  auto req = gpu_request(at::kBFloat16);
  const auto bf16_need = FullPrecision<>{}.check(info, req).plan.total();
  req.budget.gpu_bytes = bf16_need - 1;
  req.budget.cpu_bytes = 64 * 1024;
  ASSERT_LE(Nf4{}.peak_bytes(info, req), *req.budget.gpu_bytes) << "the planner must let 4-bit fit where bf16 does not";
  using Chain3 = Chain<FullPrecision<>, FullPrecision<LayerOffload>, Nf4>;
  {
    auto res = Chain3{}.load(info, req);
    ASSERT_EQ(res.attempts.size(), 3u);
    EXPECT_EQ(res.attempts[0].outcome, "skipped");
    EXPECT_NE(res.attempts[0].reason.find("over the budget"), std::string::npos) << res.attempts[0].reason;
    EXPECT_EQ(res.attempts[1].outcome, "failed");
    EXPECT_EQ(res.attempts[1].error_code, "out_of_memory");
    EXPECT_NE(res.attempts[1].reason.find("over the budget"), std::string::npos) << res.attempts[1].reason;
    EXPECT_EQ(res.attempts[2].outcome, "ok");
    EXPECT_EQ(res.strategy, "QuantizeOnLoad<nf4-b64-dq>");
    expect_gpu_telemetry(res.attempts);
    const auto peak = peak_growth(res.attempts[2]);
    RecordProperty("nf4_peak_gpu_growth_bytes", std::to_string(peak));
    RecordProperty("gpu_budget_bytes", std::to_string(*req.budget.gpu_bytes));
    EXPECT_GT(peak, res.model.decoder.weights().bytes() / 2);
    EXPECT_LE(peak, *req.budget.gpu_bytes) << "measured GPU peak of the 4-bit load over the budget";
    // The caching allocator charges a whole free block when splitting it would leave < 1 MiB: allow a few.
    EXPECT_LE(peak, Nf4{}.peak_bytes(info, req) + 8 * kMiB) << "measured GPU peak over the planner's prediction";
  }
  expect_gpu_memory_back("budget hook");
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, CachingAllocatorOomIsTypedAndGivenBack) {
  // The caching allocator itself refuses: with its memory fraction at what is reserved now, any new segment
  // fails with c10's OutOfMemoryError, which the chain records as out_of_memory. ~61 MB of float32 weights
  // cannot fit in the free parts of the segments already reserved.
  auto dir = fs::temp_directory_path() / ("curebench_cuda_loader_alloc." + std::to_string(::getpid()));
  loader_faults::write_random_llama(dir, {.hidden = 512, .intermediate = 2048, .layers = 3, .heads = 8, .kv_heads = 4, .vocab = 4096});
  auto info = cb::loader::inspect_checkpoint(dir);
  std::vector<Attempt> attempts;
  {
    MemoryFractionScope limit(static_cast<double>(base_.reserved_bytes) / static_cast<double>(base_.device_total_bytes));
    attempts = attempts_of_failed_load<FpChain>(info, gpu_request(at::kFloat));
  }
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.outcome, "failed") << a.strategy;
    EXPECT_EQ(a.error_code, "out_of_memory") << a.strategy << ": " << a.reason;
  }
  expect_gpu_telemetry(attempts);
  expect_gpu_memory_back("allocator OOM");
  {
    auto res = FpChain{}.load(info, gpu_request(at::kFloat));  // the fraction restored, the same load fits
    EXPECT_EQ(res.strategy, "FullPrecision");
  }
  expect_gpu_memory_back("load after the allocator OOM");
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, CorruptShardIsATypedErrorNamingTheShard) {
  auto dir = scratch(model_fixture("llama3_rope_tied_sharded"), "corrupt");
  auto info = cb::loader::inspect_checkpoint(dir);  // headers are fine at inspection time...
  auto shard = dir / "model-00002-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) / 2);  // ...then the data is cut, as an interrupted download leaves it
  auto attempts = attempts_of_failed_load<Nf4ThenFp>(info, gpu_request(at::kBFloat16));
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.outcome, "failed") << a.strategy;
    EXPECT_EQ(a.error_code, "format") << a.strategy;
    EXPECT_NE(a.reason.find("model-00002-of-00002.safetensors"), std::string::npos) << a.reason;
  }
  expect_gpu_telemetry(attempts);
  expect_gpu_memory_back("corrupt shard");
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, NanWeightsAreCaughtByWarmupOnTheGpu) {
  auto dir = scratch(model_fixture("llama"), "nan");
  loader_faults::rewrite_tensor(dir / "model.safetensors", "model.layers.1.mlp.up_proj.weight", [](std::vector<std::byte>& d, cb::DType&) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(d.data() + 40, &nan, sizeof nan);
  });
  auto info = cb::loader::inspect_checkpoint(dir);
  auto attempts = attempts_of_failed_load<Nf4ThenFp>(info, gpu_request(at::kBFloat16));
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.error_code, "numeric") << a.strategy;
    EXPECT_NE(a.reason.find("non-finite"), std::string::npos) << a.reason;
    EXPECT_GT(peak_growth(a), 0) << a.strategy << ": the whole model was on the GPU when the warm-up ran";
  }
  expect_gpu_telemetry(attempts);
  expect_gpu_memory_back("NaN weights");
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, UnsupportedDtypeNamesTheTensor) {
  auto dir = scratch(model_fixture("llama"), "dtype");
  loader_faults::rewrite_tensor(dir / "model.safetensors", "model.norm.weight", [](std::vector<std::byte>& d, cb::DType& t) {
    t = cb::DType::F8_E4M3;  // 64 f32 values -> 64 fp8 bytes: the shape stays, the dtype has no libtorch type here
    d.resize(64);
  });
  auto info = cb::loader::inspect_checkpoint(dir);
  auto attempts = attempts_of_failed_load<Nf4ThenFp>(info, gpu_request(at::kBFloat16));
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.error_code, "unsupported") << a.strategy;
    EXPECT_NE(a.reason.find("model.norm.weight"), std::string::npos) << a.reason;
  }
  expect_gpu_telemetry(attempts);
  expect_gpu_memory_back("unsupported dtype");
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, MissingTokenizerLoadsButIsFlaggedAndRefusedByName) {
  auto dir = scratch(kStories, "notok");
  fs::remove(dir / "tok512.bin");
  auto info = cb::loader::inspect_checkpoint(dir);
  EXPECT_TRUE(info.tokenizer_files.empty());
  {
    // The weights do not need the tokenizer: 4-bit loads on the GPU and passes its warm-up.
    auto res = Nf4ThenFp{}.load(info, gpu_request(at::kFloat));
    EXPECT_EQ(res.strategy, "QuantizeOnLoad<nf4-b64-dq>");
    ASSERT_EQ(res.attempts.size(), 1u);
    expect_gpu_telemetry(res.attempts);
  }
  expect_gpu_memory_back("missing tokenizer");
  // Discovery flags the folder, and asking for its tokenizer is a typed error naming it.
  auto d = cb::loader::discover(dir);
  ASSERT_EQ(d.found.size(), 1u);
  bool flagged = false;
  for (const auto& s : d.skipped) flagged = flagged || s.reason.find("no tokenizer") != std::string::npos;
  EXPECT_TRUE(flagged);
  try {
    cb::tokenizer::load_tokenizer(dir.string());
    ADD_FAILURE() << "a folder without tokenizer files gave a tokenizer";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::not_found);
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
  loader_faults::remove_tree(dir);
}

TEST_F(CudaLoaderFaults, UnreadableWeightsFileAtLoadTime) {
  auto dir = scratch(kStories, "unreadable");
  auto info = cb::loader::inspect_checkpoint(dir);  // readable when inspected...
  fs::remove(dir / "model.safetensors");
  fs::create_directory(dir / "model.safetensors");  // ...then a folder where the file was (root reads any file)
  auto attempts = attempts_of_failed_load<Nf4ThenFp>(info, gpu_request(at::kFloat));
  ASSERT_EQ(attempts.size(), 2u);
  for (const auto& a : attempts) {
    EXPECT_EQ(a.outcome, "failed") << a.strategy;
    EXPECT_EQ(a.error_code, "io") << a.strategy << ": " << a.reason;
    EXPECT_NE(a.reason.find("model.safetensors"), std::string::npos) << a.reason;
  }
  expect_gpu_telemetry(attempts);
  expect_gpu_memory_back("unreadable weights file");
  loader_faults::remove_tree(dir);
}
