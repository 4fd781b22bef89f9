// The curebench command line tool. Each subcommand lives in its own cmd_*.hpp and registers itself here.
#include <filesystem>

#include "cli_common.hpp"
#include "curebench/core/error_from_exception.hpp"
#include "curebench/core/interrupt.hpp"
#include "cmd_eval.hpp"
#include "cmd_chat.hpp"
#include "cmd_convert.hpp"
#include "cmd_extract.hpp"
#include "cmd_generate.hpp"
#include "cmd_inspect.hpp"
#include "cmd_load.hpp"
#include "cmd_quantize.hpp"
#include "cmd_report.hpp"
#include "cmd_score.hpp"
#include "cmd_study.hpp"
#include "cmd_task.hpp"
#include "cmd_tokenize.hpp"
#include "cmd_verify.hpp"
#include "cmd_version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"curebench: load, quantize and evaluate clinical LLMs"};
  app.require_subcommand(1);
  cli::Context ctx;
  cli::add_version(app, ctx);
  cli::add_inspect(app, ctx);
  cli::add_generate(app, ctx);
  cli::add_extract(app, ctx);
  cli::add_load(app, ctx);
  cli::add_quantize(app, ctx);
  cli::add_discover(app, ctx);
  cli::add_verify(app, ctx);
  cli::add_report(app, ctx);
  cli::add_score(app, ctx);
  cli::add_task(app, ctx);
  cli::add_study(app, ctx);
  cli::add_convert(app, ctx);
  cli::add_eval(app, ctx);
  cli::add_tokenize(app, ctx);
  cli::add_chat(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help) and has a code per parse error (104-114); a usage error is 2, as
    // argparse and getopt programs say it, and what cli_common.hpp promises.
    return app.exit(e) == 0 ? 0 : cli::kExitUsage;
  } catch (const curebench::Error& e) {
    return cli::report_error(ctx, e);
  } catch (const curebench::Interrupted& e) {
    if (::isatty(2)) std::cerr << "\n";  // end the progress line being redrawn
    std::cerr << e.what() << std::endl;
    if (ctx.json)
      std::cout << curebench::dump_json(nlohmann::json{{"interrupted", curebench::signal_name(e.signal())}, {"message", e.what()}})
                << std::endl;
    return 128 + e.signal();  // the shell's convention for "ended by this signal"
  } catch (const std::exception&) {
    // A path the OS refuses, an allocation that failed (libtorch's allocator errors included): typed, one
    // line. What is left is internal: still one line (libtorch appends a stack trace), exit 3.
    const auto e = curebench::error_from_exception(std::current_exception());
    if (e.code() != curebench::Errc::internal) return cli::report_error(ctx, e);
    std::cerr << e.what() << std::endl;
    return cli::kExitInternal;
  }
  return 0;
}
