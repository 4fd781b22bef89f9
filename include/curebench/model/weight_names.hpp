#pragma once
// Tensor names of each weight role, in Hugging Face and GGUF spelling (one table, llama.cpp's rule).
// `{}` stands for the layer index.
#include <string>
#include <string_view>

namespace curebench::model {

enum class Role {
  embed, final_norm, lm_head,
  q, k, v, o, q_bias, k_bias, v_bias, o_bias, gate, up, down,
  attn_norm, attn_out_norm, ffn_norm, ffn_out_norm, q_norm, k_norm,
};

struct RoleNames {
  Role role;
  std::string_view hf;
  std::string_view hf_sandwich;  // Gemma-2 names where its norms differ from Llama's ("" = same as hf)
  std::string_view gguf;
};

inline constexpr RoleNames kRoleNames[] = {
    {Role::embed, "model.embed_tokens.weight", "", "token_embd.weight"},
    {Role::final_norm, "model.norm.weight", "", "output_norm.weight"},
    {Role::lm_head, "lm_head.weight", "", "output.weight"},
    {Role::q, "model.layers.{}.self_attn.q_proj.weight", "", "blk.{}.attn_q.weight"},
    {Role::k, "model.layers.{}.self_attn.k_proj.weight", "", "blk.{}.attn_k.weight"},
    {Role::v, "model.layers.{}.self_attn.v_proj.weight", "", "blk.{}.attn_v.weight"},
    {Role::o, "model.layers.{}.self_attn.o_proj.weight", "", "blk.{}.attn_output.weight"},
    {Role::q_bias, "model.layers.{}.self_attn.q_proj.bias", "", "blk.{}.attn_q.bias"},
    {Role::k_bias, "model.layers.{}.self_attn.k_proj.bias", "", "blk.{}.attn_k.bias"},
    {Role::v_bias, "model.layers.{}.self_attn.v_proj.bias", "", "blk.{}.attn_v.bias"},
    {Role::o_bias, "model.layers.{}.self_attn.o_proj.bias", "", "blk.{}.attn_output.bias"},
    {Role::gate, "model.layers.{}.mlp.gate_proj.weight", "", "blk.{}.ffn_gate.weight"},
    {Role::up, "model.layers.{}.mlp.up_proj.weight", "", "blk.{}.ffn_up.weight"},
    {Role::down, "model.layers.{}.mlp.down_proj.weight", "", "blk.{}.ffn_down.weight"},
    {Role::attn_norm, "model.layers.{}.input_layernorm.weight", "", "blk.{}.attn_norm.weight"},
    // Llama's "post_attention_layernorm" is the pre-FFN norm; Gemma-2 has a real post-attention norm.
    {Role::attn_out_norm, "", "model.layers.{}.post_attention_layernorm.weight", "blk.{}.post_attention_norm.weight"},
    {Role::ffn_norm, "model.layers.{}.post_attention_layernorm.weight", "model.layers.{}.pre_feedforward_layernorm.weight", "blk.{}.ffn_norm.weight"},
    {Role::ffn_out_norm, "", "model.layers.{}.post_feedforward_layernorm.weight", "blk.{}.post_ffw_norm.weight"},
    {Role::q_norm, "model.layers.{}.self_attn.q_norm.weight", "", "blk.{}.attn_q_norm.weight"},
    {Role::k_norm, "model.layers.{}.self_attn.k_norm.weight", "", "blk.{}.attn_k_norm.weight"},
};

enum class NameStyle { hf, gguf };

inline std::string tensor_name(Role role, NameStyle style, bool sandwich, std::int64_t layer = -1) {
  for (const auto& r : kRoleNames) {
    if (r.role != role) continue;
    std::string_view pattern = style == NameStyle::gguf ? r.gguf : (sandwich && !r.hf_sandwich.empty() ? r.hf_sandwich : r.hf);
    std::string out(pattern);
    if (auto pos = out.find("{}"); pos != std::string::npos) out.replace(pos, 2, std::to_string(layer));
    return out;
  }
  return {};
}

}  // namespace curebench::model
