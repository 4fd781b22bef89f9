// GGUF for every family: the transformers fixtures (tests/data/model/) converted to F32 GGUF here with
// convert_hf_to_gguf.py's rules — llama q/k rows permuted (LlamaModel.permute), Llama-3 RoPE as a
// rope_freqs.weight tensor (LlamaModel.generate_extra_tensors), gemma2 norms stored as 1 + w, tied
// classifiers without output.weight — then loaded through GGUFSource and checked against transformers'
// greedy references (reference.json). gemma2 is checked against the HF path with llama.cpp's attention scale
// (1/sqrt(head_dim): llama.cpp has no query_pre_attn_scalar key; the fixture's 24 differs from head_dim 16).
// The mistral fixture is left out: convert_hf_to_gguf.py writes Mistral as arch "llama" with no sliding window,
// and the fixture's window (6) is shorter than its test sequence, so llama.cpp itself would differ from transformers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "curebench/io/safetensors_index.hpp"
#include "curebench/model/load_gguf.hpp"
#include "curebench/runtime/generate.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;

namespace {

// Minimal GGUF v3 writer: u32/f32/string keys, F32 tensors, 32-byte alignment.
class GGUFWriter {
 public:
  void u32(const std::string& k, std::uint32_t v) { kv_.push_back({k, 4, bytes_of(v)}); }
  void f32(const std::string& k, float v) { kv_.push_back({k, 6, bytes_of(v)}); }
  void str(const std::string& k, const std::string& v) { kv_.push_back({k, 8, string_bytes(v)}); }
  void tensor(const std::string& name, const at::Tensor& t) { tensors_.push_back({name, t.to(at::kFloat).contiguous()}); }

  void write(const std::string& path) const {
    std::string out = "GGUF";
    append(out, std::uint32_t{3});
    append(out, static_cast<std::uint64_t>(tensors_.size()));
    append(out, static_cast<std::uint64_t>(kv_.size()));
    for (auto& kv : kv_) {
      out += string_bytes(kv.key);
      append(out, kv.type);
      out += kv.value;
    }
    std::uint64_t offset = 0;
    std::vector<std::uint64_t> offsets;
    for (auto& t : tensors_) {
      out += string_bytes(t.name);
      append(out, static_cast<std::uint32_t>(t.value.dim()));
      for (auto d = t.value.dim() - 1; d >= 0; --d) append(out, static_cast<std::uint64_t>(t.value.size(d)));  // ne: innermost first
      append(out, std::uint32_t{0});  // F32
      append(out, offset);
      offsets.push_back(offset);
      offset += (static_cast<std::uint64_t>(t.value.nbytes()) + 31) / 32 * 32;
    }
    out.resize((out.size() + 31) / 32 * 32, '\0');
    const auto base = out.size();
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      out.resize(base + offsets[i], '\0');
      out.append(static_cast<const char*>(tensors_[i].value.data_ptr()), tensors_[i].value.nbytes());
    }
    std::ofstream(path, std::ios::binary) << out;
  }

 private:
  struct KV {
    std::string key;
    std::uint32_t type;
    std::string value;
  };
  struct T {
    std::string name;
    at::Tensor value;
  };
  template <class V>
  static std::string bytes_of(V v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }
  template <class V>
  static void append(std::string& s, V v) { s += bytes_of(v); }
  static std::string string_bytes(const std::string& s) { return bytes_of(static_cast<std::uint64_t>(s.size())) + s; }
  std::vector<KV> kv_;
  std::vector<T> tensors_;
};

// convert_hf_to_gguf.py's LlamaModel.permute.
at::Tensor permute(const at::Tensor& w, std::int64_t heads) {
  auto shape = w.sizes().vec();
  auto rest = w.dim() == 2 ? w.size(1) : 1;
  return w.reshape({heads, 2, w.size(0) / heads / 2, rest}).transpose(1, 2).reshape(shape);
}

