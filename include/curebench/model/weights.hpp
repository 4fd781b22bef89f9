#pragma once
// Decoder weights by role, loaded from any TensorSource and validated against the ModelSpec: every
// tensor's presence and shape is checked before the model runs, and errors name the file and tensor.
#include <ATen/ATen.h>

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "curebench/core/error.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/model/spec.hpp"
#include "curebench/model/weight_names.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::model {

struct LayerWeights {
  quant::Weight q, k, v, o, gate, up, down;
  at::Tensor q_bias, k_bias, v_bias, o_bias;  // undefined when the family has none
  at::Tensor attn_norm, attn_out_norm, ffn_norm, ffn_out_norm, q_norm, k_norm;
};

struct DecoderWeights {
  at::Tensor embed;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  at::Tensor final_norm;
  quant::Weight lm_head;

  std::int64_t bytes() const;
};

inline at::Tensor tensor_to(const at::Tensor& t, const at::Device& d) { return t.defined() ? t.to(d) : t; }

// A layer's weights on another device (for offloading: layers kept in host memory, moved per forward).
inline LayerWeights layer_to(const LayerWeights& l, const at::Device& d) {
  LayerWeights o;
  o.q = quant::to_device(l.q, d), o.k = quant::to_device(l.k, d), o.v = quant::to_device(l.v, d);
  o.o = quant::to_device(l.o, d), o.gate = quant::to_device(l.gate, d), o.up = quant::to_device(l.up, d);
  o.down = quant::to_device(l.down, d);
  o.q_bias = tensor_to(l.q_bias, d), o.k_bias = tensor_to(l.k_bias, d), o.v_bias = tensor_to(l.v_bias, d);
  o.o_bias = tensor_to(l.o_bias, d);
  o.attn_norm = tensor_to(l.attn_norm, d), o.attn_out_norm = tensor_to(l.attn_out_norm, d);
  o.ffn_norm = tensor_to(l.ffn_norm, d), o.ffn_out_norm = tensor_to(l.ffn_out_norm, d);
  o.q_norm = tensor_to(l.q_norm, d), o.k_norm = tensor_to(l.k_norm, d);
  return o;
}

inline std::int64_t layer_bytes(const LayerWeights& l) {
  auto t = [](const at::Tensor& x) -> std::int64_t { return x.defined() ? x.numel() * x.element_size() : 0; };
  std::int64_t b = 0;
  for (auto* w : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) b += quant::weight_bytes(*w);
  for (auto* x : {&l.q_bias, &l.k_bias, &l.v_bias, &l.o_bias, &l.attn_norm, &l.attn_out_norm, &l.ffn_norm, &l.ffn_out_norm,
                  &l.q_norm, &l.k_norm})
    b += t(*x);
  return b;
}

inline std::int64_t DecoderWeights::bytes() const {
  auto t = [](const at::Tensor& x) -> std::int64_t { return x.defined() ? x.numel() * x.element_size() : 0; };
  std::int64_t b = t(embed) + t(final_norm);
  // A tied classifier shares the embedding's storage: count it once.
  if (!(std::holds_alternative<quant::Dense>(lm_head) && std::get<quant::Dense>(lm_head).w.is_same(embed)))
    b += quant::weight_bytes(lm_head);
  for (auto& l : layers) b += layer_bytes(l);
  return b;
}

// Where tensors come from (safetensors shards, GGUF, ...): dense tensors by name, in the load dtype on
// the load device, and optionally a weight already in a quantized format (bnb-4bit, GGUF blocks).
template <class S>
concept TensorSource = requires(const S& s, const std::string& name) {
  { s.dense(name) } -> std::same_as<std::optional<at::Tensor>>;
  { s.linear(name) } -> std::same_as<std::optional<quant::Weight>>;
  { s.origin() } -> std::convertible_to<std::string>;
  { s.name_style() } -> std::same_as<NameStyle>;
};

// How linear layers are stored after loading: dense as read, or quantized on the fly (QuantizeOnLoad).
using LinearTransform = std::function<quant::Weight(const std::string& name, at::Tensor dense)>;

