// quant/gptq.hpp, quant/awq.hpp, quant/gptq_awq_checkpoint.hpp: every packed layer written by
// tests/fixtures/make_gptq_awq.py dequantizes bit-exactly to the script's own s * (q - z) (computed from the
// integers before packing, never unpacked); malformed tensors and unsupported configs are refused by name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "curebench/io/safetensors_writer.hpp"
#include "curebench/loader/budget.hpp"
#include "curebench/quant/gptq_awq_checkpoint.hpp"

namespace q = curebench::quant;
namespace io = curebench::io;
namespace fs = std::filesystem;
using curebench::DType;
using curebench::Errc;
using curebench::Error;

namespace {
const std::string kTensors = std::string(CUREBENCH_TEST_DATA) + "/quant/gptq_awq_tensors";

const nlohmann::json& cases() {
  static const auto j = curebench::read_json_file(kTensors + ".json");
  return j;
}
q::GptqAwqConfig config_of(const std::string& name) {
  auto c = q::parse_gptq_awq_config(cases()["cases"][name], name);
  if (!c) throw std::runtime_error("no config for " + name);
  return *c;
}
at::Tensor load(const io::SafetensorsSet& set, const std::string& name) {
  auto ref = set.at(name);
  auto st = curebench::compat::to_scalar_type(ref.info->dtype, ref.file->path(), ref.info->name);
  auto b = ref.file->bytes(*ref.info);
  return at::from_blob(const_cast<std::byte*>(b.data()), ref.info->shape, at::TensorOptions().dtype(st)).clone();
}
DType disk(at::ScalarType t) {
  return t == at::kInt ? DType::I32 : t == at::kHalf ? DType::F16 : t == at::kLong ? DType::I64 : DType::F32;
}
void add(io::SafetensorsWriter& w, const std::string& name, const at::Tensor& t) {
  auto c = t.contiguous();
  w.add(name, disk(c.scalar_type()), c.sizes().vec(),
        std::span<const std::byte>(static_cast<const std::byte*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
}
}  // namespace

TEST(GptqAwq, EveryFixtureLayerDequantizesBitExactly) {
  io::SafetensorsSet set(fs::path(kTensors + ".safetensors"));
  ASSERT_EQ(cases()["cases"].size(), 8u);
  for (auto& [name, c] : cases()["cases"].items()) {
    auto w = q::read_gptq_awq_linear(set, name, config_of(name));
    ASSERT_TRUE(w.has_value()) << name;
    EXPECT_EQ(q::out_features(*w), 64) << name;
    EXPECT_EQ(q::in_features(*w), 256) << name;
    EXPECT_EQ(std::holds_alternative<q::AWQ>(*w), c["quant_method"] == "awq") << name;
    auto expected = load(set, name + ".expected");
    auto got = q::dequantize(*w, at::kFloat);
    EXPECT_TRUE(at::equal(got, expected)) << name << ": max diff " << (got - expected).abs().max().item<float>();
    // matmul is the dense product with those weights.
    at::manual_seed(1);
    auto x = at::randn({3, 256});
    EXPECT_TRUE(at::allclose(q::matmul(*w, x), at::linear(x, expected), 1e-5, 1e-6)) << name;
    // Bytes held are the stored tensors'.
    std::int64_t stored = 0;
    for (auto f : {".qweight", ".qzeros", ".scales", ".g_idx"})
      if (auto r = set.find(name + f)) stored += static_cast<std::int64_t>(r->info->nbytes());
    EXPECT_EQ(q::weight_bytes(*w), stored) << name;
  }
}

TEST(GptqAwq, ActOrderGIdxIsNonMonotoneAndMatters) {
  // The act-order fixture's g_idx is a shuffled assignment: reading it as i / group_size gives other weights.
  io::SafetensorsSet set(fs::path(kTensors + ".safetensors"));
  auto g = load(set, "gptq4_asym_g32_actorder.g_idx");
  EXPECT_FALSE(at::equal(g, std::get<0>(g.sort())));
  auto c = config_of("gptq4_asym_g32_actorder");
  auto w = std::get<q::GPTQ>(*q::read_gptq_awq_linear(set, "gptq4_asym_g32_actorder", c));
  w.g_idx = at::div(at::arange(256, at::kLong), 32, "floor").to(at::kInt);
  EXPECT_FALSE(at::equal(w.dequantize(at::kFloat), load(set, "gptq4_asym_g32_actorder.expected")));
}

TEST(GptqAwq, AwqNibbleOrderIsTheInterleave) {
  // One word holding fields 0..7 = 0..7 decodes to columns [0, 4, 1, 5, 2, 6, 3, 7]: field s is column kAwqOrder[s].
  std::int32_t word = 0;
  for (int s = 0; s < 8; ++s) word |= s << (4 * s);
  auto cols = q::AWQ::deinterleave(at::full({1, 1}, word, at::kInt));
  EXPECT_EQ(std::vector<int>(cols.data_ptr<int>(), cols.data_ptr<int>() + 8), (std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(GptqAwq, ClassicZerosAreStoredMinusOne) {
  // gptq4_sym_g128 is classic: stored fields are 7, read back as 8 (sym); the same words read as gptq_v2 give 7.
  io::SafetensorsSet set(fs::path(kTensors + ".safetensors"));
  auto c = config_of("gptq4_sym_g128");
  auto w = std::get<q::GPTQ>(*q::read_gptq_awq_linear(set, "gptq4_sym_g128", c));
  EXPECT_TRUE(w.zeros().eq(8).all().item<bool>());
  w.zeros_minus_one = false;
  EXPECT_TRUE(w.zeros().eq(7).all().item<bool>());
}

TEST(GptqAwq, MalformedTensorsAreRefusedNamingTensorAndField) {
  io::SafetensorsSet good(fs::path(kTensors + ".safetensors"));
  const std::string p = "gptq4_asym_g32_actorder";
  auto base = [&] {
    std::map<std::string, at::Tensor> m;
    for (auto f : {"qweight", "qzeros", "scales", "g_idx"}) m[f] = load(good, p + "." + f);
    return m;
  };
  auto dir = fs::temp_directory_path() / ("curebench_gptq_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto expect_refused = [&](const std::string& what, const std::function<void(std::map<std::string, at::Tensor>&)>& edit,
                            Errc code, const std::string& field, const std::string& words, q::GptqAwqConfig c) {
    auto m = base();
    edit(m);
    io::SafetensorsWriter w;
    for (auto& [f, t] : m) add(w, p + "." + f, t);
    auto path = dir / (what + ".safetensors");
    w.write(path.string());
    io::SafetensorsSet set(path);
    try {
      q::read_gptq_awq_linear(set, p, c);
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << what << ": " << e.what();
      EXPECT_EQ(e.field(), p + "." + field) << what << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << what << ": " << e.what();
    }
  };
  const auto c = config_of(p);
  expect_refused("gidx_range", [](auto& m) { m["g_idx"][5] = 8; }, Errc::format, "g_idx", "outside 0..7", c);
  expect_refused("gidx_negative", [](auto& m) { m["g_idx"][0] = -1; }, Errc::format, "g_idx", "outside", c);
  expect_refused("gidx_length", [](auto& m) { m["g_idx"] = m["g_idx"].narrow(0, 0, 255).clone(); }, Errc::shape, "g_idx", "[256]", c);
  expect_refused("scales_missing", [](auto& m) { m.erase("scales"); }, Errc::not_found, "scales", "missing scales", c);
  expect_refused("scales_shape", [](auto& m) { m["scales"] = m["scales"].narrow(0, 0, 7).clone(); }, Errc::shape, "scales", "[8, 64]", c);
  expect_refused("zeros_shape", [](auto& m) { m["qzeros"] = m["qzeros"].narrow(1, 0, 4).clone(); }, Errc::shape, "qzeros", "[8, 8]", c);
  expect_refused("zeros_dtype", [](auto& m) { m["qzeros"] = m["qzeros"].to(at::kFloat); }, Errc::format, "qzeros", "F32", c);
  expect_refused("qweight_dtype", [](auto& m) { m["qweight"] = m["qweight"].to(at::kHalf); }, Errc::format, "qweight", "F16", c);
  expect_refused("qweight_1d", [](auto& m) { m["qweight"] = m["qweight"].reshape({-1}); }, Errc::shape, "qweight", "1 dims", c);
  auto no_gidx = c;
  expect_refused("gidx_missing_actorder", [](auto& m) { m.erase("g_idx"); }, Errc::not_found, "g_idx", "desc_act", no_gidx);
  // An asym checkpoint's zeros under a sym config: zeros out of the range sym allows.
  auto sym = c;
  sym.sym = true;
  expect_refused("zeros_not_sym", [](auto&) {}, Errc::format, "qzeros", "sym", sym);
  // AWQ: in not a multiple of the group.
  auto awq = config_of("awq4_g64");
  awq.group_size = 96;
  io::SafetensorsSet set(fs::path(kTensors + ".safetensors"));
  try {
    q::read_gptq_awq_linear(set, "awq4_g64", awq);
    ADD_FAILURE() << "AWQ with in % group != 0 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "awq4_g64.qweight");
  }
  fs::remove_all(dir);
}

TEST(GptqAwq, ConfigFieldsFromEachSource) {
  // transformers GPTQConfig (config.json quantization_config).
  auto g = q::parse_gptq_awq_config({{"quant_method", "gptq"}, {"bits", 8}, {"group_size", -1}, {"desc_act", true}, {"sym", false},
                                     {"checkpoint_format", "gptq_v2"}}, "config.json");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->bits, 8);
  EXPECT_EQ(g->group_size, -1);
  EXPECT_TRUE(g->desc_act);
  EXPECT_FALSE(g->sym);
  EXPECT_FALSE(g->zeros_minus_one);
  EXPECT_EQ(g->format(), "gptq_v2");
  // AutoGPTQ quantize_config.json has no quant_method: the file name says it; GPTQModel writes "format".
  auto a = q::parse_gptq_awq_config({{"bits", 4}, {"group_size", 128}, {"format", "gptq"}}, "quantize_config.json", "gptq");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->zeros_minus_one && a->sym && !a->desc_act);
  // AutoAWQ quant_config.json.
  auto w = q::parse_gptq_awq_config({{"zero_point", true}, {"q_group_size", 64}, {"w_bit", 4}, {"version", "GEMM"}}, "quant_config.json", "awq");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->method, q::GptqAwqConfig::Method::awq);
  EXPECT_EQ(w->group_size, 64);
  EXPECT_EQ(w->format(), "awq-gemm");
  // Not GPTQ/AWQ: nullopt.
  EXPECT_FALSE(q::parse_gptq_awq_config({{"quant_method", "bitsandbytes"}}, "config.json"));
}

TEST(GptqAwq, UnsupportedLayoutsAreRefusedByName) {
  auto refused = [](const nlohmann::json& j, const std::string& field, const std::string& words) {
    try {
      q::parse_gptq_awq_config(j, "config.json");
      ADD_FAILURE() << j.dump() << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.field(), field) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused({{"quant_method", "awq"}, {"version", "gemv"}}, "version", "\"gemv\" layout");
  refused({{"quant_method", "awq"}, {"version", "GEMV_FAST"}}, "version", "gemv_fast");
  refused({{"quant_method", "awq"}, {"bits", 8}}, "bits", "8 bits");
  refused({{"quant_method", "awq"}, {"zero_point", false}}, "zero_point", "without zero points");
  refused({{"quant_method", "gptq"}, {"bits", 3}}, "bits", "3 bits");
  refused({{"quant_method", "gptq"}, {"checkpoint_format", "marlin"}}, "checkpoint_format", "marlin");
  refused({{"quant_method", "gptq"}, {"group_size", 0}}, "group_size", "found 0");
}

TEST(GptqAwq, BudgetBitsPerWeight) {
  // 4 bits + (16-bit scale + 4-bit zero) / 128 + 32-bit g_idx / 4096 outputs.
  EXPECT_DOUBLE_EQ(curebench::loader::packed_int_bits_per_weight(4, 128, 4096, 4096, true), 4 + 20.0 / 128 + 32.0 / 4096);
  EXPECT_DOUBLE_EQ(curebench::loader::packed_int_bits_per_weight(4, 128, 4096, 4096, false), 4 + 20.0 / 128);
  EXPECT_DOUBLE_EQ(curebench::loader::packed_int_bits_per_weight(8, -1, 4096, 4096, true), 8 + 24.0 / 4096 + 32.0 / 4096);
  // And the budget figure is what a fixture layer holds: [64, 256] GPTQ 4-bit g128.
  io::SafetensorsSet set(fs::path(kTensors + ".safetensors"));
  auto w = *q::read_gptq_awq_linear(set, "gptq4_sym_g128", config_of("gptq4_sym_g128"));
  EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(q::weight_bytes(w)) / (64 * 256), curebench::loader::packed_int_bits_per_weight(4, 128, 256, 64, true));
}
