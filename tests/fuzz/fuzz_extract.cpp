// libFuzzer target: the answer extractors (eval/extract: CurebenchDefault, SeedRegex, KitRule) on arbitrary
// model output with arbitrary options. Input: u8 option count (mod 9) | per option: u8 length + text | output.
// Contract: every extractor returns; an answer is one letter A-Z (one of the options, except KitRule); a span lies inside the output;
// the Extraction serializes to JSON. Slow inputs (> 1 s, e.g. regex backtracking) are bugs too.
#include "curebench/eval/extract.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

// KitRule mirrors the competition kit, which reads a letter without looking at the options
// (kit_rule.hpp), so only the option-aware extractors must answer with one of the options.
template <class E>
void check(const E& extractor, std::string_view output, const curebench::eval::extract::Options& options,
           bool answers_within_options = true) {
  auto x = extractor.extract(output, options);
  if (x.answer && (x.answer->size() != 1 || (*x.answer)[0] < 'A' || (*x.answer)[0] > 'Z')) std::abort();
  if (x.answer && answers_within_options && !options.has((*x.answer)[0])) std::abort();
  if (x.span && (x.span->first > x.span->second || x.span->second > output.size())) std::abort();
  nlohmann::json j = x;
  (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  std::size_t n = static_cast<unsigned char>(in[0]) % 9;
  in.remove_prefix(1);
  std::vector<std::pair<char, std::string>> items;
  for (std::size_t i = 0; i < n && !in.empty(); ++i) {
    std::size_t len = std::min<std::size_t>(static_cast<unsigned char>(in[0]) % 64, in.size() - 1);
    items.emplace_back(static_cast<char>('A' + i), std::string(in.substr(1, len)));
    in.remove_prefix(1 + len);
  }
  try {
    curebench::eval::extract::Options options(items);
    check(curebench::eval::extract::CurebenchDefault{}, in, options);
    check(curebench::eval::extract::SeedRegex{}, in, options);
    check(curebench::eval::extract::KitRule{}, in, options, false);
  } catch (const curebench::Error&) {
  }
  return 0;
}
