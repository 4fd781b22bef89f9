// End-to-end speed of a checkpoint: load, prefill, batched decode, the seed's 100 x 512 workload, and the
// HBM bandwidth that bounds decode. Configure with environment variables:
//   CUREBENCH_BENCH_MODEL   checkpoint folder (default: the tiny stories260K model in tests/data)
//   CUREBENCH_BENCH_DEVICE  cpu | cuda (default: cuda when available)
//   CUREBENCH_BENCH_DTYPE   bf16 | f16 | f32 (default: bf16 on cuda, f32 on cpu)
//   CUREBENCH_BENCH_ATEN_LAYERS 1: RMSNorm / RoPE / attention as ATen ops, not the fused kernels; attention: only
//                           the attention (torch SDPA instead of the fused decode-attention kernel)
//   CUREBENCH_BENCH_QUANT   none (default) or a quant name of `curebench quantize/eval --quant` (nf4, nf4-dq, fp4,
//                           int8, int4-g32|g64|g128; int4 = int4-g128): the linear layers quantized on load;
//                           stored: a checkpoint already stored quantized (bnb 4/8-bit, GPTQ/AWQ, GGUF), loaded as
//                           stored by the loader chain's Prequantized strategy (benchmarks/make_random_4bit_checkpoint.py)
//   CUREBENCH_BENCH_PROFILE_STEPS=N  BM_Decode also runs N more decode steps between cudaProfilerStart/Stop, for
//                           `ncu --profile-from-start off` (per-kernel times of whole steps; benchmarks/run_decode_profile_device.sh)
// Each benchmark reports tokens/s (items_per_second) and, on CUDA, the roofline fraction:
// bytes a decode step must read (weights + KV cache) / measured copy bandwidth.
// BM_EvalWorkload runs `curebench eval` itself (eval::Pipeline) on shipped questions; it also reads
//   CUREBENCH_BENCH_TOKENIZER      tokenizer folder or file (default: the model folder's)
//   CUREBENCH_BENCH_EVAL_DATASET   JSONL split (default datasets/medqa-usmle/test.jsonl)
//   CUREBENCH_BENCH_EVAL_QUESTIONS / _BATCH / _NEW_TOKENS   (default 100 / 100 / 512: the workload)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <ftw.h>
#include <unistd.h>

#include "curebench/core/cuda_memory.hpp"
#if defined(CUREBENCH_WITH_CUDA)
#include <cuda_profiler_api.h>
#endif
#include "curebench/eval/pipeline.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/loader/checkpoint.hpp"
#include "curebench/loader/prequantized.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/config.hpp"
#include "curebench/quant/named_config.hpp"
#include "curebench/model/layer_hooks.hpp"
#include "curebench/model/load.hpp"
#include "curebench/runtime/generate.hpp"
#include "curebench/testing/benchmark_pipeline.hpp"

namespace cb = curebench;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

