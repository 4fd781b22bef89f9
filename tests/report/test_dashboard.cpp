// Dashboards drawn from a run folder: the reader's tolerance and refusals, the numbers the figures derive,
// and the files as a user gets them (PNG size from the IHDR chunk, SVG structure, what the text says).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "curebench/report/dashboard.hpp"
#include "curebench/report/study_figures.hpp"
#include "curebench/tokenizer/utf8.hpp"

namespace fs = std::filesystem;
using namespace curebench;
using namespace curebench::report;

namespace {

const fs::path kFixture = fs::path(CUREBENCH_TEST_DATA) / "report" / "fixture_run";

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("curebench_dashboard_test." + std::to_string(::getpid()) + "." + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Scratch folders of this process go away when the tests end.
struct RemoveScratch : ::testing::Environment {
  void TearDown() override {
    auto prefix = "curebench_dashboard_test." + std::to_string(::getpid()) + ".";
    std::error_code ec;
    for (auto& e : fs::directory_iterator(fs::temp_directory_path(), ec))
      if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path(), ec);
  }
};
const auto* const kRemoveScratch = ::testing::AddGlobalTestEnvironment(new RemoveScratch);

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

struct PngSize {
  std::uint32_t width = 0, height = 0;
};

// PNG: 8-byte signature, then the IHDR chunk whose data starts with big-endian width and height.
PngSize png_size(const fs::path& p) {
  auto b = slurp(p);
  const std::string sig("\x89PNG\r\n\x1a\n", 8);
  if (b.size() < 24 || b.compare(0, 8, sig) != 0 || b.compare(12, 4, "IHDR") != 0) return {};
  auto be32 = [&](std::size_t o) {
    return (std::uint32_t(std::uint8_t(b[o])) << 24) | (std::uint32_t(std::uint8_t(b[o + 1])) << 16) |
           (std::uint32_t(std::uint8_t(b[o + 2])) << 8) | std::uint32_t(std::uint8_t(b[o + 3]));
  };
  return {be32(16), be32(20)};
}

Errc error_code_of(const std::function<void()>& f, std::string* what = nullptr, std::string* path = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (what) *what = e.what();
    if (path) *path = e.path();
    return e.code();
  }
  ADD_FAILURE() << "expected a curebench::Error";
  return Errc::internal;
}

}  // namespace

// ---- reading the run folder ------------------------------------------------------------------------------

TEST(DashboardRunData, ReadsTheFixtureWithItsThreeCases) {
  auto run = read_run_data(kFixture);
  ASSERT_EQ(run.models.size(), 3u);
  EXPECT_EQ(run.run_id, "fixture-run");
  auto& llama = run.models[0];
  auto& gemma = run.models[1];
  auto& mistral = run.models[2];
  // Splits come validation first whatever the key order in the file.
  ASSERT_EQ(llama.splits.size(), 2u);
  EXPECT_EQ(llama.splits[0].name, "val");
  EXPECT_TRUE(llama.split(SplitRole::test)->measurable());
  // Unlabelled test split: no accuracy, and so no gap, and the reason says why.
  ASSERT_NE(gemma.split(SplitRole::test), nullptr);
  EXPECT_FALSE(gemma.split(SplitRole::test)->measurable());
  auto g = generalization_gap(gemma);
  EXPECT_FALSE(g.value.has_value());
  EXPECT_EQ(g.undefined_reason, "undefined: test split unlabelled");
  // Failover: the first strategy failed with a code, the second succeeded.
  ASSERT_EQ(mistral.attempts.size(), 2u);
  EXPECT_EQ(mistral.attempts[0].outcome, "failed");
  EXPECT_EQ(mistral.attempts[0].error_code, "out_of_memory");
  EXPECT_EQ(mistral.attempts[1].outcome, "ok");
  EXPECT_EQ(mistral.load_strategy, "FullPrecision");
  EXPECT_EQ(mistral.samples.size(), 36u);
  EXPECT_TRUE(mistral.samples_found);
}

