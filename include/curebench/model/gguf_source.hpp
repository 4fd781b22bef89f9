#pragma once
// TensorSource over a GGUF file (GGUF tensor names from weight_names.hpp). F32/F16/BF16 tensors come out
// dense in the load dtype; block-quantized linears (Q8_0, Q4_0, Q4_K, ...) stay as their raw blocks
// (quant::GGUFBlock; Q4_0 and Q4_K also carry the tinygemm Int4 form on CUDA). On a GPU the other block types
// (Q8_0, Q5_K, Q6_K, ... - a Q4_K_M file's output.weight and half its ffn_down) have no kernel of their own yet and
// are decoded once here into the load dtype: the per-call decode they replace was the same float32 decode and the
// same rounding, so the weights do not change, at 2 bytes a weight instead of the blocks' 0.5-1.1 (the loader's
// plan counts it). A quantized tensor asked for densely (a quantized token_embd.weight) is decoded.
//
// The q/k gotcha (formats-and-anchors.md 2): convert_hf_to_gguf.py's LlamaModel.permute stores each
// head's q/k rows interleaved for llama.cpp's RoPE,
//     w.reshape(n_head, 2, head_dim/2, in).swapaxes(1, 2)
// so for interleaved families we undo it here, row by row (raw blocks never cross rows, so quantized rows
// move as byte ranges): HF row (h, j, i) = GGUF row h*head_dim + 2i + j. Biases follow their rows.
#include <optional>
#include <string>

#include "curebench/io/gguf.hpp"
#include "curebench/model/gguf_spec.hpp"
#include "curebench/model/weight_names.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::model {

// Row order that turns llama.cpp's interleaved q/k rows back into Hugging Face's rotate_half layout.
inline at::Tensor gguf_unpermute_index(std::int64_t rows, std::int64_t heads) {
  const auto D = rows / heads;
  auto h = at::arange(heads, at::kLong).view({heads, 1, 1});
  auto j = at::arange(2, at::kLong).view({1, 2, 1});
  auto i = at::arange(D / 2, at::kLong).view({1, 1, D / 2});
  return (h * D + 2 * i + j).reshape({-1});
}

class GGUFSource {
 public:
  GGUFSource(const io::GGUFFile& f, const ModelSpec& spec, at::ScalarType dtype, at::Device device)
      : f_(f), spec_(spec), dtype_(dtype), device_(device), interleaved_(gguf_architecture(f).rope_interleaved),
        decode_at_load_(device.is_cuda()) {}

  // Block types that do not run as Int4 on the device are decoded at load (default: on GPUs; on the CPU the blocks
  // stay and decode per call, the memory-light choice). Tests turn it on for the CPU to check the numbers match.
  GGUFSource& decode_at_load(bool on) {
    decode_at_load_ = on;
    return *this;
  }

  std::optional<at::Tensor> dense(const std::string& name) const {
    const auto* t = f_.find_tensor(name);
    if (!t) return std::nullopt;
    const auto shape = t->shape();
    at::Tensor host;
    auto bytes = f_.bytes(*t);
    auto view = [&](at::ScalarType st) {
      return at::from_blob(const_cast<std::byte*>(bytes.data()), shape, at::TensorOptions().dtype(st));
    };
    switch (t->type) {
      case io::GGMLType::F32: host = view(at::kFloat); break;
      case io::GGMLType::F16: host = view(at::kHalf); break;
      case io::GGMLType::BF16: host = view(at::kBFloat16); break;
      default: {
        require(io::gguf_can_dequantize(t->type), Errc::unsupported, f_.path(), name,
                "ggml type " + std::string(io::ggml_type_name(t->type)) + " cannot be dequantized yet");
        host = at::empty(shape, at::kFloat);
        io::gguf_dequantize(t->type, bytes, std::span(host.data_ptr<float>(), static_cast<std::size_t>(host.numel())), name);
      }
    }
    if (auto heads = qk_heads(name)) host = host.index_select(0, gguf_unpermute_index(host.size(0), *heads));
    // to() copies when the type or device changes; clone() otherwise, so nothing points into the map.
    if (host.scalar_type() == dtype_ && device_.is_cpu()) return host.data_ptr() == bytes.data() ? host.clone() : host;
    return host.to(device_, dtype_);
  }

  std::optional<quant::Weight> linear(const std::string& name) const {
    const auto* t = f_.find_tensor(name);
    if (!t || t->type == io::GGMLType::F32 || t->type == io::GGMLType::F16 || t->type == io::GGMLType::BF16) return std::nullopt;
    auto w = quant::gguf_block(f_, name);
    if (auto heads = qk_heads(name)) {
      auto rows = w.raw.view({w.out, -1});
      w.raw = rows.index_select(0, gguf_unpermute_index(w.out, *heads)).reshape({-1}).contiguous();
    }
    if (decode_at_load_ && !quant::gguf_runs_as_int4(w.type, w.in, device_))
      return quant::Weight{quant::Dense{w.dequantize(at::kFloat).to(device_, dtype_)}};
    return quant::to_device(quant::Weight{std::move(w)}, device_);
  }

  std::string origin() const { return f_.path(); }
  NameStyle name_style() const { return NameStyle::gguf; }

 private:
  // Heads of a q/k weight or bias stored interleaved (nullopt: leave the rows as they are).
  std::optional<std::int64_t> qk_heads(const std::string& name) const {
    if (!interleaved_ || name.rfind("blk.", 0) != 0) return std::nullopt;
    auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
    if (has(".attn_q.weight") || has(".attn_q.bias")) return spec_.num_heads;
    if (has(".attn_k.weight") || has(".attn_k.bias")) return spec_.num_kv_heads;
    return std::nullopt;
  }

  const io::GGUFFile& f_;
  const ModelSpec& spec_;
  at::ScalarType dtype_;
  at::Device device_;
  bool interleaved_;
  bool decode_at_load_;
};

}  // namespace curebench::model
