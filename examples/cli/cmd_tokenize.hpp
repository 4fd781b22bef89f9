#pragma once
// `curebench tokenize --tokenizer PATH (--text T | --jsonl F) [--add-special-tokens] [--json]`:
// token ids, pieces and the decode of those ids, for any tokenizer format load_tokenizer() reads.
#include "cli_common.hpp"
#include "curebench/eval/dataset.hpp"
#include "curebench/tokenizer/load_tokenizer.hpp"

namespace cli {

inline nlohmann::json tokenize_one(const curebench::tokenizer::Tokenizer& tok, const std::string& text, bool add_special) {
  auto ids = tok.encode(text, add_special);
  nlohmann::json pieces = nlohmann::json::array();
  for (auto id : ids) pieces.push_back(tok.id_to_piece(id));
  // Pieces and decodes can hold partial UTF-8 (byte-level pieces); replace rather than fail to print.
  return {{"ids", ids}, {"pieces", pieces}, {"decoded", tok.decode(ids, false)}};
}

inline void add_tokenize(CLI::App& app, Context& ctx) {
  static std::string tokenizer, text, jsonl;
  static bool add_special = false;
  auto* sub = app.add_subcommand("tokenize", "Encode text with a tokenizer.json, tokenizer.model, llama2.c .bin, .gguf or model folder");
  sub->add_option("--tokenizer", tokenizer, "tokenizer.json, tokenizer.model, tok512-style .bin, .gguf, or a model folder")->required();
  static CLI::Option* t = nullptr;
  t = sub->add_option("--text", text, "The text to encode");
  auto* f = sub->add_option("--jsonl", jsonl, "A file with one JSON string per line; one result per line, in order");
  t->excludes(f);
  sub->add_flag("--add-special-tokens", add_special, "Add BOS/EOS as the tokenizer's post-processor does (HF add_special_tokens)");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    if (t->count() == 0 && jsonl.empty())
      throw curebench::Error(curebench::Errc::invalid_argument, "", "--text", "give --text T or --jsonl FILE");
    auto tok = curebench::tokenizer::load_tokenizer(tokenizer);
    std::vector<std::string> inputs;
    if (!jsonl.empty()) {
      // The dataset reader's line loop: a regular file only, lines bounded (a 1 TiB file of zeros is refused
      // at its first 16 MiB, not read into one string), BOM and CRLF handled.
      curebench::eval::for_each_line(
          jsonl,
          [&](std::size_t n, std::string_view line) {
            if (line.empty()) return;
            auto j = curebench::parse_json_text(line, jsonl);
            if (!j.is_string())
              throw curebench::Error(curebench::Errc::format, jsonl, "line " + std::to_string(n),
                                     "expected a JSON string, found " + std::string(j.type_name()));
            inputs.push_back(j.get<std::string>());
          },
          curebench::eval::LoadOptions{}.max_line_bytes);
    } else {
      inputs.push_back(text);
    }
    for (const auto& s : inputs) {
      auto r = tokenize_one(tok, s, add_special);
      if (ctx.json) {
        std::cout << curebench::dump_json(r) << "\n";
      } else {
        std::cout << "ids:";
        for (auto& id : r["ids"]) std::cout << ' ' << id.get<int32_t>();
        std::cout << "\npieces:";
        for (auto& p : r["pieces"]) std::cout << ' ' << curebench::dump_json(p);
        std::cout << "\ndecoded: " << r["decoded"].get<std::string>() << "\n";
      }
    }
    std::cout.flush();
  });
}

}  // namespace cli