TEST(DashboardRunData, GapIsValMinusTestWithAnIntervalAroundIt) {
  auto run = read_run_data(kFixture);
  auto g = generalization_gap(run.models[0]);
  ASSERT_TRUE(g.value && g.ci95);
  auto& v = *run.models[0].split(SplitRole::validation);
  auto& t = *run.models[0].split(SplitRole::test);
  EXPECT_NEAR(*g.value, *v.accuracy - *t.accuracy, 1e-4);
  EXPECT_LT(g.ci95->lo, *g.value);
  EXPECT_GT(g.ci95->hi, *g.value);
  // Newcombe's interval is wider than either Wilson interval alone: 20 + 16 items cannot show a gap.
  EXPECT_GT(g.ci95->hi - g.ci95->lo, v.ci95->hi - v.ci95->lo);
  EXPECT_LT(g.ci95->lo, 0.0);
}

TEST(DashboardRunData, AZeroAccuracyOnAnUnlabelledSplitIsNotBelieved) {
  auto dir = scratch("zero");
  write(dir / "results.json", R"({"models":[{"name":"m","splits":{
      "val":{"n":10,"n_labelled":10,"accuracy":0.5,"ci95":[0.2,0.8]},
      "test":{"n":10,"n_labelled":0,"accuracy":0.0}},"generalization_gap":0.5}]})");
  auto run = read_run_data(dir);
  EXPECT_FALSE(run.models[0].split(SplitRole::test)->measurable());
  EXPECT_FALSE(generalization_gap(run.models[0]).value.has_value());  // the file's 0.5 is ignored
}

TEST(DashboardRunData, MalformedResultsJsonIsATypedErrorNamingTheFile) {
  auto dir = scratch("malformed");
  write(dir / "results.json", "{\"models\": [ {\"name\": \"x\", ");
  std::string what, path;
  EXPECT_EQ(error_code_of([&] { read_run_data(dir); }, &what, &path), Errc::format);
  EXPECT_EQ(path, (dir / "results.json").string());
  EXPECT_NE(what.find("results.json"), std::string::npos);
}

TEST(DashboardRunData, AFieldOfTheWrongTypeIsNamed) {
  auto dir = scratch("wrongtype");
  write(dir / "results.json", R"({"models":[{"name":"m","splits":{"val":{"accuracy":"high"}}}]})");
  std::string what;
  EXPECT_EQ(error_code_of([&] { read_run_data(dir); }, &what), Errc::format);
  EXPECT_NE(what.find("models[0].splits.val.accuracy"), std::string::npos) << what;
  EXPECT_NE(what.find("expected a number"), std::string::npos) << what;
}

TEST(DashboardRunData, MissingFolderOrResultsIsNotFound) {
  auto dir = scratch("empty");
  EXPECT_EQ(error_code_of([&] { read_run_data(dir); }), Errc::not_found);
  EXPECT_EQ(error_code_of([&] { read_run_data(dir / "nope"); }), Errc::not_found);
}

TEST(DashboardRunData, ABadSamplesLineNamesFileAndLine) {
  auto dir = scratch("samples");
  write(dir / "results.json", R"({"models":[{"name":"m"}]})");
  write(dir / "models" / "m" / "samples.jsonl", "{\"output_chars\": 3}\n\n{\"output_chars\": \n");
  std::string what, path;
  EXPECT_EQ(error_code_of([&] { read_run_data(dir); }, &what, &path), Errc::format);
  EXPECT_EQ(path, (dir / "models" / "m" / "samples.jsonl").string());
  EXPECT_NE(what.find("line 3"), std::string::npos) << what;
}

// Issue 19, point 8: `report` read samples.jsonl with getline and no limit (a 1.5 GB line cost 1.7 GB of memory).
// It now reads through the samples log's bounded reader; a torn last line is left out as a resume leaves it.
TEST(DashboardRunData, ASamplesLineBeyondTheLimitIsRefusedAndATornTailIsLeftOut) {
  auto dir = scratch("longline");
  write(dir / "results.json", R"({"models":[{"name":"m"}]})");
  std::string big = "{\"output_chars\": 3, \"pad\": \"" + std::string(eval::kMaxSampleLineBytes, 'x') + "\"}\n";
  write(dir / "models" / "m" / "samples.jsonl", "{\"output_chars\": 3}\n" + big);
  big.clear();
  big.shrink_to_fit();
  std::string what, path;
  EXPECT_EQ(error_code_of([&] { read_run_data(dir); }, &what, &path), Errc::format);
  EXPECT_EQ(path, (dir / "models" / "m" / "samples.jsonl").string());
  EXPECT_NE(what.find("line 2"), std::string::npos) << what;
  EXPECT_NE(what.find("longer than"), std::string::npos) << what;
  write(dir / "models" / "m" / "samples.jsonl", "{\"output_chars\": 3}\n{\"output_chars\": 4}\n{\"output_ch");
  auto run = read_run_data(dir);
  ASSERT_EQ(run.models.size(), 1u);
  EXPECT_EQ(run.models[0].samples.size(), 2u);
}

