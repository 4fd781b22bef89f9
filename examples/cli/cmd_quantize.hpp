#pragma once
// `curebench quantize`: quantize a model with a named config; --report measures its fidelity against the
// model's own f32 self (KL, top-1 agreement, perplexity), --out writes a pre-quantized bnb checkpoint that
// loads back through loader::Prequantized, --sensitivity ranks layers by the KL each causes alone.
#include <memory>

#include "cli_common.hpp"
#include "curebench/core/bytes.hpp"
#include "cmd_generate.hpp"
#include "curebench/model/load_gguf.hpp"
#include "curebench/quant/fidelity.hpp"
#include "curebench/quant/quantize_model.hpp"
#include "curebench/quant/sensitivity.hpp"
#include "curebench/runtime/generate.hpp"

namespace cli {

struct QuantizeArgs {
  std::string model, quant, out, tokens, keep_names;
  bool report = false, sensitivity = false, quantize_lm_head = false;
  std::int64_t keep_first = 0, keep_last = 0, samples = 4, sample_tokens = 64;
  std::uint64_t seed = 0;
};

// Default token set: sequences sampled from the reference model itself (seeded, temperature 1, from BOS).
inline std::vector<std::vector<std::int64_t>> sampled_token_set(const curebench::model::Decoder& d, std::int64_t n, std::int64_t len,
                                                                 std::uint64_t seed) {
  namespace cb = curebench;
  std::vector<std::vector<std::int64_t>> out;
  const auto bos = d.spec().bos_id.value_or(1);
  for (std::int64_t i = 0; i < n; ++i) {
    cb::runtime::GenerateOptions opt;
    opt.max_new_tokens = len;
    opt.ignore_eos = true;
    opt.sampling = {.greedy = false, .temperature = 1.0, .top_k = 0, .top_p = 1.0, .repetition_penalty = 1.0, .seed = seed + static_cast<std::uint64_t>(i)};
    auto g = cb::runtime::generate(d, {{bos}}, opt).at(0);  // a NaN model: Errc::numeric, named by the caller
    std::vector<std::int64_t> s{bos};
    s.insert(s.end(), g.tokens.begin(), g.tokens.end());
    out.push_back(std::move(s));
  }
  return out;
}

// Free-running greedy agreement: from the first token of each sequence, both models generate as many tokens as
// the sequence has left (EOS ignored); a sequence agrees when every token is the same. `common_prefix` is the
// mean fraction of tokens generated before the first difference. Teacher-forced top-1 agreement (Fidelity)
// hides how one early flip changes everything after it; this shows it.
inline nlohmann::json greedy_agreement(const curebench::model::Decoder& ref, const curebench::model::Decoder& quant,
                                       const std::vector<std::vector<std::int64_t>>& seqs) {
  namespace cb = curebench;
  std::int64_t same = 0, n = 0;
  double prefix = 0;
  for (const auto& s : seqs) {
    if (s.size() < 2) continue;
    cb::runtime::GenerateOptions opt;
    opt.max_new_tokens = static_cast<std::int64_t>(s.size()) - 1;
    opt.ignore_eos = true;
    const std::vector<std::vector<std::int64_t>> prompt{{s.front()}};
    const auto a = cb::runtime::generate(ref, prompt, opt).at(0).tokens, b = cb::runtime::generate(quant, prompt, opt).at(0).tokens;
    std::size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    same += (a == b) ? 1 : 0;
    prefix += a.empty() ? 1.0 : static_cast<double>(k) / static_cast<double>(a.size());
    ++n;
  }
  return {{"sequences", n}, {"identical", same}, {"common_prefix", n ? prefix / static_cast<double>(n) : 0.0}};
}

inline void add_quantize(CLI::App& app, Context& ctx) {
  static QuantizeArgs a;
  auto* sub = app.add_subcommand("quantize", "Quantize a model: fidelity report against its f32 self, pre-quantized checkpoint, layer sensitivity");
  sub->add_option("--model", a.model, "Model folder (config.json + safetensors) or .gguf file")->required();
  std::string names;
  for (auto& n : curebench::quant::named_quant_names()) names += (names.empty() ? "" : " | ") + n;
  sub->add_option("--quant", a.quant, names)->required();
  sub->add_option("--out", a.out, "Write a pre-quantized checkpoint (bitsandbytes layout: nf4, nf4-dq, fp4, int8) to this folder");
  sub->add_flag("--report", a.report, "Print the fidelity report (KL, top-1 agreement, perplexity vs the f32 model)");
  sub->add_flag("--sensitivity", a.sensitivity, "Rank decoder layers by the KL each causes when it alone is quantized");
  sub->add_option("--tokens", a.tokens, "Token set JSON ({\"cases\":[{prompt_ids, output_ids}]} or [[ids]]); default: samples of the f32 model");
  sub->add_option("--samples", a.samples, "Default token set: sequences to sample")->check(CLI::PositiveNumber);
  sub->add_option("--sample-tokens", a.sample_tokens, "Default token set: tokens per sequence")->check(CLI::PositiveNumber);
  sub->add_option("--seed", a.seed, "Default token set: sampling seed");
  sub->add_option("--keep-first", a.keep_first, "Keep the first N decoder layers in full precision")->check(CLI::NonNegativeNumber);
  sub->add_option("--keep-last", a.keep_last, "Keep the last N decoder layers in full precision")->check(CLI::NonNegativeNumber);
  sub->add_option("--keep", a.keep_names, "Comma-separated name substrings kept in full precision, e.g. mlp.down_proj,layers.0.");
  sub->add_flag("--quantize-lm-head", a.quantize_lm_head, "Quantize the classifier too (an untied lm_head, or a copy of a tied embedding; kept in full precision by default)");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    namespace cb = curebench;
    auto q = cb::quant::named_quant(a.quant);
    cb::quant::MixedPrecisionRules rules;
    rules.keep_lm_head = !a.quantize_lm_head;
    rules.keep_first = a.keep_first;
    rules.keep_last = a.keep_last;
    for (std::stringstream in(a.keep_names); in.good();) {
      std::string item;
      std::getline(in, item, ',');
      if (!item.empty()) rules.keep_names.push_back(item);
    }
    if (!a.report && !a.sensitivity && a.out.empty())
      throw cb::Error(cb::Errc::invalid_argument, "", "quantize", "nothing to do: give --report, --sensitivity and/or --out DIR");
    nlohmann::json j{{"model", a.model}, {"quant", q.name}, {"bits_per_weight", q.bits_per_weight}, {"rules", rules}};
    if (!a.out.empty()) {
      cb::require(!cb::model::is_gguf_path(a.model), cb::Errc::unsupported, a.model, "--out", "--out writes bnb checkpoints from Hugging Face folders, not GGUF files");
      j["saved"] = cb::quant::save_bnb_checkpoint(a.model, a.out, q, rules);
    }
    if (a.report || a.sensitivity) {
      cb::model::LoadOptions ref_opt;
      ref_opt.dtype = at::kFloat;
      auto ref = cb::model::load_model(a.model, ref_opt);
      std::vector<std::vector<std::int64_t>> seqs;
      if (!a.tokens.empty()) {
        seqs = cb::quant::token_set_from_json(cb::read_json_file(a.tokens), a.tokens);
        j["tokens"] = a.tokens;
      } else {
        seqs = with_model_path(a.model, [&] { return sampled_token_set(ref.decoder, a.samples, a.sample_tokens, a.seed); });
        j["tokens"] = {{"sampled_from", "the f32 model"}, {"sequences", a.samples}, {"tokens_per_sequence", a.sample_tokens + 1}, {"seed", a.seed}};
      }
      const auto L = ref.decoder.spec().num_layers;
      if (a.report) {
        auto kept = std::make_shared<std::vector<std::string>>();
        cb::model::LoadOptions qo = ref_opt;
        qo.transform = cb::quant::make_transform(q, rules, L, kept);
        auto qm = cb::model::load_model(a.model, qo);
        auto f = cb::quant::compare_models(ref.decoder, qm.decoder, seqs);
        f.quant = q.name;
        f.kept_dense = *kept;
        j["fidelity"] = f;
        j["fidelity"]["greedy"] = greedy_agreement(ref.decoder, qm.decoder, seqs);
      }
      if (a.sensitivity) j["sensitivity"] = cb::quant::sensitivity_scan(ref.decoder, q, seqs);
    }
    if (ctx.json || a.report || a.sensitivity) return print_json(j);
    std::cout << "wrote " << j["saved"]["dir"].get<std::string>() << ": " << j["saved"]["quantized_linears"].get<std::int64_t>()
              << " linears at " << q.name << ", " << j["saved"]["kept_dense"].size() << " kept dense, "
              << cb::format_bytes(j["saved"]["bytes"].get<std::int64_t>()) << "\n";
  });
}

}  // namespace cli
