// loader/prequantized: checkpoints stored quantized (bnb 4-bit / 8-bit folders, GGUF files) load as stored
// through the default chain — weights bit-identical to what was written, no re-quantization.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "curebench/io/safetensors_writer.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/discover.hpp"
#include "curebench/quant/quantize_model.hpp"
#include "curebench/runtime/generate.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& tag) {
  auto d = fs::temp_directory_path() / ("curebench_prequant_" + tag + "." + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
std::string stories(const std::string& leaf) { return std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/" + leaf; }

cb::loader::LoadRequest cpu_request() {
  cb::loader::LoadRequest r;
  r.dtype = at::kFloat;
  r.workload = {.batch = 1, .context = 64};
  return r;
}

bool same(const at::Tensor& a, const at::Tensor& b) { return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && at::equal(a, b); }

// Writes `fixture` with every decoder linear as NF4 + double quant via quant::write_bnb_linear; returns what was written.
std::map<std::string, cb::quant::NF4> write_bnb4_copy(const fs::path& src, const fs::path& dst, bool with_quantization_config) {
  fs::create_directories(dst);
  cb::io::SafetensorsSet set(src);
  cb::io::SafetensorsWriter w;
  std::map<std::string, cb::quant::NF4> written;
  for (const auto& name : set.names()) {
    auto t = cb::model::SafetensorsSource::to_tensor(set.at(name));
    if (cb::quant::is_hf_linear_name(name)) {
      auto q = cb::quant::quantize_nf4(t, 64, true);
      auto prefix = name.substr(0, name.size() - 7);
      cb::quant::write_bnb_linear(w, prefix, q);
      written.emplace(prefix, q);
    } else {
      cb::quant::bnb_detail::add(w, name, t);
    }
  }
  w.write((dst / "model.safetensors").string());
  auto config = cb::read_json_file((src / "config.json").string());
  if (with_quantization_config)
    config["quantization_config"] = {{"quant_method", "bitsandbytes"}, {"load_in_4bit", true}, {"bnb_4bit_quant_type", "nf4"},
                                     {"bnb_4bit_use_double_quant", true}};
  std::ofstream(dst / "config.json") << config.dump(2);
  for (auto f : {"generation_config.json", "tok512.bin"})
    if (fs::exists(src / f)) fs::copy_file(src / f, dst / f);
  return written;
}

void expect_loaded_as_written(const cb::model::Decoder& d, const std::map<std::string, cb::quant::NF4>& written) {
  const auto& layers = d.weights().layers;
  int checked = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const std::pair<const char*, const cb::quant::Weight*> linears[] = {
        {"self_attn.q_proj", &l.q}, {"self_attn.k_proj", &l.k}, {"self_attn.v_proj", &l.v}, {"self_attn.o_proj", &l.o},
        {"mlp.gate_proj", &l.gate}, {"mlp.up_proj", &l.up}, {"mlp.down_proj", &l.down}};
    for (auto [suffix, w] : linears) {
      auto& want = written.at("model.layers." + std::to_string(i) + "." + suffix);
      ASSERT_TRUE(std::holds_alternative<cb::quant::NF4>(*w)) << suffix;
      const auto& got = std::get<cb::quant::NF4>(*w);
      EXPECT_TRUE(same(got.packed, want.packed));
      EXPECT_TRUE(same(got.absmax, want.absmax));
      ASSERT_TRUE(got.nested);
      EXPECT_TRUE(same(got.nested->absmax, want.nested->absmax));
      EXPECT_EQ(got.nested->offset, want.nested->offset);
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(layers.size()) * 7);
}
}  // namespace

TEST(Prequantized, Bnb4FolderLoadsAsWrittenThroughTheDefaultChain) {
  auto dir = scratch("bnb4");
  auto written = write_bnb4_copy(model_fixture("llama"), dir, true);
  auto info = cb::loader::inspect_checkpoint(dir);
  EXPECT_EQ(info.kind, cb::loader::CheckpointKind::hf_bnb_4bit);
  auto res = cb::loader::DefaultChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "Prequantized");
  ASSERT_EQ(res.attempts.size(), 1u);
  expect_loaded_as_written(res.model.decoder, written);
  // The other strategies refuse a quantized folder (no re-quantization of packed bytes).
  EXPECT_FALSE(cb::loader::QuantizeOnLoad<cb::quant::Int8Config>{}.check(info, cpu_request()).ok);
  EXPECT_FALSE(cb::loader::FullPrecision<>{}.check(info, cpu_request()).ok);
  fs::remove_all(dir);
}