// Found by fuzz_run_data: a model name longer than a file name may be made std::filesystem::exists throw
// (ENAMETOOLONG), an exception no caller expected. Such a name has no samples folder; it is still drawn.
TEST(DashboardRunData, AModelNameLongerThanAFileNameIsReadNotThrown) {
  auto dir = scratch("longname");
  const std::string name(300, 'm');
  write(dir / "results.json", R"({"models":[{"name":")" + name + R"("}]})");
  fs::create_directories(dir / "models");  // with models/ there, the long component is ENAMETOOLONG, not ENOENT
  auto run = read_run_data(dir);
  ASSERT_EQ(run.models.size(), 1u);
  EXPECT_EQ(run.models[0].name, name);
  EXPECT_FALSE(run.models[0].samples_found);
}

// ---- gnuplot text, no gnuplot needed -----------------------------------------------------------------------

TEST(DashboardScript, StringsAreEscapedForGnuplot) {
  // Single-quoted pieces: nothing inside is expanded; a quote doubles; a newline is a "\n" concatenated between.
  EXPECT_EQ(gp::str("a\"b\\c\nd'e`x`$(y)@z"), "'a\"b\\c'.\"\\n\".'d''e`x`$(y)@z'");
  EXPECT_EQ(gp::str("tab\there\x1b"), "'tab here '");
  EXPECT_EQ(gp::num(65.0), "65");
  EXPECT_EQ(gp::num(0.126, 2), "0.13");
  EXPECT_EQ(gp::num(-0.0001, 2), "0");
  EXPECT_EQ(gp::wrap_name("llama-3-8b-nf4", 10), "llama-3-\n8b-nf4");
  EXPECT_EQ(gp::wrap_name("short", 10), "short");
}

