// kernels/layers.cuh (fused RMSNorm, RoPE, decode attention, through model/layer_hooks.hpp) against the ATen
// compositions of model/layers.hpp (the hooks switched off for the reference) and float64 math. The
// transformers parity of whole models with these kernels on is CudaParity.* (test_cuda_model.cpp).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "curebench/core/torch_compat.hpp"
#include "curebench/model/decoder.hpp"
#include "curebench/model/hf_config.hpp"
#include "curebench/model/layers.hpp"
#include "curebench/runtime/kv_cache.hpp"

namespace cb = curebench;

namespace {
const auto kCuda = at::TensorOptions().device(at::kCUDA);

// Runs f with one hook nulled (the ATen path), then restores it.
template <class Hook, class F>
auto without(Hook& hook, F f) {
  auto saved = hook;
  hook = nullptr;
  auto r = f();
  hook = saved;
  return r;
}
}  // namespace

TEST(CudaLayers, RmsNormMatchesAtenComposition) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::model::hooks::rms_norm(), nullptr) << "layer kernels not linked";
  at::manual_seed(3);
  for (auto shape : {std::vector<std::int64_t>{5, 4096}, {3, 7, 2560}, {2, 1, 8, 128}, {1, 3584}}) {
    auto x = (at::randn(shape, kCuda) * 3).to(at::kBFloat16);
    auto w = at::randn({shape.back()}, kCuda).to(at::kBFloat16);
    for (bool plus_one : {false, true}) {
      auto got = cb::model::rms_norm(x, w, 1e-6, plus_one);
      auto ref = without(cb::model::hooks::rms_norm(), [&] { return cb::model::rms_norm(x, w, 1e-6, plus_one); });
      ASSERT_EQ(got.sizes(), ref.sizes());
      auto diff = (got.to(at::kFloat) - ref.to(at::kFloat)).abs();
      // Same roundings; only the order of the fp32 sum of squares differs: at most a last-bit flip, rarely.
      EXPECT_LE(diff.max().item<float>(), ref.to(at::kFloat).abs().max().item<float>() / 128) << "plus_one=" << plus_one;
      EXPECT_GT(at::eq(got, ref).to(at::kFloat).mean().item<float>(), 0.99f) << "plus_one=" << plus_one;
    }
  }
}

TEST(CudaLayers, AddRmsNormMatchesAtenComposition) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::model::hooks::add_rms_norm(), nullptr) << "layer kernels not linked";
  at::manual_seed(6);
  for (auto shape : {std::vector<std::int64_t>{5, 4096}, {3, 7, 2560}, {1, 1, 3584}, {100, 1, 4096}}) {
    auto x = (at::randn(shape, kCuda) * 3).to(at::kBFloat16);
    auto r = at::randn(shape, kCuda).to(at::kBFloat16);
    auto w = at::randn({shape.back()}, kCuda).to(at::kBFloat16);
    for (bool plus_one : {false, true}) {
      auto [sum, got] = cb::model::add_rms_norm(x, r, w, 1e-6, plus_one);
      auto [ref_sum, ref] = without(cb::model::hooks::add_rms_norm(), [&] {
        return without(cb::model::hooks::rms_norm(), [&] { return cb::model::add_rms_norm(x, r, w, 1e-6, plus_one); });
      });
      // The residual stream is one bf16 rounding of the same fp32 sum: bit-identical.
      EXPECT_TRUE(at::equal(sum, ref_sum)) << "plus_one=" << plus_one;
      ASSERT_EQ(got.sizes(), ref.sizes());
      auto diff = (got.to(at::kFloat) - ref.to(at::kFloat)).abs();
      EXPECT_LE(diff.max().item<float>(), ref.to(at::kFloat).abs().max().item<float>() / 128) << "plus_one=" << plus_one;
      EXPECT_GT(at::eq(got, ref).to(at::kFloat).mean().item<float>(), 0.99f) << "plus_one=" << plus_one;
      // And the normalized output is what the separate RMSNorm kernel gives on the same sum.
      EXPECT_TRUE(at::equal(got, cb::model::rms_norm(sum, w, 1e-6, plus_one))) << "plus_one=" << plus_one;
    }
  }
}