TEST(Prequantized, Bnb4FolderWithoutQuantizationConfigIsDetectedByTensorNames) {
  auto dir = scratch("bnb4_noconfig");
  auto written = write_bnb4_copy(model_fixture("llama"), dir, false);
  auto info = cb::loader::inspect_checkpoint(dir);
  EXPECT_TRUE(info.quantization_config.is_null());
  EXPECT_EQ(info.kind, cb::loader::CheckpointKind::hf_bnb_4bit);
  auto res = cb::loader::DefaultChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "Prequantized");
  expect_loaded_as_written(res.model.decoder, written);
  fs::remove_all(dir);
}

TEST(Prequantized, SavedNf4CheckpointGivesTheSameLogitsAsQuantizeOnLoad) {
  // stories260K quantized on load and the same model saved pre-quantized then loaded: identical weights,
  // so identical logits (down_proj included: NF4 blocks of 64 run across rows, 172 inputs need no group fit).
  auto dir = scratch("nf4dq_saved");
  auto saved = cb::quant::save_bnb_checkpoint(stories("hf"), dir, cb::quant::named_quant("nf4-dq"));
  EXPECT_EQ(saved.quantized, 35);  // 5 layers x 7 linears; tied classifier: no lm_head tensor
  EXPECT_TRUE(saved.kept_dense.empty());
  auto config = cb::read_json_file((dir / "config.json").string());
  EXPECT_EQ(config["quantization_config"]["bnb_4bit_quant_type"], "nf4");
  EXPECT_EQ(config["quantization_config"]["bnb_4bit_use_double_quant"], true);
  EXPECT_TRUE(fs::exists(dir / "tok512.bin"));

  auto pre = cb::loader::DefaultChain{}.load(cb::loader::inspect_checkpoint(dir), cpu_request());
  EXPECT_EQ(pre.strategy, "Prequantized");
  using Q = cb::loader::Chain<cb::loader::QuantizeOnLoad<cb::quant::NF4Config<64, true>>>;
  auto onload = Q{}.load(cb::loader::inspect_checkpoint(stories("hf")), cpu_request());
  auto ids = at::tensor(std::vector<std::int64_t>{1, 403, 407, 261, 378}, at::kLong).view({1, 5});
  auto real = at::ones({1, 5}, at::kBool);
  auto c1 = pre.model.decoder.make_cache(1, 5), c2 = onload.model.decoder.make_cache(1, 5);
  auto a = pre.model.decoder.forward(ids, real, c1, 0), b = onload.model.decoder.forward(ids, real, c2, 0);
  EXPECT_TRUE(at::equal(a, b)) << (a - b).abs().max().item<float>();
  fs::remove_all(dir);
}

TEST(Prequantized, SavedInt8CheckpointLoadsAsInt8) {
  auto dir = scratch("int8_saved");
  cb::quant::save_bnb_checkpoint(stories("hf"), dir, cb::quant::named_quant("int8"));
  auto info = cb::loader::inspect_checkpoint(dir);
  EXPECT_EQ(info.kind, cb::loader::CheckpointKind::hf_bnb_8bit);
  auto res = cb::loader::DefaultChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "Prequantized");
  cb::io::SafetensorsSet src(stories("hf"));
  auto dense = cb::model::SafetensorsSource::to_tensor(src.at("model.layers.2.mlp.down_proj.weight"));
  auto want = cb::quant::quantize_int8(dense);
  const auto& got = res.model.decoder.weights().layers[2].down;
  ASSERT_TRUE(std::holds_alternative<cb::quant::Int8>(got));
  EXPECT_TRUE(same(std::get<cb::quant::Int8>(got).q, want.q));
  EXPECT_TRUE(same(std::get<cb::quant::Int8>(got).scb, want.scb));
  fs::remove_all(dir);
}

TEST(Prequantized, GGUFFilesAreCheckpointsOfKindGguf) {
  auto info = cb::loader::inspect_checkpoint(stories("derived/stories260K-Q8_0.gguf"));
  EXPECT_EQ(info.kind, cb::loader::CheckpointKind::gguf);
  EXPECT_EQ(info.spec.architecture, "LlamaForCausalLM");
  EXPECT_EQ(info.tokenizer_files, (std::vector<std::string>{"stories260K-Q8_0.gguf"}));
  EXPECT_EQ(info.quantization_config["format"], "gguf");
  EXPECT_GT(info.quantization_config["tensor_types"]["Q8_0"].get<int>(), 0);
  auto res = cb::loader::DefaultChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "Prequantized");
  EXPECT_TRUE(std::holds_alternative<cb::quant::GGUFBlock>(res.model.decoder.weights().layers[0].q));

  // The F32 GGUF through the chain still continues like llama2.c.
  auto f32 = cb::loader::DefaultChain{}.load(cb::loader::inspect_checkpoint(stories("stories260K.gguf")), cpu_request());
  auto refs = cb::read_json_file(stories("greedy_references.json"));
  cb::runtime::GenerateOptions opt;
  opt.max_new_tokens = 64;
  opt.ignore_eos = true;
  EXPECT_EQ(cb::runtime::generate(f32.model.decoder, {json_ids(refs["cases"][1]["prompt_ids"])}, opt)[0].tokens,
            json_ids(refs["cases"][1]["output_ids"]));
}