struct BenchSetup {
  std::string model_dir = env_or("CUREBENCH_BENCH_MODEL", std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf");
  at::Device device = cb::model::parse_device_name(env_or("CUREBENCH_BENCH_DEVICE", cb::compat::cuda_available() ? "cuda" : "cpu"));
  at::ScalarType dtype = cb::model::parse_dtype_name(env_or("CUREBENCH_BENCH_DTYPE", device.is_cuda() ? "bf16" : "f32"));
  std::string quant = env_or("CUREBENCH_BENCH_QUANT", "none");
  // CUREBENCH_BENCH_QUANT_LM_HEAD=1: the classifier quantized too (LoadRequest::quantize_lm_head; off, as bnb).
  bool quantize_lm_head = env_or("CUREBENCH_BENCH_QUANT_LM_HEAD", "0") == "1";
  double bandwidth = 0;  // bytes/s, measured by BM_CopyBandwidth
};

BenchSetup& setup() {
  static BenchSetup s;
  // CUREBENCH_BENCH_ATEN_LAYERS=1: the ATen compositions instead of the fused layer kernels (their effect).
  static const bool aten_layers = [] {
    const auto v = env_or("CUREBENCH_BENCH_ATEN_LAYERS", "0");
    if (v == "attention") cb::model::hooks::decode_attention() = nullptr;  // SDPA, the fused norms and RoPE kept
    if (v != "1") return v == "attention";
    cb::model::hooks::rms_norm() = nullptr, cb::model::hooks::add_rms_norm() = nullptr, cb::model::hooks::rope() = nullptr;
    cb::model::hooks::decode_attention() = nullptr;
    return true;
  }();
  (void)aten_layers;
  return s;
}

std::optional<cb::model::LoadedModel>& loaded() {
  static std::optional<cb::model::LoadedModel> m;
  return m;
}

template <class Q>
cb::model::LoadedModel load_quantized() {
  cb::loader::QuantizeOnLoad<Q> strategy;
  cb::loader::LoadRequest r;
  r.device = setup().device;
  r.dtype = setup().dtype;
  r.quantize_lm_head = setup().quantize_lm_head;
  return strategy.load(cb::loader::inspect_checkpoint(setup().model_dir), r);
}

cb::model::LoadedModel& model() {
  if (!loaded()) {
    // The quant vocabulary of every subcommand (quant/named_config.hpp); "int4" is the benchmarks' short name of int4-g128.
    const auto q = setup().quant == "int4" ? std::string("int4-g128") : setup().quant;
    const bool quantized = cb::quant::visit_named_config(
        q, [&]<class C>(std::type_identity<C>, std::int64_t, bool) { loaded().emplace(load_quantized<C>()); });
    if (setup().quant == "stored") {
      cb::loader::LoadRequest r;
      r.device = setup().device;
      r.dtype = setup().dtype;
      loaded().emplace(cb::loader::Prequantized{}.load(cb::loader::inspect_checkpoint(setup().model_dir), r));
    } else if (!quantized) {
      loaded().emplace(cb::model::load_hf_model(setup().model_dir, {.dtype = setup().dtype, .device = setup().device}));
    }
  }
  return *loaded();
}

std::vector<std::vector<std::int64_t>> random_prompts(std::int64_t batch, std::int64_t len, std::int64_t vocab) {
  auto t = at::randint(3, vocab, {batch, len}, at::TensorOptions().dtype(at::kLong));
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t b = 0; b < batch; ++b) out.emplace_back(t[b].data_ptr<std::int64_t>(), t[b].data_ptr<std::int64_t>() + len);
  return out;
}

// Bytes one decode step reads: every weight except the embedding table (one row per token), plus the
// KV cache of `batch` sequences at the step's average context length.
double bytes_per_step(const cb::model::Decoder& d, std::int64_t batch, double avg_context) {
  const auto& s = d.spec();
  double weights = static_cast<double>(d.weights().bytes());
  if (!s.tie_word_embeddings) weights -= static_cast<double>(d.weights().embed.numel() * d.weights().embed.element_size());
  const double kv_per_token = 2.0 * s.num_layers * s.kv_dim() * at::elementSize(d.dtype());
  return weights + batch * avg_context * kv_per_token;
}

void BM_CopyBandwidth(benchmark::State& state) {
  const std::int64_t bytes = setup().device.is_cuda() ? (std::int64_t{2} << 30) : (std::int64_t{256} << 20);
  auto src = at::empty({bytes}, at::TensorOptions().dtype(at::kByte).device(setup().device));
  auto dst = at::empty_like(src);
  dst.copy_(src);
  cb::device_synchronize(setup().device);
  for (auto _ : state) {
    cb::Timer t;
    dst.copy_(src);
    cb::device_synchronize(setup().device);
    state.SetIterationTime(t.seconds());
  }
  state.SetBytesProcessed(state.iterations() * bytes * 2);  // read + write
  setup().bandwidth = 0;  // filled from the counter below by the next benchmarks
  state.counters["GBps"] = benchmark::Counter(static_cast<double>(bytes) * 2 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  double secs = 0;
  for (int i = 0; i < 5; ++i) {
    cb::Timer t;
    dst.copy_(src);
    cb::device_synchronize(setup().device);
    secs += t.seconds();
  }
  setup().bandwidth = 5.0 * 2.0 * static_cast<double>(bytes) / secs;
}
BENCHMARK(BM_CopyBandwidth)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);

