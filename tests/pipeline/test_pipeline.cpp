// The evaluation entry point (`ctest -L eval`): the embedded default run config end to end on the CPU —
// real model, real tokenizer, shipped clinical questions — and a schema check of every artifact.
#include <gtest/gtest.h>

#include <zip.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

#include "curebench/eval/continuation_requests.hpp"
#include "curebench/eval/pipeline.hpp"

namespace cb = curebench;
namespace fs = std::filesystem;

namespace {
const std::string kConfig = std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/run.json";

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// One run shared by the schema tests (the run itself is what takes time).
const fs::path& default_run() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("curebench_eval_default." + std::to_string(::getpid()));
    fs::remove_all(d);
    cb::eval::Pipeline<>::run(cb::eval::load_run_config(kConfig), d);
    return d;
  }();
  return dir;
}
}  // namespace

static void check_results_json() {
  auto r = cb::read_json_file((default_run() / "results.json").string());
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_TRUE(r["notice"].get<std::string>().find("chance-level") != std::string::npos);
  for (auto key : {"id", "started_at", "finished_at", "config_hash", "mode", "protocol"}) EXPECT_TRUE(r["run"].contains(key)) << key;
  for (auto key : {"curebench_version", "git_commit", "libtorch", "host", "datasets", "seeds"}) EXPECT_TRUE(r["provenance"].contains(key)) << key;
  ASSERT_EQ(r["provenance"]["datasets"].size(), 2u);
  EXPECT_EQ(r["provenance"]["datasets"][0]["sha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(r["models"].size(), 2u);
  for (auto& m : r["models"]) {
    for (auto key : {"name", "architecture", "parameters", "quant", "load", "splits", "generalization_gap", "verification", "throughput", "memory"})
      EXPECT_TRUE(m.contains(key)) << key;
    EXPECT_EQ(m["parameters"], 260032);
    EXPECT_FALSE(m["load"]["attempts"].empty());
    // Labelled split: a number in [0, 1] with its Wilson interval.
    auto& val = m["splits"]["val"];
    EXPECT_EQ(val["n"], 30);
    EXPECT_EQ(val["n_labelled"], 30);
    ASSERT_TRUE(val["accuracy"].is_number());
    EXPECT_GE(val["accuracy"].get<double>(), 0.0);
    EXPECT_LE(val["accuracy"].get<double>(), 1.0);
    EXPECT_EQ(val["ci95"].size(), 2u);
    // Unlabelled split: "not measurable", never 0; and no generalization gap.
    auto& test = m["splits"]["test"];
    EXPECT_EQ(test["n"], 30);
    EXPECT_EQ(test["n_labelled"], 0);
    EXPECT_TRUE(test["accuracy"].is_null());
    EXPECT_TRUE(test["ci95"].is_null());
    EXPECT_TRUE(m["generalization_gap"].is_null());
    EXPECT_TRUE(m["verification"]["passed"].get<bool>());
  }
  EXPECT_EQ(r["models"][1]["load"]["strategy"], "QuantizeOnLoad<nf4-b64-dq>");
  // Throughput says what each mode did (issue 19: the loglikelihood model reported "0.9 tokens/s", its one-token
  // continuations per second). Loglikelihood: questions and scored tokens per second, no decode rate; every
  // question scores its whole prompt, so scored tokens/s exceeds questions/s many times over.
  auto& ll = r["models"][0]["throughput"];
  ASSERT_TRUE(ll["questions_per_second"].is_number()) << ll.dump();
  ASSERT_TRUE(ll["scored_tokens_per_second"].is_number()) << ll.dump();
  EXPECT_GT(ll["scored_tokens_per_second"].get<double>(), 20 * ll["questions_per_second"].get<double>()) << ll.dump();
  EXPECT_TRUE(ll["decode_tokens_per_second"].is_null()) << ll.dump();
  auto& gen = r["models"][1]["throughput"];
  EXPECT_TRUE(gen["decode_tokens_per_second"].is_number()) << gen.dump();
  EXPECT_TRUE(gen["questions_per_second"].is_number()) << gen.dump();
  EXPECT_TRUE(gen["scored_tokens_per_second"].is_null()) << gen.dump();
}

static void check_samples_log() {
  for (auto name : {"stories260K-loglik", "stories260K-nf4-generate"}) {
    auto samples = read_jsonl(default_run() / "models" / name / "samples.jsonl");
    ASSERT_EQ(samples.size(), 60u) << name;
    std::set<std::pair<std::string, std::string>> keys;
    for (auto& s : samples) {
      keys.insert({s["split"].get<std::string>(), s["id"].get<std::string>()});
      for (auto key : {"prompt_sha256", "output", "answer", "rule", "gold", "correct", "input_tokens", "output_tokens", "latency_ms", "stop_reason", "messages"})
        EXPECT_TRUE(s.contains(key)) << key;
      if (s["split"] == "test") EXPECT_TRUE(s["correct"].is_null());
    }
    EXPECT_EQ(keys.size(), 60u);
  }
  // stories260K has no chat template: the prompt is the messages blank-line separated with nothing after the last
  // one, so a loglikelihood continuation follows "Answer:" directly (issue 18, point 2: it scored "Answer:\n\n B").
  std::size_t checked = 0;
  for (auto& s : read_jsonl(default_run() / "models" / "stories260K-loglik" / "samples.jsonl")) {
    if (!s.contains("messages") || s["messages"].size() < 2 || s["rule"] != "loglikelihood") continue;
    std::string prompt;
    for (std::size_t i = 0; i + 1 < s["messages"].size(); ++i)
      prompt += (i ? "\n\n" : "") + s["messages"][i]["content"].get<std::string>();
    EXPECT_NE(prompt.substr(prompt.size() - 2), "\n\n");
    EXPECT_EQ(s["prompt_sha256"], cb::eval::sha256_hex(prompt)) << s["id"];
    ++checked;
  }
  EXPECT_GT(checked, 40u);
}

// Issue 18, point 9: a loglikelihood run writes no submission (no answer text, no two-step trace: it could not be an
// entry) and results.json says why; the generate model of the same run writes its package.
static void check_submission() {
  auto r = cb::read_json_file((default_run() / "results.json").string());
  EXPECT_FALSE(fs::exists(default_run() / "models" / "stories260K-loglik" / "submission.zip"));
  EXPECT_FALSE(fs::exists(default_run() / "models" / "stories260K-loglik" / "submission"));
  EXPECT_TRUE(r["models"][0]["submission"]["zip"].is_null());
  EXPECT_NE(r["models"][0]["submission"]["reason"].get<std::string>().find("loglikelihood"), std::string::npos);
  EXPECT_EQ(r["models"][1]["submission"]["zip"], "models/stories260K-nf4-generate/submission.zip");
  auto zip_path = default_run() / "models" / "stories260K-nf4-generate" / "submission.zip";
  int err = 0;
  zip_t* z = zip_open(zip_path.c_str(), ZIP_RDONLY, &err);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(zip_get_num_entries(z, 0), 2);
  EXPECT_GE(zip_name_locate(z, "submission.csv", 0), 0);
  EXPECT_GE(zip_name_locate(z, "meta_data.json", 0), 0);
  zip_close(z);
  std::ifstream csv(default_run() / "models" / "stories260K-nf4-generate" / "submission" / "submission.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "\"id\",\"prediction\",\"choice\",\"reasoning\"");
}

static void check_dashboards() {
#if defined(CUREBENCH_WITH_REPORTS)
  for (auto f : {"dashboard.png", "dashboard.svg", "report.md"}) EXPECT_GT(fs::file_size(default_run() / "report" / f), 0u) << f;
#endif
}

static void check_resume() {
  auto before = read_jsonl(default_run() / "models" / "stories260K-loglik" / "samples.jsonl");
  // Simulate an interrupted run: drop the last 10 samples (and leave a torn line), then run again.
  auto log = default_run() / "models" / "stories260K-loglik" / "samples.jsonl";
  {
    std::ofstream out(log, std::ios::trunc);
    for (std::size_t i = 0; i + 10 < before.size(); ++i) out << before[i].dump() << "\n";
    out << "{\"id\": \"torn";
  }
  cb::eval::Pipeline<>::run(cb::eval::load_run_config(kConfig), default_run());
  auto after = read_jsonl(log);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i]["id"], before[i]["id"]);
    EXPECT_EQ(after[i]["answer"], before[i]["answer"]) << "greedy reruns give identical predictions";
  }
}