std::string convert(const std::string& fixture) {
  using cb::model::Role;
  auto spec = cb::model::load_hf_config(model_fixture(fixture) + "/config.json");
  auto config = cb::read_json_file(model_fixture(fixture) + "/config.json");
  cb::io::SafetensorsSet set(model_fixture(fixture));
  const std::string arch = spec.model_type == "mistral" ? "llama" : spec.model_type;
  const bool interleaved = arch == "llama";
  const bool gemma = arch == "gemma2";
  GGUFWriter w;
  w.str("general.architecture", arch);
  const std::string a = arch + ".";
  w.u32(a + "context_length", static_cast<std::uint32_t>(spec.max_position_embeddings));
  w.u32(a + "embedding_length", static_cast<std::uint32_t>(spec.hidden_size));
  w.u32(a + "feed_forward_length", static_cast<std::uint32_t>(spec.intermediate_size));
  w.u32(a + "block_count", static_cast<std::uint32_t>(spec.num_layers));
  w.u32(a + "attention.head_count", static_cast<std::uint32_t>(spec.num_heads));
  w.u32(a + "attention.head_count_kv", static_cast<std::uint32_t>(spec.num_kv_heads));
  w.u32(a + "attention.key_length", static_cast<std::uint32_t>(spec.head_dim));
  w.u32(a + "attention.value_length", static_cast<std::uint32_t>(spec.head_dim));
  w.u32(a + "rope.dimension_count", static_cast<std::uint32_t>(spec.head_dim));
  w.f32(a + "rope.freq_base", static_cast<float>(spec.rope.theta));
  w.f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(spec.rms_norm_eps));
  w.u32(a + "vocab_size", static_cast<std::uint32_t>(spec.vocab_size));
  if (spec.attn_logit_softcap) w.f32(a + "attn_logit_softcapping", static_cast<float>(*spec.attn_logit_softcap));
  if (spec.final_logit_softcap) w.f32(a + "final_logit_softcapping", static_cast<float>(*spec.final_logit_softcap));
  if (gemma && spec.sliding_window) w.u32(a + "attention.sliding_window", static_cast<std::uint32_t>(*spec.sliding_window));
  if (config.contains("bos_token_id")) w.u32("tokenizer.ggml.bos_token_id", config["bos_token_id"].get<std::uint32_t>());
  if (config.contains("eos_token_id")) w.u32("tokenizer.ggml.eos_token_id", config["eos_token_id"].get<std::uint32_t>());
  if (spec.rope.type == "llama3") {  // LlamaModel.generate_extra_tensors
    std::vector<float> factors;
    const double old_len = static_cast<double>(spec.rope.original_max_position);
    const double low_wl = old_len / spec.rope.low_freq_factor, high_wl = old_len / spec.rope.high_freq_factor;
    for (std::int64_t i = 0; i < spec.head_dim; i += 2) {
      const float freq = 1.0f / static_cast<float>(std::pow(spec.rope.theta, static_cast<float>(i) / static_cast<float>(spec.head_dim)));
      const double wavelen = 2 * M_PI / freq;
      if (wavelen < high_wl) factors.push_back(1.0f);
      else if (wavelen > low_wl) factors.push_back(static_cast<float>(spec.rope.factor));
      else {
        const double smooth = (old_len / wavelen - spec.rope.low_freq_factor) / (spec.rope.high_freq_factor - spec.rope.low_freq_factor);
        factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / spec.rope.factor + smooth)));
      }
    }
    w.tensor("rope_freqs.weight", at::tensor(factors));
  }
  for (const auto& name : set.names()) {
    auto t = cb::model::SafetensorsSource::to_tensor(set.at(name), at::kFloat);
    // Find the role and layer of this HF name.
    bool mapped = false;
    for (const auto& row : cb::model::kRoleNames) {
      for (std::int64_t layer = -1; layer < spec.num_layers && !mapped; ++layer) {
        if (cb::model::tensor_name(row.role, cb::model::NameStyle::hf, spec.sandwich_norms, layer) != name) continue;
        auto gname = cb::model::tensor_name(row.role, cb::model::NameStyle::gguf, spec.sandwich_norms, layer);
        if (interleaved && (row.role == Role::q || row.role == Role::q_bias)) t = permute(t, spec.num_heads);
        if (interleaved && (row.role == Role::k || row.role == Role::k_bias)) t = permute(t, spec.num_kv_heads);
        if (gemma && gname.ends_with("norm.weight")) t = t + 1;  // Gemma2Model.modify_tensors
        w.tensor(gname, t);
        mapped = true;
      }
      if (mapped) break;
    }
    EXPECT_TRUE(mapped) << fixture << ": " << name;
  }
  auto path = (std::filesystem::temp_directory_path() / ("curebench_gguf_" + fixture + "." + std::to_string(::getpid()) + ".gguf")).string();
  w.write(path);
  return path;
}

