// io/: time to open and validate a safetensors header (the loader pays this per shard).
#include <benchmark/benchmark.h>

#include "curebench/core/json_file.hpp"
#include "curebench/io/safetensors.hpp"

#include <cstdint>
#include <string>

static void BM_SafetensorsOpen(benchmark::State& state) {
  const std::string path = std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf/model.safetensors";
  for (auto _ : state) {
    curebench::io::SafetensorsFile f(path);
    benchmark::DoNotOptimize(f.tensors().size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SafetensorsOpen);

// A safetensors-shaped JSON header with state.range(0) tensors (issue 19, point 7: the parse used to be
// quadratic in the member count; 100,000 tensors took minutes). Items = tensors, bytes = header bytes.
static void BM_JsonManyMembers(benchmark::State& state) {
  std::string text = "{";
  for (std::int64_t i = 0; i < state.range(0); ++i)
    text += (i ? ",\"model.layers." : "\"model.layers.") + std::to_string(i) +
            ".weight\":{\"dtype\":\"BF16\",\"shape\":[4096,4096],\"data_offsets\":[0,33554432]}";
  text += "}";
  for (auto _ : state) {
    auto j = curebench::parse_json_text(text, "header.json", curebench::JsonLimits{std::size_t{256} << 20, 8});
    benchmark::DoNotOptimize(j.size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_JsonManyMembers)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