TEST(Prequantized, OverBudgetIsSkippedWithAReason) {
  auto info = cb::loader::inspect_checkpoint(stories("stories260K.gguf"));
  auto req = cpu_request();
  req.budget.cpu_bytes = 200 * 1024;  // the F32 GGUF is 1.19 MB
  auto v = cb::loader::Prequantized{}.check(info, req);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.reason.find("over the budget"), std::string::npos) << v.reason;
  EXPECT_FALSE(cb::loader::Prequantized{}.check(cb::loader::inspect_checkpoint(model_fixture("llama")), cpu_request()).ok);
}

TEST(Discovery, FindsGGUFFilesAsCheckpointsAndSkipsBrokenOnes) {
  auto root = scratch("discover_gguf");
  fs::create_directories(root / "g");
  fs::copy_file(stories("derived/stories260K-Q4_0.gguf"), root / "g" / "model-Q4_0.gguf");
  std::ofstream(root / "g" / "broken.gguf") << "GGUF not really";
  auto d = cb::loader::discover(root);
  ASSERT_EQ(d.found.size(), 1u);
  EXPECT_EQ(d.found[0].kind, cb::loader::CheckpointKind::gguf);
  EXPECT_EQ(d.gguf_files.size(), 2u);
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].path.filename(), "broken.gguf");
  fs::remove_all(root);
}

// GPTQ and AWQ folders (tests/fixtures/make_gptq_awq.py): stories260K packed both ways, each beside a dense
// float32 copy holding the script's own dequantized weights. Loaded through the default chain, every linear
// dequantizes to the reference's weight bit for bit, and the logits and greedy output are the reference's.
namespace {
std::string packed_model(const std::string& leaf) { return std::string(CUREBENCH_TEST_DATA) + "/models/stories260K-gptq-awq/" + leaf; }

void expect_same_model(const fs::path& packed, const fs::path& reference, cb::loader::CheckpointKind kind) {
  auto info = cb::loader::inspect_checkpoint(packed);
  EXPECT_EQ(info.kind, kind) << packed;
  auto res = cb::loader::DefaultChain{}.load(info, cpu_request());
  EXPECT_EQ(res.strategy, "Prequantized");
  auto ref = cb::loader::Chain<cb::loader::FullPrecision<>>{}.load(cb::loader::inspect_checkpoint(reference), cpu_request());
  EXPECT_EQ(ref.strategy, "FullPrecision");
  const auto& W = res.model.decoder.weights();
  const auto& R = ref.model.decoder.weights();
  ASSERT_EQ(W.layers.size(), 5u);
  EXPECT_TRUE(std::holds_alternative<cb::quant::Dense>(W.lm_head));  // tied: the dense embedding
  for (std::size_t i = 0; i < W.layers.size(); ++i) {
    const auto& l = W.layers[i];
    const auto& r = R.layers[i];
    for (auto [a, b] : {std::pair{&l.q, &r.q}, {&l.k, &r.k}, {&l.v, &r.v}, {&l.o, &r.o}, {&l.gate, &r.gate}, {&l.up, &r.up}, {&l.down, &r.down}}) {
      EXPECT_TRUE(kind == cb::loader::CheckpointKind::hf_gptq ? std::holds_alternative<cb::quant::GPTQ>(*a) : std::holds_alternative<cb::quant::AWQ>(*a));
      EXPECT_TRUE(at::equal(cb::quant::dequantize(*a, at::kFloat), cb::quant::dequantize(*b, at::kFloat))) << packed << " layer " << i;
    }
  }
  auto ids = at::tensor(std::vector<std::int64_t>{1, 403, 407, 261, 378}, at::kLong).view({1, 5});
  auto real = at::ones({1, 5}, at::kBool);
  auto c1 = res.model.decoder.make_cache(1, 5), c2 = ref.model.decoder.make_cache(1, 5);
  auto a = res.model.decoder.forward(ids, real, c1, 0), b = ref.model.decoder.forward(ids, real, c2, 0);
  // Same weights; the reference fuses q|k|v and gate|up into one matmul, so only float summation order differs.
  EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-5)) << (a - b).abs().max().item<float>();
}

