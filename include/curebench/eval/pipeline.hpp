#pragma once
// Pipeline<LoaderChain, Extractor, Protocol, Metrics>: one evaluation, composed at compile time.
//   datasets -> verification -> loader chain (telemetry per attempt) -> prompts (protocol, rendered)
//   -> tokenizer -> generate or loglikelihood scoring -> extractor -> per-sample log -> metrics
//   -> results.json, submission package, dashboards.
// Every output is written atomically; samples are appended one line at a time, so an interrupted run
// resumes where it stopped (same config hash) without redoing or duplicating a sample. The run folder is locked
// for the whole run (eval/run_folder.hpp). On resume, a finished question whose record or rendered prompt changed
// since it was answered (an edited dataset, another chat template) is run again: its old record is dropped, its
// id printed on stderr and listed in results.json's provenance.rerun.
// Data-parallel (a dist::Group of N ranks, docs/scaling.md): every rank loads the model and answers its deal of the
// questions still to run (dist/deal.hpp), appending to its own samples.rank<R>.jsonl; rank 0 alone holds the run
// folder (lock, run_config.json, sweeps), merges the rank logs into samples.jsonl in dataset order and writes
// results.json, the submission and the dashboards - the files a one-process run writes, timings and the records'
// `rank` aside.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "curebench/core/atomic_write.hpp"
#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/device_info.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/dist/deal.hpp"
#include "curebench/dist/group.hpp"
#include "curebench/eval/continuation_requests.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/eval/extract.hpp"
#include "curebench/eval/lm_eval.hpp"
#include "curebench/eval/metrics.hpp"
#include "curebench/eval/prompt.hpp"
#include "curebench/eval/run_config.hpp"
#include "curebench/eval/run_folder.hpp"
#include "curebench/eval/sample.hpp"
#include "curebench/eval/sha256.hpp"
#include "curebench/eval/verify.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/load_for_quant.hpp"
#include "curebench/report/rank_logs.hpp"
#include "curebench/report/results.hpp"
#include "curebench/report/samples_log.hpp"
#include "curebench/report/submission.hpp"
#include "curebench/runtime/generate.hpp"
#include "curebench/runtime/score.hpp"
#include "curebench/telemetry/progress.hpp"
#include "curebench/tokenizer/chat_template.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"
#include "curebench/version.hpp"
#if defined(CUREBENCH_WITH_REPORTS)
#include "curebench/report/dashboard.hpp"
#endif

namespace curebench::eval {

using ChatRenderer = std::function<std::string(const Conversation&)>;

struct RunSummary {
  std::filesystem::path out_dir, results;
  report::Results results_data;
  std::vector<std::string> files;
};

template <class LoaderChain = loader::DefaultChain, extract::Extractor Ex = extract::CurebenchDefault,
          PromptProtocol Protocol = CurebenchProtocol, metrics::Metric SplitM = metrics::SplitMetrics>
class Pipeline {
 public:
  // `renderer` (optional) renders chat messages with the model family's template; default raw text.
  // `group` (optional): this process's place in a data-parallel run; none is one process.
  static RunSummary run(const RunConfig& cfg, const std::filesystem::path& out_dir, const ChatRenderer& renderer = nullptr,
                        dist::Group* group = nullptr) {
    dist::Group single;
    dist::Group& g = group ? *group : single;
    try {
      return run_in_group(cfg, out_dir, renderer, g);
    } catch (const Error& e) {
      // The others stop instead of waiting for this rank; a distributed error is already known to them.
      if (e.code() != Errc::distributed) g.fail(e.what());
      throw;
    } catch (const std::exception& e) {
      g.fail(e.what());
      throw;
    }
  }

 private:
  static RunSummary run_in_group(const RunConfig& cfg, const std::filesystem::path& out_dir, const ChatRenderer& renderer,
                                 dist::Group& g) {
    namespace fs = std::filesystem;
    // Ranks given different configs would mix two runs in one folder.
    const auto hashes = g.all_gather("config_hash", cfg.hash);
    for (std::size_t r = 0; r < hashes.size(); ++r)
      if (hashes[r] != cfg.hash)
        throw Error(Errc::distributed, "rank " + std::to_string(g.rank()), "config",
                    "rank " + std::to_string(r) + " runs config " + hashes[r].substr(0, 12) + ", this rank " +
                        cfg.hash.substr(0, 12) + ": every rank must be given the same run config and options");
    std::optional<RunFolder> folder;  // rank 0's: locked; a resume is proven to be this config's run folder
    if (g.leader()) {
      folder.emplace(out_dir, cfg);
      folder->sweep(temp_names(cfg));  // left by a run killed between writing a temp file and renaming it
    }
    report::Results res;
    res.notice = cfg.notice;
    res.run = {cfg.hash.substr(0, 12), report::utc_now_iso8601(), "", cfg.hash, cfg.models.front().mode, std::string(Protocol::name),
               std::string(Ex::name), g.world_size()};
    res.provenance = provenance(cfg);
    // Datasets and their verification are shared by every model.
    std::vector<Dataset> splits;
    for (const auto& s : cfg.splits) {
      LoadOptions lo;
      lo.limit = s.limit;
      lo.seed = s.seed;
      splits.push_back(load_split(s.name, s.path, lo));
      res.provenance.datasets.push_back(provenance_json(splits.back()));
    }
    std::vector<const Dataset*> ptrs;
    for (auto& d : splits) ptrs.push_back(&d);
    nlohmann::json verification = verify_splits(ptrs);  // before any separation: results.json lists the duplicates
    // A repeated id is refused before any model loads, unless the run allows it: then each row runs on its own.
    for (auto& d : splits) cfg.allow_duplicate_ids ? separate_duplicate_ids(d) : refuse_duplicate_ids(d);
    RunSummary summary;
    for (const auto& m : cfg.models)
      res.models.push_back(run_model(cfg, m, splits, verification, out_dir, folder ? &*folder : nullptr, renderer,
                                     res.provenance, summary, g));
    summary.out_dir = out_dir;
    summary.results = out_dir / "results.json";
    if (!g.leader()) {  // rank 0 writes results.json, the submission and the dashboards
      g.finish();
      return summary;
    }
    res.run.finished_at = report::utc_now_iso8601();
    report::write_results(summary.results, res);
    summary.files.push_back(summary.results.string());
#if defined(CUREBENCH_WITH_REPORTS)
    if (cfg.draw_dashboard) {
      auto drawn = report::draw_dashboard(out_dir);
      for (auto& f : drawn.files) summary.files.push_back(fs::path(f).string());
    }
#endif
    summary.results_data = std::move(res);
    g.finish();
    return summary;
  }