// `curebench study`'s figures: every text from the config reaches gnuplot through gp::str (the CLI also restricts
// the names; this proves the script would stay inert if it did not), numbers through datablocks.
TEST(DashboardScript, StudyFigureQuotesConfigText) {
  const std::string model = "m'x`touch /tmp/pwn`", method = "@macro\nnl", precision = "nf4'";
  nlohmann::json cell = {{"task", "t1"}, {"model", model}, {"method", method}, {"precision", precision},
                         {"peak_memory_bytes", 3.0 * 1024 * 1024},
                         {"score", {{"f1", 0.25}, {"ci", {{"f1", {{"lo", 0.125}, {"hi", 0.5}}}}}}}};
  nlohmann::json results = {{"memory_kind", "rss"}, {"tasks", {{{"name", "t1"}, {"family", "ner"}}}}, {"cells", {cell}}};
  gp::Script s;
  study_figure_body(s, results, results["tasks"][0]);
  const auto& t = s.text();
  EXPECT_NE(t.find("title " + gp::str(model + " / " + method)), std::string::npos) << t;
  EXPECT_NE(t.find("set label " + gp::str(precision) + " at 3,0.25"), std::string::npos) << t;
  EXPECT_NE(t.find("\n3 0.25 0.125 0.5\n"), std::string::npos) << t;  // x (MiB), score, CI
  // The raw names occur only inside those quoted strings.
  std::string rest = t;
  for (const auto& q : {gp::str(model + " / " + method), gp::str(precision)})
    for (auto at = rest.find(q); at != std::string::npos; at = rest.find(q)) rest.erase(at, q.size());
  EXPECT_EQ(rest.find("touch"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("@macro"), std::string::npos) << rest;
  // No cell of the task: a visible "no data" panel, not an empty plot.
  gp::Script empty;
  study_figure_body(empty, results, nlohmann::json{{"name", "t2"}, {"family", "re"}});
  EXPECT_NE(empty.text().find("no data"), std::string::npos);
}

TEST(DashboardScript, UnlabelledSplitIsLabelledNotDrawnAsABar) {
  auto run = read_run_data(kFixture);
  run.models = {run.models[1]};  // gemma: val labelled, test unlabelled
  gp::Script s;
  panels::accuracy(s, run);
  const auto& t = s.text();
  EXPECT_NE(t.find("n/a'.\"\\n\".'(unlabelled)"), std::string::npos) << t;
  // The test series has no rows at all: it appears only as a key entry.
  EXPECT_NE(t.find("NaN with boxes lc rgb \"#a23b72\""), std::string::npos) << t;
  EXPECT_EQ(t.find("$d2"), std::string::npos) << t;  // one datablock: val only
  gp::Script gap;
  panels::generalization_gap(gap, run);
  EXPECT_NE(gap.text().find("undefined:'.\"\\n\".'test split'.\"\\n\".'unlabelled"), std::string::npos)
      << gap.text();
  EXPECT_EQ(gap.text().find("pts"), std::string::npos);  // no gap value printed
}

// ---- drawing (needs gnuplot 5 with pngcairo and svg) --------------------------------------------------------

TEST(DashboardDraw, WritesEveryFigureAsPngAndSvgPlusReport) {
  auto out = scratch("draw");
  auto drawn = draw_dashboard(kFixture, out);
  ASSERT_EQ(drawn.files.size(), 2 * figures().size() + 1);
  for (auto& f : figures()) {
    auto png = out / (f.stem + ".png"), svg = out / (f.stem + ".svg");
    ASSERT_TRUE(fs::exists(png)) << png;
    ASSERT_TRUE(fs::exists(svg)) << svg;
    auto size = png_size(png);
    EXPECT_EQ(size.width, std::uint32_t(f.width)) << png;
    EXPECT_EQ(size.height, std::uint32_t(f.height)) << png;
    auto text = slurp(svg);
    EXPECT_EQ(text.rfind("<?xml", 0), 0u) << svg;
    EXPECT_NE(text.find("width=\"" + std::to_string(f.width) + "\" height=\"" + std::to_string(f.height) + "\""),
              std::string::npos) << svg;
    auto end = text.find_last_not_of(" \n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(text.substr(end - 5, 6), "</svg>") << svg;
  }
  EXPECT_EQ(png_size(out / "dashboard.png").width, 1800u);
  for (auto& e : fs::directory_iterator(out))  // temp names are all renamed away
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(DashboardDraw, PicturesSayNaForUnlabelledAndShowOnlyMeasuredAccuracies) {
  auto out = scratch("svgtext");
  draw_dashboard(kFixture, out);
  auto svg = slurp(out / "dashboard.svg");
  EXPECT_NE(svg.find(">n/a<"), std::string::npos);
  EXPECT_NE(svg.find(">(unlabelled)<"), std::string::npos);
  EXPECT_NE(svg.find(">undefined:<"), std::string::npos);
  // Five measured accuracies (3 val + 2 labelled test), each printed once; no "0.0 %" for the unlabelled split.
  std::regex acc(">[0-9]+\\.[0-9] %<");
  EXPECT_EQ(std::distance(std::sregex_iterator(svg.begin(), svg.end(), acc), std::sregex_iterator()), 5);
  EXPECT_EQ(svg.find(">0.0 %<"), std::string::npos);
  auto md = slurp(out / "report.md");
  EXPECT_NE(md.find("| gemma-2-9b-int8 | int8 / bf16 | 65.0 %"), std::string::npos) << md;
  EXPECT_NE(md.find("n/a (unlabelled) | undefined: test split unlabelled"), std::string::npos) << md;
  EXPECT_NE(md.find("![dashboard](dashboard.png)"), std::string::npos);
}

TEST(DashboardDraw, MissingFieldsDrawNoDataPanelsInsteadOfFailing) {
  auto dir = scratch("bare");
  write(dir / "results.json", R"({"schema_version":1,"models":[{"name":"bare-model","splits":{"test":{"n":5,"accuracy":null}}}]})");
  auto out = dir / "report";
  auto drawn = draw_dashboard(dir);  // default output folder RUN_DIR/report
  EXPECT_EQ(drawn.out_dir, out);
  EXPECT_EQ(png_size(out / "dashboard.png").width, 1800u);
  auto svg = slurp(out / "dashboard.svg");
  std::regex no_data(">no data<");
  // Every panel but accuracy, question types... has nothing: at least 6 visible "no data" panels.
  EXPECT_GE(std::distance(std::sregex_iterator(svg.begin(), svg.end(), no_data), std::sregex_iterator()), 6);
  EXPECT_NE(svg.find(">n/a<"), std::string::npos);  // the test split exists, unlabelled
  EXPECT_NE(slurp(out / "fig4_tokens_per_model.svg").find(">no data<"), std::string::npos);
  EXPECT_NE(slurp(out / "report.md").find("| bare-model | n/a | no split | n/a (unlabelled)"), std::string::npos)
      << slurp(out / "report.md");
}

// A real run of one question with one new token (`curebench eval --model tests/data/models/stories260K/hf --val
// ONE_LINE.jsonl --max-new-tokens 1 --quant none`, copied to tests/data/report/one_sample_run): every answer length
// is 0, so the answer-length panel asked gnuplot for "set yrange [0:0]" and the whole dashboard failed with "Can't
// plot with an empty y range!" (eval exited 3). Every range computed from data now goes through gp::yrange.
TEST(DashboardDraw, ARunWhoseValuesAreAllEqualStillDraws) {
  auto dir = scratch("one_sample");
  fs::copy(fs::path(CUREBENCH_TEST_DATA) / "report" / "one_sample_run", dir / "run", fs::copy_options::recursive);
  auto drawn = draw_dashboard(dir / "run", dir / "out");
  EXPECT_EQ(drawn.files.size(), 2 * figures().size() + 1);
  EXPECT_EQ(png_size(dir / "out" / "dashboard.png").width, 1800u);
}

TEST(DashboardScript, DataRangesAreNeverEmpty) {
  EXPECT_EQ(gp::yrange(0, 0, 0), "set yrange [0:1]\n");
  EXPECT_EQ(gp::yrange(0, 0.4, 0), "set yrange [0:1]\n");          // prints as [0:0]: widened
  EXPECT_EQ(gp::yrange(5, 5, 3), "set yrange [5:10]\n");
  EXPECT_EQ(gp::yrange(0, 120.4, 0), "set yrange [0:120]\n");       // a non-empty range is kept
  EXPECT_EQ(gp::yrange(0, 0, 3, true), "set yrange [0.001:1]\n");   // log axis: positive bounds
  EXPECT_EQ(gp::yrange(2, 2, 3, true), "set yrange [0.002:2]\n");
  EXPECT_EQ(gp::yrange(NAN, NAN, 3), "set yrange [0:1]\n");
}

// A number too large for 64 characters of fixed notation: to_chars fails and returns the buffer's end, and num()
// built its text from the whole buffer - 64 uninitialized bytes of the stack, unquoted in the script, where a
// backquote is a shell command (fuzz_run_data found it through a results.json token mean of ~1e300, thirteenth
// session). Now scientific notation, which gnuplot reads as the same number.
TEST(DashboardScript, NumbersTooLargeForFixedNotationAreScientificNotStackBytes) {
  EXPECT_EQ(gp::num(1e300, 0), "1.000000e+300");
  EXPECT_EQ(gp::num(-2.5e61, 3), "-2.500000e+61");
  EXPECT_EQ(gp::fixed(1e300, 1), "1.000000e+300");
  EXPECT_EQ(gp::num(1e20, 1), "100000000000000000000");
  EXPECT_EQ(gp::yrange(0, 1e300, 0), "set yrange [0:1.000000e+300]\n");
  auto j = nlohmann::json::parse(slurp(kFixture / "results.json"));
  for (auto& m : j["models"])
    for (auto& [name, split] : m["splits"].items()) split["tokens"] = {{"input_mean", 1e300}, {"output_mean", 3e299}};
  auto dir = scratch("huge_numbers");
  write(dir / "results.json", j.dump());
  const auto script = report_script(read_run_data(dir), figures(),
                                    [](const std::string& stem, const std::string& ext) { return "/out/" + stem + ext; });
  EXPECT_NE(script.find("1.000000e+300"), std::string::npos);
  // Text only: well-formed UTF-8 (the labels' own text is UTF-8) and no control byte but the newline.
  const auto bad = curebench::tokenizer::find_invalid_utf8(script);
  EXPECT_FALSE(bad.has_value()) << "invalid UTF-8 at " << *bad;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const auto c = static_cast<unsigned char>(script[i]);
    ASSERT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7f)) << "control byte " << static_cast<int>(c) << " at " << i;
  }
}

