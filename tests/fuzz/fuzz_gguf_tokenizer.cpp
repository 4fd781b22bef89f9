// libFuzzer target: the vocabulary embedded in a GGUF file (tokenizer/gguf_vocab.hpp): "llama" models become
// SentencePiece BPE, "gpt2" models a tokenizer.json run by HfTokenizer; then encode/decode of arbitrary text.
// Input layout: u16 LE text length L | L bytes of text | the GGUF file (rest of the input).
// Contract: a tokenizer or a curebench::Error (no nlohmann exception from the synthesised tokenizer.json,
// no id outside the vocabulary, no UB, nothing over 1 s). Anything else is a bug.
#include "curebench/tokenizer/gguf_vocab.hpp"
#include "fuzz_exercise_tokenizer.hpp"
#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static curebench::fuzz::InputFile file;
  curebench::fuzz::TextAndFile in;
  if (!curebench::fuzz::split_text_and_file(data, size, in)) return 0;
  const auto& path = file.write(in.file, in.file_size);
  try {
    auto tok = curebench::tokenizer::load_gguf_tokenizer(path);
    curebench::fuzz::exercise_tokenizer(tok, in.text);
    (void)tok.eos_ids();
  } catch (const curebench::Error&) {
  }
  return 0;
}
