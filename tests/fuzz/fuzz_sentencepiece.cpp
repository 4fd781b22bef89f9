// libFuzzer target: tokenizer.model (a SentencePiece ModelProto, read natively from the protobuf wire format by
// tokenizer/sentencepiece_proto.hpp) -> SentencePieceBpe -> encode/decode of arbitrary text.
// Input layout: u16 LE text length L | L bytes of text | the tokenizer.model bytes (rest of the input).
// Contract: a vocabulary or a curebench::Error; ids inside the vocabulary. Anything else is a bug.
#include "curebench/tokenizer/sentencepiece_proto.hpp"
#include "fuzz_exercise_tokenizer.hpp"

#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  curebench::fuzz::TextAndFile in;
  if (!curebench::fuzz::split_text_and_file(data, size, in)) return 0;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(in.file), in.file_size);
  try {
    auto vocab = curebench::tokenizer::parse_sentencepiece_model(bytes, "tokenizer.model");
    if (vocab.pieces.size() != vocab.scores.size() || vocab.pieces.size() != vocab.types.size()) std::abort();
    for (auto id : {vocab.unk_id, vocab.bos_id, vocab.eos_id, vocab.pad_id})
      if (id && (*id < 0 || static_cast<std::size_t>(*id) >= vocab.pieces.size())) std::abort();
    curebench::tokenizer::SentencePieceBpe tok(std::move(vocab), "tokenizer.model");
    curebench::fuzz::exercise_tokenizer(tok, in.text);
  } catch (const curebench::Error&) {
  }
  return 0;
}
