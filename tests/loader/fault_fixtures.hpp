#pragma once
// Damaged copies of real checkpoints for the loader's fault tests (tests/loader on the CPU, tests/cuda on
// the GPU): a scratch copy of a fixture folder, one tensor rewritten (bytes, dtype), and a random-weight
// Llama checkpoint big enough for memory to show.
#include <ATen/ATen.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "curebench/io/safetensors.hpp"
#include "curebench/io/safetensors_writer.hpp"

namespace loader_faults {

namespace fs = std::filesystem;

// Removes a tree with POSIX calls. Why not std::filesystem::remove_all: in the GPU machine's test binaries
// that symbol binds to the copy libtorch.so (the PyTorch wheel) exports, which crashed through a null
// function pointer (seen 2026-11-23 with cuda-gdb: pc 0, caller remove_all+146 in libtorch.so).
inline void remove_tree(const fs::path& p) {
  ::nftw(p.c_str(), [](const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }, 16, FTW_DEPTH | FTW_PHYS);
}

// A private copy of `src` (a flat checkpoint folder) in the temp directory, per process and tag; files are
// copied by stream for the same reason remove_tree exists.
inline fs::path scratch_copy(const fs::path& src, const std::string& tag) {
  auto dst = fs::temp_directory_path() / ("curebench_loader_" + tag + "." + std::to_string(::getpid()));
  remove_tree(dst);
  ::mkdir(dst.c_str(), 0755);
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ofstream(dst / e.path().filename(), std::ios::binary) << in.rdbuf();
  }
  return dst;
}

// Rewrites one tensor of a single-file checkpoint through `edit` (bytes, dtype).
inline void rewrite_tensor(const fs::path& file, const std::string& name,
                           const std::function<void(std::vector<std::byte>&, curebench::DType&)>& edit) {
  std::string bytes;
  {
    curebench::io::SafetensorsFile f(file.string());
    curebench::io::SafetensorsWriter w;
    for (auto& t : f.tensors()) {
      auto span = f.bytes(t);
      std::vector<std::byte> data(span.begin(), span.end());
      auto dtype = t.dtype;
      if (t.name == name) edit(data, dtype);
      w.add(t.name, dtype, t.shape, std::span<const std::byte>(data));
    }
    bytes = w.serialize();
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

struct LlamaShape {
  std::int64_t hidden = 512, intermediate = 1536, layers = 3, heads = 8, kv_heads = 4, vocab = 2048;
};

// A float32 Llama checkpoint with N(0, 0.02) weights (no tokenizer) in `dir`: config.json + model.safetensors.
inline void write_random_llama(const fs::path& dir, const LlamaShape& s) {
  remove_tree(dir);
  ::mkdir(dir.c_str(), 0755);
  const auto kv = s.hidden / s.heads * s.kv_heads;
  std::ofstream(dir / "config.json") << "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":" << s.hidden
                                     << ",\"intermediate_size\":" << s.intermediate << ",\"num_hidden_layers\":" << s.layers
                                     << ",\"num_attention_heads\":" << s.heads << ",\"num_key_value_heads\":" << s.kv_heads
                                     << ",\"vocab_size\":" << s.vocab
                                     << ",\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":false,\"torch_dtype\":\"float32\","
                                        "\"bos_token_id\":1,\"eos_token_id\":2}";
  curebench::io::SafetensorsWriter w;
  auto add = [&](const std::string& n, std::vector<std::int64_t> shape, bool norm = false) {
    auto t = norm ? at::ones(shape) : at::randn(shape) * 0.02;
    w.add(n, curebench::DType::F32, shape, std::span<const std::byte>(reinterpret_cast<const std::byte*>(t.data_ptr<float>()), t.numel() * 4));
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden});
  add("lm_head.weight", {s.vocab, s.hidden});
  add("model.norm.weight", {s.hidden}, true);
  for (std::int64_t i = 0; i < s.layers; ++i) {
    auto p = "model.layers." + std::to_string(i);
    add(p + ".self_attn.q_proj.weight", {s.hidden, s.hidden});
    add(p + ".self_attn.k_proj.weight", {kv, s.hidden});
    add(p + ".self_attn.v_proj.weight", {kv, s.hidden});
    add(p + ".self_attn.o_proj.weight", {s.hidden, s.hidden});
    add(p + ".mlp.gate_proj.weight", {s.intermediate, s.hidden});
    add(p + ".mlp.up_proj.weight", {s.intermediate, s.hidden});
    add(p + ".mlp.down_proj.weight", {s.hidden, s.intermediate});
    add(p + ".input_layernorm.weight", {s.hidden}, true);
    add(p + ".post_attention_layernorm.weight", {s.hidden}, true);
  }
  w.write((dir / "model.safetensors").string());
}

}  // namespace loader_faults
