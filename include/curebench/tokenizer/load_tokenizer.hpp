#pragma once
// load_tokenizer(path): one entry point for every tokenizer format curebench reads.
//   file *.json          -> HF tokenizer.json (+ tokenizer_config.json beside it)
//   file *.model         -> SentencePiece BPE model (ModelProto read natively: tokenizer/sentencepiece_proto.hpp)
//   file *.gguf          -> the vocabulary embedded in the GGUF
//   file *.bin           -> llama2.c tokenizer export (tok512.bin, tokenizer.bin)
//   folder               -> first found of: tokenizer.json, tokenizer.model, *.gguf (sorted), tokenizer.bin,
//                           tok*.bin (sorted)
// The format is also sniffed from the first bytes, so a misnamed file still loads or fails clearly.
#include "curebench/core/error.hpp"
#include "curebench/core/regular_file.hpp"
#include "curebench/tokenizer/gguf_vocab.hpp"
#include "curebench/tokenizer/hf_tokenizer.hpp"
#include "curebench/tokenizer/llama2c_tokenizer.hpp"
#include "curebench/tokenizer/sentencepiece_proto.hpp"
#include "curebench/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace curebench::tokenizer {

inline std::string find_tokenizer_file(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* name : {"tokenizer.json", "tokenizer.model"})
    if (fs::is_regular_file(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  std::vector<std::string> ggufs, bins;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto name = e.path().filename().string();
    if (e.path().extension() == ".gguf") ggufs.push_back(e.path().string());
    else if (e.path().extension() == ".bin" && (name == "tokenizer.bin" || name.rfind("tok", 0) == 0)) bins.push_back(e.path().string());
  }
  std::sort(ggufs.begin(), ggufs.end());
  std::sort(bins.begin(), bins.end(), [](const std::string& a, const std::string& b) {
    bool ta = fs::path(a).filename() == "tokenizer.bin", tb = fs::path(b).filename() == "tokenizer.bin";
    return ta != tb ? ta : a < b;
  });
  if (!ggufs.empty()) return ggufs.front();
  if (!bins.empty()) return bins.front();
  throw Error(Errc::not_found, dir, "",
              "no tokenizer found (looked for tokenizer.json, tokenizer.model, *.gguf, tokenizer.bin, tok*.bin)");
}

inline Tokenizer load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw Error(Errc::io, path, "", "no such file or folder");
  const std::string file = fs::is_directory(path) ? find_tokenizer_file(path) : path;
  char head[4] = {};
  {
    auto in = open_regular_ifstream(file);
    in.read(head, 4);
  }
  const auto ext = fs::path(file).extension().string();
  if (std::string_view(head, 4) == "GGUF") return load_gguf_tokenizer(file);
  if (ext == ".json" || head[0] == '{') return Tokenizer(load_hf_tokenizer(file), "tokenizer.json");
  if (ext == ".model") return Tokenizer(load_sentencepiece_model(file), "sentencepiece");
  if (ext == ".bin") return Tokenizer(load_llama2c_tokenizer(file), "llama2c");
  throw Error(Errc::unsupported, file, "",
              "unknown tokenizer format (expected tokenizer.json, tokenizer.model, .gguf or a llama2.c .bin)");
}

}  // namespace curebench::tokenizer
