#pragma once
// The only place that loops over tokens: batched prefill + decode over left-padded prompts, with
// per-sequence stops (EOS ids, stop strings, max_new_tokens). A finished sequence is masked out of the
// cache from then on, so it cannot change the others' outputs, and the loop ends when all are done.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/model/decoder.hpp"
#include "curebench/runtime/decode_graph.hpp"
#include "curebench/runtime/sampler.hpp"

namespace curebench::runtime {

struct GenerateOptions {
  std::int64_t max_new_tokens = 64;
  std::vector<std::int64_t> eos_ids;  // empty: the model's
  bool ignore_eos = false;
  std::vector<std::string> stop_strings;
  // Needed only for stop strings: text of a sequence's generated ids.
  std::function<std::string(const std::vector<std::int64_t>&)> detokenize;
  SamplingConfig sampling;
  std::int64_t prefill_chunk = 512;  // prompt columns per forward during prefill, at most
  // Prompt tokens (rows x columns) per prefill forward, at most: a batch of 100 prompts in 512-column chunks put
  // 51,200 tokens through each MLP at once (gate/up activations of ~4.5 GB on Llama-3-8B, beside a 16 GB KV
  // cache); 16,384 tokens keep the GEMMs large enough to run at tensor-core speed. Batches of <= 32 rows are
  // unaffected (512 columns still fit).
  std::int64_t prefill_token_budget = 16384;
  // Streaming: called for every new token of every live sequence, in order.
  std::function<void(std::size_t sequence, std::int64_t token)> on_token;
  // CUDA: replay the decode step as CUDA graphs (runtime/decode_graph.hpp), the batch padded up to a
  // bucket. No effect on the CPU or with host-offloaded layers. Outputs equal the eager path's.
  bool cuda_graphs = true;
  // Tests: run the graph path's static decode step (full-bucket batch, device-side column) on any device,
  // without capturing.
  bool force_static_decode = false;
};

struct Generation {
  std::vector<std::int64_t> tokens;  // generated ids only (no prompt)
  std::string stop_reason;           // eos | stop_string | max_new_tokens | context_length
  std::int64_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0, time_to_first_token_ms = 0;
};

inline void to_json(nlohmann::json& j, const Generation& g) {
  j = nlohmann::json{{"output_ids", g.tokens}, {"stop_reason", g.stop_reason}, {"prompt_tokens", g.prompt_tokens},
                     {"output_tokens", g.tokens.size()}, {"prefill_ms", g.prefill_ms}, {"decode_ms", g.decode_ms},
                     {"time_to_first_token_ms", g.time_to_first_token_ms}};
}

inline std::vector<Generation> generate(const model::Decoder& model, const std::vector<std::vector<std::int64_t>>& prompts,
                                        const GenerateOptions& opt) {
  const auto B = static_cast<std::int64_t>(prompts.size());
  if (B == 0) return {};
  if (opt.max_new_tokens < 0) throw Error(Errc::invalid_argument, "", "max_new_tokens", "must be >= 0");
  if (!opt.stop_strings.empty() && !opt.detokenize)
    throw Error(Errc::invalid_argument, "", "stop_strings", "stop strings need a detokenizer");
  const auto& spec = model.spec();
  std::int64_t longest = 0;
  for (auto& p : prompts) {
    if (p.empty()) throw Error(Errc::invalid_argument, "", "prompt", "empty prompt (add a BOS token)");
    for (auto id : p)
      if (id < 0 || id >= spec.vocab_size)
        throw Error(Errc::invalid_argument, "", "prompt", "token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(spec.vocab_size));
    longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(p.size()));
  }
  // The context rule (docs/robustness.md): a prompt longer than the model's context is refused (positions beyond
  // it were never trained; transformers only warns and runs for minutes); generation stops with stop_reason
  // "context_length" when the batch's longest prompt has filled the context (rows share one cache length), as
  // llama.cpp stops at n_ctx. `eval` never meets either: it truncates prompts to the context minus max_new_tokens.
  const std::int64_t context = spec.max_position_embeddings;
  if (longest > context)
    throw Error(Errc::invalid_argument, "", "prompt",
                "prompt of " + std::to_string(longest) + " tokens exceeds the model's context of " +
                    std::to_string(context) + " tokens (max_position_embeddings); shorten it");
  const std::int64_t max_new = std::min(opt.max_new_tokens, context - longest);
  const auto eos = opt.eos_ids.empty() ? spec.eos_ids : opt.eos_ids;
  const std::int64_t pad = spec.pad_id.value_or(0);
  c10::InferenceMode inference_mode;  // no autograd bookkeeping on any op of the loop

  // Static decode (CUDA graphs): the batch is padded with all-padding rows up to the graph bucket.
  const bool use_static = opt.force_static_decode || (opt.cuda_graphs && decode_graphs_supported(model));
  const auto rows = use_static ? graph_batch_bucket(B) : B;

  // Left-pad so every prompt ends in the same column.
  std::vector<std::int64_t> ids_host(static_cast<std::size_t>(rows * longest), pad);
  std::vector<std::uint8_t> real_host(static_cast<std::size_t>(rows * longest), 0);
  for (std::int64_t b = 0; b < B; ++b) {
    const auto n = static_cast<std::int64_t>(prompts[b].size());
    std::copy(prompts[b].begin(), prompts[b].end(), ids_host.begin() + b * longest + (longest - n));
    std::fill_n(real_host.begin() + b * longest + (longest - n), n, std::uint8_t{1});
  }
  auto ids = at::from_blob(ids_host.data(), {rows, longest}, at::kLong);
  auto real = at::from_blob(real_host.data(), {rows, longest}, at::kByte).to(at::kBool);

  std::vector<Generation> out(static_cast<std::size_t>(B));
  std::vector<std::vector<std::int64_t>> history(prompts.begin(), prompts.end());
  std::vector<bool> done(static_cast<std::size_t>(B), false);
  for (std::int64_t b = 0; b < B; ++b) out[b].prompt_tokens = static_cast<std::int64_t>(prompts[b].size());
  if (max_new == 0) {
    for (auto& g : out) g.stop_reason = opt.max_new_tokens == 0 ? "max_new_tokens" : "context_length";
    return out;
  }
  Sampler sampler(opt.sampling);
  auto cache = model.make_cache(rows, longest + max_new);
  const auto device = model.device();
  std::optional<DecodeGraphs> graphs;
  if (use_static) graphs.emplace(model, cache);

  const bool fast_greedy = opt.sampling.greedy && opt.sampling.repetition_penalty == 1.0;
  // Logits stay on the device for the greedy fast path; sampling reads them on the host.
  auto to_sampler = [&](at::Tensor l) { return fast_greedy ? l : l.to(at::kCPU); };
  Timer prefill_timer;
  // Prefill in chunks of columns: attention scores stay [B, H, chunk, S] instead of [B, H, S, S].
  at::Tensor logits;
  const std::int64_t chunk = std::max<std::int64_t>(1, std::min(opt.prefill_chunk, opt.prefill_token_budget / rows));
  for (std::int64_t c = 0; c < longest; c += chunk) {
    const auto n = std::min(chunk, longest - c);
    logits = model.forward(ids.narrow(1, c, n).to(device), real.narrow(1, c, n).to(device), cache);
  }
  logits = to_sampler(logits.select(1, 0));  // [rows, V]
  // NaN/Inf weights (or an overflow in fp16) make every later token meaningless: refused once per call, on the
  // prompt's logits (one host sync; a per-step check would cost a sync per token). The loader's warm-up does the
  // same for the chain; this covers a model loaded directly (`generate`, `quantize --sample-tokens`).
  if (!at::isfinite(logits.narrow(0, 0, B)).all().item<bool>())
    throw Error(Errc::numeric, "", "logits", "non-finite logits after the prompt (NaN/Inf in the weights?)");
  device_synchronize(device);
  const double prefill_ms = prefill_timer.millis();
  Timer decode_timer;
  std::int64_t live = B;
  std::vector<std::int64_t> next(static_cast<std::size_t>(rows), pad);
  std::vector<bool> alive(static_cast<std::size_t>(rows), false);
  for (std::int64_t step = 0; step < max_new && live > 0; ++step) {
    std::fill(next.begin(), next.end(), pad);
    std::fill(alive.begin(), alive.end(), false);
    // Greedy without penalties: one argmax over the batch on the device, the ids copied back at once.
    at::Tensor greedy_ids;
    const std::int64_t* greedy = nullptr;
    if (fast_greedy) {
      greedy_ids = logits.argmax(-1).to(at::kCPU).contiguous();
      greedy = greedy_ids.data_ptr<std::int64_t>();
    }
    for (std::int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      auto tok = fast_greedy ? greedy[b] : sampler.next(logits[b], history[b]);
      auto& g = out[b];
      g.tokens.push_back(tok);
      history[b].push_back(tok);
      if (step == 0) g.time_to_first_token_ms = prefill_ms;
      if (opt.on_token) opt.on_token(static_cast<std::size_t>(b), tok);
      bool stop = false;
      if (!opt.ignore_eos && std::find(eos.begin(), eos.end(), tok) != eos.end()) {
        g.stop_reason = "eos";
        stop = true;
      } else if (!opt.stop_strings.empty()) {
        auto text = opt.detokenize(g.tokens);
        for (auto& s : opt.stop_strings)
          if (!s.empty() && text.find(s) != std::string::npos) {
            g.stop_reason = "stop_string";
            stop = true;
            break;
          }
      }
      if (!stop && static_cast<std::int64_t>(g.tokens.size()) >= max_new) {
        g.stop_reason = max_new < opt.max_new_tokens ? "context_length" : "max_new_tokens";
        stop = true;
      }
      if (stop) {
        done[b] = true;
        --live;
      } else {
        next[b] = tok;
        alive[b] = true;
      }
    }
    if (live == 0) break;
    if (graphs) {
      logits = to_sampler(graphs->step(next, alive));
    } else {
      std::vector<std::uint8_t> alive_bytes(alive.begin(), alive.end());
      auto next_t = at::from_blob(next.data(), {rows, 1}, at::kLong).to(device);
      auto alive_t = at::from_blob(alive_bytes.data(), {rows, 1}, at::kByte).to(device).to(at::kBool);
      logits = to_sampler(model.forward(next_t, alive_t, cache).select(1, 0));
    }
  }
  const double decode_ms = decode_timer.millis();
  for (auto& g : out) {
    g.prefill_ms = prefill_ms;
    g.decode_ms = decode_ms;
  }
  return out;
}

}  // namespace curebench::runtime
