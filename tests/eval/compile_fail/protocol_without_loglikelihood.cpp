// Compile-fail case (ctest conformance.compile_fail.protocol_without_loglikelihood): a prompt protocol without
// loglikelihood() does not model eval::PromptProtocol.
#include "curebench/eval/prompt.hpp"

struct HalfProtocol {
  static constexpr std::string_view name = "half";
  int steps(const curebench::eval::Question&) const { return 1; }
  curebench::eval::Conversation first(const curebench::eval::Question&) const { return {}; }
  curebench::eval::Conversation mapping(const curebench::eval::Question&, std::string_view) const { return {}; }
};

template <curebench::eval::PromptProtocol P>
struct NeedsProtocol {};

NeedsProtocol<HalfProtocol> refused;
