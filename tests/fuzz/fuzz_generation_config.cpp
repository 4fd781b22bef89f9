// libFuzzer target: generation_config.json (io/generation_config.hpp): eos/bos/pad ids as an integer or a
// list, sampling defaults. Contract: a GenerationConfig or a curebench::Error. Anything else is a bug.
#include "curebench/io/generation_config.hpp"
#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  try {
    auto g = curebench::io::read_generation_config(path);
    (void)g;
  } catch (const curebench::Error&) {
  }
  return 0;
}
