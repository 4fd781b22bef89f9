#pragma once
// `curebench convert --from hoc|litcovid --data FILE --out FILE.jsonl`: a user's own copy of a multi-label set, in
// the shape its public distribution has, into the project's multi-label JSONL (eval/tasks/multilabel_data.hpp),
// which `curebench task --task multilabel` reads. HoC is GPL-3.0 and LitCovid's licence is unknown: neither is
// shipped, the user brings the file (HoC: the TSV of gpt_bionlp_benchmark; LitCovid: BC7-LitCovid's CSV).
// Every line is validated first (an Errc::dataset error names file, line and field, exit 1); the output is
// written atomically.
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "curebench/core/atomic_write.hpp"
#include "curebench/eval/tasks/multilabel_data.hpp"

namespace cli {

inline void add_convert(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string from, data, out;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("convert", "Convert your own copy of a multi-label set (HoC, LitCovid) into the project's multi-label JSONL");
  sub->add_option("--from", o->from,
                  "hoc: the TSV 'pmid<TAB>text<TAB>labels', hallmarks ';'-separated; litcovid: BC7-LitCovid's CSV "
                  "(columns pmid, title, abstract, label by name; topics ';'-separated)")
      ->required()
      ->check(CLI::IsMember({"hoc", "litcovid"}));
  sub->add_option("--data", o->data, "The file to convert (e.g. Benchmarks/Hoc/datasets/full_set/test.tsv)")->required();
  sub->add_option("--out", o->out, "The JSONL to write: {\"id\", \"labels\", \"text\"} a line")->required();
  add_json_flag(sub, ctx);
  sub->callback([o, &ctx] {
    namespace tasks = curebench::eval::tasks;
    const bool hoc = o->from == "hoc";
    const auto docs = hoc ? tasks::read_hoc_tsv(o->data) : tasks::read_litcovid_csv(o->data);
    curebench::atomic_write(o->out, tasks::multilabel_jsonl(docs));
    std::size_t labelled = 0, pairs = 0;
    for (const auto& d : docs) labelled += !d.labels.empty(), pairs += d.labels.size();
    nlohmann::json r{{"from", o->from}, {"data", o->data}, {"out", o->out}, {"documents", docs.size()},
                     {"documents_with_a_label", labelled}, {"labels", pairs}, {"label_set", hoc ? tasks::hoc_labels() : tasks::litcovid_labels()}};
    if (ctx.json) return print_json(r);
    std::cout << "wrote " << docs.size() << " documents (" << labelled << " with a label, " << pairs
              << " labels) to " << o->out << "\n";
  });
}

}  // namespace cli
