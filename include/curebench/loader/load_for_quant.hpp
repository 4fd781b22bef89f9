#pragma once
// What a --quant value (eval, task, study, the run config's models[].quant) loads with, one vocabulary for every
// subcommand:
//   auto          the chain as given (DefaultChain: stored quantized -> NF4 + double quant -> int8 -> full
//                 precision -> layer offload), each attempt recorded
//   none          the chain's full-precision strategies (FullPrecision, then with layer offload)
//   prequantized  the checkpoint as stored (bnb, GPTQ, AWQ, GGUF)
//   nf4 | nf4-dq | fp4 | int8 | fp8 | int4-g32 | int4-g64 | int4-g128
//                 QuantizeOnLoad<the config quant/named_config.hpp names>, alone: the same name means the same
//                 config as `curebench quantize --quant` (nf4 without double quant, as bitsandbytes' default)
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/loader/chain.hpp"
#include "curebench/loader/default_chain.hpp"
#include "curebench/loader/quantize_on_load.hpp"
#include "curebench/quant/named_config.hpp"

namespace curebench::loader {

inline std::string quant_choices() { return "auto, none, prequantized, " + quant::named_quant_list(); }

// Errc::config naming `where` and "quant" for a value that is none of these.
template <class C = DefaultChain>
LoadResult load_for_quant(const CheckpointInfo& info, const LoadRequest& req, const std::string& quant, const std::string& where) {
  if (quant == "auto") return C{}.load(info, req);
  if (quant == "none") return C{}.load(info, req, {"FullPrecision", "FullPrecision+Offload"});
  if (quant == "prequantized") return C{}.load(info, req, {"Prequantized"});
  std::optional<LoadResult> out;
  const bool named = quant::visit_named_config(quant, [&]<class Q>(std::type_identity<Q>, std::int64_t, bool) {
    out.emplace(Chain<QuantizeOnLoad<Q>>{}.load(info, req));
  });
  if (!named)  // JSON-quoted: no control byte of a config reaches the terminal
    throw Error(Errc::config, where, "quant", "expected one of " + quant_choices() + ", found " + dump_json(nlohmann::json(quant)));
  return std::move(*out);
}

}  // namespace curebench::loader