fs::path copy_folder(const fs::path& src, const std::string& tag) {
  auto d = scratch(tag);
  fs::create_directories(d);
  for (auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), d / e.path().filename());
  return d;
}
}  // namespace

TEST(PrequantizedGptqAwq, GptqActOrderFolderEqualsItsDequantizedReference) {
  expect_same_model(packed_model("gptq-4bit-g32-actorder"), packed_model("gptq-4bit-g32-actorder-dequantized"), cb::loader::CheckpointKind::hf_gptq);
  auto info = cb::loader::inspect_checkpoint(packed_model("gptq-4bit-g32-actorder"));
  ASSERT_TRUE(info.gptq_awq);
  EXPECT_EQ(info.gptq_awq->format(), "gptq");
  EXPECT_TRUE(info.gptq_awq->desc_act);
  nlohmann::json j = info;
  EXPECT_EQ(j["kind"], "hf-gptq");
  EXPECT_EQ(j["quantization"]["group_size"], 32);
  EXPECT_EQ(j["quantization"]["act_order"], true);
}

TEST(PrequantizedGptqAwq, AwqFolderEqualsItsDequantizedReference) {
  expect_same_model(packed_model("awq-4bit-g32"), packed_model("awq-4bit-g32-dequantized"), cb::loader::CheckpointKind::hf_awq);
  auto info = cb::loader::inspect_checkpoint(packed_model("awq-4bit-g32"));
  ASSERT_TRUE(info.gptq_awq);
  EXPECT_EQ(info.gptq_awq->group_size, 32);  // from AutoAWQ's quant_config.json (q_group_size)
}

TEST(PrequantizedGptqAwq, ConfigInEachPlaceGivesTheSameModel) {
  // GPTQ: quantization_config moved from config.json into AutoGPTQ's quantize_config.json.
  auto g = copy_folder(packed_model("gptq-4bit-g32-actorder"), "gptq_qcfg");
  auto config = cb::read_json_file((g / "config.json").string());
  auto qc = config["quantization_config"];
  qc.erase("quant_method");
  config.erase("quantization_config");
  std::ofstream(g / "config.json") << config.dump();
  std::ofstream(g / "quantize_config.json") << qc.dump();
  expect_same_model(g, packed_model("gptq-4bit-g32-actorder-dequantized"), cb::loader::CheckpointKind::hf_gptq);
  // AWQ: AutoAWQ's quant_config.json replaced by transformers' AwqConfig in config.json.
  auto w = copy_folder(packed_model("awq-4bit-g32"), "awq_cfg");
  fs::remove(w / "quant_config.json");
  config = cb::read_json_file((w / "config.json").string());
  config["quantization_config"] = {{"quant_method", "awq"}, {"bits", 4}, {"group_size", 32}, {"zero_point", true}, {"version", "gemm"}};
  std::ofstream(w / "config.json") << config.dump();
  expect_same_model(w, packed_model("awq-4bit-g32-dequantized"), cb::loader::CheckpointKind::hf_awq);
  // Without any config the packed tensors are refused, not guessed.
  fs::remove(g / "quantize_config.json");
  try {
    cb::loader::inspect_checkpoint(g);
    ADD_FAILURE() << "qweight tensors without a GPTQ/AWQ config accepted";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.field(), "quantization_config");
  }
  // The AWQ gemv layout is refused by name at inspection.
  std::ofstream(w / "config.json") << [&] {
    config["quantization_config"]["version"] = "gemv";
    return config.dump();
  }();
  try {
    cb::loader::inspect_checkpoint(w);
    ADD_FAILURE() << "AWQ gemv accepted";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.field(), "version");
  }
  fs::remove_all(g);
  fs::remove_all(w);
}

TEST(PrequantizedGptqAwq, OnlyPrequantizedTakesThem) {
  auto info = cb::loader::inspect_checkpoint(packed_model("awq-4bit-g32"));
  EXPECT_FALSE(cb::loader::FullPrecision<>{}.check(info, cpu_request()).ok);
  EXPECT_FALSE(cb::loader::QuantizeOnLoad<cb::quant::Int8Config>{}.check(info, cpu_request()).ok);
  auto v = cb::loader::Prequantized{}.check(info, cpu_request());
  EXPECT_TRUE(v.ok) << v.reason;
}
