#pragma once
// `curebench version`: library, libtorch, CUDA and device information.
#include "cli_common.hpp"
#include "curebench/core/device_info.hpp"
#include "curebench/version.hpp"

namespace cli {

inline void add_version(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("version", "Library, libtorch, CUDA and device information");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    nlohmann::json j{{"curebench", curebench::kVersion}, {"git_commit", curebench::kGitCommit},
                     {"compiler", __VERSION__}, {"cxx_standard", __cplusplus}};
    j.update(curebench::device_info());
    if (ctx.json) return print_json(j);
    std::cout << "curebench " << curebench::kVersion << " (" << curebench::kGitCommit << ")\n"
              << "libtorch " << j["libtorch"].get<std::string>() << ", CUDA "
              << (j["cuda_available"].get<bool>() ? "available" : "not available") << "\n";
    for (auto& d : j["devices"])
      std::cout << "  cuda:" << d["index"] << " " << d["name"].get<std::string>() << " "
                << d["total_memory_bytes"].get<std::int64_t>() / (1 << 20) << " MiB, sm "
                << d["compute_capability"].get<std::string>() << "\n";
  });
}

}  // namespace cli