std::vector<std::int64_t> greedy(const cb::model::Decoder& d, const std::vector<std::int64_t>& prompt, std::int64_t n) {
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = n;
  opt.ignore_eos = true;
  return cb::runtime::generate(d, {prompt}, opt).at(0).tokens;
}
}  // namespace

class GGUFConverted : public ::testing::TestWithParam<std::string> {};

TEST_P(GGUFConverted, GreedyMatchesTransformers) {
  const auto name = GetParam();
  auto path = convert(name);
  auto m = cb::model::load_gguf_model(path);
  auto hf = cb::model::load_hf_config(model_fixture(name) + "/config.json");
  const auto& g = m.decoder.spec();
  EXPECT_EQ(g.architecture, name == "mistral" ? "LlamaForCausalLM" : hf.architecture);
  EXPECT_EQ(g.tie_word_embeddings, hf.tie_word_embeddings);
  EXPECT_EQ(g.qkv_bias, hf.qkv_bias);
  EXPECT_EQ(g.qk_norm, hf.qk_norm);
  EXPECT_EQ(g.head_dim, hf.head_dim);
  auto ref = fixture_reference(name);
  auto prompt = json_ids(ref["input_ids"][0]);
  auto want = json_ids(ref["greedy_f32"]);
  EXPECT_EQ(greedy(m.decoder, prompt, static_cast<std::int64_t>(want.size())), want) << name;
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GGUFConverted, ::testing::Values("llama", "llama3_rope_tied_sharded", "qwen2", "qwen3"),
                         [](const auto& info) { return info.param; });

TEST(GGUFConvertedGemma2, MatchesTheHFPathAtLlamaCppsAttentionScale) {
  auto path = convert("gemma2");
  auto m = cb::model::load_gguf_model(path);
  const auto& g = m.decoder.spec();
  EXPECT_EQ(g.architecture, "Gemma2ForCausalLM");
  EXPECT_FALSE(g.norm_plus_one);  // the +1 is in the stored weights
  EXPECT_TRUE(g.sandwich_norms && g.scale_embeddings);
  EXPECT_EQ(g.sliding_window, 6);
  EXPECT_EQ(g.layer_sliding, (std::vector<bool>{true, false, true, false}));
  EXPECT_DOUBLE_EQ(*g.attn_logit_softcap, 50.0);
  EXPECT_DOUBLE_EQ(*g.final_logit_softcap, 30.0);
  // The HF path with llama.cpp's scale (1/sqrt(head_dim)) is the reference for this file.
  auto spec = cb::model::load_hf_config(model_fixture("gemma2") + "/config.json");
  spec.attention_scale = 1.0 / std::sqrt(static_cast<double>(spec.head_dim));
  cb::io::SafetensorsSet set(model_fixture("gemma2"));
  cb::model::SafetensorsSource src(set, at::kFloat, at::kCPU);
  cb::model::Decoder hf(spec, cb::model::load_weights(spec, src), at::kFloat, at::kCPU);
  auto prompt = json_ids(fixture_reference("gemma2")["input_ids"][0]);
  auto ids = at::tensor(prompt, at::kLong).unsqueeze(0);
  auto real = at::ones_like(ids, at::kBool);
  auto c1 = hf.make_cache(1, ids.size(1)), c2 = m.decoder.make_cache(1, ids.size(1));
  auto a = hf.forward(ids, real, c1, 0), b = m.decoder.forward(ids, real, c2, 0);
  EXPECT_TRUE(at::allclose(a, b, 1e-4, 1e-4)) << (a - b).abs().max().item<float>();
  EXPECT_EQ(greedy(m.decoder, prompt, 16), greedy(hf, prompt, 16));
  std::filesystem::remove(path);
}
