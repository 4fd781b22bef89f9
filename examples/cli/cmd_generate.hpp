#pragma once
// `curebench generate`: load a checkpoint and continue prompts (token ids, or text once a tokenizer exists).
#include <sstream>
#include <thread>

#include "cli_common.hpp"
#include "curebench/dist/group.hpp"
#include "curebench/dist/tensor_parallel.hpp"
#include "curebench/model/load_gguf.hpp"
#include "curebench/runtime/generate.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"

namespace cli {

inline std::vector<std::int64_t> parse_id_list(const std::string& s, const char* field) {
  std::vector<std::int64_t> ids;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      auto v = std::stoll(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      ids.push_back(v);
    } catch (const std::exception&) {
      throw curebench::Error(curebench::Errc::invalid_argument, "", field, "expected comma-separated integers, found '" + item + "'");
    }
  }
  return ids;
}

struct GenerateArgs {
  std::string model, prompt_ids, prompt, tokenizer, device = "cpu", dtype;
  std::int64_t max_new_tokens = 64;
  bool greedy = false, ignore_eos = false;
  double temperature = 1.0, top_p = 1.0, repetition_penalty = 1.0;
  std::int64_t top_k = 0;
  std::uint64_t seed = 0;
  bool tensor_parallel = false;
  std::optional<int> rank, world_size;
  double dist_timeout_s = 60;
};

