// eval/extract: outputs per second for each extraction policy, over the hand-written case suite and over
// seed-length essays (~2 KB, the seed run's mean reasoning length).
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "curebench/eval/extract.hpp"

namespace {

namespace ex = curebench::eval::extract;

struct Item {
  std::string output;
  ex::Options options;
};

const std::vector<Item>& suite() {
  static const std::vector<Item> items = [] {
    std::vector<Item> v;
    std::ifstream in(std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/eval/extraction_cases.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      v.push_back({j["output"].get<std::string>(), ex::Options::from_json(j["options"], "suite")});
    }
    return v;
  }();
  return items;
}

const std::vector<Item>& essays() {
  static const std::vector<Item> items = [] {
    ex::Options o{{"A", "Metformin"}, {"B", "Insulin glargine"}, {"C", "Sitagliptin"}, {"D", "Glipizide"}};
    std::string body =
        "1. PATIENT ASSESSMENT:\n- A 67-year-old woman with type 2 diabetes, eGFR 28 mL/min, HbA1c 8.9%.\n"
        "- Key factors: renal impairment, risk of hypoglycemia, e.g. from sulfonylureas.\n"
        "2. DRUG ANALYSIS:\n- Option A (Metformin): contraindicated below eGFR 30 (lactic acidosis).\n"
        "- Option B (Insulin glargine): effective, but needs titration and carries hypoglycemia risk.\n"
        "- Option C (Sitagliptin): DPP-4 inhibitor, dose 25 mg daily at this eGFR, weight neutral.\n"
        "- Option D (Glipizide): hepatic clearance, yet hypoglycemia risk in the elderly.\n"
        "3. CLINICAL REASONING:\n- Guidelines favour agents with low hypoglycemia risk; i.e. avoid sulfonylureas.\n";
    std::vector<Item> v;
    for (auto tail : {"4. FINAL DECISION:\n- State your chosen answer: C\n", "Therefore, the answer is C.",
                      "More data is needed before deciding.", "<think>long</think>\n\\boxed{C}"}) {
      std::string s;
      while (s.size() < 1800) s += body;
      v.push_back({s + tail, o});
    }
    return v;
  }();
  return items;
}

template <ex::Extractor E>
void run(benchmark::State& state, const std::vector<Item>& items) {
  E e;
  std::size_t bytes = 0;
  for (auto _ : state)
    for (auto& it : items) {
      auto r = e.extract(it.output, it.options);
      benchmark::DoNotOptimize(r);
      bytes += it.output.size();
    }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_ExtractSuite_Curebench(benchmark::State& s) { run<ex::CurebenchDefault>(s, suite()); }
void BM_ExtractSuite_Seed(benchmark::State& s) { run<ex::SeedRegex>(s, suite()); }
void BM_ExtractSuite_Kit(benchmark::State& s) { run<ex::KitRule>(s, suite()); }
void BM_ExtractEssay_Curebench(benchmark::State& s) { run<ex::CurebenchDefault>(s, essays()); }
void BM_ExtractEssay_Seed(benchmark::State& s) { run<ex::SeedRegex>(s, essays()); }
void BM_ExtractEssay_Kit(benchmark::State& s) { run<ex::KitRule>(s, essays()); }

}  // namespace

BENCHMARK(BM_ExtractSuite_Curebench);
BENCHMARK(BM_ExtractSuite_Seed);
BENCHMARK(BM_ExtractSuite_Kit);
BENCHMARK(BM_ExtractEssay_Curebench);
BENCHMARK(BM_ExtractEssay_Seed);
BENCHMARK(BM_ExtractEssay_Kit);
