#pragma once
// `curebench load` (run the loader chain and show every attempt) and `curebench discover` (find checkpoints).
#include "cli_common.hpp"
#include "cmd_generate.hpp"
#include "curebench/core/bytes.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/discover.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/named_config.hpp"

namespace cli {

// A --strategies item: a strategy of the chain by its name, or a quant config by its public name (--quant's, e.g.
// nf4-dq), which stands for QuantizeOnLoad of the config that name is everywhere else (quant::visit_named_config),
// so the user never spells the generated "QuantizeOnLoad<nf4-b64-dq>". Errc::invalid_argument, listing the chain,
// for anything else (the item quoted as JSON: no escape byte reaches the terminal).
inline std::string chain_names_list() {
  std::string s;
  for (const auto& n : curebench::loader::DefaultChain::names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

inline std::string chain_strategy_name(const std::string& item) {
  namespace cb = curebench;
  std::string name = item;
  cb::quant::visit_named_config(item, [&]<class C>(std::type_identity<C>, std::int64_t, bool) {
    name = cb::loader::QuantizeOnLoad<C>{}.name();
  });
  const auto names = cb::loader::DefaultChain::names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return name;
  throw cb::Error(cb::Errc::invalid_argument, "", "--strategies",
                  "no strategy " + nlohmann::json(item).dump() + (name != item ? " (" + name + ")" : "") +
                      " in the chain: " + chain_names_list() + "; a quant name stands for its QuantizeOnLoad, e.g. nf4-dq");
}

inline std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

inline void add_load(CLI::App& app, Context& ctx) {
  static std::string model, gpu_budget, cpu_budget, strategies, device = "cpu", dtype, oom_at;
  static std::int64_t context = 4096, batch = 1;
  static bool quantize_lm_head = false;
  auto* sub = app.add_subcommand("load", "Load a checkpoint through the loader chain and report every attempt");
  sub->add_option("--model", model, "Checkpoint folder")->required();
  sub->add_option("--gpu-budget", gpu_budget, "GPU memory budget, e.g. 16GiB (emulates a smaller GPU)");
  sub->add_option("--cpu-budget", cpu_budget, "Host memory budget for weights, e.g. 8GiB");
  sub->add_option("--strategies", strategies,
                  "Comma-separated subset of: " + chain_names_list() + " (QuantizeOnLoad<...> also by its --quant name, e.g. nf4-dq, int8)");
  sub->add_option("--device", device, "cpu | cuda | cuda:N");
  sub->add_option("--dtype", dtype, "Compute dtype f32 | bf16 | f16");
  sub->add_option("--context", context, "Tokens per sequence to plan the KV cache for");
  sub->add_option("--batch", batch, "Sequences to plan the KV cache for");
  sub->add_flag("--quantize-lm-head", quantize_lm_head, "Quantize the classifier too (QuantizeOnLoad; kept 16-bit by default, as bitsandbytes)");
  sub->add_option("--inject-oom-at", oom_at, "Fault injection: fail with out-of-memory when loading this tensor");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    namespace cb = curebench;
    auto info = cb::loader::inspect_checkpoint(model);
    cb::loader::LoadRequest req;
    req.device = cb::model::parse_device_name(device);
    if (!dtype.empty()) req.dtype = cb::model::parse_dtype_name(dtype, "--dtype");
    if (!gpu_budget.empty()) req.budget.gpu_bytes = cb::parse_bytes(gpu_budget, "--gpu-budget");
    if (!cpu_budget.empty()) req.budget.cpu_bytes = cb::parse_bytes(cpu_budget, "--cpu-budget");
    req.workload = {.batch = batch, .context = context};
    req.faults.oom_at_tensor = oom_at;
    req.quantize_lm_head = quantize_lm_head;
    auto only = split_names(strategies);
    for (auto& n : only) n = chain_strategy_name(n);
    nlohmann::json j{{"checkpoint", info}};
    try {
      auto res = cb::loader::DefaultChain{}.load(info, req, only);
      j["strategy"] = res.strategy;
      j["attempts"] = res.attempts;
      j["weight_bytes"] = res.model.decoder.weights().bytes();
      j["offloaded_layers"] = res.model.decoder.offloaded_layers();
      j["gpu"] = {{"peak_allocated_bytes", cb::gpu_memory().allocated_peak_bytes}};
    } catch (const cb::loader::DefaultChain::ChainError& e) {
      if (ctx.json) print_json({{"checkpoint", info}, {"strategy", nullptr}, {"attempts", e.attempts}, {"error", static_cast<const cb::Error&>(e)}});
      throw;
    }
    if (ctx.json) return print_json(j);
    for (auto& a : j["attempts"])
      std::cout << a["strategy"].get<std::string>() << ": " << a["outcome"].get<std::string>()
                << (a["reason"].is_null() ? "" : " (" + a["reason"].get<std::string>() + ")") << ", "
                << a["seconds"].get<double>() << " s\n";
    std::cout << "loaded with " << j["strategy"].get<std::string>() << ", weights " << cb::format_bytes(j["weight_bytes"]) << "\n";
  });
}

inline void add_discover(CLI::App& app, Context& ctx) {
  static std::string dir;
  auto* sub = app.add_subcommand("discover", "Find checkpoints under a folder, with reasons for what was skipped");
  sub->add_option("dir", dir, "Folder to search (recursively)")->required();
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    auto d = curebench::loader::discover(dir);
    if (ctx.json) return print_json(d);
    for (auto& c : d.found)
      std::cout << "found   " << c.path.string() << "  " << c.spec.architecture << " (" << to_string(c.kind) << ")\n";
    for (auto& g : d.gguf_files) std::cout << "gguf    " << g.string() << "\n";
    for (auto& s : d.skipped) std::cout << "skipped " << s.path.string() << ": " << s.reason << "\n";
  });
}

}  // namespace cli