TEST(DashboardDraw, NoModelsStillDrawsEveryFile) {
  auto dir = scratch("nomodels");
  write(dir / "results.json", R"({"models":[]})");
  auto drawn = draw_dashboard(dir, dir / "out");
  EXPECT_EQ(drawn.files.size(), 2 * figures().size() + 1);
  EXPECT_NE(slurp(dir / "out" / "dashboard.svg").find(">no data<"), std::string::npos);
}

TEST(DashboardDraw, WithoutGnuplotOnPathItIsATypedError) {
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  std::string old_env = std::getenv("CUREBENCH_GNUPLOT") ? std::getenv("CUREBENCH_GNUPLOT") : "";
  ::setenv("PATH", "/nonexistent-curebench-dir", 1);
  ::unsetenv("CUREBENCH_GNUPLOT");
  auto out = scratch("nognuplot") / "report";
  std::string what;
  auto code = error_code_of([&] { draw_dashboard(kFixture, out); }, &what);
  ::setenv("PATH", old_path.c_str(), 1);
  if (!old_env.empty()) ::setenv("CUREBENCH_GNUPLOT", old_env.c_str(), 1);
  EXPECT_EQ(code, Errc::not_found);
  EXPECT_NE(what.find("gnuplot not found on PATH"), std::string::npos) << what;
  EXPECT_FALSE(fs::exists(out));  // refused before writing anything
}

