// Compile-fail case (ctest conformance.compile_fail.strategy_without_check): a loader strategy without check() (it
// would load without saying first whether it can) does not model loader::LoaderStrategy; a Chain of it is refused
// with the concept's name.
#include "curebench/loader/chain.hpp"

struct NoCheck {
  std::string name() const { return "no-check"; }
  curebench::model::LoadedModel load(const curebench::loader::CheckpointInfo&, const curebench::loader::LoadRequest&) const;
};

curebench::loader::Chain<NoCheck> refused;
