// libFuzzer target: a run folder someone else wrote, as `curebench report` reads and draws it
// (report/dashboard/run_data.hpp + the gnuplot script of every figure, without running gnuplot).
// Input: results.json bytes, a NUL byte, then samples.jsonl bytes (for the model named "m").
// Contract: a RunData or a curebench::Error; and the script built from whatever was read is inert: outside
// single-quoted strings (which gnuplot never expands) there is no backquote (a shell command inside double
// quotes) and no '@' (a macro), and no single-quoted string spans a line. gp::str round-trips every text field.
#include "curebench/report/dashboard.hpp"
#include "fuzz_scratch_dir.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// Inverse of gp::str: 'a''b'."\n".'c' -> a'b\nc. Aborts on anything gp::str cannot have produced.
std::string unquote(std::string_view q) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    if (i >= q.size() || q[i] != '\'') std::abort();
    for (++i;; ++i) {
      if (i >= q.size() || q[i] == '\n') std::abort();
      if (q[i] == '\'') {
        if (i + 1 < q.size() && q[i + 1] == '\'') {
          out += '\'';
          ++i;
          continue;
        }
        ++i;
        break;
      }
      out += q[i];
    }
    if (i == q.size()) return out;
    if (q.substr(i, 6) != ".\"\\n\".") std::abort();
    out += '\n';
    i += 6;
  }
}

void check_text(std::string_view s) {
  std::string expected;
  for (char c : s)
    expected += (c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) ? ' ' : c;
  if (unquote(curebench::report::gp::str(s)) != expected) std::abort();
}

void check_script_inert(const std::string& script) {
  enum { outside, single, dbl } state = outside;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if (state == single) {
      if (c == '\n') std::abort();
      if (c == '\'') {
        if (i + 1 < script.size() && script[i + 1] == '\'') ++i;
        else state = outside;
      }
      continue;
    }
    if (c == '`' || c == '@') std::abort();
    if (state == dbl) {
      if (c == '\\') ++i;
      else if (c == '"') state = outside;
      else if (c == '\n') std::abort();
    } else if (c == '\'') {
      state = single;
    } else if (c == '"') {
      state = dbl;
    } else if (c == '#') {  // a comment runs to the end of the line; the datablocks hold numbers only
      while (i + 1 < script.size() && script[i + 1] != '\n') ++i;
    }
  }
  if (state != outside) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::ScratchDir dir;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nul = in.find('\0');
  dir.write("results.json", std::string(in.substr(0, nul)));
  std::filesystem::create_directories(dir.path() / "models" / "m");
  dir.write("models/m/samples.jsonl", nul == std::string_view::npos ? std::string() : std::string(in.substr(nul + 1)));
  check_text(in.substr(0, std::min<std::size_t>(size, 256)));
  try {
    auto run = curebench::report::read_run_data(dir.path());
    if (run.notice) check_text(*run.notice);
    for (auto& m : run.models) check_text(m.name);
    auto script = curebench::report::report_script(run, curebench::report::figures(),
                                                   [](const std::string& stem, const std::string& ext) {
                                                     return "/out `x` @y/" + stem + ext;
                                                   });
    check_script_inert(script);
  } catch (const curebench::Error&) {
  }
  return 0;
}