void BM_Load(benchmark::State& state) {
  for (auto _ : state) {
    loaded().reset();
    cb::empty_gpu_cache();
    cb::reset_gpu_peak();
    cb::Timer t;
    model();
    cb::device_synchronize(setup().device);
    state.SetIterationTime(t.seconds());
  }
  state.counters["weight_GB"] = static_cast<double>(model().decoder.weights().bytes()) / 1e9;
  state.counters["peak_gpu_GB"] = static_cast<double>(cb::gpu_memory().allocated_peak_bytes) / 1e9;
}
BENCHMARK(BM_Load)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

void BM_Prefill(benchmark::State& state) {
  auto& d = model().decoder;
  const auto batch = state.range(0), len = state.range(1);
  auto prompts = random_prompts(batch, len, d.spec().vocab_size);
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = 1;
  opt.ignore_eos = true;
  cb::runtime::generate(d, prompts, opt);  // warm-up
  for (auto _ : state) {
    auto g = cb::runtime::generate(d, prompts, opt);
    state.SetIterationTime(g[0].prefill_ms / 1e3);
  }
  state.SetItemsProcessed(state.iterations() * batch * len);
}
// 32 x 512 = 16,384 tokens: one chunk of `generate`'s prefill budget, the size the evaluation loop prefills at.
BENCHMARK(BM_Prefill)->Args({1, 512})->Args({8, 512})->Args({32, 512})->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

// CUREBENCH_BENCH_PROFILE_STEPS=N: one more generate of N + 1 new tokens (graphs already captured for this batch)
// inside cudaProfilerStart/Stop, so `ncu --profile-from-start off` times exactly those kernels: the prefill and N
// decode steps, each step's kernels in launch order.
void profile_steps(cb::model::Decoder& d, const std::vector<std::vector<std::int64_t>>& prompts, cb::runtime::GenerateOptions opt) {
  const auto steps = std::stoll(env_or("CUREBENCH_BENCH_PROFILE_STEPS", "0"));
  if (steps <= 0) return;
  opt.max_new_tokens = steps + 1;
#if defined(CUREBENCH_WITH_CUDA)
  cudaProfilerStart();
  cb::runtime::generate(d, prompts, opt);
  cudaProfilerStop();
#else
  (void)d, (void)prompts;
#endif
}

