#pragma once
// HF tokenizers' decoders: each maps a list of token strings to a list of strings, and a Sequence
// chains them. Behaviour follows tokenizers (Rust) exactly, quirks included, so decode round trips match.
#include "curebench/tokenizer/byte_level.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace curebench::tokenizer {

// Bytes-as-text back to bytes; the whole output is one string (from_utf8_lossy).
struct ByteLevelDecoder {};
// Runs of "<0xHH>" tokens become their bytes; an invalid run gives one U+FFFD per token.
struct ByteFallbackDecoder {};
// Joins all tokens into one.
struct FuseDecoder {};
// Replaces every occurrence of `pattern` (a literal string) with `content`.
struct ReplaceDecoder {
  std::string pattern, content;
};
// Removes up to `start` leading and `stop` trailing chars equal to `content` from each token.
struct StripDecoder {
  char32_t content = U' ';
  std::size_t start = 0, stop = 0;
};
// "▁" -> " "; in the first token the replacement char is dropped unless prepend_scheme is "never".
struct MetaspaceDecoder {
  std::string replacement = "\xE2\x96\x81";
  bool prepend = true;
};

using DecoderStep =
    std::variant<ByteLevelDecoder, ByteFallbackDecoder, FuseDecoder, ReplaceDecoder, StripDecoder, MetaspaceDecoder>;

namespace detail {

inline void apply(const ByteLevelDecoder&, std::vector<std::string>& tokens) {
  const auto& table = ByteLevelTable::get();
  std::string bytes;
  for (const auto& t : tokens)
    if (!table.decode(t, bytes)) bytes += t;
  tokens.assign(1, utf8_lossy(bytes));
}

inline int byte_token_value(const std::string& t) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

inline void apply(const ByteFallbackDecoder&, std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string run;
  std::size_t run_tokens = 0;
  auto flush = [&] {
    if (run_tokens == 0) return;
    if (!find_invalid_utf8(run)) {
      out.push_back(run);
    } else {
      for (std::size_t i = 0; i < run_tokens; ++i) out.emplace_back("\xEF\xBF\xBD");
    }
    run.clear();
    run_tokens = 0;
  };
  for (auto& t : tokens) {
    int b = byte_token_value(t);
    if (b >= 0) {
      run += static_cast<char>(b);
      ++run_tokens;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  tokens = std::move(out);
}

inline void apply(const FuseDecoder&, std::vector<std::string>& tokens) {
  std::string all;
  for (const auto& t : tokens) all += t;
  tokens.assign(1, std::move(all));
}

inline void apply(const ReplaceDecoder& d, std::vector<std::string>& tokens) {
  if (d.pattern.empty()) return;
  for (auto& t : tokens) {
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = t.find(d.pattern, pos)) != std::string::npos; pos = hit + d.pattern.size())
      out.append(t, pos, hit - pos).append(d.content);
    out.append(t, pos);
    t = std::move(out);
  }
}

inline void apply(const StripDecoder& d, std::vector<std::string>& tokens) {
  for (auto& t : tokens) {
    std::vector<std::size_t> starts;  // byte offset of each char
    for (std::size_t i = 0; i < t.size(); i += utf8_sequence_length(static_cast<unsigned char>(t[i])))
      starts.push_back(i);
    auto char_at = [&](std::size_t k) {
      std::size_t i = starts[k];
      return utf8_next(t, i);
    };
    std::size_t n = starts.size(), cut_start = 0, cut_stop = n;
    for (std::size_t k = 0; k < n && k < d.start && char_at(k) == d.content; ++k) cut_start = k + 1;
    for (std::size_t k = 0; k < n && k < d.stop && char_at(n - 1 - k) == d.content; ++k) cut_stop = n - 1 - k;
    if (cut_stop < cut_start) cut_stop = cut_start;
    std::size_t b0 = cut_start < n ? starts[cut_start] : t.size();
    std::size_t b1 = cut_stop < n ? starts[cut_stop] : t.size();
    t = t.substr(b0, b1 - b0);
  }
}

inline void apply(const MetaspaceDecoder& d, std::vector<std::string>& tokens) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto& t = tokens[i];
    std::string out;
    std::size_t pos = 0;
    for (std::size_t hit; (hit = t.find(d.replacement, pos)) != std::string::npos; pos = hit + d.replacement.size()) {
      out.append(t, pos, hit - pos);
      if (!(i == 0 && d.prepend)) out += ' ';
    }
    out.append(t, pos);
    t = std::move(out);
  }
}

}  // namespace detail

// Runs the steps in order; with no steps, tokens are joined with spaces (HF's behaviour without a decoder).
inline std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens,
                                bool joined_with_space_without_steps = true) {
  if (steps.empty() && joined_with_space_without_steps) {
    std::string out;
    for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const auto& s : steps) std::visit([&](const auto& d) { detail::apply(d, tokens); }, s);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

// The decoder chain Llama-2 / Mistral tokenizer.json ship for SentencePiece-style BPE.
inline std::vector<DecoderStep> sentencepiece_decoders(bool strip_dummy_prefix) {
  std::vector<DecoderStep> steps{ReplaceDecoder{"\xE2\x96\x81", " "}, ByteFallbackDecoder{}, FuseDecoder{}};
  if (strip_dummy_prefix) steps.push_back(StripDecoder{U' ', 1, 0});
  return steps;
}

}  // namespace curebench::tokenizer
