#pragma once
// The pipeline type a run config names, chosen once from its two strings: protocol (curebench | official | lm-eval) x
// extraction policy (curebench | seed | kit) -> eval::Pipeline<DefaultChain, Extractor, Protocol>, the six pairs.
// `curebench eval` and the registered pipelines' runner (testing/run_case.hpp) both run through here, so a config
// behaves the same under either.
#include "curebench/eval/pipeline.hpp"

#include <filesystem>

namespace curebench::eval {

// `group`: this process's place in a data-parallel run (dist/group.hpp); none is one process.
inline RunSummary run_pipeline_for(const RunConfig& cfg, const std::filesystem::path& out, dist::Group* group = nullptr) {
  auto with_protocol = [&]<class Ex>() {
    using Chain = loader::DefaultChain;
    if (cfg.protocol == "lm-eval") return Pipeline<Chain, Ex, LmEvalProtocol>::run(cfg, out, nullptr, group);
    return cfg.protocol == "official" ? Pipeline<Chain, Ex, OfficialKitProtocol>::run(cfg, out, nullptr, group)
                                      : Pipeline<Chain, Ex, CurebenchProtocol>::run(cfg, out, nullptr, group);
  };
  return cfg.policy == "kit"    ? with_protocol.operator()<extract::KitRule>()
         : cfg.policy == "seed" ? with_protocol.operator()<extract::SeedRegex>()
                                : with_protocol.operator()<extract::CurebenchDefault>();
}

}  // namespace curebench::eval
