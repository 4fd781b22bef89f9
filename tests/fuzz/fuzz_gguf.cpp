// libFuzzer target: GGUF header + metadata + tensor table (io/gguf.hpp), the JSON summary that
// `curebench inspect` prints (io/gguf_json.hpp) and block dequantization of every tensor (io/gguf_dequant.hpp).
// Contract under test: any bytes either give a file whose every tensor range lies inside the mapping, or a
// curebench::Error; typed getters refuse wrong types with curebench::Error. Anything else is a bug.
#include "curebench/io/gguf.hpp"
#include "curebench/io/gguf_dequant.hpp"
#include "curebench/io/gguf_json.hpp"
#include "fuzz_input_file.hpp"

#include <cstdlib>

namespace {

// Every typed getter on every key: each must return or throw curebench::Error, never anything else.
void exercise_getters(const curebench::io::GGUFFile& f) {
  for (const auto& kv : f.metadata()) {
    const auto& k = kv.key;
    try { (void)f.get<std::int64_t>(k); } catch (const curebench::Error&) {}
    try { (void)f.get<std::uint32_t>(k); } catch (const curebench::Error&) {}
    try { (void)f.get<float>(k); } catch (const curebench::Error&) {}
    try { (void)f.get<bool>(k); } catch (const curebench::Error&) {}
    try { (void)f.get<std::string>(k); } catch (const curebench::Error&) {}
    try { (void)f.get_strings(k); } catch (const curebench::Error&) {}
    try { (void)f.get_floats(k); } catch (const curebench::Error&) {}
    try { (void)f.get_ints(k); } catch (const curebench::Error&) {}
    (void)kv.value.type_name();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  const auto& path = file.write(data, size);
  try {
    curebench::io::GGUFFile f(path);
    exercise_getters(f);
    for (const auto& t : f.tensors()) {
      auto b = f.bytes(t);
      if (b.size() != t.nbytes) std::abort();
      if (f.find_tensor(t.name) != &t) std::abort();
      (void)t.shape();
      // Dequantize small tensors (the element count is bounded by the file size through nbytes).
      if (t.numel() <= (1u << 16)) {
        try {
          (void)curebench::io::gguf_dequantize(f, t);
        } catch (const curebench::Error&) {
        }
      }
    }
    // `inspect --json` view; GGUF strings are raw bytes, so dump as a CLI should: invalid UTF-8 replaced.
    auto j = curebench::io::gguf_summary_json(f);
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const curebench::Error&) {
  }
  return 0;
}