// ---- untrusted text and folders (docs/robustness.md, "Dashboards: text as data, private temp files") ---------

namespace {

// Text that would run a shell command if gnuplot expanded it: a backquote (gnuplot runs it inside double quotes),
// $(...), quote breakouts into system(), a macro, a newline. Each touches its own marker file.
std::vector<std::string> hostile_payloads(const fs::path& markers) {
  std::vector<std::string> p;
  for (int i = 0; i < 6; ++i) {
    auto m = (markers / ("ran" + std::to_string(i))).string();
    p.push_back("x`touch " + m + "a`y $(touch " + m + "b) \"; system(\"touch " + m + "c\"); \" '.system('touch " +
                m + "d').' @PATH\nsecond line");
  }
  return p;
}

nlohmann::json hostile_results(const std::vector<std::string>& p) {
  auto j = nlohmann::json::parse(slurp(kFixture / "results.json"));
  j["notice"] = p[0];
  j["run"]["id"] = p[1];
  j["provenance"]["gpu"] = p[2];
  auto& m = j["models"][0];
  m["name"] = p[3];
  m["load"]["strategy"] = p[4];
  for (auto& a : m["load"]["attempts"]) a["strategy"] = p[4];
  auto splits = m["splits"];
  m["splits"] = nlohmann::json::object();
  for (auto& [k, v] : splits.items()) m["splits"][k == "test" ? p[5] : k] = v;
  return j;
}

}  // namespace

TEST(DashboardHostile, TextFromTheRunFolderReachesGnuplotAsInertText) {
  auto dir = scratch("hostile");
  const auto markers = dir / "markers";
  fs::create_directories(markers);
  const auto payloads = hostile_payloads(markers);
  write(dir / "run" / "results.json", hostile_results(payloads).dump());
  draw_dashboard(dir / "run", dir / "out");
  for (auto& e : fs::directory_iterator(markers)) ADD_FAILURE() << "gnuplot ran a command: " << e.path();
  // The notice is drawn as written (the title line of the dashboard): backquotes, quotes and all.
  auto svg = slurp(dir / "out" / "dashboard.svg");
  EXPECT_NE(svg.find("x`touch " + (markers / "ran0").string() + "a`y $(touch "), std::string::npos);
  EXPECT_NE(svg.find("system("), std::string::npos);
  EXPECT_NE(svg.find("@PATH"), std::string::npos);
  EXPECT_NE(svg.find(">second line<"), std::string::npos);
}

TEST(DashboardHostile, AnOutputFolderNameReachesGnuplotAsInertText) {
  // `set output` carries the folder's name; a backquote there would run in gnuplot's working directory.
  const std::string marker = "curebench_outdir_ran." + std::to_string(::getpid());
  const auto out = scratch("hostileout") / ("out `touch " + marker + "` $(touch " + marker + ") 'q\" @PATH");
  draw_dashboard(kFixture, out);
  EXPECT_FALSE(fs::exists(fs::current_path() / marker)) << "a backquote in the output folder's name ran";
  fs::remove(fs::current_path() / marker);
  EXPECT_EQ(png_size(out / "dashboard.png").width, 1800u);
}