inline void add_generate(CLI::App& app, Context& ctx) {
  static GenerateArgs a;
  auto* sub = app.add_subcommand("generate", "Generate a continuation with a checkpoint (greedy or seeded sampling)");
  sub->add_option("--model", a.model, "Model folder (config.json + safetensors) or .gguf file")->required();
  auto* ids_opt = sub->add_option("--prompt-ids", a.prompt_ids, "Prompt as comma-separated token ids, e.g. 1,403,407");
  auto* text_opt = sub->add_option("--prompt", a.prompt, "Prompt text, encoded with the model's tokenizer (BOS added)");
  ids_opt->excludes(text_opt);
  sub->add_option("--tokenizer", a.tokenizer, "Tokenizer file or folder for --prompt and the decoded text (default: the model's)");
  sub->add_option("--max-new-tokens", a.max_new_tokens, "Tokens to generate at most")->check(CLI::NonNegativeNumber);
  sub->add_flag("--greedy", a.greedy, "Greedy decoding (the default unless --temperature/--top-k/--top-p is given)");
  sub->add_flag("--ignore-eos", a.ignore_eos, "Do not stop at end-of-sequence ids: generate exactly --max-new-tokens");
  sub->add_option("--device", a.device, "cpu | cuda | cuda:N");
  sub->add_option("--dtype", a.dtype, "f32 | bf16 | f16 (default: the checkpoint's dtype)");
  sub->add_option("--temperature", a.temperature, "Sampling temperature");
  sub->add_option("--top-k", a.top_k, "Keep the k most likely tokens (0 = off)");
  sub->add_option("--top-p", a.top_p, "Nucleus sampling mass (1 = off)");
  sub->add_option("--repetition-penalty", a.repetition_penalty, "Penalty for tokens already seen (1 = off)");
  sub->add_option("--seed", a.seed, "Sampling seed (same seed, same device -> same tokens)");
  auto* tp = sub->add_flag("--tensor-parallel", a.tensor_parallel,
                           "Split every layer over the ranks of the launch (torchrun / srun / mpirun variables, or --rank "
                           "and --world-size): docs/scaling.md");
  sub->add_option("--rank", a.rank, "Tensor-parallel: this process's rank (default: from the launcher's variables)")->needs(tp);
  sub->add_option("--world-size", a.world_size, "Tensor-parallel: number of ranks (rank 0 listens on MASTER_ADDR:MASTER_PORT)")->needs(tp);
  sub->add_option("--dist-timeout", a.dist_timeout_s, "Tensor-parallel: seconds to wait for the other ranks (default 60)")->needs(tp);
  add_json_flag(sub, ctx);
  sub->callback([sub, &ctx] {
    namespace cb = curebench;
    if (a.prompt_ids.empty() && a.prompt.empty())
      throw cb::Error(cb::Errc::invalid_argument, "", "--prompt", "give --prompt TEXT or --prompt-ids 1,2,3");
    // A tokenizer is needed for --prompt; with --prompt-ids it is used, when one is found, to show the text.
    std::optional<cb::tokenizer::Tokenizer> tok;
    if (!a.prompt.empty() || !a.tokenizer.empty()) tok = cb::tokenizer::load_tokenizer(a.tokenizer.empty() ? a.model : a.tokenizer);
    std::vector<std::int64_t> prompt;
    if (!a.prompt.empty()) {
      auto ids = tok->encode(a.prompt, /*add_special_tokens=*/true);
      prompt.assign(ids.begin(), ids.end());
    } else {
      prompt = parse_id_list(a.prompt_ids, "--prompt-ids");
    }
    cb::model::LoadOptions lo;
    lo.device = cb::model::parse_device_name(a.device);
    if (!a.dtype.empty()) lo.dtype = cb::model::parse_dtype_name(a.dtype, "--dtype");
    // Tensor parallel (docs/scaling.md): the ranks meet at rank 0's store, then each reads its slice of every layer
    // onto its device; ranks sharing a machine's CPU share its cores.
    const auto launch = a.tensor_parallel ? cb::dist::detect_launch(a.rank, a.world_size) : cb::dist::Launch{};
    if (!(a.dist_timeout_s > 0 && a.dist_timeout_s <= 86400))
      throw cb::Error(cb::Errc::invalid_argument, "", "--dist-timeout", "expected seconds in (0, 86400]");
    const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(a.dist_timeout_s * 1000));
    std::optional<cb::dist::Group> group;
    std::optional<cb::dist::TensorGroup> tp_group;
    if (a.tensor_parallel && launch.distributed()) {
      if (launch.local_world_size > 1)
        at::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / launch.local_world_size));
      auto device = lo.device;
      if (a.device == "cuda" && at::getNumGPUs() > 1) device = at::Device(at::kCUDA, static_cast<int>(launch.local_rank % at::getNumGPUs()));
      group.emplace(launch, cb::dist::GroupOptions{timeout});
      tp_group.emplace(launch, device, timeout);
    }
    cb::Timer load_timer;
    auto m = tp_group ? cb::dist::load_tensor_parallel(a.model, *tp_group, lo.dtype) : cb::model::load_model(a.model, lo);
    const double load_ms = load_timer.millis();
    cb::runtime::GenerateOptions opt;
    opt.max_new_tokens = a.max_new_tokens;
    opt.ignore_eos = a.ignore_eos;
    bool sampling = sub->count("--temperature") || sub->count("--top-k") || sub->count("--top-p");
    if (!a.greedy && !sampling && m.generation.do_sample) {  // the checkpoint's defaults
      sampling = true;
      a.temperature = m.generation.temperature;
      a.top_k = m.generation.top_k;
      a.top_p = m.generation.top_p;
    }
    opt.sampling = {.greedy = a.greedy || !sampling, .temperature = a.temperature, .top_k = a.top_k,
                    .top_p = a.top_p, .repetition_penalty = a.repetition_penalty, .seed = a.seed};
    auto g = with_model_path(a.model, [&] { return cb::runtime::generate(m.decoder, {prompt}, opt).at(0); });
    nlohmann::json j = g;
    j["model"] = a.model;
    j["architecture"] = m.decoder.spec().architecture;
    j["device"] = a.device;
    j["dtype"] = cb::model::dtype_short_name(m.decoder.dtype());
    j["prompt_ids"] = prompt;
    j["load_ms"] = load_ms;
    j["greedy"] = opt.sampling.greedy;
    if (tok) {
      std::vector<std::int32_t> out(g.tokens.begin(), g.tokens.end());
      j["text"] = tok->decode(out, /*skip_special_tokens=*/true);
    }
    j["decode_tokens_per_second"] = g.decode_ms > 0 ? 1000.0 * static_cast<double>(g.tokens.size()) / g.decode_ms : 0.0;
    if (tp_group) {
      j["tensor_parallel"] = {{"rank", launch.rank}, {"world_size", launch.world_size}};
      group->finish();  // rank 0 hosts the store: it leaves after the others are done with it
    }
    if (ctx.json) return print_json(j);
    if (j.contains("text")) std::cout << j["text"].get<std::string>() << "\n";
    for (std::size_t i = 0; i < g.tokens.size(); ++i) std::cout << (i ? "," : "") << g.tokens[i];
    std::cout << "\n" << g.tokens.size() << " tokens, stop: " << g.stop_reason << ", prefill " << g.prefill_ms
              << " ms, decode " << g.decode_ms << " ms\n";
  });
}

}  // namespace cli
