#pragma once
// `curebench study --config study.json --out DIR` (issue 21 point 4): models x precisions x tasks x prompting
// methods. Each (model, precision) is loaded once, and only when one of its cells is unfinished; each (task,
// method) cell writes its predictions and cell.json atomically under DIR/cells/<model>/<precision>/<task>/<method>/
// as it finishes, cell.json last, so a re-run of the same config skips finished cells. DIR belongs to one config:
// DIR/study_config.json holds its canonical form and hash (data files' bytes included); another config's DIR, or a
// non-empty folder that holds no study, is refused. At the end: DIR/results.json (every cell's score with its
// intervals, the paired-bootstrap delta against the same model's baseline-precision cell, peak memory, load time,
// tokens/s), DIR/study.md (eval/tasks/study.hpp's table) and, where gnuplot is installed, DIR/figures/<task>.png/.svg
// (report/study_figures.hpp: peak memory vs score, one point per precision, per model and method).
// Ctrl-C / SIGTERM (core/interrupt.hpp, as eval): the first signal stops the study before its next batch; the cell in
// progress writes nothing (its items are run again on resume), finished cells stay whole, results.json and study.md
// are not written; exit 128 + signal with a line naming what to run to resume. A second signal kills at once; a
// resume then sweeps the temp files a killed atomic write left (by their exact names, dead writers only).
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "cmd_task.hpp"
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/interrupt.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/core/run_lock.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/eval/tasks/score_files.hpp"
#include "curebench/eval/tasks/study.hpp"
#if defined(CUREBENCH_WITH_REPORTS)
#include "curebench/report/study_figures.hpp"
#endif

namespace cli {

struct StudyData {  // one task's items, read and validated before any model loads
  const TaskDataset* ds = nullptr;
  std::string family;
  std::vector<curebench::eval::tasks::NerSentence> sentences, sentence_pool;
  std::vector<curebench::eval::tasks::RelationItem> pairs, pair_pool;
  std::vector<curebench::eval::tasks::MultiLabelItem> docs, doc_pool;
  std::vector<curebench::eval::Question> questions, question_pool;
  std::map<std::string, std::size_t> left_out;  // QA: questions of the file not scored, by type
  std::size_t items = 0;
};

inline StudyData read_study_data(const curebench::eval::tasks::StudyTaskConfig& t) {
  namespace tasks = curebench::eval::tasks;
  StudyData d;
  for (const auto& x : kTaskDatasets)
    if (t.dataset == x.name) d.ds = &x;
  d.family = d.ds->task;
  if (d.family == "qa") {
    auto q = tasks::qa_items(t.data);
    d.questions = std::move(q.questions), d.left_out = std::move(q.left_out);
    if (!t.examples.empty()) d.question_pool = tasks::qa_items(t.examples).questions;
    d.items = d.questions.size();
  } else if (d.family == "ner") {
    d.sentences = tasks::read_iob2_tokens(t.data);
    if (!t.examples.empty()) d.sentence_pool = tasks::read_iob2_tokens(t.examples);
    d.items = d.sentences.size();
  } else if (d.family == "re") {
    auto read = [&](const std::string& p) { return t.dataset == "gad" ? tasks::read_gad_jsonl(p) : tasks::read_chemprot_tsv(p); };
    d.pairs = read(t.data);
    if (!t.examples.empty()) d.pair_pool = read(t.examples);
    d.items = d.pairs.size();
  } else {
    d.docs = tasks::read_multilabel_jsonl(t.data);
    if (!t.examples.empty()) d.doc_pool = tasks::read_multilabel_jsonl(t.examples);
    require_labels_known(d.ds->label_set(), d.docs, t.data, std::string("--dataset ") + d.ds->name);
    require_labels_known(d.ds->label_set(), d.doc_pool, t.examples, std::string("--dataset ") + d.ds->name);
    d.items = d.docs.size();
  }
  if (t.limit && d.items > t.limit) d.items = t.limit;
  return d;
}

// A cell's predictions re-read as a score, for the paired bootstrap (the files are `curebench score` input).
template <class F>
auto with_cell_score(const StudyData& d, const std::filesystem::path& dir, F&& f) {
  namespace tasks = curebench::eval::tasks;
  if (d.family == "ner") return f(tasks::score_conll_file((dir / "predictions.conll").string()));
  if (d.family == "re")
    return f(tasks::score_label_jsonl((dir / "predictions.jsonl").string(), std::string(d.ds->labels().negative)));
  if (d.family == "qa") return f(tasks::score_label_jsonl((dir / "predictions.jsonl").string()));  // letters, no negative
  return f(tasks::score_multilabel_jsonl((dir / "predictions.jsonl").string()));
}

inline nlohmann::json paired_delta(const StudyData& d, const std::filesystem::path& base_dir, const std::filesystem::path& run_dir,
                                   const curebench::eval::tasks::BootstrapOptions& o) {
  namespace tasks = curebench::eval::tasks;
  return with_cell_score(d, base_dir, [&](const auto& base) {
    return with_cell_score(d, run_dir, [&](const auto& run) -> nlohmann::json {
      if constexpr (std::is_same_v<std::decay_t<decltype(base)>, std::decay_t<decltype(run)>>)
        return tasks::paired_intervals(base, run, o);
      else
        throw curebench::Error(curebench::Errc::internal, "", "", "paired cells of different task families");
    });
  });
}

// Refuses a folder that holds another config's study, or anything but a study; returns true when resuming.
inline bool check_study_folder(const std::filesystem::path& out, const curebench::eval::tasks::StudyConfig& cfg) {
  namespace cb = curebench;
  const auto rc = out / "study_config.json";
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(rc, ec))) {
    auto old = cb::read_json_file(rc.string());
    if (!old.is_object() || !old.contains("hash") || !old["hash"].is_string())
      throw cb::Error(cb::Errc::config, rc.string(), "hash",
                      "expected the config hash (a string) this study folder was started with; the file was edited or is "
                      "corrupt: use a new --out folder (or delete it) to start over");
    if (old["hash"].get<std::string>() != cfg.hash)
      throw cb::Error(cb::Errc::config, rc.string(), "hash",
                      "this folder holds a study of another config (or of other data files); use a new --out folder (or "
                      "delete it) to start over");
    return true;
  }
  for (const auto& e : std::filesystem::directory_iterator(out))
    if (e.path().filename() != cb::kRunLockName)
      throw cb::Error(cb::Errc::config, out.string(), "study_config.json",
                      "the folder is not empty and holds no study (no study_config.json): use a new or empty --out folder");
  return false;
}

