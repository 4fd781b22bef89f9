#pragma once
// The tokenizer the rest of curebench uses: a concept every model satisfies, and `Tokenizer`, a
// type-erased value holding any of them (chosen at run time from the files a checkpoint ships).
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::tokenizer {

template <class T>
concept TextTokenizer = requires(const T& t, std::string_view text, std::span<const int32_t> ids, int32_t id) {
  // add_special_tokens: BOS/EOS as the checkpoint's post-processor adds them (HF encode semantics).
  { t.encode(text, true) } -> std::same_as<std::vector<int32_t>>;
  // skip_special_tokens: drop special/control tokens before decoding (HF decode semantics).
  { t.decode(ids, true) } -> std::same_as<std::string>;
  { t.id_to_piece(id) } -> std::convertible_to<std::string>;
  { t.piece_to_id(text) } -> std::same_as<std::optional<int32_t>>;
  { t.vocab_size() } -> std::convertible_to<std::size_t>;
  { t.bos_id() } -> std::same_as<std::optional<int32_t>>;
  { t.eos_ids() } -> std::same_as<std::vector<int32_t>>;
  { t.pad_id() } -> std::same_as<std::optional<int32_t>>;
  { t.is_special(id) } -> std::same_as<bool>;
};

class Tokenizer {
 public:
  template <TextTokenizer T>
  Tokenizer(T impl, std::string kind) : self_(std::make_shared<Model<T>>(std::move(impl))), kind_(std::move(kind)) {}

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const {
    return self_->encode(text, add_special_tokens);
  }
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
    return self_->decode(ids, skip_special_tokens);
  }
  std::string id_to_piece(int32_t id) const { return self_->id_to_piece(id); }
  std::optional<int32_t> piece_to_id(std::string_view piece) const { return self_->piece_to_id(piece); }
  std::size_t vocab_size() const { return self_->vocab_size(); }
  std::optional<int32_t> bos_id() const { return self_->bos_id(); }
  std::vector<int32_t> eos_ids() const { return self_->eos_ids(); }
  std::optional<int32_t> pad_id() const { return self_->pad_id(); }
  bool is_special(int32_t id) const { return self_->is_special(id); }
  // Which format it came from: "tokenizer.json", "sentencepiece", "llama2c", "gguf".
  const std::string& kind() const { return kind_; }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::vector<int32_t> encode(std::string_view, bool) const = 0;
    virtual std::string decode(std::span<const int32_t>, bool) const = 0;
    virtual std::string id_to_piece(int32_t) const = 0;
    virtual std::optional<int32_t> piece_to_id(std::string_view) const = 0;
    virtual std::size_t vocab_size() const = 0;
    virtual std::optional<int32_t> bos_id() const = 0;
    virtual std::vector<int32_t> eos_ids() const = 0;
    virtual std::optional<int32_t> pad_id() const = 0;
    virtual bool is_special(int32_t) const = 0;
  };
  template <class T>
  struct Model final : Concept {
    explicit Model(T t) : impl(std::move(t)) {}
    std::vector<int32_t> encode(std::string_view s, bool a) const override { return impl.encode(s, a); }
    std::string decode(std::span<const int32_t> ids, bool k) const override { return impl.decode(ids, k); }
    std::string id_to_piece(int32_t id) const override { return impl.id_to_piece(id); }
    std::optional<int32_t> piece_to_id(std::string_view p) const override { return impl.piece_to_id(p); }
    std::size_t vocab_size() const override { return impl.vocab_size(); }
    std::optional<int32_t> bos_id() const override { return impl.bos_id(); }
    std::vector<int32_t> eos_ids() const override { return impl.eos_ids(); }
    std::optional<int32_t> pad_id() const override { return impl.pad_id(); }
    bool is_special(int32_t id) const override { return impl.is_special(id); }
    T impl;
  };
  std::shared_ptr<const Concept> self_;
  std::string kind_;
};

static_assert(TextTokenizer<Tokenizer>);

}  // namespace curebench::tokenizer
