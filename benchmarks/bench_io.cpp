// io/: time to open and validate a safetensors header (the loader pays this per shard).
#include <benchmark/benchmark.h>

#include "curebench/io/safetensors.hpp"

static void BM_SafetensorsOpen(benchmark::State& state) {
  const std::string path = std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf/model.safetensors";
  for (auto _ : state) {
    curebench::io::SafetensorsFile f(path);
    benchmark::DoNotOptimize(f.tensors().size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SafetensorsOpen);
