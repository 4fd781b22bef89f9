// Compile-fail case (ctest conformance.compile_fail.extractor_without_name): an extractor without a `name` does not
// model eval::extract::Extractor, and a pipeline built with it must be refused with the concept's name in the
// diagnostic. Compiled with -fsyntax-only; the test passes when the compiler fails and names the concept.
#include "curebench/eval/extract/extractor.hpp"

struct NoName {
  curebench::eval::extract::Extraction extract(std::string_view, const curebench::eval::extract::Options&) const { return {}; }
};

template <curebench::eval::extract::Extractor E>
struct NeedsExtractor {};

NeedsExtractor<NoName> refused;
