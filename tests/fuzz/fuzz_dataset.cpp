// libFuzzer target: CURE-Bench JSONL split reader (eval/dataset.hpp load_split) and split verification
// (eval/verify.hpp) on arbitrary file bytes. The input's size picks the subsampling mode (all, first k,
// hash-rank k) so every path runs. Contract: a Dataset or a curebench::Error; anything else is a bug.
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/verify.hpp"
#include "fuzz_input_file.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  curebench::eval::LoadOptions opt;
  opt.limit = size % 3;                       // 0 = all records, else keep 1 or 2
  if (size % 2) opt.seed = size;              // hash-rank subsample on odd sizes
  opt.max_line_bytes = 4096;                  // so the line-length refusal is reachable
  try {
    auto ds = curebench::eval::load_split("val", path, opt);
    if (opt.limit && ds.questions.size() > opt.limit) std::abort();
    if (ds.questions.size() > ds.records) std::abort();
    auto v = curebench::eval::verify_splits(std::vector<const curebench::eval::Dataset*>{&ds, &ds});
    nlohmann::json j = v;
    j["provenance"] = curebench::eval::provenance_json(ds);
    for (const auto& q : ds.questions) j["q"].push_back(q);
    (void)j.dump();
  } catch (const curebench::Error&) {
  }
  return 0;
}
