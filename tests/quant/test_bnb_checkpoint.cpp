// quant/bnb_checkpoint: bnb linears written by us in bnb's tensor layout load back bit-identical;
// detection by tensor names; loud failure on a packed weight without its quant_state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "curebench/quant/bnb_checkpoint.hpp"

namespace q = curebench::quant;
namespace io = curebench::io;
namespace fs = std::filesystem;

namespace {
std::string scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("curebench_bnb_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}
bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && at::equal(a, b);
}
}  // namespace

TEST(BnbCheckpoint, RoundTripEveryLayout) {
  at::manual_seed(5);
  auto w = at::randn({96, 128}).to(at::kBFloat16);
  auto nf4dq = q::quantize_nf4(w, 64, true);
  auto nf4 = q::quantize_nf4(w, 64, false);
  auto fp4 = q::quantize_fp4(w, 128, true);
  auto i8 = q::quantize_int8(w);
  io::SafetensorsWriter out;
  q::write_bnb_linear(out, "model.layers.0.mlp.down_proj", nf4dq);
  q::write_bnb_linear(out, "model.layers.0.mlp.up_proj", nf4);
  q::write_bnb_linear(out, "model.layers.0.mlp.gate_proj", fp4);
  q::write_bnb_linear(out, "model.layers.0.self_attn.q_proj", i8);
  q::write_bnb_linear(out, "model.layers.0.self_attn.k_proj", q::Dense{w});
  auto path = scratch("bnb.safetensors");
  out.write(path);

  io::SafetensorsSet set(path);
  // The on-disk names and dtypes bnb uses (formats-and-anchors.md 2.1).
  EXPECT_EQ(set.at("model.layers.0.mlp.down_proj.weight").info->shape, (std::vector<std::int64_t>{96 * 128 / 2, 1}));
  EXPECT_EQ(set.at("model.layers.0.mlp.down_proj.weight.absmax").info->dtype, curebench::DType::U8);
  EXPECT_EQ(set.at("model.layers.0.mlp.up_proj.weight.absmax").info->dtype, curebench::DType::F32);
  EXPECT_EQ(set.at("model.layers.0.mlp.down_proj.weight.nested_quant_map").info->shape, (std::vector<std::int64_t>{256}));
  EXPECT_TRUE(set.contains("model.layers.0.mlp.gate_proj.weight.quant_state.bitsandbytes__fp4"));
  EXPECT_EQ(set.at("model.layers.0.self_attn.q_proj.SCB").info->dtype, curebench::DType::F32);

  auto r = q::read_prequantized_linear(set, "model.layers.0.mlp.down_proj");
  ASSERT_TRUE(r && std::holds_alternative<q::NF4>(*r));
  const auto& a = std::get<q::NF4>(*r);
  EXPECT_TRUE(same(a.packed, nf4dq.packed));
  EXPECT_TRUE(same(a.absmax, nf4dq.absmax));
  ASSERT_TRUE(a.nested);
  EXPECT_EQ(a.nested->offset, nf4dq.nested->offset);
  EXPECT_TRUE(same(a.nested->absmax, nf4dq.nested->absmax));
  EXPECT_EQ(a.dtype, at::kBFloat16);
  EXPECT_TRUE(same(a.dequantize(at::kFloat), nf4dq.dequantize(at::kFloat)));

  auto u = q::read_prequantized_linear(set, "model.layers.0.mlp.up_proj");
  ASSERT_TRUE(u && std::holds_alternative<q::NF4>(*u));
  EXPECT_FALSE(std::get<q::NF4>(*u).nested);
  EXPECT_TRUE(same(std::get<q::NF4>(*u).dequantize(at::kBFloat16), nf4.dequantize(at::kBFloat16)));

  auto g = q::read_prequantized_linear(set, "model.layers.0.mlp.gate_proj");
  ASSERT_TRUE(g && std::holds_alternative<q::FP4>(*g));
  EXPECT_EQ(std::get<q::FP4>(*g).blocksize, 128);
  EXPECT_TRUE(same(std::get<q::FP4>(*g).dequantize(at::kFloat), fp4.dequantize(at::kFloat)));

  auto e = q::read_prequantized_linear(set, "model.layers.0.self_attn.q_proj");
  ASSERT_TRUE(e && std::holds_alternative<q::Int8>(*e));
  EXPECT_TRUE(same(std::get<q::Int8>(*e).q, i8.q));
  EXPECT_TRUE(same(std::get<q::Int8>(*e).scb, i8.scb));

  EXPECT_FALSE(q::read_prequantized_linear(set, "model.layers.0.self_attn.k_proj"));  // dense: not prequantized
  EXPECT_FALSE(q::read_prequantized_linear(set, "model.layers.9.mlp.down_proj"));     // absent
}

TEST(BnbCheckpoint, PackedWeightWithoutQuantStateFailsLoudly) {
  auto nf4 = q::quantize_nf4(at::randn({8, 64}), 64, false);
  io::SafetensorsWriter out;
  out.add("lin.weight", curebench::DType::U8, {256, 1}, std::vector<std::uint8_t>(256, 0x77));
  out.add("lin.weight.absmax", curebench::DType::F32, {8}, std::vector<float>(8, 1.0f));
  auto path = scratch("incomplete.safetensors");
  out.write(path);
  io::SafetensorsSet set(path);
  try {
    q::read_prequantized_linear(set, "lin");
    FAIL();
  } catch (const curebench::Error& e) {
    EXPECT_EQ(e.code(), curebench::Errc::format);
    EXPECT_EQ(e.field(), "lin.weight");
    EXPECT_NE(e.message().find("quant_state"), std::string::npos) << e.what();
    EXPECT_EQ(e.path(), path);
  }
}

TEST(BnbCheckpoint, InconsistentQuantStateIsAShapeError) {
  auto nf4 = q::quantize_nf4(at::randn({8, 64}), 64, false);
  io::SafetensorsWriter out;
  q::write_bnb_linear(out, "lin", nf4);
  // A second linear whose quant_state claims a bigger shape than its packed bytes hold.
  out.add("bad.weight", curebench::DType::U8, {256, 1}, std::vector<std::uint8_t>(256, 0));
  out.add("bad.weight.absmax", curebench::DType::F32, {8}, std::vector<float>(8, 1.0f));
  std::string js = R"({"quant_type":"nf4","blocksize":64,"dtype":"bfloat16","shape":[16,64]})";
  out.add("bad.weight.quant_state.bitsandbytes__nf4", curebench::DType::U8, {static_cast<std::int64_t>(js.size())},
          std::vector<std::uint8_t>(js.begin(), js.end()));
  auto path = scratch("inconsistent.safetensors");
  out.write(path);
  io::SafetensorsSet set(path);
  EXPECT_TRUE(q::read_prequantized_linear(set, "lin"));
  try {
    q::read_prequantized_linear(set, "bad");
    FAIL();
  } catch (const curebench::Error& e) {
    EXPECT_EQ(e.code(), curebench::Errc::shape);
    EXPECT_EQ(e.field(), "bad.weight");
  }
}
