#pragma once
// The chain `curebench load` and the evaluation use unless told otherwise — the seed's order, planned and
// recorded: a checkpoint already stored quantized (bnb 4/8-bit folder, GGUF) is loaded as stored (the seed's
// unsloth fast path); otherwise a 4-bit quantized backend (bitsandbytes NF4 with double quant, as unsloth's *-bnb-4bit),
// then 8-bit, then full precision with layers offloaded to host memory when the GPU budget is short.
#include "curebench/loader/chain.hpp"
#include "curebench/loader/full_precision.hpp"
#include "curebench/loader/prequantized.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/config.hpp"

namespace curebench::loader {

using DefaultChain = Chain<Prequantized, QuantizeOnLoad<quant::NF4Config<64, true>>, QuantizeOnLoad<quant::Int8Config>,
                           FullPrecision<NoOffload>, FullPrecision<LayerOffload>>;

}  // namespace curebench::loader