TEST(CudaLayers, RopeIsBitIdenticalOnStridedInput) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::model::hooks::rope(), nullptr);
  at::manual_seed(4);
  const std::int64_t B = 3, T = 5, H = 4, D = 128;
  // The decoder's q: a [B, T, H, D] slice of a fused qkv projection, transposed to [B, H, T, D].
  auto qkv = at::randn({B, T, (H + 2) * D}, kCuda).to(at::kBFloat16);
  auto x = qkv.narrow(-1, 0, H * D).view({B, T, H, D}).transpose(1, 2);
  cb::model::RopeSpec spec;
  auto inv = cb::model::rope_inv_freq(spec, D, at::Device(at::kCUDA));
  auto positions = at::arange(100, 100 + B * T, kCuda.dtype(at::kLong)).view({B, T});
  auto tables = cb::model::rope_tables(inv, positions, at::kBFloat16);
  auto got = cb::model::apply_rope(x, tables);
  auto ref = without(cb::model::hooks::rope(), [&] { return cb::model::apply_rope(x, tables); });
  EXPECT_TRUE(at::equal(got, ref.contiguous()));
}

// The decode step's RoPE of q and k with the k/v cache write at a device column, one launch, against apply_rope +
// index_copy_ (the decoder's composition): the same bits in q and in every cache entry, the rest untouched.
TEST(CudaLayers, RopeWithCacheWriteIsBitIdenticalToTheComposition) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  ASSERT_NE(cb::model::hooks::rope_cache(), nullptr);
  at::manual_seed(7);
  for (auto [B, Hq, Hkv, D] : {std::array<std::int64_t, 4>{1, 32, 8, 128}, {5, 8, 8, 64}, {3, 16, 2, 256}}) {
    const std::int64_t S = 40, column = B == 1 ? 0 : 17;
    auto qkv = at::randn({B, 1, (Hq + 2 * Hkv) * D}, kCuda).to(at::kBFloat16);
    auto q = qkv.narrow(-1, 0, Hq * D).view({B, 1, Hq, D});
    auto k = qkv.narrow(-1, Hq * D, Hkv * D).view({B, 1, Hkv, D});
    auto v = qkv.narrow(-1, (Hq + Hkv) * D, Hkv * D).view({B, 1, Hkv, D});
    cb::model::RopeSpec spec;
    auto inv = cb::model::rope_inv_freq(spec, D, at::Device(at::kCUDA));
    auto positions = at::arange(300, 300 + B, kCuda.dtype(at::kLong)).view({B, 1});
    auto tables = cb::model::rope_tables(inv, positions, at::kBFloat16);
    auto col = at::full({1}, column, kCuda.dtype(at::kLong));
    auto ck = at::randn({B, Hkv, S, D}, kCuda).to(at::kBFloat16), cv = at::randn({B, Hkv, S, D}, kCuda).to(at::kBFloat16);
    auto ck_ref = ck.clone(), cv_ref = cv.clone();
    auto got = cb::model::rope_and_cache(q, k, v, tables, ck, cv, col);
    ASSERT_TRUE(got.defined()) << B << " " << Hq << " " << Hkv << " " << D;
    auto q_ref = without(cb::model::hooks::rope(), [&] { return cb::model::apply_rope(q.transpose(1, 2), tables); });
    auto k_ref = without(cb::model::hooks::rope(), [&] { return cb::model::apply_rope(k.transpose(1, 2), tables); });
    ck_ref.index_copy_(2, col, k_ref);
    cv_ref.index_copy_(2, col, v.transpose(1, 2));
    EXPECT_TRUE(at::equal(got, q_ref.contiguous()));
    EXPECT_TRUE(at::equal(ck, ck_ref));
    EXPECT_TRUE(at::equal(cv, cv_ref));
  }
}

