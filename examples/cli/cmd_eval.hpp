#pragma once
// `curebench eval`: the evaluation pipeline from a run config, or one model in the short form.
#include "cli_common.hpp"
#include "curebench/dist/group.hpp"
#include "curebench/dist/launch.hpp"
#include "curebench/eval/run_by_config.hpp"

#include <ATen/Parallel.h>

#include <thread>

namespace cli {

inline void add_eval(CLI::App& app, Context& ctx) {
  static std::string config, model, val, test, out, quant = "auto", mode = "generate", device = "cpu", dtype, protocol = "curebench";
  static std::string policy;  // empty: the config's (default curebench)
  static std::size_t num_fewshot = 0;
  static std::string fewshot, lm_eval_task;
  static std::size_t max_samples = 0;
  static std::int64_t max_new_tokens = 256, batch_size = 8;
  static std::optional<std::uint64_t> seed;
  static std::optional<bool> enable_thinking;
  static bool allow_duplicate_ids = false, quantize_lm_head = false;
  static std::map<std::string, std::string> meta;  // meta_data.json fields, the kit's option names
  static std::optional<int> rank, world_size;
  static double dist_timeout_s = 60;
  auto* sub = app.add_subcommand("eval", "Evaluate models on question sets: results.json, samples, submission, dashboards");
  sub->add_option("--config", config, "Run config JSON (models, splits, limits, seeds); see docs/evaluation.md");
  sub->add_option("--model", model, "Short form: one checkpoint folder");
  sub->add_option("--val", val, "Short form: labelled validation split (CURE-Bench JSONL)");
  sub->add_option("--test", test, "Short form: test split (labels optional)");
  sub->add_option("--out", out, "Run folder to write (resumes when it holds a run of the same config)")->required();
  sub->add_option("--max-samples", max_samples, "Short form: at most N questions per split");
  sub->add_option("--seed", seed, "Short form: seeded subsample when --max-samples is set");
  sub->add_option("--quant", quant, "Short form: auto | none | prequantized | nf4 | nf4-dq | fp4 | int8 | fp8 | int4-g32 | int4-g64 | int4-g128 (as quantize --quant)");
  sub->add_flag("--quantize-lm-head", quantize_lm_head, "Short form: quantize the classifier too (kept 16-bit by default, as bitsandbytes)");
  sub->add_option("--mode", mode, "Short form: generate | loglikelihood");
  sub->add_option("--device", device, "Short form: cpu | cuda");
  sub->add_option("--dtype", dtype, "Short form: f32 | bf16 | f16");
  sub->add_option("--protocol", protocol,
                  "Short form: curebench | official (the CURE-Bench kit's prompts) | lm-eval (lm-evaluation-harness's task "
                  "configs; --mode loglikelihood; acc and acc_norm)");
  sub->add_option("--num-fewshot", num_fewshot, "Short form, --protocol lm-eval: few-shot examples per question (default 0)");
  sub->add_option("--fewshot", fewshot, "Short form, --protocol lm-eval: pool file of few-shot examples (CURE-Bench JSONL)");
  sub->add_option("--lm-eval-task", lm_eval_task,
                  "Short form, --protocol lm-eval: the lm-eval task of every record (default: each record's lm_eval.task or id)");
  sub->add_option("--policy", policy,
                  "Answer extractor: curebench (default) | seed | kit (the official kit's, exactly; with --protocol official "
                  "the run reproduces the kit's prompts, extraction and submission)");
  auto* max_new = sub->add_option("--max-new-tokens", max_new_tokens,
                                   "Short form: tokens to generate at most per step (default 256; 1024 under --protocol official, as the kit)");
  sub->add_option("--enable-thinking", enable_thinking,
                  "Short form: Qwen3's enable_thinking, true | false (default: false under --protocol official, as the kit; "
                  "else the template's default); other templates ignore it");
  sub->add_option("--batch-size", batch_size, "Short form: questions per batch");
  sub->add_flag("--allow-duplicate-ids", allow_duplicate_ids,
                "Run a split that repeats an id, each row on its own (default: refused before any model runs)");
  using Flag = std::pair<const char*, const char*>;
  for (auto [flag, key] : std::initializer_list<Flag>{{"--model-name", "model_name"}, {"--model-type", "model_type"},
                                                      {"--track", "track"}, {"--base-model-type", "base_model_type"},
                                                      {"--base-model-name", "base_model_name"}, {"--dataset", "dataset"},
                                                      {"--additional-info", "additional_info"}})
    sub->add_option_function<std::string>(flag, [key = std::string(key)](const std::string& v) { meta[key] = v; },
                                          std::string("meta_data.json ") + key + " for every model (over the run config's metadata)");
  sub->add_option("--rank", rank, "Data-parallel: this process's rank (default: from torchrun, Slurm srun or mpirun variables)");
  sub->add_option("--world-size", world_size, "Data-parallel: number of ranks (with --rank; rank 0 listens on MASTER_ADDR:MASTER_PORT)");
  sub->add_option("--dist-timeout", dist_timeout_s,
                  "Data-parallel: seconds to wait for every rank to start, and of silence after which a rank counts as gone (default 60)");
  add_json_flag(sub, ctx);
  sub->callback([&ctx, max_new] {
    namespace cb = curebench;
    cb::install_interrupt_handlers();  // Ctrl-C / SIGTERM: stop between batches, samples kept (main.cpp reports it)
    cb::eval::RunConfig cfg;
    if (!config.empty()) {
      if (!model.empty()) throw cb::Error(cb::Errc::invalid_argument, "", "--model", "use either --config or --model, not both");
      cfg = cb::eval::load_run_config(config);
      if ((allow_duplicate_ids && !cfg.allow_duplicate_ids) || (!policy.empty() && policy != cfg.policy)) {
        cfg.allow_duplicate_ids = cfg.allow_duplicate_ids || allow_duplicate_ids;
        if (!policy.empty()) cfg.policy = policy;
        cb::eval::finalize(cfg, config);  // an override is part of the run: its hash changes
      }
      for (auto& m : cfg.models)  // the command line wins over the config, as in the kit's get_metadata
        for (const auto& [key, value] : meta) m.metadata[key] = value;
      cb::eval::check_metadata(meta, "command line", "metadata");
    } else {
      if (model.empty()) throw cb::Error(cb::Errc::invalid_argument, "", "--model", "give --config FILE or --model PATH");
      if (val.empty() && test.empty()) throw cb::Error(cb::Errc::invalid_argument, "", "--val", "give --val and/or --test");
      cfg.models.push_back({.name = std::filesystem::path(model).filename().string(), .path = model, .quant = quant,
                            .mode = mode, .device = device, .dtype = dtype, .quantize_lm_head = quantize_lm_head});
      if (!val.empty()) cfg.splits.push_back({"val", val, max_samples, seed});
      if (!test.empty()) cfg.splits.push_back({"test", test, max_samples, seed});
      cfg.protocol = protocol;
      cfg.num_fewshot = num_fewshot;
      cfg.fewshot_path = fewshot;
      cfg.lm_eval_task = lm_eval_task;
      cfg.max_new_tokens = max_new->count() ? max_new_tokens : cb::eval::default_max_new_tokens(protocol);
      cfg.enable_thinking = enable_thinking;
      cfg.allow_duplicate_ids = allow_duplicate_ids;
      cfg.metadata = meta;
      if (!policy.empty()) cfg.policy = policy;
      cfg.batch_size = batch_size;
      cb::eval::finalize(cfg, "command line");
    }
    // Data-parallel (docs/scaling.md): rank and world size from the flags or the launcher's variables; the ranks
    // meet at rank 0's store before anything is read. Ranks sharing a machine's CPU share its cores.
    const auto launch = cb::dist::detect_launch(rank, world_size);
    if (!(dist_timeout_s > 0 && dist_timeout_s <= 86400))
      throw cb::Error(cb::Errc::invalid_argument, "", "--dist-timeout", "expected seconds in (0, 86400]");
    std::optional<cb::dist::Group> group;
    if (launch.distributed()) {
      if (launch.local_world_size > 1)
        at::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / launch.local_world_size));
      group.emplace(launch, cb::dist::GroupOptions{std::chrono::milliseconds(static_cast<std::int64_t>(dist_timeout_s * 1000))});
    }
    // The protocol and the extractor are types (eval::Pipeline<Chain, Extractor, Protocol>), chosen from the config.
    cb::eval::RunSummary s = cb::eval::run_pipeline_for(cfg, out, group ? &*group : nullptr);
    if (!launch.leader()) {  // rank 0 merges the samples and writes results.json, the submission and the dashboards
      nlohmann::json j{{"rank", launch.rank}, {"world_size", launch.world_size}, {"out_dir", s.out_dir.string()},
                       {"results", s.results.string()}, {"files", s.files}};
      if (ctx.json) return print_json(j);
      std::cout << "rank " << launch.rank << " of " << launch.world_size << " done; rank 0 wrote " << s.results.string() << "\n";
      return;
    }
    nlohmann::json j{{"out_dir", s.out_dir.string()}, {"results", s.results.string()}, {"files", s.files}};
    if (launch.distributed()) j["world_size"] = launch.world_size;
    nlohmann::json models = nlohmann::json::array();
    for (auto& m : s.results_data.models) {
      nlohmann::json acc;
      nlohmann::json lm;
      for (auto& [split, v] : m.splits) {
        acc[split] = v.value("accuracy", nlohmann::json());
        if (v.contains("lm_eval")) lm[split] = v["lm_eval"];
      }
      models.push_back({{"name", m.name}, {"strategy", m.load.value("strategy", "")}, {"accuracy", acc},
                        {"generalization_gap", m.generalization_gap ? nlohmann::json(*m.generalization_gap) : nlohmann::json()}});
      if (!lm.is_null()) models.back()["lm_eval"] = lm;
    }
    j["models"] = models;
    if (ctx.json) return print_json(j);
    for (auto& m : models) {
      std::cout << m["name"].get<std::string>() << " (" << m["strategy"].get<std::string>() << "):";
      for (auto& [split, a] : m["accuracy"].items())
        std::cout << "  " << split << " " << (a.is_null() ? std::string("n/a (unlabelled)") : std::to_string(a.get<double>() * 100).substr(0, 5) + " %");
      std::cout << "\n";
      if (m.contains("lm_eval"))  // lm-eval's two metrics, each with its stderr and our Wilson interval
        for (auto& [split, v] : m["lm_eval"].items())
          for (const char* metric : {"acc", "acc_norm"}) {
            const auto& x = v[metric];
            char line[200];
            std::snprintf(line, sizeof line, "  %s %-8s %.4f +- %.4f (stderr)  Wilson 95 %% [%.4f, %.4f]  n=%zu\n", split.c_str(), metric,
                          x["value"].get<double>(), x["stderr"].is_null() ? 0.0 : x["stderr"].get<double>(),
                          x["wilson95"][0].get<double>(), x["wilson95"][1].get<double>(), v["n"].get<std::size_t>());
            std::cout << line;
          }
    }
    std::cout << "results: " << s.results.string() << "\n";
  });
}

}  // namespace cli
