// `curebench score` as a user runs it: the JSON figures of the fixtures made by
// tests/fixtures/make_study_score_fixtures.py (conlleval's counting and scikit-learn's definitions, ported to
// python3), conlleval-shaped text output, and errors that name file, line and field with exit 1.
#include "cli/run_cli.hpp"
#include "curebench/eval/tasks/bootstrap.hpp"
#include "curebench/eval/tasks/score_files.hpp"

#include <cmath>
#include <sstream>
#include <string>

namespace {

nlohmann::json expected(const std::string& name) { return nlohmann::json::parse(slurp(data("study/" + name))); }

void expect_near_json(const nlohmann::json& want, const nlohmann::json& got, const std::string& where = "") {
  for (const auto& [key, value] : want.items()) {
    ASSERT_TRUE(got.contains(key)) << where << "." << key;
    if (value.is_object()) expect_near_json(value, got[key], where + "." + key);
    else if (value.is_number_float()) EXPECT_NEAR(value.get<double>(), got[key].get<double>(), 1e-12) << where << "." << key;
    else EXPECT_EQ(value, got[key]) << where << "." << key;
  }
}

}  // namespace

TEST(CliScore, NerJsonMatchesConlleval) {
  auto r = run_cli("score --task ner --conll " + data("study/score_ner.conll") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  expect_near_json(expected("score_ner.expected.json"), j);
  for (const char* key : {"precision", "recall", "f1", "gold", "predicted", "correct"}) EXPECT_TRUE(j.contains(key)) << key;
}

TEST(CliScore, NerTextIsConllevalsSummary) {
  auto r = run_cli("score --task ner --conll " + data("study/score_ner.conll"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto want = expected("score_ner.expected.json");
  std::string head = "processed " + std::to_string(want["tokens"].get<int>()) + " tokens with " +
                     std::to_string(want["gold"].get<int>()) + " phrases; found: " +
                     std::to_string(want["predicted"].get<int>()) + " phrases; correct: " +
                     std::to_string(want["correct"].get<int>()) + ".";
  EXPECT_EQ(r.out.substr(0, head.size()), head) << r.out;
  char fb1[64];
  std::snprintf(fb1, sizeof fb1, "FB1: %6.2f\n", 100.0 * want["f1"].get<double>());
  EXPECT_NE(r.out.find(fb1), std::string::npos) << r.out;
}

TEST(CliScore, RelationWithAndWithoutNegative) {
  auto want = expected("score_re.expected.json");
  auto r = run_cli("score --task re --jsonl " + data("study/score_re.jsonl") + " --negative false --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_near_json(want["with_negative_false"], nlohmann::json::parse(r.out));
  r = run_cli("score --task re --jsonl " + data("study/score_re.jsonl") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  expect_near_json(want["without_negative"], j);
  EXPECT_NEAR(j["micro_f1"].get<double>(), j["accuracy"].get<double>(), 1e-12);  // single-label, all classes
  // A negative label that occurs nowhere (a typo: labels are case-sensitive) is scored as none, with a warning.
  r = run_cli("score --task re --jsonl " + data("study/score_re.jsonl") + " --negative False --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto typo = nlohmann::json::parse(r.out);
  EXPECT_EQ(typo["negative_seen"], false);
  EXPECT_NEAR(typo["micro_f1"].get<double>(), j["micro_f1"].get<double>(), 1e-12);
  EXPECT_NE(r.err.find("warning: --negative \"False\""), std::string::npos) << r.err;
}

TEST(CliScore, MultiLabel) {
  auto r = run_cli("score --task multilabel --jsonl " + data("study/score_multilabel.jsonl") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_near_json(expected("score_multilabel.expected.json"), nlohmann::json::parse(r.out));
  r = run_cli("score --task multilabel --jsonl " + data("study/score_multilabel.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("macro F1:"), std::string::npos) << r.out;
}

TEST(CliScore, LabelsWithControlBytesAreShownQuoted) {
  // A label is file data: an ESC in it reaches the terminal only as the JSON escape \u001b.
  auto path = scratch_file("score_esc.jsonl", "{\"id\": 1, \"gold\": \"A\\u001b[31m\", \"pred\": \"A\\u001b[31m\"}\n");
  auto r = run_cli("score --task re --jsonl " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"A\\u001b[31m\": precision: 100.00%"), std::string::npos) << r.out;
}

TEST(CliScore, MalformedLineNamesFileLineFieldAndExitsOne) {
  auto path = scratch_file("score_bad.jsonl", "{\"id\": 1, \"gold\": \"A\", \"pred\": \"A\"}\n{\"id\": 2, \"gold\": \"A\", \"pred\": 7}\n");
  auto r = run_cli("score --task re --jsonl " + path + " --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ": line 2: pred"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["field"], "line 2: pred");
  auto conll = scratch_file("score_bad.conll", "a O O\nb B-D X-D\n");
  r = run_cli("score --task ner --conll " + conll);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(conll + ": line 2: predicted tag (column 3)"), std::string::npos) << r.err;
}

TEST(CliScore, WrongInputOptionForTheTaskIsRefused) {
  EXPECT_EQ(run_cli("score --task ner --jsonl " + data("study/score_re.jsonl")).exit_code, 1);
  EXPECT_EQ(run_cli("score --task multilabel --jsonl " + data("study/score_multilabel.jsonl") + " --negative x").exit_code, 1);
  auto r = run_cli("score --task pos --conll " + data("study/score_ner.conll"));
  EXPECT_EQ(r.exit_code, 2);  // a usage error: the value is not one of ner, re, multilabel
  EXPECT_NE(r.err.find("--task"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("score --task re --jsonl /nonexistent/preds.jsonl").exit_code, 1);
}

TEST(CliScore, IntervalsWithTheirOptionsAndDefaults) {
  // Defaults: 1,000 resamples, seed 0, the library's figures (eval/tasks/bootstrap.hpp) on the same file.
  const auto file = data("study/score_re.jsonl");
  auto r = run_cli("score --task re --jsonl " + file + " --negative false --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  namespace t = curebench::eval::tasks;
  auto lib = t::score_intervals(t::score_label_jsonl(file, "false"), {1000, 0});
  EXPECT_EQ(j["ci"], lib["ci"]);
  EXPECT_EQ(j["bootstrap"]["resamples"], 1000);
  EXPECT_EQ(j["bootstrap"]["seed"], 0);
  for (const char* f : {"micro_f1", "macro_f1", "accuracy"}) {
    EXPECT_LE(j["ci"][f]["lo"].get<double>(), j[f].get<double>()) << f;
    EXPECT_GE(j["ci"][f]["hi"].get<double>(), j[f].get<double>()) << f;
  }
  r = run_cli("score --task re --jsonl " + file + " --negative false --bootstrap 2000 --seed 9 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ci"], t::score_intervals(t::score_label_jsonl(file, "false"), {2000, 9})["ci"]);
  r = run_cli("score --task multilabel --jsonl " + data("study/score_multilabel.jsonl") + " --bootstrap 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out).contains("ci"));
  r = run_cli("score --task ner --conll " + data("study/score_ner.conll") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["bootstrap"]["unit"], "sentence");
  EXPECT_LT(j["ci"]["f1"]["lo"].get<double>(), j["f1"].get<double>());
  r = run_cli("score --task ner --conll " + data("study/score_ner.conll") + " --bootstrap 999");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--bootstrap"), std::string::npos) << r.err;
}

TEST(CliScore, PairedBaseline) {
  // A file against itself: every difference 0, interval [0, 0]; the baseline's own figures are shown.
  const auto file = data("study/score_multilabel.jsonl");
  auto r = run_cli("score --task multilabel --jsonl " + file + " --baseline " + file + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* f : {"micro_f1", "macro_f1", "exact_match"})
    for (const char* k : {"value", "lo", "hi"}) EXPECT_EQ(j["paired"]["delta"][f][k].get<double>(), 0.0) << f;
  EXPECT_EQ(j["paired"]["baseline_score"]["micro_f1"], j["micro_f1"]);
  // RE: the baseline says `false` everywhere; the delta on the data is the two files' difference.
  const auto re = data("study/score_re.jsonl");
  std::string base_lines;
  std::istringstream in(slurp(re));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto l = nlohmann::json::parse(line);
    l["pred"] = "false";
    base_lines += l.dump() + "\n";
  }
  auto base = scratch_file("paired_base.jsonl", base_lines);
  r = run_cli("score --task re --jsonl " + re + " --negative false --baseline " + base + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  const auto& d = j["paired"]["delta"]["macro_f1"];
  EXPECT_NEAR(d["value"].get<double>(), j["macro_f1"].get<double>() - j["paired"]["baseline_score"]["macro_f1"].get<double>(), 1e-12);
  EXPECT_LT(d["lo"].get<double>(), d["value"].get<double>());
  EXPECT_GT(d["hi"].get<double>(), d["value"].get<double>());
  r = run_cli("score --task re --jsonl " + re + " --baseline " + base);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("paired with baseline"), std::string::npos) << r.out;
  // Not the same items: named in the baseline file.
  auto other = scratch_file("paired_other.conll", "a B-D B-D\n\nb O O\n");
  r = run_cli("score --task ner --conll " + data("study/score_ner.conll") + " --baseline " + other);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(other + ": sentences"), std::string::npos) << r.err;
  r = run_cli("score --task re --jsonl " + re + " --baseline " + base + " --bootstrap 0");
  EXPECT_EQ(r.exit_code, 1);
}

// `curebench task` end to end on the real stories260K model (chance-level by construction: it knows children's
// stories, not diseases). What is checked is the plumbing: the run writes predictions that `curebench score`
// reads back to the same figures, and few-shot prompts only ever hold pool items.
namespace {
std::string scratch_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("curebench_cli_task." + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(d);
  return d.string();
}
const std::string kModel = std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf";
}  // namespace

TEST(CliTask, NerZeroShotPredictionsScoreBackToTheSameF1) {
  auto out = scratch_dir("ner");
  auto r = run_cli("task --dataset ncbi-disease --data " + data("study/ncbi_disease_test_head.tsv") + " --model " + kModel +
                       " --dtype f32 --max-new-tokens 16 --out " + out + " --json",
                   300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "ner");
  EXPECT_EQ(j["items"], 3);
  EXPECT_EQ(j["prompting"]["method"], "zero-shot");
  EXPECT_EQ(j["score"]["gold"], 8);  // the slice's entities
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/results.json")), j);
  auto s = run_cli("score --task ner --conll " + out + "/predictions.conll --json");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto back = nlohmann::json::parse(s.out);
  for (const char* key : {"gold", "predicted", "correct", "f1", "tokens"}) EXPECT_EQ(back[key], j["score"][key]) << key;
}

TEST(CliTask, RelationFewShotFromThePoolOnly) {
  auto out = scratch_dir("re");
  auto r = run_cli("task --dataset chemprot --data " + data("study/chemprot_sample200_head.tsv") + " --examples " +
                       data("study/chemprot_dev_head_crlf.tsv") + " --shots 2 --seed 3 --model " + kModel +
                       " --dtype f32 --max-new-tokens 8 --out " + out + " --json",
                   300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "re");
  EXPECT_EQ(j["prompting"]["k"], 2);
  EXPECT_EQ(j["prompting"]["pool_size"], 4);
  EXPECT_EQ(j["score"]["n"], 6);
  EXPECT_EQ(j["score"]["negative"], "false");
  auto s = run_cli("score --task re --jsonl " + out + "/predictions.jsonl --negative false --json");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto back = nlohmann::json::parse(s.out);
  for (const char* key : {"micro_f1", "macro_f1", "n", "per_label"}) EXPECT_EQ(back[key], j["score"][key]) << key;
}

TEST(CliTask, BadArgumentsAndFilesAreRefusedBeforeTheModelLoads) {
  auto out = scratch_dir("bad");
  auto r = run_cli("task --dataset gad --data " + data("study/gad_test_head.jsonl") + " --shots 2 --model " + kModel + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--examples"), std::string::npos) << r.err;
  auto bad = scratch_file("task_bad.tsv", "index\tsentence\tlabel\nx.T1.T2\ttext\tCPR:7\n");
  r = run_cli("task --dataset chemprot --data " + bad + " --model /nonexistent --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ": line 2: label"), std::string::npos) << r.err;  // the data is read first
  // Chain-of-thought is zero-shot; loglikelihood over the label set is for relation extraction and writes no reasoning.
  const std::string gad = "task --dataset gad --data " + data("study/gad_test_head.jsonl") + " --model /nonexistent --out " + out;
  r = run_cli(gad + " --chain-of-thought --shots 2 --examples " + data("study/gad_test_head.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--chain-of-thought"), std::string::npos) << r.err;
  r = run_cli(gad + " --chain-of-thought --mode loglikelihood");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--chain-of-thought"), std::string::npos) << r.err;
  r = run_cli("task --dataset ncbi-disease --data " + data("study/ncbi_disease_test_head.tsv") +
              " --mode loglikelihood --model /nonexistent --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--mode"), std::string::npos) << r.err;
}

// --mode loglikelihood: each pair's answer is the label of the set with the highest loglikelihood (checked against
// independent loglikelihoods in tests/runtime/test_generate.cpp); the files are those of generation.
TEST(CliTask, RelationByLoglikelihoodAnswersALabelOfTheSet) {
  auto out = scratch_dir("re-ll");
  auto r = run_cli("task --dataset gad --data " + data("study/gad_test_head.jsonl") + " --mode loglikelihood --model " +
                       kModel + " --dtype f32 --out " + out + " --json",
                   300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "loglikelihood");
  EXPECT_EQ(j["loglikelihood"]["prompts"], 4);
  EXPECT_EQ(j["score"]["parse_failures"], 0);
  auto s = run_cli("score --task re --jsonl " + out + "/predictions.jsonl --negative negative --json");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto back = nlohmann::json::parse(s.out);
  for (const char* key : {"micro_f1", "macro_f1", "n", "per_label"}) EXPECT_EQ(back[key], j["score"][key]) << key;
}

// `curebench convert --from hoc` and `curebench task --task multilabel` on the project's synthetic HoC-shaped set.
// `curebench convert --from litcovid` (BC7-LitCovid CSV) on the project's synthetic file, then --dataset litcovid
// (its 7 topics in the prompt); per-label intervals in the score.
TEST(CliTask, MultiLabelFromAConvertedLitCovidFile) {
  auto dir = scratch_dir("litcovid");
  std::filesystem::create_directories(dir);
  auto r = run_cli("convert --from litcovid --data " + data("study/multilabel_synthetic_litcovid.csv") + " --out " + dir +
                   "/test.jsonl --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = nlohmann::json::parse(r.out);
  EXPECT_EQ(c["documents"], 6);
  EXPECT_EQ(c["documents_with_a_label"], 5);
  EXPECT_EQ(c["labels"], 8);
  EXPECT_EQ(c["label_set"].size(), 7u);
  r = run_cli("task --dataset litcovid --data " + dir + "/test.jsonl --model " + kModel +
                  " --dtype f32 --max-new-tokens 4 --out " + dir + "/run --json",
              300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["items"], 6);
  EXPECT_EQ(j["score"]["per_label_ci"].size(), j["score"]["per_label"].size());
  // A label that is not a LitCovid topic: refused naming the file, line and field, nothing written.
  auto bad = scratch_file("litcovid_bad.csv", "pmid,title,abstract,label\n1,t,a,Vaccines\n");
  r = run_cli("convert --from litcovid --data " + bad + " --out " + dir + "/bad.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ": line 2: label"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.jsonl"));
}

TEST(CliTask, MultiLabelFromAConvertedHocFile) {
  auto dir = scratch_dir("multilabel");
  std::filesystem::create_directories(dir);
  auto r = run_cli("convert --from hoc --data " + data("study/multilabel_synthetic_hoc_test.tsv") + " --out " + dir +
                   "/test.jsonl --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = nlohmann::json::parse(r.out);
  EXPECT_EQ(c["documents"], 8);
  EXPECT_EQ(c["documents_with_a_label"], 7);
  EXPECT_EQ(c["labels"], 11);
  EXPECT_EQ(slurp(dir + "/test.jsonl"), slurp(data("study/multilabel_synthetic_test.jsonl")));
  // zero-shot, the label set from the data (the 10 hallmarks all occur in it)
  auto out = dir + "/run";
  r = run_cli("task --task multilabel --data " + dir + "/test.jsonl --model " + kModel +
                  " --dtype f32 --max-new-tokens 8 --out " + out + " --json",
              300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["task"], "multilabel");
  EXPECT_EQ(j["items"], 8);
  EXPECT_EQ(j["labels"].size(), 10u);
  EXPECT_EQ(j["score"]["bootstrap"]["unit"], "document");
  auto s = run_cli("score --task multilabel --jsonl " + out + "/predictions.jsonl --json");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto back = nlohmann::json::parse(s.out);
  for (const char* key : {"micro_f1", "macro_f1", "exact_match", "n", "per_label", "ci"})
    EXPECT_EQ(back[key], j["score"][key]) << key;
  // --dataset hoc: HoC's 10 hallmarks, 2-shot from the dev documents; --labels FILE: the user's set.
  r = run_cli("task --dataset hoc --data " + dir + "/test.jsonl --examples " + data("study/multilabel_synthetic_dev.jsonl") +
                  " --shots 2 --model " + kModel + " --dtype f32 --max-new-tokens 4 --out " + out + " --json",
              300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["prompting"]["pool_size"], 4);
  auto labels = scratch_file("ml_labels.txt", "resisting cell death\n\ninducing angiogenesis\n");
  r = run_cli("task --task multilabel --data " + dir + "/test.jsonl --labels " + labels + " --model " + kModel +
              " --out " + out);
  EXPECT_EQ(r.exit_code, 1);  // the data has labels the set does not list: refused before the model loads
  EXPECT_NE(r.err.find("not in the label set of " + labels), std::string::npos) << r.err;
  r = run_cli("task --dataset gad --task multilabel --data " + dir + "/test.jsonl --model " + kModel + " --out " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--task"), std::string::npos) << r.err;
  auto bad = scratch_file("hoc_bad.tsv", "pmid\ttext\tlabels\n1\tsome text\tcuring cancer\n");
  r = run_cli("convert --from hoc --data " + bad + " --out " + dir + "/bad.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ": line 2: labels"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/bad.jsonl"));
}
