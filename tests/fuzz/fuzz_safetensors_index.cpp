// libFuzzer target: model.safetensors.index.json (io/safetensors_index.hpp): the weight_map of a sharded
// checkpoint, checked against two real shard files beside it (tensors "a", "b" in model-00001-of-00002,
// "c" in model-00002-of-00002). Contract: a SafetensorsSet whose every name resolves to a tensor of its
// shard, or a curebench::Error (unknown shard, path in a shard name, name not in its shard). Anything else
// is a bug.
#include "curebench/io/safetensors_index.hpp"
#include "fuzz_input_file.hpp"
#include "fuzz_scratch_dir.hpp"

#include <cstdlib>

namespace {
std::string shard(const std::string& header_json, std::size_t data_bytes) {
  std::string h = header_json;
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[static_cast<std::size_t>(i)] = static_cast<char>((h.size() >> (8 * i)) & 0xFF);
  return len + h + std::string(data_bytes, '\x01');
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  static curebench::fuzz::ScratchDir dir;
  static const std::string index = [] {
    dir.write("model-00001-of-00002.safetensors",
              shard(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}})", 16));
    dir.write("model-00002-of-00002.safetensors", shard(R"({"c":{"dtype":"I8","shape":[3],"data_offsets":[0,3]}})", 3));
    return dir.link("model.safetensors.index.json", file.write(nullptr, 0));
  }();
  file.write(data, size);
  try {
    curebench::io::SafetensorsSet set(index);
    for (const auto& name : set.names()) {
      auto ref = set.at(name);
      if (!ref.file || !ref.info || ref.info->name != name) std::abort();
    }
    if (set.size() != set.names().size()) std::abort();
  } catch (const curebench::Error&) {
  }
  return 0;
}