void decode_run(benchmark::State& state, std::int64_t batch, std::int64_t prompt_len, std::int64_t new_tokens,
                bool graphs = true) {
  auto& d = model().decoder;
  auto prompts = random_prompts(batch, prompt_len, d.spec().vocab_size);
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = new_tokens;
  opt.ignore_eos = true;
  opt.cuda_graphs = graphs;
  cb::runtime::GenerateOptions warm = opt;
  warm.max_new_tokens = 4;
  cb::runtime::generate(d, prompts, warm);
  cb::reset_gpu_peak();
  double decode_s = 0, total_s = 0, ttft_ms = 0;
  for (auto _ : state) {
    cb::Timer t;
    auto g = cb::runtime::generate(d, prompts, opt);
    total_s = t.seconds();
    decode_s = g[0].decode_ms / 1e3;
    ttft_ms = g[0].time_to_first_token_ms;
    state.SetIterationTime(decode_s);
  }
  // Per-step cost without the per-call costs (one eager step + graph capture per key bucket, first-step
  // sync): the same call with half the tokens, and the difference per step.
  if (new_tokens >= 64) {
    auto half = opt;
    half.max_new_tokens = new_tokens / 2;
    const double half_s = cb::runtime::generate(d, prompts, half)[0].decode_ms / 1e3;
    const double step_s = (decode_s - half_s) / static_cast<double>(new_tokens - half.max_new_tokens);
    state.counters["steady_step_ms"] = step_s * 1e3;
    state.counters["steady_tok_per_s"] = static_cast<double>(batch) / step_s;
  }
  profile_steps(d, prompts, opt);
  state.SetItemsProcessed(state.iterations() * batch * new_tokens);
  state.counters["new_tok_per_s_end_to_end"] = static_cast<double>(batch * new_tokens) / total_s;
  state.counters["peak_gpu_GB"] = static_cast<double>(cb::gpu_memory().allocated_peak_bytes) / 1e9;
  state.counters["time_to_first_token_ms"] = ttft_ms;
  state.counters["cuda_graphs"] = graphs ? 1 : 0;
  state.SetLabel(setup().quant + (setup().quantize_lm_head && setup().quant != "none" ? "+lm_head" : ""));
  if (setup().bandwidth > 0) {
    const double step_bytes = bytes_per_step(d, batch, static_cast<double>(prompt_len) + new_tokens / 2.0);
    const double roofline = setup().bandwidth / step_bytes * static_cast<double>(batch);
    state.counters["roofline_tok_per_s"] = roofline;
    state.counters["roofline_fraction"] = static_cast<double>(batch * new_tokens) / decode_s / roofline;
  }
}