// One process, one run (each TEST is its own process under ctest): every artifact is checked on it.
TEST(EvalDefault, EmbeddedDefaultEndToEnd) {
  check_results_json();
  check_samples_log();
  check_submission();
  check_dashboards();
  check_resume();  // last: it rewrites the samples log
}

TEST(EvalConfig, ARunFolderOfAnotherConfigIsRefused) {
  auto dir = fs::temp_directory_path() / ("curebench_eval_other." + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto cfg = cb::eval::load_run_config(kConfig);
  // Another config's hash; then an edited or corrupt run_config.json (found by tests/fuzz/cli_adversarial/runs.py:
  // a hash that is not a string escaped as nlohmann::type_error, error[internal] from the CLI).
  for (std::string text : {R"({"hash": "0000"})", R"({"hash": 5})", R"({"hash": null})", R"({"hash": {}})", R"({})", R"([1])"}) {
    std::ofstream(dir / "run_config.json") << text;
    try {
      cb::eval::Pipeline<>::run(cfg, dir);
      ADD_FAILURE() << text;
    } catch (const cb::Error& e) {
      EXPECT_EQ(e.code(), cb::Errc::config) << text;
      EXPECT_EQ(e.field(), "hash") << text;
    }
  }
  fs::remove_all(dir);
}

TEST(EvalConfig, BadConfigsNameTheField) {
  auto bad = [](const std::string& text) {
    try {
      cb::eval::run_config_from_json(nlohmann::json::parse(text), "/x/run.json");
    } catch (const cb::Error& e) {
      return e.field();
    }
    return std::string("<accepted>");
  };
  EXPECT_EQ(bad(R"({"models": [], "splits": {"val": "v.jsonl"}})"), "models");
  EXPECT_EQ(bad(R"({"models": [{"path": "m", "mode": "sing"}], "splits": {"val": "v.jsonl"}})"), "models[0].mode");
  EXPECT_EQ(bad(R"({"models": [{"path": "m"}], "splits": {}})"), "splits");
  EXPECT_EQ(bad(R"({"models": [{"name": "a/b", "path": "m"}], "splits": {"val": "v.jsonl"}})"), "models[0].name");
  EXPECT_EQ(bad(R"({"models": [{"path": "m"}], "splits": {"val": "v.jsonl"}, "policy": "regex"})"), "policy");
  // --protocol lm-eval: loglikelihood only; few-shot needs a pool; few-shot only under lm-eval.
  EXPECT_EQ(bad(R"({"models": [{"path": "m"}], "splits": {"val": "v.jsonl"}, "protocol": "lm-eval"})"), "models[0].mode");
  EXPECT_EQ(bad(R"({"models": [{"path": "m", "mode": "loglikelihood"}], "splits": {"val": "v.jsonl"}, "protocol": "lm-eval", "num_fewshot": 2})"), "fewshot");
  EXPECT_EQ(bad(R"({"models": [{"path": "m", "mode": "loglikelihood"}], "splits": {"val": "v.jsonl"}, "num_fewshot": 2, "fewshot": "p.jsonl"})"), "num_fewshot");
  EXPECT_EQ(bad(R"({"models": [{"path": "m"}], "splits": {"val": "v.jsonl"}, "protocol": "lmeval"})"), "protocol");
}

// lm-eval's tokenization of a request (HFLM._encode_pair): trailing whitespace of the context moves to the
// continuation; the context is its own tokens, the continuation the whole's tokens after as many. Where BPE merges
// across the boundary the shared-prefix split (the other protocols) gives other tokens; both are checked on such a
// split of a stories260K sentence.
TEST(EvalProtocol, LmEvalSplitsTokensAsLmEvalsEncodePair) {
  auto tok = cb::tokenizer::load_tokenizer(std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf");
  auto enc = [&](const std::string& t) {
    auto ids = tok.encode(t, false);
    return std::vector<std::int64_t>(ids.begin(), ids.end());
  };
  // The space at the end of "Answer: " is moved: the same requests as "Answer:" + " yes".
  auto moved = cb::eval::continuation_requests(tok, "Question: Is it?\nAnswer: ", {"yes", "no"}, false, 512, true);
  auto plain = cb::eval::continuation_requests(tok, "Question: Is it?\nAnswer:", {" yes", " no"}, false, 512, true);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(moved.requests[i].context, plain.requests[i].context);
    EXPECT_EQ(moved.requests[i].continuation, plain.requests[i].continuation);
  }
  const std::string sentence = "Once upon a time there was a little girl named Lily";
  std::size_t cut = 0;
  for (std::size_t i = 1; i + 1 < sentence.size() && !cut; ++i) {
    const auto ctx = enc(sentence.substr(0, i)), all = enc(sentence);
    if (sentence[i] != ' ' && sentence[i - 1] != ' ' && !std::equal(ctx.begin(), ctx.end(), all.begin())) cut = i;
  }
  ASSERT_GT(cut, 0u) << "no split where the context's tokens are not a prefix of the whole's";
  const auto context = sentence.substr(0, cut), continuation = sentence.substr(cut);
  const auto ctx = enc(context), all = enc(sentence);
  const auto lm = cb::eval::continuation_requests(tok, context, {continuation}, false, 512, true).requests[0];
  EXPECT_EQ(lm.context, ctx);
  EXPECT_EQ(lm.continuation, std::vector<std::int64_t>(all.begin() + static_cast<std::ptrdiff_t>(ctx.size()), all.end()));
  const auto shared = cb::eval::continuation_requests(tok, context, {continuation}, false, 512).requests[0];
  EXPECT_NE(shared.context, lm.context);  // the shared-prefix split keeps fewer context tokens here
  std::vector<std::int64_t> joined(shared.context);
  joined.insert(joined.end(), shared.continuation.begin(), shared.continuation.end());
  EXPECT_EQ(joined, all);
}

// lm-eval's window (issue 18): the model reads (context + continuation)[-(max_length + 1):][:-1], so a long context
// keeps only its last max_length + 1 - |continuation| tokens; curebench's own split keeps its first token and as
// many from the end. runtime::score feeds context + continuation minus its last token, so such a request of
// max_length + 1 tokens scores, and its score equals the one of the same tokens with room to spare.
TEST(EvalProtocol, LmEvalTruncatesToItsWindowAndTheModelReadsOneTokenLess) {
  auto tok = cb::tokenizer::load_tokenizer(std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf");
  const std::string context = "Once upon a time there was a little girl named Lily. She liked to play outside in the sun.";
  const std::vector<std::string> conts{" She", " The dog"};
  const auto full = cb::eval::continuation_requests(tok, context, conts, true, 512, true);
  const auto ctx = full.requests[0].context;
  ASSERT_GT(ctx.size(), 12u);
  EXPECT_FALSE(full.truncated);
  const std::int64_t max_length = 10;
  const auto lm = cb::eval::continuation_requests(tok, context, conts, true, max_length, true);
  const auto own = cb::eval::continuation_requests(tok, context, conts, true, max_length);
  const auto own_full = cb::eval::continuation_requests(tok, context, conts, true, 512);
  EXPECT_TRUE(lm.truncated);
  EXPECT_TRUE(own.truncated);
  for (std::size_t c = 0; c < conts.size(); ++c) {
    const auto& r = lm.requests[c];
    const auto keep = static_cast<std::ptrdiff_t>(max_length + 1 - static_cast<std::int64_t>(full.requests[c].continuation.size()));
    EXPECT_EQ(r.continuation, full.requests[c].continuation);
    EXPECT_EQ(r.context, std::vector<std::int64_t>(full.requests[c].context.end() - keep, full.requests[c].context.end()));
    EXPECT_EQ(static_cast<std::int64_t>(r.context.size() + r.continuation.size()), max_length + 1);
    const auto& o = own.requests[c];  // first token (BOS) + the end, as many in all
    const auto& of = own_full.requests[c];
    const auto own_keep = static_cast<std::ptrdiff_t>(max_length + 1 - static_cast<std::int64_t>(of.continuation.size()));
    std::vector<std::int64_t> want{of.context.front()};
    want.insert(want.end(), of.context.end() - (own_keep - 1), of.context.end());
    EXPECT_EQ(o.context, want);
    EXPECT_EQ(o.continuation, of.continuation);
  }
  // The model reads max_length tokens for the max_length + 1 of the window (the last continuation token is only
  // scored): the same sums as a forward over all max_length + 1 tokens, and the same alone as beside the other.
  auto m = cb::model::load_hf_model(std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf");
  const auto windowed = cb::runtime::score(m.decoder, lm.requests);
  const auto alone = cb::runtime::score(m.decoder, {lm.requests[1]}, 1);
  EXPECT_EQ(windowed[1].sum_logprob, alone[0].sum_logprob);
  for (std::size_t c = 0; c < conts.size(); ++c) {
    const auto& r = lm.requests[c];
    std::vector<std::int64_t> all(r.context);
    all.insert(all.end(), r.continuation.begin(), r.continuation.end());
    auto ids = at::tensor(all, at::kLong).view({1, -1});
    auto cache = m.decoder.make_cache(1, ids.size(1));
    auto lp = at::log_softmax(m.decoder.forward(ids, at::ones_like(ids, at::kBool), cache, 0)[0], -1);
    double expect = 0;
    for (std::size_t j = 0; j < r.continuation.size(); ++j)
      expect += lp[static_cast<std::int64_t>(r.context.size() + j) - 1][r.continuation[j]].item<double>();
    EXPECT_NEAR(windowed[c].sum_logprob, expect, 1e-4) << c;
  }
  // BOS: lm-eval adds it for the Gemma family only (add_bos_token turned on by model_type).
  EXPECT_TRUE(cb::eval::lm_eval::adds_bos("gemma2"));
  EXPECT_TRUE(cb::eval::lm_eval::adds_bos("gemma"));
  EXPECT_FALSE(cb::eval::lm_eval::adds_bos("llama"));
  EXPECT_FALSE(cb::eval::lm_eval::adds_bos("qwen3"));
}

// --protocol lm-eval end to end (issue 18): stories260K on the HEAD-QA records of the lm-eval fixture, 3-shot from
// their pool. The pipeline's rendered context is the one lm-eval builds (tests/data/eval/lm_eval_requests.jsonl), the
// picks are argmax(logprobs) and argmax(logprobs / len(choice)) of the logged logprobs, results.json carries acc and
// acc_norm with lm-eval's stderr, and the logprobs are bit-identical with 1 and 3 questions per batch (runtime::score).
TEST(EvalProtocol, LmEvalEndToEndMatchesTheFixtureAndIsBatchInvariant) {
  const std::string data = std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/eval/";
  std::map<std::string, nlohmann::json> expected;  // id -> 3-shot request
  for (auto& j : read_jsonl(data + "lm_eval_requests.jsonl"))
    if (j["kind"] == "request" && j["task"] == "headqa_en" && j["num_fewshot"] == 3) expected[j["id"]] = j;
  ASSERT_EQ(expected.size(), 3u);
  std::vector<std::vector<nlohmann::json>> runs;
  for (int batch : {1, 3}) {
    const auto dir = fs::temp_directory_path() / ("curebench_eval_lmeval" + std::to_string(batch) + "." + std::to_string(::getpid()));
    fs::remove_all(dir);
    nlohmann::json j = {{"protocol", "lm-eval"}, {"batch_size", batch}, {"num_fewshot", 3},
                        {"fewshot", data + "lm_eval/headqa_en.pool.jsonl"}, {"draw_dashboard", false},
                        {"models", {{{"name", "s"}, {"path", std::string(CUREBENCH_SOURCE_DIR) + "/tests/data/models/stories260K/hf"},
                                     {"mode", "loglikelihood"}, {"quant", "none"}, {"dtype", "f32"}}}},
                        {"splits", {{"test", data + "lm_eval/headqa_en.test.jsonl"}}}};
    cb::eval::Pipeline<cb::loader::DefaultChain, cb::eval::extract::CurebenchDefault, cb::eval::LmEvalProtocol>::run(
        cb::eval::run_config_from_json(j, (dir / "run.json").string()), dir);
    auto samples = read_jsonl(dir / "models" / "s" / "samples.jsonl");
    ASSERT_EQ(samples.size(), 3u);
    std::size_t acc = 0, acc_norm = 0;
    for (auto& s : samples) {
      const auto& e = expected.at(s["id"].get<std::string>());
      EXPECT_EQ(s["messages"][0]["content"], e["context"]) << s["id"];
      EXPECT_EQ(s["prompt_sha256"], cb::eval::sha256_hex(e["context"].get<std::string>()));
      const auto lp = s["logprobs"].get<std::vector<double>>();
      ASSERT_EQ(lp.size(), 4u);
      std::size_t best = 0, best_norm = 0;
      const auto len = e["lengths"].get<std::vector<double>>();
      for (std::size_t i = 1; i < 4; ++i) {
        if (lp[i] > lp[best]) best = i;
        if (lp[i] / len[i] > lp[best_norm] / len[best_norm]) best_norm = i;
      }
      EXPECT_EQ(s["answer"], std::string(1, static_cast<char>('A' + best)));
      EXPECT_EQ(s["answer_norm"], std::string(1, static_cast<char>('A' + best_norm)));
      acc += s["correct"].get<bool>();
      acc_norm += s["correct_norm"].get<bool>();
    }
    auto r = cb::read_json_file((dir / "results.json").string());
    EXPECT_EQ(r["run"]["protocol"], "lm-eval");
    const auto& m = r["models"][0]["splits"]["test"]["lm_eval"];
    EXPECT_EQ(m["n"], 3);
    EXPECT_DOUBLE_EQ(m["acc"]["value"].get<double>(), acc / 3.0);
    EXPECT_DOUBLE_EQ(m["acc_norm"]["value"].get<double>(), acc_norm / 3.0);
    const double p = acc / 3.0;
    EXPECT_DOUBLE_EQ(m["acc"]["stderr"].get<double>(), std::sqrt(p * (1 - p) / 2));
    EXPECT_EQ(r["models"][0]["context"]["chat_template"], "none (lm-eval)");
    runs.push_back(std::move(samples));
    fs::remove_all(dir);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(runs[0][i]["logprobs"], runs[1][i]["logprobs"]) << "batch 1 vs 3, " << runs[0][i]["id"];
    EXPECT_EQ(runs[0][i]["answer"], runs[1][i]["answer"]);
  }
}

// Qwen3's enable_thinking in a run (issue 18, point 3): stories260K's weights in a folder whose tokenizer_config.json
// carries Qwen3's chat template (tests/data/tokenizer/chat_templates.json "qwen3"), so the prompt rendered is the one
// checked. Expected prompts by hand from that template: '<|im_start|>system\n' S '<|im_end|>\n<|im_start|>user\n' U
// '<|im_end|>\n<|im_start|>assistant\n', then '<think>\n\n</think>\n\n' only when enable_thinking is false (what the
// kit's apply_chat_template(..., enable_thinking=False) renders; tests/tokenizer checks the same strings against
// transformers). The official protocol turns thinking off; the run config can say otherwise.
TEST(EvalProtocol, OfficialRendersQwen3WithThinkingOff) {
  const auto dir = fs::temp_directory_path() / ("curebench_eval_qwen3." + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto model = dir / "qwen3-templated";
  fs::create_directories(model);
  const fs::path stories = std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf";
  for (auto f : {"config.json", "generation_config.json", "model.safetensors"}) fs::copy_file(stories / f, model / f);
  auto templates = cb::read_json_file(std::string(CUREBENCH_TEST_DATA) + "/tokenizer/chat_templates.json");
  std::ofstream(model / "tokenizer_config.json")
      << nlohmann::json{{"chat_template", templates["qwen3"]["chat_template"]}, {"eos_token", "<|im_end|>"}}.dump();
  auto config = [&](const std::string& protocol, std::optional<bool> thinking) {
    nlohmann::json j = {{"protocol", protocol}, {"max_new_tokens", 2}, {"batch_size", 4}, {"draw_dashboard", false},
                        {"models", {{{"name", "q3"}, {"path", model.string()}, {"tokenizer", stories.string()}, {"quant", "none"},
                                     {"device", "cpu"}, {"dtype", "f32"}}}},
                        {"splits", {{"val", {{"path", std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/val.jsonl"}, {"limit", 3}}}}}};
    if (thinking) j["enable_thinking"] = *thinking;
    return cb::eval::run_config_from_json(j, (dir / "run.json").string());
  };
  auto check = [&](const fs::path& out, bool thinking_off, const nlohmann::json& recorded) {
    auto r = cb::read_json_file((out / "results.json").string());
    EXPECT_EQ(r["models"][0]["context"]["chat_template"], "qwen3");
    EXPECT_EQ(r["models"][0]["context"]["enable_thinking"], recorded);
    auto samples = read_jsonl(out / "models" / "q3" / "samples.jsonl");
    ASSERT_EQ(samples.size(), 3u);
    for (auto& s : samples) {
      const auto& m = s["messages"];
      const std::string prompt = "<|im_start|>system\n" + m[0]["content"].get<std::string>() + "<|im_end|>\n<|im_start|>user\n" +
                                 m[1]["content"].get<std::string>() + "<|im_end|>\n<|im_start|>assistant\n" +
                                 (thinking_off ? "<think>\n\n</think>\n\n" : "");
      EXPECT_EQ(s["prompt_sha256"], cb::eval::sha256_hex(prompt)) << s["id"];
    }
  };
  using Official = cb::eval::Pipeline<cb::loader::DefaultChain, cb::eval::extract::CurebenchDefault, cb::eval::OfficialKitProtocol>;
  Official::run(config("official", std::nullopt), dir / "official");
  check(dir / "official", true, false);
  Official::run(config("official", true), dir / "official_thinking");
  check(dir / "official_thinking", false, true);
  cb::eval::Pipeline<>::run(config("curebench", std::nullopt), dir / "curebench");
  check(dir / "curebench", false, nullptr);
  fs::remove_all(dir);
}

// The kit generates up to 1024 new tokens (eval_framework.py, inference(max_tokens=1024)): --protocol official's
// default; a config that says max_new_tokens keeps it; enable_thinking only enters the config hash when set.
TEST(EvalConfig, OfficialDefaultsToTheKitsMaxNewTokens) {
  auto cfg = [](const std::string& extra) {
    return cb::eval::run_config_from_json(
        nlohmann::json::parse(R"({"models": [{"path": "m"}], "splits": {"val": "v.jsonl"})" + extra + "}"), "/x/run.json");
  };
  EXPECT_EQ(cfg("").max_new_tokens, 256);
  EXPECT_EQ(cfg(R"(, "protocol": "official")").max_new_tokens, 1024);
  EXPECT_EQ(cfg(R"(, "protocol": "official", "max_new_tokens": 64)").max_new_tokens, 64);
  EXPECT_EQ(cfg("").enable_thinking, std::nullopt);
  EXPECT_EQ(cfg(R"(, "enable_thinking": false)").enable_thinking, std::optional<bool>(false));
  EXPECT_FALSE(cb::eval::to_json_value(cfg("")).contains("enable_thinking"));
  EXPECT_NE(cfg(R"(, "enable_thinking": false)").hash, cfg("").hash);
}

// A model quantized on load changed meaning in the ninth session (16-bit classifier unless asked; nf4 without double
// quant): its config hash changed with it, so a run folder started before refuses to resume rather than mixing the
// samples of two models; full-precision and as-stored models keep their hash.
TEST(EvalConfig, QuantizedOnLoadModelsChangedHashWithTheirMeaning) {
  auto cfg = [](const std::string& quant) {
    return cb::eval::run_config_from_json(
        nlohmann::json::parse(R"({"models": [{"path": "m", "quant": ")" + quant + R"("}], "splits": {"val": "v.jsonl"}})"),
        "/x/run.json");
  };
  for (std::string q : {"auto", "nf4", "nf4-dq", "int8", "fp4", "int4-g128"})
    EXPECT_EQ(cb::eval::to_json_value(cfg(q))["models"][0].value("load_semantics", 0), 2) << q;
  for (std::string q : {"none", "prequantized"}) EXPECT_FALSE(cb::eval::to_json_value(cfg(q))["models"][0].contains("load_semantics")) << q;
  // What an nf4 model's config hashed to before (the same JSON without the mark) is not its hash now.
  auto before = cb::eval::to_json_value(cfg("nf4"));
  before["models"][0].erase("load_semantics");
  EXPECT_NE(cb::eval::sha256_hex(before.dump()), cfg("nf4").hash);
}

// meta_data.json from the run config (issue 18, point 7): the kit's "metadata" section for every model, a model's own
// "metadata" over it; what is not given keeps curebench's default (model_name = the model's name, base_model_name =
// the architecture). Unknown keys and values the kit's validator refuses are refused when the config is read.
TEST(EvalConfig, SubmissionMetadataFromTheRunConfig) {
  const auto dir = fs::temp_directory_path() / ("curebench_eval_meta." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  nlohmann::json j = {{"max_new_tokens", 1}, {"draw_dashboard", false},
                      {"metadata", {{"track", "agentic_reasoning"}, {"dataset", "cure_bench_phase_2"}, {"model_name", "run-wide"}}},
                      {"models", {{{"name", "m1"}, {"path", std::string(CUREBENCH_TEST_DATA) + "/models/stories260K/hf"},
                                   {"quant", "none"}, {"dtype", "f32"},
                                   {"metadata", {{"model_name", "stories-260K-kit"}, {"base_model_type", "API"},
                                                 {"base_model_name", "karpathy/tinyllamas"}, {"model_type", "CustomModel"},
                                                 {"additional_info", "row for row with the kit"}}}}}},
                      {"splits", {{"test", {{"path", std::string(CUREBENCH_SOURCE_DIR) + "/datasets/default/test.jsonl"}, {"limit", 1}}}}}};
  auto cfg = cb::eval::run_config_from_json(j, (dir / "run.json").string());
  cb::eval::Pipeline<>::run(cfg, dir / "run");
  auto meta = cb::read_json_file((dir / "run" / "models" / "m1" / "submission" / "meta_data.json").string());
  EXPECT_EQ(meta["model_name"], "stories-260K-kit");
  EXPECT_EQ(meta["model_type"], "CustomModel");
  EXPECT_EQ(meta["track"], "agentic_reasoning");
  EXPECT_EQ(meta["base_model_type"], "API");
  EXPECT_EQ(meta["base_model_name"], "karpathy/tinyllamas");
  EXPECT_EQ(meta["dataset"], "cure_bench_phase_2");
  EXPECT_EQ(meta["additional_info"], "row for row with the kit");
  // Not in the config hash: naming the submission differently resumes the same run folder.
  j["metadata"]["model_name"] = "renamed";
  EXPECT_EQ(cb::eval::run_config_from_json(j, (dir / "run.json").string()).hash, cfg.hash);
  auto bad = [&](nlohmann::json edit) {
    try {
      cb::eval::run_config_from_json(edit, "/x/run.json");
    } catch (const cb::Error& e) {
      return e.field();
    }
    return std::string("<accepted>");
  };
  auto with = [&](const char* key, nlohmann::json v) { auto k = j; k["metadata"][key] = v; return k; };
  EXPECT_EQ(bad(with("track", "internal")), "metadata.track");
  EXPECT_EQ(bad(with("base_model_type", "Local")), "metadata.base_model_type");
  EXPECT_EQ(bad(with("model_nmae", "x")), "metadata.model_nmae");
  EXPECT_EQ(bad(with("dataset", 3)), "metadata.dataset");
  auto k = j;
  k["models"][0]["metadata"]["track"] = "x";
  EXPECT_EQ(bad(k), "models[0].metadata.track");
  fs::remove_all(dir);
}