template <TensorSource S>
DecoderWeights load_weights(const ModelSpec& spec, const S& src, const LinearTransform& transform = nullptr) {
  const auto style = src.name_style();
  const bool sandwich = spec.sandwich_norms;
  auto name_of = [&](Role r, std::int64_t layer = -1) { return tensor_name(r, style, sandwich, layer); };
  auto check_shape = [&](const std::string& name, const std::vector<std::int64_t>& got, std::vector<std::int64_t> want) {
    if (got != want) {
      auto str = [](const std::vector<std::int64_t>& v) {
        std::string s = "[";
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
      };
      throw Error(Errc::shape, src.origin(), name, "shape " + str(got) + " does not match the config, expected " + str(want));
    }
  };
  auto dense = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::optional<at::Tensor> t;
    try {
      t = src.dense(name);
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {  // the allocator's failure, named by file and tensor
      auto e = error_from_exception(std::current_exception());
      if (e.code() != Errc::out_of_memory) throw;
      throw Error(Errc::out_of_memory, src.origin(), name, e.message());
    }
    if (!t) throw Error(Errc::not_found, src.origin(), name, "missing tensor");
    check_shape(name, t->sizes().vec(), std::move(shape));
    return *t;
  };
  auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in) -> quant::Weight {
    if (auto q = src.linear(name)) {  // stored quantized: keep as is
      check_shape(name, {quant::out_features(*q), quant::in_features(*q)}, {out, in});
      return *q;
    }
    auto w = dense(name, {out, in});
    return transform ? transform(name, std::move(w)) : quant::Weight{quant::Dense{std::move(w)}};
  };

  const auto H = spec.hidden_size, I = spec.intermediate_size, D = spec.head_dim;
  DecoderWeights w;
  w.embed = dense(name_of(Role::embed), {spec.vocab_size, H});
  w.final_norm = dense(name_of(Role::final_norm), {H});
  for (std::int64_t i = 0; i < spec.num_layers; ++i) {
    LayerWeights l;
    l.q = linear(name_of(Role::q, i), spec.q_dim(), H);
    l.k = linear(name_of(Role::k, i), spec.kv_dim(), H);
    l.v = linear(name_of(Role::v, i), spec.kv_dim(), H);
    l.o = linear(name_of(Role::o, i), H, spec.q_dim());
    l.gate = linear(name_of(Role::gate, i), I, H);
    l.up = linear(name_of(Role::up, i), I, H);
    l.down = linear(name_of(Role::down, i), H, I);
    if (spec.qkv_bias) {
      l.q_bias = dense(name_of(Role::q_bias, i), {spec.q_dim()});
      l.k_bias = dense(name_of(Role::k_bias, i), {spec.kv_dim()});
      l.v_bias = dense(name_of(Role::v_bias, i), {spec.kv_dim()});
    }
    if (spec.o_bias) l.o_bias = dense(name_of(Role::o_bias, i), {H});
    l.attn_norm = dense(name_of(Role::attn_norm, i), {H});
    l.ffn_norm = dense(name_of(Role::ffn_norm, i), {H});
    if (sandwich) {
      l.attn_out_norm = dense(name_of(Role::attn_out_norm, i), {H});
      l.ffn_out_norm = dense(name_of(Role::ffn_out_norm, i), {H});
    }
    if (spec.qk_norm) {
      l.q_norm = dense(name_of(Role::q_norm, i), {D});
      l.k_norm = dense(name_of(Role::k_norm, i), {D});
    }
    w.layers.push_back(std::move(l));
  }
  if (spec.tie_word_embeddings) {
    // The classifier is the embedding: a transform that keeps it dense returns that same tensor; one that
    // quantizes it (asked for by name, quantize_lm_head) makes a quantized copy, and the lookup stays dense.
    w.lm_head = transform ? transform(name_of(Role::lm_head), w.embed) : quant::Weight{quant::Dense{w.embed}};
  } else {
    w.lm_head = linear(name_of(Role::lm_head), spec.vocab_size, H);
  }
  return w;
}

}  // namespace curebench::model