void BM_Decode(benchmark::State& state) { decode_run(state, state.range(0), 128, 128); }
BENCHMARK(BM_Decode)->Arg(1)->Arg(8)->Arg(32)->Arg(64)->Arg(128)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// The same without CUDA graphs (eager kernel launches): the graphs' speedup is BM_Decode / BM_DecodeEager.
void BM_DecodeEager(benchmark::State& state) { decode_run(state, state.range(0), 128, 128, false); }
BENCHMARK(BM_DecodeEager)->Arg(1)->Arg(8)->Arg(32)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// The seed pipeline's workload: 100 questions, up to 512 new tokens each, here all at once.
void BM_SeedWorkload(benchmark::State& state) { decode_run(state, 100, 128, 512); }
BENCHMARK(BM_SeedWorkload)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// The run folder, removed bottom-up with nftw: on the GPU machine (2026-12-07) std::filesystem::remove_all(path)
// of its libstdc++ jumped to address 0 after a complete evaluation, so no figure was reported.
inline void remove_tree(const std::string& dir) {
  const auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) {
    ::remove(p);
    return 0;  // keep going: what cannot be removed stays
  };
  ::nftw(dir.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

// The real user path: `curebench eval` itself (eval::Pipeline::run: loader chain, chat template, batching,
// extraction, samples log, results.json) on the first N questions of a shipped split, whose prompts are as long as
// the protocol renders them (MedQA: ~740 tokens with Llama-3's template), not 128 random tokens. Reported apart:
// load, prefill and decode rates, new tokens per second over the batch time (the run minus the load), and the
// GPU peak of the load and of the whole run. CUREBENCH_BENCH_QUANT is eval's --quant (one vocabulary; int4 ->
// int4-g128).
void BM_EvalWorkload(benchmark::State& state) {
  namespace fs = std::filesystem;
  const auto bench_quant = setup().quant;
  const std::string quant = bench_quant == "int4" ? "int4-g128" : bench_quant;
  const auto questions = std::stoll(env_or("CUREBENCH_BENCH_EVAL_QUESTIONS", "100"));
  const auto batch = std::stoll(env_or("CUREBENCH_BENCH_EVAL_BATCH", "100"));
  const auto new_tokens = std::stoll(env_or("CUREBENCH_BENCH_EVAL_NEW_TOKENS", "512"));
  nlohmann::json model = {{"name", "bench"}, {"path", setup().model_dir}, {"quant", quant},
                          {"device", setup().device.is_cuda() ? "cuda" : "cpu"},
                          {"dtype", setup().dtype == at::kBFloat16 ? "bf16" : setup().dtype == at::kHalf ? "f16" : "f32"}};
  if (auto t = env_or("CUREBENCH_BENCH_TOKENIZER", ""); !t.empty()) model["tokenizer"] = t;
  if (setup().quantize_lm_head) model["quantize_lm_head"] = true;
  const auto dataset = env_or("CUREBENCH_BENCH_EVAL_DATASET", std::string(CUREBENCH_SOURCE_DIR) + "/datasets/medqa-usmle/test.jsonl");
  const nlohmann::json config = {{"protocol", "curebench"}, {"max_new_tokens", new_tokens}, {"batch_size", batch},
                                 {"draw_dashboard", false}, {"models", nlohmann::json::array({model})},
                                 {"splits", {{"test", {{"path", dataset}, {"limit", questions}}}}}};
  const auto cfg = cb::eval::run_config_from_json(config, "BM_EvalWorkload");
  std::string tmpl = (fs::temp_directory_path() / "curebench-bench-eval.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const fs::path root(tmpl);
  double wall_s = 0, load_s = 0, output_tokens = 0, prompt_tokens = 0;
  nlohmann::json m;
  for (auto _ : state) {
    const auto out = root / ("run" + std::to_string(state.iterations()));
    cb::Timer t;
    auto summary = cb::eval::Pipeline<>::run(cfg, out);
    wall_s = t.seconds();
    m = nlohmann::json(summary.results_data)["models"][0];
    load_s = m["load"]["seconds"].get<double>();
    output_tokens = prompt_tokens = 0;
    cb::eval::for_each_sample_json((out / "models" / "bench" / "samples.jsonl").string(), [&](std::size_t, const nlohmann::json& j) {
      output_tokens += j.value("output_tokens", 0.0);
      prompt_tokens += j.value("input_tokens", 0.0);
    });
    state.SetIterationTime(wall_s - load_s);
  }
  remove_tree(root.string());
  const auto rate = [&](const char* key) { return m["throughput"][key].is_number() ? m["throughput"][key].get<double>() : 0.0; };
  const auto bytes = [&](const nlohmann::json& v) { return v.is_number() ? v.get<double>() / 1e9 : 0.0; };
  state.SetItemsProcessed(static_cast<std::int64_t>(output_tokens));
  state.counters["questions"] = static_cast<double>(questions);
  state.counters["mean_input_tokens"] = prompt_tokens / static_cast<double>(questions);
  state.counters["new_tok_per_s_batches"] = output_tokens / (wall_s - load_s);
  state.counters["new_tok_per_s_with_load"] = output_tokens / wall_s;
  state.counters["prefill_tok_per_s"] = rate("prefill_tokens_per_second");
  state.counters["decode_tok_per_s"] = rate("decode_tokens_per_second");
  state.counters["load_s"] = load_s;
  state.counters["peak_gpu_GB_load"] = bytes(m["load"]["peak_gpu_bytes"]);
  state.counters["peak_gpu_GB_run"] = bytes(m["memory"]["peak_gpu_bytes"]);
  state.counters["weights_GB"] = bytes(m["load"]["weight_bytes"]);
  state.SetLabel(bench_quant + (setup().quantize_lm_head && quant != "none" ? "+lm_head" : "") + " " +
                 fs::path(dataset).parent_path().filename().string());
}
BENCHMARK(BM_EvalWorkload)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

// Every pipeline the build registered with curebench_add_pipeline (tests/CMakeLists.txt) as BM_Pipeline/<name>:
// speed, memory and accuracy of a whole evaluation (testing/benchmark_pipeline.hpp). Run folders go under the
// build's pipelines/ folder.
const bool registered_pipelines = [] {
  const std::filesystem::path list = CUREBENCH_PIPELINE_LIST;
  for (const auto& c : cb::testing::read_pipeline_list(list.string()))
    cb::testing::register_pipeline_benchmark(c, list.parent_path());
  return true;
}();

}  // namespace