TEST(CudaLayers, DecodeAttentionMatchesFloat64) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  auto fn = cb::model::hooks::decode_attention();
  ASSERT_NE(fn, nullptr);
  at::manual_seed(5);
  struct Case { std::int64_t B, Hq, Hkv, D, capacity, key_len; };
  // Grouped kernel: groups of 4, 1, 8, 4, 2 and 7 (Qwen2-7B's 28 / 4), head dims 64 / 128 / 256, runs of 16 to 128
  // keys (12345 keys: 97 runs of 128); the per-head kernel: a group of 16 (over kGqaMaxGroup), and every case
  // again through decode_attention_per_head below.
  for (auto c : {Case{1, 32, 8, 128, 512, 256}, Case{4, 8, 8, 64, 300, 77}, Case{3, 16, 2, 256, 1024, 1024}, Case{2, 4, 1, 128, 40, 3},
                 Case{2, 8, 4, 128, 20000, 12345}, Case{2, 28, 4, 128, 700, 513}, Case{1, 32, 2, 128, 300, 130}}) {
    auto q = at::randn({c.B, c.Hq, 1, c.D}, kCuda).to(at::kBFloat16);
    auto kc = at::randn({c.B, c.Hkv, c.capacity, c.D}, kCuda).to(at::kBFloat16);
    auto vc = at::randn({c.B, c.Hkv, c.capacity, c.D}, kCuda).to(at::kBFloat16);
    auto k = kc.narrow(2, 0, c.key_len), v = vc.narrow(2, 0, c.key_len);
    // Row b sees a different prefix of the columns (left padding, as generate() builds it).
    auto valid = at::ones({c.B, c.key_len}, kCuda.dtype(at::kBool));
    // Row b sees a different prefix of the columns (left padding, as generate() builds it); the last row
    // has whole 64-column runs masked (a run whose softmax pieces are empty).
    for (std::int64_t b = 0; b < c.B; ++b) {
      const auto masked = b + 1 == c.B && c.B > 1 ? c.key_len * 2 / 3 : b * 2;
      valid[b].narrow(0, 0, std::min(masked, c.key_len - 1)).fill_(false);
    }
    auto mask = at::zeros({c.B, c.key_len}, kCuda.dtype(at::kBFloat16)).masked_fill(valid.logical_not(), -INFINITY);
    auto out = at::full_like(q, std::numeric_limits<float>::quiet_NaN());
    auto workspace = at::full({cb::model::hooks::decode_attention_workspace_floats(c.B, c.Hq, c.D, c.key_len)},
                              std::numeric_limits<float>::quiet_NaN(), kCuda);
    cb::model::hooks::DecodeAttentionArgs a;
    a.workspace = workspace.data_ptr<float>();
    a.q = q.data_ptr(), a.k = k.data_ptr(), a.v = v.data_ptr(), a.mask = mask.data_ptr(), a.out = out.data_ptr();
    a.B = c.B, a.Hq = c.Hq, a.Hkv = c.Hkv, a.D = c.D, a.key_len = c.key_len;
    a.kb = k.stride(0), a.kh = k.stride(1), a.ks = k.stride(2), a.vb = v.stride(0), a.vh = v.stride(1), a.vs = v.stride(2);
    a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.D)));
    ASSERT_TRUE(fn(a, cb::model::current_cuda_stream()));
    // The per-head kernel on the same inputs (the grouped kernel's before; CUREBENCH_GQA_ATTENTION=0 selects it).
    auto out_per_head = at::full_like(q, std::numeric_limits<float>::quiet_NaN());
    auto a2 = a;
    a2.out = out_per_head.data_ptr();
    ASSERT_NE(cb::model::hooks::decode_attention_per_head(), nullptr);
    ASSERT_TRUE(cb::model::hooks::decode_attention_per_head()(a2, cb::model::current_cuda_stream()));
    auto rep = c.Hq / c.Hkv;
    auto kd = k.to(at::kDouble).repeat_interleave(rep, 1), vd = v.to(at::kDouble).repeat_interleave(rep, 1);
    auto scores = at::matmul(q.to(at::kDouble), kd.transpose(-2, -1)) * a.scale + mask.to(at::kDouble).view({c.B, 1, 1, c.key_len});
    auto ref = at::matmul(at::softmax(scores, -1), vd);
    auto rel = ((out.to(at::kDouble) - ref).norm() / ref.norm()).item<double>();
    EXPECT_FALSE(at::isnan(out).any().item<bool>());
    EXPECT_LT(rel, 8e-3) << "B=" << c.B << " Hq=" << c.Hq << " key_len=" << c.key_len;
    auto rel_per_head = ((out_per_head.to(at::kDouble) - ref).norm() / ref.norm()).item<double>();
    EXPECT_LT(rel_per_head, 8e-3) << "per-head kernel, B=" << c.B << " Hq=" << c.Hq << " key_len=" << c.key_len;
    // Both round once to bf16 from float32 sums taken in different orders: at most a bf16 step apart.
    EXPECT_LE((out.to(at::kFloat) - out_per_head.to(at::kFloat)).abs().max().item<float>(),
              out_per_head.to(at::kFloat).abs().max().item<float>() * (1.0f / 64))
        << "B=" << c.B << " Hq=" << c.Hq << " key_len=" << c.key_len;
  }
  // A head dimension over its limit or no workspace: refused, nothing launched (the caller uses SDPA).
  cb::model::hooks::DecodeAttentionArgs big;
  big.B = 1, big.Hq = 1, big.Hkv = 1, big.D = 512, big.key_len = 64;
  EXPECT_FALSE(fn(big, cb::model::current_cuda_stream()));
  big.D = 128;
  EXPECT_FALSE(fn(big, cb::model::current_cuda_stream()));
}

