#pragma once
// What every subcommand shares: the --json switch, printing, and turning errors into one line + exit code.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"

namespace cli {

// Exit codes: 0 success, 1 bad input (a curebench::Error), 2 usage error (CLI11), 3 internal failure.
inline constexpr int kExitInput = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

struct Context {
  bool json = false;  // set by each subcommand's --json flag
};

inline void add_json_flag(CLI::App* sub, Context& ctx) {
  sub->add_flag("--json", ctx.json, "Print machine-readable JSON on stdout");
}

inline void print_json(const nlohmann::json& j) { std::cout << curebench::dump_json(j, 2) << std::endl; }

inline int report_error(const Context& ctx, const curebench::Error& e) {
  std::cerr << e.what() << std::endl;
  if (ctx.json) std::cout << curebench::dump_json(nlohmann::json{{"error", e}}) << std::endl;
  return kExitInput;
}

// Runs f; an error that names no file (a numeric check deep in the runtime) is given the model's path, so the one
// line says which model produced NaN logits.
template <class F>
auto with_model_path(const std::string& model, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const curebench::Error& e) {
    if (!e.path().empty()) throw;
    throw curebench::Error(e.code(), model, e.field(), e.message());
  }
}

}  // namespace cli
