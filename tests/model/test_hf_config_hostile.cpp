// Hostile config.json files: every field read by spec_from_hf_config is type- and range-checked, numbers
// that do not fit are typed errors (not UB casts), and no field can make parsing slow or allocate by size.
#include "curebench/core/json_file.hpp"
#include "curebench/model/hf_config.hpp"
#include "io/hostile_file.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

namespace cb = curebench;
using cb::hostile::error_of;

const std::string kBase =
    R"("architectures":["Qwen2ForCausalLM"],"vocab_size":32,"hidden_size":16,"intermediate_size":32,)"
    R"("num_attention_heads":2,"num_key_value_heads":1)";

cb::Error config_error(const std::string& fields) {
  return error_of([&] {
    auto j = cb::parse_json_text("{" + fields + "}", "config.json");
    (void)cb::model::spec_from_hf_config(j, "config.json");
  });
}

TEST(HfConfigHostile, OutOfRangeNumbersAreTypedErrors) {
  // 89223372036854775807 does not fit 64 bits: nlohmann keeps a double, whose cast to int64 was UB.
  for (std::string v : {"89223372036854775807", "1e30", "-1e30", "18446744073709551615"}) {
    auto e = config_error(kBase + R"(,"num_hidden_layers":)" + v);
    EXPECT_EQ(e.code(), cb::Errc::config) << v;
    EXPECT_EQ(e.field(), "num_hidden_layers") << v;
  }
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"max_position_embeddings":1e19)").field(), "max_position_embeddings");
  // A literal beyond double's range is a format error of the JSON itself.
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"rope_theta":1e400)").code(), cb::Errc::format);
}

TEST(HfConfigHostile, HugeLayerCountIsRefusedQuickly) {
  // 2^31 layers with Qwen's per-layer sliding-window loop took minutes before the layer-count bound.
  auto t0 = std::chrono::steady_clock::now();
  auto e = config_error(kBase + R"(,"num_hidden_layers":2147483648,"sliding_window":4,"use_sliding_window":true)");
  EXPECT_EQ(e.field(), "num_hidden_layers");
  e = config_error(kBase + R"(,"num_hidden_layers":65537,"sliding_window":4,"use_sliding_window":true)");
  EXPECT_EQ(e.field(), "num_hidden_layers");
  // The largest accepted count still parses fast.
  auto j = cb::parse_json_text("{" + kBase + R"(,"num_hidden_layers":65536,"sliding_window":4,"use_sliding_window":true,"max_window_layers":1})", "config.json");
  auto spec = cb::model::spec_from_hf_config(j, "config.json");
  EXPECT_EQ(spec.layer_sliding.size(), 65536u);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

TEST(HfConfigHostile, WrongTypesNameTheField) {
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":"2")").field(), "num_hidden_layers");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"rms_norm_eps":"x")").field(), "rms_norm_eps");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"tie_word_embeddings":3)").field(), "tie_word_embeddings");
  EXPECT_EQ(config_error(R"("architectures":[7])").field(), "architectures");
  EXPECT_EQ(config_error(R"("architectures":["EvilForCausalLM"])").code(), cb::Errc::unsupported);
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"eos_token_id":[1,"x"])").field(), "eos_token_id");
}

TEST(HfConfigHostile, InconsistentValuesAreRefused) {
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":0)").field(), "num_hidden_layers");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"num_key_value_heads":0)").field(), "num_key_value_heads");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"head_dim":7)").field(), "head_dim");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"eos_token_id":32)").field(), "eos_token_id");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":2,"layer_types":["full_attention"])").field(), "layer_types");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":1,"layer_types":["moe"])").field(), "layer_types[0]");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":1,"layer_types":["sliding_attention"])").field(), "sliding_window");
  EXPECT_EQ(config_error(kBase + R"(,"num_hidden_layers":1,"rope_scaling":{"rope_type":"yarn"})").code(), cb::Errc::unsupported);
}

TEST(HfConfigHostile, NestingAndNonObjects) {
  EXPECT_EQ(config_error(R"("x":)" + std::string(100, '[') + std::string(100, ']')).code(), cb::Errc::format);
  EXPECT_EQ(error_of([] { (void)cb::model::spec_from_hf_config(nlohmann::json::array(), "config.json"); }).code(), cb::Errc::config);
}

}  // namespace
