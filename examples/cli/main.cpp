// The curebench command line tool. Each subcommand lives in its own cmd_*.hpp and registers itself here.
#include <filesystem>

#include "cli_common.hpp"
#include "curebench/core/interrupt.hpp"
#include "cmd_eval.hpp"
#include "cmd_chat.hpp"
#include "cmd_extract.hpp"
#include "cmd_generate.hpp"
#include "cmd_inspect.hpp"
#include "cmd_load.hpp"
#include "cmd_quantize.hpp"
#include "cmd_report.hpp"
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
  cli::add_eval(app, ctx);
  cli::add_tokenize(app, ctx);
  cli::add_chat(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const curebench::Error& e) {
    return cli::report_error(ctx, e);
  } catch (const curebench::Interrupted& e) {
    if (::isatty(2)) std::cerr << "\n";  // end the progress line being redrawn
    std::cerr << e.what() << std::endl;
    if (ctx.json)
      std::cout << curebench::dump_json(nlohmann::json{{"interrupted", curebench::signal_name(e.signal())}, {"message", e.what()}})
                << std::endl;
    return 128 + e.signal();  // the shell's convention for "ended by this signal"
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the OS refuses (too long, a loop of links, a folder that cannot be listed) where a reader used the
    // throwing std::filesystem calls: a typed input error naming the path, not an internal one.
    return cli::report_error(ctx, curebench::Error(curebench::Errc::io, e.path1().string(), "", e.code().message()));
  } catch (const std::exception& e) {
    std::cerr << "error[internal]: " << e.what() << std::endl;
    return cli::kExitInternal;
  }
  return 0;
}