  // The temp names of every file a run writes, by folder (core/interrupt.hpp TempName): what a resume may sweep.
  static std::vector<std::pair<std::filesystem::path, std::vector<TempName>>> temp_names(const RunConfig& cfg) {
    std::vector<std::pair<std::filesystem::path, std::vector<TempName>>> out{{"", {{"run_config.json"}, {"results.json"}}}};
    for (const auto& m : cfg.models) {
      const auto model_dir = std::filesystem::path("models") / m.name;
      out.push_back({model_dir, {{"samples.jsonl"}, {"submission.zip"}, {"submission.zip", /*libzip=*/true}}});
      out.push_back({model_dir / "submission", {{"submission.csv"}, {"meta_data.json"}}});
    }
    // Figures are drawn in a private .draw-<pid>-XXXXXX folder that draw_dashboard sweeps itself.
    out.push_back({"report", {{"report.md"}}});
    return out;
  }

  // The run config's enable_thinking, else the protocol's (official: false, as the kit's apply_chat_template call).
  static std::optional<bool> enable_thinking(const RunConfig& cfg) {
    return cfg.enable_thinking ? cfg.enable_thinking : protocol_enable_thinking<Protocol>();
  }

  // The prompt_sha256 a record of `q` carries (what generate_batch and score_batch hash): a resume compares it.
  static std::string expected_prompt_sha256(const std::string& mode, const Protocol& protocol, const ChatRenderer& render,
                                            const Question& q) {
    if (mode != "loglikelihood") return sha256_hex(render(protocol.first(q)));
    if (q.type == QuestionType::open_ended || !q.options || q.options->empty()) return "";  // nothing was scored
    return sha256_hex(render(protocol.loglikelihood(q).messages));
  }

  // Finished records of this run's questions that no longer describe them: the question record (text, options,
  // answer, type) or the rendered prompt changed since. Returns ((split, id), what changed) in dataset order.
  using Changes = std::vector<std::pair<std::pair<std::string, std::string>, std::string>>;
  static Changes changed_questions(
      const report::SamplesLog& log, const std::vector<Dataset>& splits, const std::string& mode, const Protocol& protocol,
      const ChatRenderer& render) {
    std::map<std::pair<std::string, std::string>, const SampleRecord*> logged;
    for (auto& s : log.finished()) logged[{s.split, s.id}] = &s;
    Changes changed;
    std::set<std::pair<std::string, std::string>> compared;  // a duplicated id: its first record only, as it ran
    for (const auto& d : splits)
      for (const auto& q : d.questions) {
        auto it = logged.find({d.split, q.id});
        if (it == logged.end() || !compared.insert(it->first).second) continue;
        const SampleRecord& s = *it->second;
        // Logs written before question_sha256 was recorded: the answer and type still tell an edited record.
        const bool question = s.question_sha256.empty() ? s.gold != q.correct_answer || s.type != q.type
                                                        : s.question_sha256 != question_sha256(q);
        const bool prompt = s.prompt_sha256 != expected_prompt_sha256(mode, protocol, render, q);
        if (question || prompt) changed.push_back({{d.split, q.id}, question && prompt ? "question+prompt" : question ? "question" : "prompt"});
      }
    return changed;
  }

  static report::Provenance provenance(const RunConfig& cfg) {
    report::Provenance p;
    p.curebench_version = kVersion;
    p.git_commit = kGitCommit;
    auto dev = device_info();
    p.libtorch = dev["libtorch"].get<std::string>();
    if (!dev["devices"].empty()) p.gpu = dev["devices"][0]["name"].get<std::string>();
    if (dev.contains("cuda_runtime")) p.cuda = std::to_string(dev["cuda_runtime"].get<int>());
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    p.host = host;
    p.sampling_seed = cfg.sampling_seed;
    for (auto& s : cfg.splits)
      if (s.seed) p.subsample_seed = *s.seed;
    return p;
  }

  // Keeps the last `budget` tokens (and the first, usually BOS) when a prompt does not fit.
  static std::vector<std::int64_t> fit_context(std::vector<std::int64_t> ids, std::int64_t budget, std::size_t& truncated) {
    if (static_cast<std::int64_t>(ids.size()) <= budget) return ids;
    ++truncated;
    std::vector<std::int64_t> out{ids.front()};
    out.insert(out.end(), ids.end() - (budget - 1), ids.end());
    return out;
  }

  static std::vector<std::int64_t> encode(const tokenizer::Tokenizer& tok, const std::string& text, bool special) {
    auto ids = tok.encode(text, special);
    return {ids.begin(), ids.end()};
  }
  static std::string decode(const tokenizer::Tokenizer& tok, const std::vector<std::int64_t>& ids) {
    std::vector<std::int32_t> v(ids.begin(), ids.end());
    return tok.decode(v, /*skip_special_tokens=*/true);
  }