TEST(DashboardHostile, PlantedSymlinksAtTempNamesRedirectNothing) {
  auto dir = scratch("symlinks");
  const auto victim = dir / "victim.txt";
  write(victim, "precious\n");
  const auto out = dir / "report";
  fs::create_directories(out);
  // Every temp name an earlier version wrote (in /tmp and beside the figures), planted as links to the victim.
  const std::string pid = std::to_string(::getpid());
  std::vector<fs::path> planted;
  for (int n = 0; n < 4; ++n)
    for (const char* ext : {".gp", ".stderr"})
      planted.push_back(fs::temp_directory_path() / ("curebench-report." + pid + "." + std::to_string(n) + ext));
  for (auto& f : figures())
    for (const char* ext : {".png", ".svg"}) planted.push_back(out / ("." + f.stem + ext + ".tmp." + pid));
  planted.push_back(out / ("report.md.tmp." + pid));
  for (auto& link : planted) {
    fs::remove(link);
    fs::create_symlink(victim, link);
  }
  draw_dashboard(kFixture, out);
  draw_dashboard(kFixture, out);  // a second drawing in the same process
  EXPECT_EQ(slurp(victim), "precious\n");
  for (auto& link : planted) fs::remove(link);
  EXPECT_EQ(png_size(out / "dashboard.png").width, 1800u);
  for (auto& e : fs::directory_iterator(out)) {  // nothing of the drawing is left beside the figures
    EXPECT_NE(e.path().filename().string().rfind(".draw-", 0), 0u) << e.path();
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(DashboardHostile, AReportFolderThatIsALinkIsRefused) {
  auto dir = scratch("linkedreport");
  write(dir / "results.json", slurp(kFixture / "results.json"));
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dir / "report");
  std::string what;
  EXPECT_EQ(error_code_of([&] { draw_dashboard(dir); }, &what), Errc::io);
  EXPECT_NE(what.find("symbolic link"), std::string::npos) << what;
  EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
}

TEST(DashboardHostile, AKilledDrawingsFolderIsRemovedByTheNextOneAndNothingElse) {
  auto dir = scratch("staledraw");
  const auto out = dir / "report";
  // A pid that is gone: a child that has exited and been reaped.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const auto stale = out / (".draw-" + std::to_string(child) + "-a1B2c3");
  write(stale / "dashboard.png", "half a figure");
  const auto unrelated = out / ".draw-keepme";  // not a name this program writes
  write(unrelated / "dashboard.png", "someone else's");
  write(out / "notes.tmp.1", "someone else's");
  draw_dashboard(kFixture, out);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(slurp(unrelated / "dashboard.png"), "someone else's");
  EXPECT_EQ(slurp(out / "notes.tmp.1"), "someone else's");
}

// A full disk, simulated with RLIMIT_FSIZE (gnuplot inherits it; SIGXFSZ ignored, so its writes fail with EFBIG
// and it exits 0, as on ENOSPC): the previous figures stay, the error is io naming the folder.
TEST(DashboardHostile, AFailedWriteKeepsThePreviousFiguresAndIsAnIoError) {
  auto out = scratch("fulldisk") / "report";
  draw_dashboard(kFixture, out);
  const auto before_png = slurp(out / "dashboard.png"), before_svg = slurp(out / "dashboard.svg");
  const auto before_md = slurp(out / "report.md");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 20000;  // a figure is 40-200 kB
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string what, path;
  auto code = error_code_of([&] { draw_dashboard(kFixture, out); }, &what, &path);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(code, Errc::io) << what;
  EXPECT_EQ(path, out.string());
  EXPECT_NE(what.find("did not write this figure completely"), std::string::npos) << what;
  EXPECT_EQ(slurp(out / "dashboard.png"), before_png);
  EXPECT_EQ(slurp(out / "dashboard.svg"), before_svg);
  EXPECT_EQ(slurp(out / "report.md"), before_md);
  for (auto& e : fs::directory_iterator(out)) EXPECT_NE(e.path().filename().string().rfind(".draw-", 0), 0u);
}
