// libFuzzer target: load_tokenizer (tokenizer/load_tokenizer.hpp), the one entry point that picks a format from
// the first bytes ("GGUF", '{') and the extension, or from a folder's file names. The same input bytes are
// reached through five names (tokenizer.json, tokenizer.model, x.gguf, tok.bin, a name without extension)
// and through the folder; the first input byte picks which.
// Input layout: u8 selector | u16 LE text length L | L bytes of text | the file (rest of the input).
// Contract: a tokenizer or a curebench::Error, whichever reader the dispatch picks. Anything else is a bug.
#include "curebench/tokenizer/load_tokenizer.hpp"
#include "fuzz_exercise_tokenizer.hpp"
#include "fuzz_input_file.hpp"
#include "fuzz_scratch_dir.hpp"

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  static curebench::fuzz::ScratchDir dir;
  static const std::array<std::string, 6> paths = [] {
    // The memfd's /proc/self/fd/N path is fixed for the process, so the links are made once.
    const std::string target = file.write(nullptr, 0);
    std::array<std::string, 6> p;
    const char* names[] = {"tokenizer.json", "tokenizer.model", "x.gguf", "tok.bin", "tokenizer"};
    for (int i = 0; i < 5; ++i) {
      auto sub = dir.path() / std::to_string(i);
      std::filesystem::create_directories(sub);
      p[static_cast<std::size_t>(i)] = dir.link(std::to_string(i) + "/" + names[i], target);
    }
    p[5] = (dir.path() / "0").string();  // a folder holding tokenizer.json
    return p;
  }();
  if (size < 1) return 0;
  const auto& path = paths[data[0] % paths.size()];
  curebench::fuzz::TextAndFile in;
  if (!curebench::fuzz::split_text_and_file(data + 1, size - 1, in)) return 0;
  file.write(in.file, in.file_size);
  try {
    auto tok = curebench::tokenizer::load_tokenizer(path);
    curebench::fuzz::exercise_tokenizer(tok, in.text);
  } catch (const curebench::Error&) {
  }
  return 0;
}