// The decode-attention kernels inside a whole decoder at the head dim the grouped kernel takes (128; the
// transformers fixtures have 16, where only the per-head kernel runs): a random 2-layer Llama with 4 query heads
// over 2 kv heads in bf16, one prompt teacher-forced through 12 decode steps with the grouped kernel, the per-head
// kernel and SDPA (no hook). Every step's logits agree within 2 % of their range, and the greedy token of each
// step is the same where the top two differ by more than that.
TEST(CudaLayers, GroupedAttentionInADecoderAgreesWithPerHeadAndSdpa) {
  if (!cb::compat::cuda_available()) GTEST_SKIP() << "no GPU";
  auto grouped = cb::model::hooks::decode_attention(), per_head = cb::model::hooks::decode_attention_per_head();
  ASSERT_NE(grouped, nullptr);
  ASSERT_NE(per_head, nullptr);
  const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 512},
                                 {"intermediate_size", 768}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                                 {"num_key_value_heads", 2}, {"vocab_size", 320}, {"rms_norm_eps", 1e-5},
                                 {"rope_theta", 10000.0}, {"max_position_embeddings", 256}, {"tie_word_embeddings", false}};
  const auto spec = cb::model::spec_from_hf_config(config, "GroupedAttentionInADecoder");
  ASSERT_EQ(spec.head_dim, 128);
  at::manual_seed(11);
  const auto opts = kCuda.dtype(at::kBFloat16);
  auto rnd = [&](std::int64_t out, std::int64_t in) { return cb::quant::Weight{cb::quant::Dense{(at::randn({out, in}, kCuda) / std::sqrt(double(in))).to(at::kBFloat16)}}; };
  cb::model::DecoderWeights w;
  w.embed = at::randn({spec.vocab_size, spec.hidden_size}, kCuda).to(at::kBFloat16);
  for (std::int64_t l = 0; l < spec.num_layers; ++l) {
    cb::model::LayerWeights lw;
    lw.q = rnd(spec.num_heads * 128, spec.hidden_size), lw.k = rnd(spec.num_kv_heads * 128, spec.hidden_size);
    lw.v = rnd(spec.num_kv_heads * 128, spec.hidden_size), lw.o = rnd(spec.hidden_size, spec.num_heads * 128);
    lw.gate = rnd(spec.intermediate_size, spec.hidden_size), lw.up = rnd(spec.intermediate_size, spec.hidden_size);
    lw.down = rnd(spec.hidden_size, spec.intermediate_size);
    lw.attn_norm = at::ones({spec.hidden_size}, opts), lw.ffn_norm = at::ones({spec.hidden_size}, opts);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = at::ones({spec.hidden_size}, opts);
  w.lm_head = rnd(spec.vocab_size, spec.hidden_size);
  cb::model::Decoder d(spec, std::move(w), at::kBFloat16, at::Device(at::kCUDA));
  const auto tokens = at::randint(0, spec.vocab_size, {1, 40}, at::TensorOptions().dtype(at::kLong));
  const std::int64_t prompt = 28;
  auto run = [&](cb::model::hooks::DecodeAttentionFn fn) {
    cb::model::hooks::decode_attention() = fn;
    auto cache = d.make_cache(1, tokens.size(1));
    std::vector<at::Tensor> steps;
    auto ids = tokens.narrow(1, 0, prompt).cuda();
    d.forward(ids, at::ones_like(ids, at::kBool), cache);
    for (std::int64_t c = prompt; c < tokens.size(1); ++c) {
      auto one = tokens.narrow(1, c, 1).cuda();
      steps.push_back(d.forward(one, at::ones_like(one, at::kBool), cache).reshape({-1}).to(at::kFloat).cpu());
    }
    return steps;
  };
  auto a = run(grouped), b = run(per_head), c = run(nullptr);
  cb::model::hooks::decode_attention() = grouped;
  ASSERT_EQ(a.size(), 12u);
  for (std::size_t s = 0; s < a.size(); ++s) {
    const double range = (c[s].max() - c[s].min()).item<double>();
    EXPECT_LE((a[s] - c[s]).abs().max().item<double>(), 0.02 * range) << "grouped vs SDPA, step " << s;
    EXPECT_LE((a[s] - b[s]).abs().max().item<double>(), 0.02 * range) << "grouped vs per-head, step " << s;
    auto top = std::get<0>(c[s].topk(2));
    if ((top[0] - top[1]).item<double>() > 0.02 * range) EXPECT_EQ(a[s].argmax().item<std::int64_t>(), c[s].argmax().item<std::int64_t>()) << s;
  }
}
