// libFuzzer target: safetensors header + tensor table (io/safetensors.hpp) on arbitrary file bytes.
// Contract under test: any input either parses into a table whose every range lies inside the file, or
// is refused with curebench::Error. Any other exception, a sanitizer report, > 1 s or a leak is a bug.
#include "curebench/io/safetensors.hpp"
#include "fuzz_input_file.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  try {
    curebench::io::SafetensorsFile st(path);
    std::uint64_t total = 0;
    for (const auto& t : st.tensors()) {
      auto b = st.bytes(t);
      // Touch the first and last byte so ASan sees any range that escapes the mapping.
      if (!b.empty()) total += static_cast<std::uint8_t>(b.front()) + static_cast<std::uint8_t>(b.back());
      if (t.numel() < 0) std::abort();  // shapes were checked non-negative and overflow-free
      if (st.find(t.name) != &t) std::abort();
    }
    nlohmann::json j = st;  // the inspect command's view of the file
    (void)j.dump();
    (void)total;
  } catch (const curebench::Error&) {
  }
  return 0;
}
