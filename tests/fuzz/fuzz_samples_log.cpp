// libFuzzer target: resuming a samples.jsonl log (report/samples_log.hpp) from arbitrary file bytes: the
// recovery path reads every finished record back and cuts off a torn last line.
// Contract: a log whose records all parsed, or a curebench::Error naming the line; anything else is a bug.
#include "curebench/report/samples_log.hpp"
#include "fuzz_input_file.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  try {
    curebench::report::SamplesLog log(path);
    if (log.dropped_partial_bytes() > size) std::abort();
    for (const auto& r : log.finished())
      if (!log.done(r.split, r.id)) std::abort();
  } catch (const curebench::Error&) {
  }
  return 0;
}
