// model/hf_config: config.json as transformers 4.x and 5.x write it, and the refusals.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "curebench/io/safetensors_writer.hpp"
#include "curebench/model/hf_config.hpp"
#include "curebench/model/load.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;
using cb::model::spec_from_hf_config;

namespace {
nlohmann::json llama4x() {
  // Meta-Llama-3.1-8B-Instruct's config.json as transformers 4.x wrote it (shapes and rope as published).
  return nlohmann::json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "torch_dtype": "bfloat16", "tie_word_embeddings": false, "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009], "attention_bias": false, "mlp_bias": false, "hidden_act": "silu"})");
}
}  // namespace

TEST(HfConfig, Llama31Transformers4x) {
  auto s = spec_from_hf_config(llama4x(), "config.json");
  EXPECT_EQ(s.head_dim, 128);
  EXPECT_EQ(s.rope.type, "llama3");
  EXPECT_DOUBLE_EQ(s.rope.theta, 500000.0);
  EXPECT_EQ(s.rope.original_max_position, 8192);
  EXPECT_EQ(s.dtype, "bfloat16");
  EXPECT_EQ(s.eos_ids, (std::vector<std::int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(s.parameter_count(), 8030261248);  // Llama-3-8B's published parameter count
}

TEST(HfConfig, Transformers5xRopeParametersAndLayerTypes) {
  auto s = cb::model::load_hf_config(model_fixture("gemma2") + "/config.json");
  EXPECT_EQ(s.layer_sliding, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(s.sliding_window, 6);
  EXPECT_TRUE(s.norm_plus_one && s.scale_embeddings && s.sandwich_norms);
  EXPECT_DOUBLE_EQ(*s.attn_logit_softcap, 50.0);
  EXPECT_DOUBLE_EQ(s.attention_scale, 1.0 / std::sqrt(24.0));
  auto l3 = cb::model::load_hf_config(model_fixture("llama3_rope_tied_sharded") + "/config.json");
  EXPECT_EQ(l3.rope.type, "llama3");
  EXPECT_EQ(l3.rope.original_max_position, 32);
}

TEST(HfConfig, Gemma2Transformers4xAlternatesFromLayerZero) {
  auto c = nlohmann::json::parse(R"({"architectures": ["Gemma2ForCausalLM"], "hidden_size": 3584, "intermediate_size": 14336,
    "num_hidden_layers": 42, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256, "vocab_size": 256000,
    "sliding_window": 4096, "query_pre_attn_scalar": 256, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
    "hidden_activation": "gelu_pytorch_tanh", "torch_dtype": "float32", "rope_theta": 10000.0})");
  auto s = spec_from_hf_config(c, "gemma-2-9b/config.json");
  EXPECT_TRUE(s.layer_sliding[0]);
  EXPECT_FALSE(s.layer_sliding[1]);
  EXPECT_TRUE(s.tie_word_embeddings);  // Gemma-2 ties by default
  EXPECT_EQ(s.parameter_count(), 9241705984);  // gemma-2-9b's published count
}

TEST(HfConfig, Qwen2HasQkvBiasMistralSlides) {
  auto q = spec_from_hf_config(nlohmann::json::parse(R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":3584,
    "intermediate_size":18944,"num_hidden_layers":28,"num_attention_heads":28,"num_key_value_heads":4,"vocab_size":152064,
    "rope_theta":10000.0,"sliding_window":4096,"use_sliding_window":false,"max_window_layers":28,"tie_word_embeddings":false})"), "c");
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_FALSE(q.sliding_window.has_value());
  EXPECT_EQ(q.parameter_count(), 7615616512);  // Qwen2-7B / DeepSeek-R1-Distill-Qwen-7B published count
  auto m = spec_from_hf_config(nlohmann::json::parse(R"({"architectures":["MistralForCausalLM"],"hidden_size":4096,
    "intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":32000,
    "rope_theta":10000.0,"sliding_window":4096})"), "c");
  EXPECT_EQ(m.sliding_window, 4096);
  EXPECT_TRUE(m.layer_sliding[31]);
  EXPECT_EQ(m.parameter_count(), 7241732096);  // Mistral-7B published count
}

TEST(HfConfigRefusals, UnknownArchitectureNamesFileAndField) {
  auto c = llama4x();
  c["architectures"] = {"GPTNeoXForCausalLM"};
  try {
    spec_from_hf_config(c, "/m/config.json");
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::unsupported);
    EXPECT_EQ(e.field(), "architectures");
    EXPECT_EQ(e.path(), "/m/config.json");
  }
}

TEST(HfConfigRefusals, BadFields) {
  auto c = llama4x();
  c["num_key_value_heads"] = 5;
  EXPECT_THROW(spec_from_hf_config(c, "c"), cb::Error);
  c = llama4x();
  c["hidden_size"] = "4096";
  EXPECT_THROW(spec_from_hf_config(c, "c"), cb::Error);
  c = llama4x();
  c["rope_scaling"]["rope_type"] = "yarn-unknown";
  EXPECT_THROW(spec_from_hf_config(c, "c"), cb::Error);
  c = llama4x();
  c.erase("vocab_size");
  EXPECT_THROW(spec_from_hf_config(c, "c"), cb::Error);
}

namespace {
std::filesystem::path copy_fixture(const std::string& name, const std::string& tag) {
  auto dst = std::filesystem::temp_directory_path() / ("curebench_model_" + tag + "." + std::to_string(::getpid()));
  std::filesystem::remove_all(dst);
  std::filesystem::copy(model_fixture(name), dst, std::filesystem::copy_options::recursive);
  return dst;
}
}  // namespace

TEST(ModelLoadRefusals, ShapeMismatchWithConfigNamesTensor) {
  auto dir = copy_fixture("llama", "shape");
  auto cfg = cb::read_json_file((dir / "config.json").string());
  cfg["intermediate_size"] = 96;
  std::ofstream(dir / "config.json") << cfg.dump();
  try {
    cb::model::load_hf_model(dir);
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::shape);
    EXPECT_EQ(e.field(), "model.layers.0.mlp.gate_proj.weight");
  }
}

TEST(ModelLoadRefusals, MissingTensor) {
  auto dir = copy_fixture("llama", "missing");
  cb::io::SafetensorsFile f((dir / "model.safetensors").string());
  cb::io::SafetensorsWriter w;
  for (auto& t : f.tensors())
    if (t.name != "model.layers.1.self_attn.v_proj.weight") w.add(t.name, t.dtype, t.shape, f.bytes(t));
  auto bytes = w.serialize();
  std::filesystem::remove(dir / "model.safetensors");
  std::ofstream(dir / "model.safetensors", std::ios::binary) << bytes;
  try {
    cb::model::load_hf_model(dir);
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::not_found);
    EXPECT_EQ(e.field(), "model.layers.1.self_attn.v_proj.weight");
  }
}

TEST(ModelLoadRefusals, MissingShardOfIndex) {
  auto dir = copy_fixture("llama3_rope_tied_sharded", "shard");
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  try {
    cb::model::load_hf_model(dir);
    FAIL();
  } catch (const cb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos);
  }
}

TEST(ModelLoadRefusals, TruncatedShard) {
  auto dir = copy_fixture("llama", "trunc");
  std::filesystem::resize_file(dir / "model.safetensors", std::filesystem::file_size(dir / "model.safetensors") - 10);
  EXPECT_THROW(cb::model::load_hf_model(dir), cb::Error);
}