struct StudyArgs {
  std::string config, out;
};

inline void add_study(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<StudyArgs>();
  auto* sub = app.add_subcommand("study", "Run a study: models x precisions x tasks x prompting methods (resumable)");
  sub->add_option("--config", a->config, "Study config (JSON; docs/study.md)")->required();
  sub->add_option("--out", a->out, "Study folder: cells/, results.json, study.md (a re-run resumes it)")->required();
  add_json_flag(sub, ctx);
  sub->callback([a, &ctx] {
    namespace cb = curebench;
    namespace tasks = cb::eval::tasks;
    namespace fs = std::filesystem;
    const auto cfg = tasks::read_study_config(a->config);
    std::vector<StudyData> data;
    for (const auto& t : cfg.tasks) data.push_back(read_study_data(t));
    std::vector<cb::loader::CheckpointInfo> infos;
    for (const auto& m : cfg.models) infos.push_back(cb::loader::inspect_checkpoint(m.path));

    const fs::path out(a->out);
    std::error_code ec;
    // A folder of something else is refused before anything (a lock file included) is made in it.
    if (fs::is_directory(out, ec)) check_study_folder(out, cfg);
    fs::create_directories(out);
    auto lock = cb::FolderLock::exclusive(out);
    const bool resuming = check_study_folder(out, cfg);
    cb::install_interrupt_handlers();
    if (resuming) {  // temp files of a killed earlier run (ours only: the folder is proven a study of this config)
      cb::remove_stale_temp_files(out, {{"results.json"}, {"study.md"}, {"study_config.json"}});
      for (const auto& m : cfg.models)
        for (const auto& precision : cfg.precisions)
          for (const auto& t : cfg.tasks)
            for (const auto& me : cfg.methods)
              cb::remove_stale_temp_files(out / "cells" / m.name / precision / t.name / me.name,
                                          {{"predictions.jsonl"}, {"predictions.conll"}, {"cell.json"}});
    }
    const std::size_t cells_total = cfg.models.size() * cfg.precisions.size() * cfg.tasks.size() * cfg.methods.size();
    auto stop_if_interrupted = [&](std::size_t ran_now, std::size_t skipped_now) {
      if (int sig = cb::interrupt_requested())
        throw cb::Interrupted(sig, out.string() + ": stopped with " + std::to_string(ran_now + skipped_now) + " of " +
                                       std::to_string(cells_total) + " cells finished (" + std::to_string(ran_now) +
                                       " by this run); the cell in progress wrote nothing. Run the same command again "
                                       "to resume: finished cells are skipped");
    };
    if (!resuming) {
      auto j = cfg.canonical;
      j["hash"] = cfg.hash;
      j["config"] = fs::absolute(a->config).lexically_normal().string();
      cb::atomic_write(out / "study_config.json", cb::dump_json(j, 2) + "\n");
    }
    auto cell_dir = [&](const std::string& model, const std::string& precision, const std::string& task, const std::string& method) {
      return out / "cells" / model / precision / task / method;
    };
    auto finished = [&](const fs::path& dir) {
      std::error_code ec;
      return fs::is_regular_file(dir / "cell.json", ec);
    };
    std::size_t ran = 0, skipped = 0;
    for (std::size_t mi = 0; mi < cfg.models.size(); ++mi) {
      const auto& m = cfg.models[mi];
      const bool cuda = m.device.rfind("cuda", 0) == 0;
      const int gpu = cuda && m.device.size() > 5 ? std::stoi(m.device.substr(5)) : 0;
      std::optional<cb::tokenizer::Tokenizer> tok;
      for (const auto& precision : cfg.precisions) {
        std::size_t todo = 0;
        for (const auto& t : cfg.tasks)
          for (const auto& me : cfg.methods) todo += finished(cell_dir(m.name, precision, t.name, me.name)) ? 0 : 1;
        skipped += cfg.tasks.size() * cfg.methods.size() - todo;
        if (!todo) continue;
        stop_if_interrupted(ran, skipped);  // before a load
        const auto pl = tasks::precision_load(precision, m.dtype);
        cb::loader::LoadRequest req;
        req.device = cb::model::parse_device_name(m.device);
        if (!pl.dtype.empty()) req.dtype = cb::model::parse_dtype_name(pl.dtype, "dtype");
        req.workload = {.batch = static_cast<std::int64_t>(cfg.batch_size), .context = 1024};
        cb::release_free_heap();
        if (cuda) cb::reset_gpu_peak(gpu);
        else cb::reset_peak_rss();
        cb::Timer load_timer;
        auto loaded = cb::loader::load_for_quant(infos[mi], req, pl.quant, "precision");
        const double load_wall = load_timer.millis() / 1e3;
        const auto mem_now = [&]() -> std::int64_t {
          return cuda ? cb::gpu_memory(gpu).allocated_peak_bytes : cb::host_memory().peak_rss_bytes;
        };
        const std::int64_t load_peak = mem_now();
        double load_seconds = 0;
        for (const auto& at : loaded.attempts) load_seconds += at.seconds;
        if (!tok) tok.emplace(cb::tokenizer::load_tokenizer(m.tokenizer.empty() ? m.path : m.tokenizer));
        for (std::size_t ti = 0; ti < cfg.tasks.size(); ++ti) {
          const auto& t = cfg.tasks[ti];
          const auto& d = data[ti];
          for (const auto& me : cfg.methods) {
            const auto dir = cell_dir(m.name, precision, t.name, me.name);
            if (finished(dir)) continue;
            TaskArgs ta;
            ta.dataset = t.dataset, ta.examples = t.examples, ta.limit = t.limit, ta.shots = me.shots, ta.seed = me.seed;
            ta.batch_size = cfg.batch_size, ta.bootstrap = cfg.bootstrap, ta.bootstrap_seed = cfg.bootstrap_seed;
            ta.max_new_tokens = me.tokens_for(t);
            ta.chain_of_thought = me.chain_of_thought;
            if (cuda) cb::reset_gpu_peak(gpu);
            else cb::reset_peak_rss();
            tasks::GeneratorStats stats;
            tasks::LabelChoiceStats choice;
            auto generate = t.mode == "loglikelihood"
                                ? tasks::label_loglikelihood_chooser(loaded.model.decoder, *tok, m.path,
                                                                     relation_label_strings(d.ds->labels()), choice,
                                                                     static_cast<std::int64_t>(cfg.batch_size))
                                : tasks::model_generator(loaded.model.decoder, *tok, m.path, ta.max_new_tokens, stats);
            // Stops between batches: run_task then returns nothing and this cell writes no file.
            generate = [inner = std::move(generate), &stop_if_interrupted, &ran, &skipped](
                           const std::vector<cb::eval::Conversation>& prompts) {
              stop_if_interrupted(ran, skipped);
              return inner(prompts);
            };
            std::string predictions, conll;
            cb::Timer timer;
            nlohmann::json r;
            if (d.family == "qa")
              r = run_study_task(tasks::QaTask{}, d.questions, d.question_pool, ta, generate, predictions, conll);
            else if (d.family == "ner")
              r = run_study_task(tasks::NerTask{d.ds->type, d.ds->noun}, d.sentences, d.sentence_pool, ta, generate, predictions, conll);
            else if (d.family == "re")
              r = run_study_task(tasks::RelationTask{&d.ds->labels(), &d.ds->table()}, d.pairs, d.pair_pool, ta, generate,
                                 predictions, conll);
            else {
              tasks::MultiLabelTask ml;
              ml.noun = d.ds->noun;
              ml.labels = d.ds->label_set();
              r = run_study_task(ml, d.docs, d.doc_pool, ta, generate, predictions, conll);
            }
            r["seconds"] = timer.millis() / 1e3;
            r["model"] = m.name, r["precision"] = precision, r["task"] = t.name, r["method"] = me.name;
            r["dataset"] = t.dataset, r["family"] = d.family;
            r["load"] = {{"path", m.path}, {"quant", pl.quant}, {"strategy", loaded.strategy},
                         {"dtype", cb::model::dtype_short_name(loaded.model.decoder.dtype())}, {"device", m.device},
                         {"load_seconds", load_seconds}, {"load_wall_seconds", load_wall}, {"load_peak_bytes", load_peak},
                         {"weight_bytes", loaded.model.decoder.weights().bytes()}};
            r["memory"] = {{"kind", cuda ? "gpu" : "rss"}, {"peak_bytes", std::max(mem_now(), load_peak)},
                           {"what", cuda ? "torch.cuda.max_memory_allocated: peak allocated bytes of the load and of this cell"
                                         : "peak resident set (VmHWM) of the process during the load and during this cell"}};
            r["generation"] = stats.to_json();
            r["generation"]["decode_seconds"] = stats.decode_s;
            r["generation"]["max_new_tokens"] = ta.max_new_tokens;
            r["mode"] = t.mode;
            if (t.mode == "loglikelihood") r["loglikelihood"] = choice.to_json();
            r["config_hash"] = cfg.hash;
            cb::atomic_write(dir / "predictions.jsonl", predictions);
            if (d.family == "ner") cb::atomic_write(dir / "predictions.conll", conll);
            cb::atomic_write(dir / "cell.json", cb::dump_json(r, 2) + "\n");  // last: the cell is finished
            ++ran;
            if (!ctx.json)
              std::cout << "ran " << m.name << " / " << precision << " / " << t.name << " / " << me.name << " ("
                        << r["items"] << " items, " << cb::dump_json(r["seconds"]) << " s)" << std::endl;
          }
        }
      }
    }

    stop_if_interrupted(ran, skipped);  // every cell is finished; a signal now still ends the run without results
    // results.json and study.md from the cell files (what was run now and what an earlier run finished).
    const tasks::BootstrapOptions boot{cfg.bootstrap ? cfg.bootstrap : 1000, cfg.bootstrap_seed};
    nlohmann::json res;
    res["notice"] = cfg.notice ? nlohmann::json(*cfg.notice) : nlohmann::json();
    res["config_hash"] = cfg.hash;
    res["baseline"] = cfg.baseline;
    res["precisions"] = cfg.precisions;
    std::set<std::string> kinds;
    for (std::size_t ti = 0; ti < cfg.tasks.size(); ++ti) {
      res["tasks"].push_back({{"name", cfg.tasks[ti].name}, {"dataset", cfg.tasks[ti].dataset},
                              {"family", data[ti].family}, {"items", data[ti].items}});
      if (data[ti].family == "qa") res["tasks"].back()["left_out"] = data[ti].left_out;
    }
    res["cells"] = nlohmann::json::array();
    res["rows"] = nlohmann::json::array();
    std::map<std::string, double> base_peak;  // model/method -> baseline row's peak
    for (const auto& m : cfg.models)
      for (const auto& me : cfg.methods)
        for (const auto& precision : cfg.precisions) {
          double peak = 0, load = 0, out_tokens = 0, decode_s = 0;
          for (std::size_t ti = 0; ti < cfg.tasks.size(); ++ti) {
            const auto& t = cfg.tasks[ti];
            const auto dir = cell_dir(m.name, precision, t.name, me.name);
            auto cell = cb::read_json_file((dir / "cell.json").string());
            nlohmann::json c = {{"model", m.name}, {"precision", precision}, {"task", t.name}, {"method", me.name},
                                {"dataset", t.dataset}, {"family", data[ti].family}, {"items", cell.at("items")},
                                {"prompting", cell.at("prompting")}, {"score", cell.at("score")},
                                {"peak_memory_bytes", cell.at("memory").at("peak_bytes")},
                                {"memory_kind", cell.at("memory").at("kind")},
                                {"load_seconds", cell.at("load").at("load_seconds")}, {"load", cell.at("load")},
                                {"generation", cell.at("generation")},
                                {"tokens_per_second", cell.at("generation").at("decode_tokens_per_second")},
                                {"files", (fs::path("cells") / m.name / precision / t.name / me.name).string()}};
            kinds.insert(cell["memory"]["kind"].get<std::string>());
            c["delta"] = nullptr;
            if (!cfg.baseline.empty() && precision != cfg.baseline)
              c["delta"] = paired_delta(data[ti], cell_dir(m.name, cfg.baseline, t.name, me.name), dir, boot)["delta"];
            peak = std::max(peak, cell["memory"]["peak_bytes"].get<double>());
            load = std::max(load, cell["load"]["load_seconds"].get<double>());
            out_tokens += cell["generation"]["output_tokens"].get<double>();
            decode_s += cell["generation"]["decode_seconds"].get<double>();
            res["cells"].push_back(std::move(c));
          }
          const std::string key = m.name + "/" + me.name;
          if (precision == cfg.baseline) base_peak[key] = peak;
          nlohmann::json row = {{"model", m.name}, {"precision", precision}, {"method", me.name},
                                {"peak_memory_bytes", peak}, {"load_seconds", load},
                                {"tokens_per_second", decode_s > 0 ? nlohmann::json(out_tokens / decode_s) : nlohmann::json()}};
          row["memory_saved"] = nullptr;
          res["rows"].push_back(std::move(row));
        }
    for (auto& row : res["rows"]) {  // the baseline row may come after a row in config order
      const auto key = row["model"].get<std::string>() + "/" + row["method"].get<std::string>();
      if (row["precision"] != cfg.baseline && base_peak.count(key) && base_peak[key] > 0)
        row["memory_saved"] = 1.0 - row["peak_memory_bytes"].get<double>() / base_peak[key];
    }
    res["memory_kind"] = kinds.size() == 1 ? *kinds.begin() : std::string("mixed (see each cell's memory_kind)");
    res["paired_bootstrap"] = {{"resamples", boot.resamples}, {"seed", boot.seed}, {"level", tasks::kIntervalLevel},
                               {"method", "paired bootstrap (the same draws for both cells), cell - baseline cell"}};
    res["cells_run"] = ran;
    res["cells_skipped"] = skipped;
    // Figures (memory vs score per task) where gnuplot is there; a study without them is still a study.
    res["figures"] = nlohmann::json::array();
#if defined(CUREBENCH_WITH_REPORTS)
    try {
      for (const auto& f : cb::report::draw_study_figures(res, out))
        res["figures"].push_back(fs::relative(f, out).string());
    } catch (const cb::Error& e) {
      res["figures_error"] = e.what();
      std::cerr << "curebench: no figures: " << e.what() << std::endl;
    }
#else
    res["figures_error"] = "this curebench was built with CUREBENCH_WITH_REPORTS=OFF: no figures";
#endif
    cb::atomic_write(out / "results.json", cb::dump_json(res, 2) + "\n");
    cb::atomic_write(out / "study.md", tasks::study_markdown(res));
    if (ctx.json)
      return print_json({{"out", out.string()}, {"cells_run", ran}, {"cells_skipped", skipped},
                         {"results", (out / "results.json").string()}, {"table", (out / "study.md").string()}});
    std::cout << ran << " cells run, " << skipped << " finished cells skipped; wrote " << (out / "results.json").string()
              << " and " << (out / "study.md").string() << "\n";
  });
}

}  // namespace cli