  // One rank's measurements of one model, as gathered by rank 0 (a flat list of numbers through the store).
  struct Counters {
    double prefill_tokens = 0, prefill_s = 0, decode_tokens = 0, decode_s = 0, questions = 0, batches_s = 0, scored_tokens = 0;
    double truncated = 0, peak_gpu_bytes = -1, peak_rss_bytes = 0;  // peak_gpu_bytes -1: no GPU
    std::vector<double> values() const {
      return {prefill_tokens, prefill_s, decode_tokens, decode_s, questions, batches_s, scored_tokens, truncated, peak_gpu_bytes, peak_rss_bytes};
    }
    // What came through the store (unauthenticated, like torchrun's) is checked, not trusted.
    static Counters from(const std::string& text) {
      std::vector<double> v;
      try {
        v = nlohmann::json::parse(text).get<std::vector<double>>();
      } catch (const nlohmann::json::exception&) {
      }
      if (v.size() != 10 || std::any_of(v.begin(), v.end(), [](double x) { return !std::isfinite(x) || x < -1; }))
        throw Error(Errc::distributed, "", "counters", "a rank sent counters that are not 10 finite numbers");
      return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]};
    }
  };

  // Dataset order of every question of the run: the order merged samples logs are written in.
  static std::map<report::SampleKey, std::size_t> dataset_order(const std::vector<Dataset>& splits) {
    std::map<report::SampleKey, std::size_t> order;
    for (const auto& d : splits)
      for (const auto& q : d.questions) order.emplace(report::SampleKey{d.split, q.id}, order.size());
    return order;
  }

  // What a question costs to answer, for the deal: its prompt (about 4 bytes a token) and what is generated or scored.
  static std::uint64_t question_cost(const RunConfig& cfg, const std::string& mode, const Protocol& protocol,
                                     const ChatRenderer& render, const Question& q) {
    if (mode != "loglikelihood") return render(protocol.first(q)).size() / 4 + static_cast<std::uint64_t>(cfg.max_new_tokens);
    if (q.type == QuestionType::open_ended || !q.options || q.options->empty()) return 1;
    return (render(protocol.loglikelihood(q).messages).size() / 4 + 8) * q.options->size();
  }

  // "cuda" on a rank of a data-parallel run is the rank's own GPU (its local rank, modulo the GPUs it can see: a
  // launcher that gives each task one visible GPU leaves it cuda:0).
  static std::string rank_device(const std::string& device, const dist::Group& g) {
    if (!g.distributed() || device != "cuda" || !compat::cuda_available()) return device;
    const auto n = static_cast<int>(at::getNumGPUs());
    return n > 1 ? "cuda:" + std::to_string(g.launch().local_rank % n) : device;
  }

  // --protocol lm-eval: every question's description + few-shot examples, drawn before anything runs (in dataset
  // order, one generator per task, as lm-eval draws them), so a resume or a data-parallel deal sees the same prompts.
  static void prepare_lm_eval(LmEvalProtocol& protocol, const RunConfig& cfg, const std::vector<Dataset>& splits) {
    protocol.forced_task = cfg.lm_eval_task;
    if (!cfg.lm_eval_task.empty() && !lm_eval::known_task(cfg.lm_eval_task)) {
      std::string names;
      for (const auto& n : lm_eval::task_names()) names += (names.empty() ? "" : ", ") + n;
      throw Error(Errc::config, "run config", "lm_eval_task", "expected one of " + names + ", found '" + cfg.lm_eval_task + "'");
    }
    std::optional<Dataset> pool;
    if (!cfg.fewshot_path.empty()) pool = load_split("fewshot", cfg.fewshot_path, {});
    for (const auto& d : splits) {
      const std::string* path = &d.path;
      try {
        const bool same = pool && pool->sha256 == d.sha256;  // lm-eval's fewshot_split == test_split
        const auto prefixes = lm_eval::fewshot_prefixes(d.questions, pool ? pool->questions : std::vector<Question>{},
                                                        cfg.num_fewshot, same, cfg.lm_eval_task, cfg.fewshot_path);
        for (std::size_t i = 0; i < d.questions.size(); ++i) protocol.prefixes[&d.questions[i]] = prefixes[i];
        for (const auto& q : d.questions)  // every prompt renders, or the run stops here naming the record
          if (q.type != QuestionType::open_ended) (void)protocol.request(q);
        if (pool && cfg.num_fewshot) {
          path = &pool->path;
          for (const auto& q : pool->questions) (void)lm_eval::example(lm_eval::task_of(q, cfg.lm_eval_task), q);
        }
      } catch (const Error& e) {
        if (!e.path().empty()) throw;
        throw Error(e.code(), *path, e.field(), e.message());
      }
    }
  }
  template <class P>
  static void prepare_lm_eval(P&, const RunConfig&, const std::vector<Dataset>&) {}

  // results.json splits.<name>.lm_eval: acc and acc_norm with lm-eval's stderr (sqrt(p(1-p)/(n-1))) beside our Wilson
  // 95 % interval, over the labelled scored questions.
  static void add_lm_eval_metrics(report::ModelResult& r, const std::vector<SampleRecord>& mine) {
    std::map<std::string, std::array<std::size_t, 3>> counts;  // split -> n, acc hits, acc_norm hits
    for (const auto& s : mine) {
      if (!s.correct || !s.correct_norm) continue;
      auto& c = counts[s.split];
      ++c[0];
      c[1] += *s.correct;
      c[2] += *s.correct_norm;
    }
    for (const auto& [split, c] : counts) {
      auto metric = [&](std::size_t k) {
        const auto w = wilson_interval(k, c[0]);
        const auto se = lm_eval::mean_stderr(k, c[0]);
        return nlohmann::json{{"value", c[0] ? static_cast<double>(k) / static_cast<double>(c[0]) : 0.0},
                              {"stderr", se ? nlohmann::json(*se) : nlohmann::json()},
                              {"wilson95", w ? nlohmann::json::array({w->lo, w->hi}) : nlohmann::json()}};
      };
      r.splits[split]["lm_eval"] = {{"n", c[0]}, {"acc", metric(c[1])}, {"acc_norm", metric(c[2])}};
    }
  }

  // ---- one model, in named steps ---------------------------------------------------------------------------
  static report::ModelResult run_model(const RunConfig& cfg, const ModelConfig& mc, const std::vector<Dataset>& splits,
                                       const nlohmann::json& verification, const std::filesystem::path& out_dir,
                                       RunFolder* folder, const ChatRenderer& renderer, report::Provenance& prov,
                                       RunSummary& summary, dist::Group& g) {
    const PreparedModel pm = prepare_model(cfg, mc, renderer, g);
    report::ModelResult r = describe_model(mc, pm, verification);
    const auto model_dir = out_dir / "models" / mc.name;
    const auto order = dataset_order(splits);
    Protocol protocol;
    if constexpr (requires { protocol.prefixes; }) prepare_lm_eval(protocol, cfg, splits);
    SampleLogs logs;  // the logs hold open descriptors: filled in place, never moved
    open_sample_logs(logs, cfg, mc, splits, out_dir, model_dir, order, folder, protocol, pm.render, prov, g);
    const Counters own = run_batches(cfg, mc, splits, pm, protocol, logs, g);
    // Every rank's measurements (gathering them is also the point where all ranks are done); rank 0 reports the group.
    const auto gathered = g.all_gather("counters/" + mc.name, nlohmann::json(own.values()).dump());
    if (logs.rank) summary.files.push_back(logs.rank->path().string());
    if (!g.leader()) return r;
    std::vector<Counters> ranks;
    for (const auto& text : gathered) ranks.push_back(Counters::from(text));
    const auto mine = summarize_model(r, cfg, mc, splits, order, model_dir, logs, ranks, pm, g, summary);
    write_model_submission(r, cfg, mc, splits, mine, model_dir, out_dir, summary);
    return r;
  }

  // A model ready to answer: its weights (through the loader chain), its tokenizer, and how its prompts are rendered
  // (`chat`: what results.json calls chat_template).
  struct PreparedModel {
    loader::LoadResult loaded;
    tokenizer::Tokenizer tok;
    ChatRenderer render;
    bool add_special = false;
    std::string chat;
    const model::Decoder& decoder() const { return loaded.model.decoder; }
  };

  static PreparedModel prepare_model(const RunConfig& cfg, const ModelConfig& mc, const ChatRenderer& renderer, const dist::Group& g) {
    const std::string where = "model " + mc.name;
    auto info = loader::inspect_checkpoint(mc.path);
    const std::int64_t longest_prompt = 1024;
    loader::LoadRequest req;
    req.device = model::parse_device_name(rank_device(mc.device, g));
    if (!mc.dtype.empty()) req.dtype = model::parse_dtype_name(mc.dtype);
    req.budget = {mc.gpu_budget, mc.cpu_budget};
    req.quantize_lm_head = mc.quantize_lm_head;
    req.workload = {.batch = cfg.batch_size, .context = longest_prompt + cfg.max_new_tokens};
    reset_peak_rss();
    PreparedModel pm{loader::load_for_quant<LoaderChain>(info, req, mc.quant, where),
                     tokenizer::load_tokenizer(mc.tokenizer.empty() ? mc.path : mc.tokenizer), renderer, !renderer,
                     renderer ? "custom" : "raw"};
    // Prompts: the family's chat template when the checkpoint has one (its text already holds BOS, so the
    // tokenizer adds no special tokens, as transformers' apply_chat_template does), else plain text + BOS.
    if constexpr (requires { Protocol::raw_context; }) {
      // lm-eval's requests are plain strings: no chat template (lm-eval without --apply_chat_template) and no special
      // tokens (its HF model's tok_encode with add_bos_token=False), except BOS for a Gemma-family model.
      pm.render = [](const Conversation& c) { return c.empty() ? std::string() : c.front().content; };
      pm.add_special = lm_eval::adds_bos(pm.decoder().spec().model_type);
      pm.chat = pm.add_special ? "none (lm-eval, BOS)" : "none (lm-eval)";
    } else if (!renderer) {
      try {
        auto setup = tokenizer::chat_setup_for_model(mc.path);
        setup.options.enable_thinking = enable_thinking(cfg);
        pm.render = [setup](const Conversation& c) {
          std::vector<tokenizer::ChatMessage> msgs;
          for (auto& m : c) msgs.push_back({m.role, m.content});
          return tokenizer::render_chat(*setup.style, msgs, setup.options);
        };
        pm.add_special = false;
        pm.chat = std::string(setup.style->family);
      } catch (const Error&) {
        // No template known for this checkpoint (recorded as "raw" in results.json): blank-line separated, nothing
        // after the last message, so a loglikelihood continuation follows "Answer:" directly ("Answer:" + " B").
        pm.render = render_without_template;
      }
    }
    return pm;
  }

  // results.json's description of the model and of its load, before any question runs.
  static report::ModelResult describe_model(const ModelConfig& mc, const PreparedModel& pm, const nlohmann::json& verification) {
    const auto& dec = pm.decoder();
    const auto& loaded = pm.loaded;
    report::ModelResult r;
    r.name = mc.name;
    r.path = mc.path;
    r.architecture = dec.spec().architecture;
    r.parameters = static_cast<std::uint64_t>(dec.spec().parameter_count());
    r.quant = mc.quant == "auto" ? loaded.strategy : mc.quant;
    r.dtype = model::dtype_short_name(dec.dtype());
    r.device = mc.device;
    double load_seconds = 0;
    for (auto& a : loaded.attempts) load_seconds += a.seconds;
    r.load = {{"strategy", loaded.strategy}, {"seconds", load_seconds}, {"weight_bytes", dec.weights().bytes()},
              {"peak_rss_bytes", loaded.attempts.back().peak_rss_bytes},
              {"peak_gpu_bytes", loaded.attempts.back().gpu_allocated_peak_bytes}, {"attempts", loaded.attempts}};
    r.verification = verification;
    return r;
  }

  // Where this process appends samples and which questions are already answered. `main` is rank 0's (or the one
  // process's) samples.jsonl; `rank` a data-parallel rank's own log, merged by rank 0 at the end.
  struct SampleLogs {
    std::optional<report::SamplesLog> main, rank;
    std::set<report::SampleKey> finished;
    report::SamplesLog& append_to() { return rank ? *rank : *main; }
  };

  static void open_sample_logs(SampleLogs& logs, const RunConfig& cfg, const ModelConfig& mc, const std::vector<Dataset>& splits,
                               const std::filesystem::path& out_dir, const std::filesystem::path& model_dir,
                               const std::map<report::SampleKey, std::size_t>& order, RunFolder* folder,
                               const Protocol& protocol, const ChatRenderer& render, report::Provenance& prov,
                               dist::Group& g) {
    // Rank 0 (or the one process) owns samples.jsonl: it merges what ranks of an interrupted run left, then drops
    // the records of questions that changed, before any rank reads which questions are done.
    if (folder) {
      folder->claim();  // the model loaded and the prompts can be rendered: the run starts writing here
      report::merge_rank_logs(model_dir, order);
      logs.main.emplace(model_dir / "samples.jsonl");
    }
    if (auto changed = logs.main ? changed_questions(*logs.main, splits, mc.mode, protocol, render) : Changes{}; !changed.empty()) {
      std::set<std::pair<std::string, std::string>> keys;
      std::string ids;
      for (const auto& [key, what] : changed) {
        keys.insert(key);
        // Ids come from the dataset: quoted as JSON strings, so no control byte reaches the terminal.
        if (keys.size() <= 20) ids += (ids.empty() ? "" : ", ") + dump_json(nlohmann::json(key.first + "/" + key.second)) + " (" + what + ")";
        prov.rerun.push_back({{"model", mc.name}, {"split", key.first}, {"id", key.second}, {"changed", what}});
      }
      if (keys.size() > 20) ids += ", ... (" + std::to_string(keys.size() - 20) + " more in results.json provenance.rerun)";
      logs.main->drop(keys);
      std::cerr << "curebench: " << dump_json(nlohmann::json(logs.main->path().string())) << ": " << keys.size()
                << " finished question(s) changed since they were answered; running them again: " << ids << std::endl;
    }
    g.barrier("ready/" + mc.name);
    // Which questions are done: samples.jsonl as rank 0 left it. A rank that cannot see rank 0's run folder (on
    // another machine, --out not on a shared filesystem) would answer everything again into a folder nobody merges.
    if (logs.main) {
      for (const auto& s : logs.main->finished()) logs.finished.insert({s.split, s.id});
    } else {
      const auto rc = out_dir / "run_config.json";
      std::error_code ec;
      nlohmann::json claimed;
      if (std::filesystem::exists(std::filesystem::symlink_status(rc, ec))) claimed = read_json_file(rc.string());
      if (!claimed.is_object() || claimed.value("hash", std::string()) != cfg.hash)
        throw Error(Errc::distributed, rc.string(), "hash",
                    "rank " + std::to_string(g.rank()) + " does not see the run folder rank 0 writes: with ranks on several "
                    "machines, --out must be on a filesystem they all share");
      for (const auto& s : report::read_sample_records(model_dir / "samples.jsonl")) logs.finished.insert({s.split, s.id});
    }
    if (g.distributed()) logs.rank.emplace(report::rank_log_path(model_dir, g.rank()));
  }

  // Every question this process still has to answer, per split (one per id: a repeated id was refused or separated in
  // run()), dealt over the ranks by cost; `total` and `done` count the whole run for one process (a resume starts
  // where it stopped), this rank's deal for a rank.
  struct Work {
    std::vector<std::vector<const Question*>> todo_by_split;
    std::size_t total = 0, done = 0;
  };

  static Work deal_questions(const RunConfig& cfg, const ModelConfig& mc, const std::vector<Dataset>& splits,
                             const std::set<report::SampleKey>& finished, const Protocol& protocol, const ChatRenderer& render,
                             const dist::Group& g) {
    Work w;
    for (const auto& split : splits) {
      std::vector<const Question*> todo;
      std::set<std::string> queued;
      for (auto& q : split.questions)
        if (!finished.count({split.split, q.id}) && queued.insert(q.id).second) todo.push_back(&q);
      if (g.distributed()) {
        std::vector<std::uint64_t> cost;
        for (auto* q : todo) cost.push_back(question_cost(cfg, mc.mode, protocol, render, *q));
        const auto deal = dist::deal_by_cost(cost, g.world_size());
        std::vector<const Question*> mine;
        for (auto i : deal[static_cast<std::size_t>(g.rank())]) mine.push_back(todo[i]);
        todo = std::move(mine);
      }
      w.total += todo.size();
      w.todo_by_split.push_back(std::move(todo));
    }
    if (!g.distributed()) {
      std::size_t all = 0;
      for (const auto& d : splits) all += d.questions.size();
      w.done = all - w.total;
      w.total = all;
    }
    return w;
  }

  // The longest prompt that leaves room for max_new_tokens in the model's context.
  static std::int64_t context_budget(const RunConfig& cfg, const ModelConfig& mc, const model::Decoder& dec) {
    const std::int64_t max_context = dec.spec().max_position_embeddings;
    const std::int64_t budget = max_context - cfg.max_new_tokens;
    if (budget < 16)
      throw Error(Errc::config, "model " + mc.name, "max_new_tokens",
                  std::to_string(cfg.max_new_tokens) + " new tokens leave no room in a context of " + std::to_string(max_context));
    return budget;
  }

  // Answers this process's questions in batches, appending each record as its batch ends (a safe point for a signal
  // or a failed peer between batches); returns this rank's counters.
  static Counters run_batches(const RunConfig& cfg, const ModelConfig& mc, const std::vector<Dataset>& splits,
                              const PreparedModel& pm, const Protocol& protocol, SampleLogs& logs, dist::Group& g) {
    const auto& dec = pm.decoder();
    const auto& tok = pm.tok;
    report::SamplesLog& log = logs.append_to();
    std::vector<std::int64_t> eos(dec.spec().eos_ids.begin(), dec.spec().eos_ids.end());
    for (auto id : tok.eos_ids())
      if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
    // Prompts longer than the model's context keep their end (the question and the instruction to answer).
    const std::int64_t max_context = dec.spec().max_position_embeddings;
    const std::int64_t budget = context_budget(cfg, mc, dec);
    const bool scoring = mc.mode == "loglikelihood";
    Work work = deal_questions(cfg, mc, splits, logs.finished, protocol, pm.render, g);
    std::size_t truncated = 0, tokens = 0;
    // Loglikelihood generates nothing: its speed is questions and scored (context + continuation) tokens per second.
    telemetry::Progress progress(mc.name + " (" + mc.mode + ")" +
                                     (g.distributed() ? " rank " + std::to_string(g.rank()) + "/" + std::to_string(g.world_size()) : ""),
                                 work.total, scoring ? "scored tokens/s" : "output tokens/s");
    Counters c;
    Ex extractor;
    auto run_generate = [&](const std::vector<Conversation>& convs, std::vector<std::string>& texts,
                            std::vector<runtime::Generation>& gens) {
      std::vector<std::vector<std::int64_t>> prompts;
      for (auto& conv : convs) prompts.push_back(fit_context(encode(tok, pm.render(conv), pm.add_special), budget, truncated));
      runtime::GenerateOptions opt;
      opt.max_new_tokens = cfg.max_new_tokens;
      opt.eos_ids = eos;
      if (cfg.temperature) opt.sampling = {.greedy = false, .temperature = *cfg.temperature, .seed = cfg.sampling_seed};
      gens = runtime::generate(dec, prompts, opt);
      texts.clear();
      for (auto& gen : gens) {
        texts.push_back(decode(tok, gen.tokens));
        c.prefill_tokens += static_cast<double>(gen.prompt_tokens);
        c.decode_tokens += static_cast<double>(gen.tokens.size());
      }
      if (!gens.empty()) {
        c.prefill_s += gens[0].prefill_ms / 1e3;
        c.decode_s += gens[0].decode_ms / 1e3;
      }
    };

    for (std::size_t si = 0; si < splits.size(); ++si) {
      const auto& split = splits[si];
      const auto& todo = work.todo_by_split[si];
      for (std::size_t first = 0; first < todo.size(); first += static_cast<std::size_t>(cfg.batch_size)) {
        // Safe point for SIGINT/SIGTERM and for a failed or vanished peer: every sample finished so far is saved.
        g.check();
        if (interrupt_requested())
          throw Interrupted(interrupt_requested(), log.path().string() + ": stopped after " + std::to_string(work.done) + " of " +
                                                       std::to_string(work.total) + " samples of model " + mc.name +
                                                       "; they are saved, run the same command again to resume");
        const auto last = std::min(todo.size(), first + static_cast<std::size_t>(cfg.batch_size));
        std::vector<const Question*> batch(todo.begin() + static_cast<std::ptrdiff_t>(first), todo.begin() + static_cast<std::ptrdiff_t>(last));
        Timer batch_timer;
        std::vector<SampleRecord> records(batch.size());
        if (scoring) score_batch(dec, tok, pm.render, pm.add_special, protocol, batch, records, max_context, truncated, c.scored_tokens);
        else generate_batch(protocol, extractor, pm.render, run_generate, batch, records);
        const double batch_ms = batch_timer.millis();
        const double per_sample_ms = batch_ms / static_cast<double>(batch.size());
        c.batches_s += batch_ms / 1e3;
        c.questions += static_cast<double>(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) {
          auto& rec = records[i];
          const auto& q = *batch[i];
          rec.id = q.id;
          rec.split = split.split;
          rec.type = q.type;
          rec.gold = q.correct_answer;
          rec.question_sha256 = question_sha256(q);
          rec.correct = score(q, rec.answer);
          rec.latency_ms = per_sample_ms;
          if (g.distributed()) rec.rank = g.rank();
          measure_output(rec);
          log.append(rec);
          tokens += rec.output_tokens;
        }
        work.done += batch.size();
        progress.update(work.done, scoring ? static_cast<std::size_t>(c.scored_tokens) : tokens);
      }
    }
    progress.finish();
    const auto gpu = gpu_memory();
    c.truncated = static_cast<double>(truncated);
    c.peak_gpu_bytes = gpu.available ? static_cast<double>(gpu.allocated_peak_bytes) : -1.0;
    c.peak_rss_bytes = static_cast<double>(host_memory().peak_rss_bytes);
    return c;
  }

  // Rank 0, once every rank is done: samples.jsonl in dataset order, the metrics over this run's questions, and the
  // context, throughput (the sum of the ranks' rates) and memory (the largest rank's) of the model. Returns the
  // records of this run's questions (the log may hold samples of questions no longer selected).
  static std::vector<SampleRecord> summarize_model(report::ModelResult& r, const RunConfig& cfg, const ModelConfig& mc,
                                                   const std::vector<Dataset>& splits,
                                                   const std::map<report::SampleKey, std::size_t>& order,
                                                   const std::filesystem::path& model_dir, SampleLogs& logs,
                                                   const std::vector<Counters>& ranks, const PreparedModel& pm,
                                                   const dist::Group& g, RunSummary& summary) {
    // samples.jsonl ends in dataset order, as an uninterrupted one-process run leaves it: the rank logs merged, and a
    // resume's records (appended after the old ones) put in their place.
    auto position = [&](const SampleRecord& s) {
      auto it = order.find({s.split, s.id});
      return it == order.end() ? order.size() : it->second;
    };
    const bool in_order = std::is_sorted(logs.main->finished().begin(), logs.main->finished().end(),
                                         [&](const auto& a, const auto& b) { return position(a) < position(b); });
    if (g.distributed() || !in_order) {
      logs.rank.reset();
      logs.main.reset();  // its descriptor would point at the samples.jsonl the merge replaces
      report::merge_rank_logs(model_dir, order, /*reorder=*/true);
      logs.main.emplace(model_dir / "samples.jsonl");
    }
    const report::SamplesLog& merged = *logs.main;
    std::map<std::pair<std::string, std::string>, const SampleRecord*> logged;
    for (auto& s : merged.finished()) logged[{s.split, s.id}] = &s;
    std::vector<SampleRecord> mine;
    for (auto& d : splits)
      for (auto& q : d.questions)
        if (auto it = logged.find({d.split, q.id}); it != logged.end()) mine.push_back(*it->second);
    report::summarize_splits<SplitM>(r, mine);
    if constexpr (requires { Protocol::raw_context; }) add_lm_eval_metrics(r, mine);
    double truncated_all = 0, peak_gpu = -1, peak_rss = 0;
    for (const auto& c : ranks) {
      truncated_all += c.truncated;
      peak_gpu = std::max(peak_gpu, c.peak_gpu_bytes);
      peak_rss = std::max(peak_rss, c.peak_rss_bytes);
    }
    r.context = {{"max_tokens", pm.decoder().spec().max_position_embeddings},
                 {"prompts_truncated", static_cast<std::size_t>(truncated_all)}, {"chat_template", pm.chat},
                 {"max_new_tokens", cfg.max_new_tokens},
                 {"enable_thinking", enable_thinking(cfg) ? nlohmann::json(*enable_thinking(cfg)) : nlohmann::json()}};
    auto rate = [&](double Counters::*n, double Counters::*secs) {
      double sum = 0;
      for (const auto& c : ranks)
        if (c.*secs > 0 && c.*n > 0) sum += c.*n / c.*secs;
      return sum > 0 ? nlohmann::json(sum) : nlohmann::json();
    };
    const bool scoring = mc.mode == "loglikelihood";
    r.throughput = {{"prefill_tokens_per_second", rate(&Counters::prefill_tokens, &Counters::prefill_s)},
                    {"decode_tokens_per_second", rate(&Counters::decode_tokens, &Counters::decode_s)},
                    {"questions_per_second", rate(&Counters::questions, &Counters::batches_s)},
                    {"scored_tokens_per_second", scoring ? rate(&Counters::scored_tokens, &Counters::batches_s) : nlohmann::json()}};
    if (g.distributed()) r.throughput["ranks"] = g.world_size();
    r.memory = {{"peak_gpu_bytes", peak_gpu >= 0 ? nlohmann::json(static_cast<std::uint64_t>(peak_gpu)) : nlohmann::json()},
                {"peak_rss_bytes", static_cast<std::uint64_t>(peak_rss)}};
    summary.files.push_back(merged.path().string());
    return mine;
  }

  // The submission package covers the unlabelled-style "test" split when the run has one. A loglikelihood run
  // writes none: it has no free-text answer (open_ended rows would be empty) and no two-step trace, so it could not
  // be an entry; results.json says so instead.
  static void write_model_submission(report::ModelResult& r, const RunConfig& cfg, const ModelConfig& mc,
                                     const std::vector<Dataset>& splits, const std::vector<SampleRecord>& mine,
                                     const std::filesystem::path& model_dir, const std::filesystem::path& out_dir,
                                     RunSummary& summary) {
    for (const auto& d : splits) {
      if (d.split != "test") continue;
      if (mc.mode == "loglikelihood") {
        r.submission = {{"zip", nullptr},
                        {"reason", "loglikelihood mode scores the options and generates no answer text: open_ended rows would "
                                   "be empty and open_ended_multi_choice rows would lack the two-step trace, so the package "
                                   "could not be a CURE-Bench entry; run with mode generate for a submission"}};
        continue;
      }
      report::SubmissionMeta meta;
      meta.model_name = mc.name;
      meta.base_model_name = r.architecture;
      meta.additional_info = "curebench " + std::string(kVersion) + ", protocol " + std::string(Protocol::name) + ", mode " + mc.mode;
      // The run's metadata, then the model's own (both checked when the config was read).
      for (const auto* given : {&cfg.metadata, &mc.metadata})
        for (const auto& [key, value] : *given) report::set_meta_field(meta, key, value);
      double tokens_total = 0;
      for (auto& s : mine)
        if (s.split == "test") tokens_total += static_cast<double>(s.input_tokens + s.output_tokens);
      meta.average_tokens_per_question = std::to_string(d.questions.empty() ? 0.0 : tokens_total / static_cast<double>(d.questions.size()));
      auto paths = report::write_submission(model_dir, report::submission_rows(d.questions, mine), meta);
      summary.files.push_back(paths.zip.string());
      r.submission = {{"zip", std::filesystem::relative(paths.zip, out_dir).generic_string()}};
    }
  }

  template <class Gen>
  static void generate_batch(const Protocol& protocol, const Ex& extractor, const ChatRenderer& render, Gen& run_generate,
                             const std::vector<const Question*>& batch, std::vector<SampleRecord>& records) {
    std::vector<Conversation> convs;
    for (auto* q : batch) convs.push_back(protocol.first(*q));
    std::vector<std::string> texts;
    std::vector<runtime::Generation> gens;
    run_generate(convs, texts, gens);
    // Step 2 (open_ended_multi_choice): map the free answer onto the options, options shown only now.
    std::vector<std::size_t> two_step;
    std::vector<Conversation> mapping;
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (protocol.steps(*batch[i]) == 2) {
        two_step.push_back(i);
        mapping.push_back(protocol.mapping(*batch[i], texts[i]));
      }
    std::vector<std::string> texts2;
    std::vector<runtime::Generation> gens2;
    if (!mapping.empty()) run_generate(mapping, texts2, gens2);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& rec = records[i];
      const auto& q = *batch[i];
      rec.prompt_sha256 = sha256_hex(render(convs[i]));
      rec.messages = convs[i];
      rec.messages.push_back({"assistant", texts[i]});
      rec.output = texts[i];
      rec.input_tokens = static_cast<std::size_t>(gens[i].prompt_tokens);
      rec.output_tokens = gens[i].tokens.size();
      rec.stop_reason = gens[i].stop_reason;
      std::string_view final_text = texts[i];
      std::size_t offset = 0;
      auto it = std::find(two_step.begin(), two_step.end(), i);
      if (it != two_step.end()) {
        const auto k = static_cast<std::size_t>(it - two_step.begin());
        for (auto& m : mapping[k]) rec.messages.push_back(m);
        rec.messages.push_back({"assistant", texts2[k]});
        offset = rec.output.size() + 2;
        rec.output += "\n\n" + texts2[k];
        rec.input_tokens += static_cast<std::size_t>(gens2[k].prompt_tokens);
        rec.output_tokens += gens2[k].tokens.size();
        rec.stop_reason = gens2[k].stop_reason;
        final_text = texts2[k];
      }
      if (q.type == QuestionType::open_ended || !q.options) continue;  // free answer: nothing to extract
      auto e = extractor.extract(final_text, extract::Options(*q.options));
      if (e.answer) rec.answer = e.answer->front();
      rec.rule = e.rule;
      if (e.span) rec.span = std::make_pair(e.span->first + offset, e.span->second + offset);
    }
  }

  // Loglikelihood mode: every option's continuation of every question in the batch, scored in one go.
  static void score_batch(const model::Decoder& dec, const tokenizer::Tokenizer& tok, const ChatRenderer& render,
                          bool add_special, const Protocol& protocol, const std::vector<const Question*>& batch, std::vector<SampleRecord>& records,
                          std::int64_t max_context, std::size_t& truncated, double& scored_tokens) {
    struct Item {
      std::size_t record, first, count, context_tokens;
      LoglikelihoodPrompt prompt;
      std::string context;
    };
    std::vector<Item> items;
    std::vector<runtime::ScoreRequest> reqs;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& q = *batch[i];
      records[i].rule = "none";
      if (q.type == QuestionType::open_ended || !q.options || q.options->empty()) continue;  // nothing to choose
      Item it{i, reqs.size(), 0, 0, protocol.loglikelihood(q), {}};
      it.context = render(it.prompt.messages);
      // Context + continuation tokenized together (as the model would see them), the suffix scored.
      auto built = continuation_requests(tok, it.context, it.prompt.continuations, add_special, max_context,
                                         /*lm_eval_split=*/requires { Protocol::raw_context; });
      it.context_tokens = built.context_tokens;
      truncated += built.truncated;
      for (auto& r : built.requests) reqs.push_back(std::move(r));
      it.count = it.prompt.continuations.size();
      items.push_back(std::move(it));
    }
    for (const auto& q : reqs) scored_tokens += static_cast<double>(q.context.size() + q.continuation.size());
    auto scores = runtime::score(dec, reqs, 16);
    for (const auto& it : items) {
      auto& rec = records[it.record];
      std::size_t best = 0;
      for (std::size_t k = 1; k < it.count; ++k)
        if (scores[it.first + k].sum_logprob > scores[it.first + best].sum_logprob) best = k;
      rec.rule = "loglikelihood";
      if (!it.prompt.norm_lengths.empty()) {  // lm-eval: acc and acc_norm (np.argmax: the first of equal scores)
        for (std::size_t k = 0; k < it.count; ++k) rec.logprobs.push_back(scores[it.first + k].sum_logprob);
        const auto picks = lm_eval::pick(rec.logprobs, it.prompt.norm_lengths);
        best = picks.acc;
        rec.answer_norm = it.prompt.letters[picks.acc_norm];
        const auto& q = *batch[it.record];
        if (q.labelled() && q.letter_scored()) rec.correct_norm = *rec.answer_norm == *q.correct_answer;
      }
      rec.answer = it.prompt.letters[best];
      rec.output = it.prompt.continuations[best];
      rec.span = std::make_pair(std::size_t{0}, rec.output.size());
      rec.prompt_sha256 = sha256_hex(it.context);
      rec.messages = it.prompt.messages;
      rec.messages.push_back({"assistant", rec.output});
      rec.input_tokens = it.context_tokens;
      rec.output_tokens = reqs[it.first + best].continuation.size();
      rec.stop_reason = "loglikelihood";
    }
  }
};

}  // namespace curebench::eval
