#pragma once
// The chain `curebench load` and the evaluation use unless told otherwise: the seed's order (fast
// format-aware path, then a quantized backend, then full precision with offload), planned and recorded.
#include "curebench/loader/chain.hpp"
#include "curebench/loader/full_precision.hpp"

namespace curebench::loader {

using DefaultChain = Chain<FullPrecision<NoOffload>, FullPrecision<LayerOffload>>;

}  // namespace curebench::loader
