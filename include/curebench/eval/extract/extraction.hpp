#pragma once
// What an extractor needs (the question's options) and what it returns (a letter or an honest null,
// the rule that decided, and the bytes of the original output it used).
#include "curebench/core/error.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curebench::eval::extract {

struct Option {
  char letter;  // 'A'..'Z'
  std::string text;
};

// The options of one question, in the order given. Built from (letter, text) pairs with string or char
// letters, so callers need not share a Question type with this header.
class Options {
 public:
  Options() = default;
  Options(std::vector<Option> items) : items_(std::move(items)) {}
  Options(const std::vector<std::pair<char, std::string>>& items) {
    for (auto& [l, t] : items) add(std::string(1, l), t);
  }
  Options(const std::vector<std::pair<std::string, std::string>>& items) {
    for (auto& [l, t] : items) add(l, t);
  }
  Options(std::initializer_list<std::pair<const char*, const char*>> items) {
    for (auto& [l, t] : items) add(l, t);
  }

  // A CURE-Bench "options" object ({"A": "...", ...}); `where` names the file/line for errors.
  static Options from_json(const nlohmann::json& j, const std::string& where) {
    require(j.is_object(), Errc::dataset, where, "options", "expected an object of letter -> text, found " +
                                                                std::string(j.type_name()));
    Options o;
    for (auto& [k, v] : j.items()) {
      require(v.is_string(), Errc::dataset, where, "options." + k,
              "expected a string, found " + std::string(v.type_name()));
      o.add(k, v.get<std::string>(), where);
    }
    return o;
  }

  const std::vector<Option>& items() const noexcept { return items_; }
  bool empty() const noexcept { return items_.empty(); }
  bool has(char letter) const noexcept { return text_of(letter) != nullptr; }
  const std::string* text_of(char letter) const noexcept {
    for (auto& o : items_)
      if (o.letter == letter) return &o.text;
    return nullptr;
  }
  std::string letters() const {
    std::string s;
    for (auto& o : items_) s += o.letter;
    return s;
  }

 private:
  void add(std::string_view letter, std::string text, const std::string& where = "") {
    bool ok = letter.size() == 1 && letter[0] >= 'A' && letter[0] <= 'Z';
    require(ok, Errc::dataset, where, "options", "expected option letters A-Z, found '" + std::string(letter) + "'");
    require(!has(letter[0]), Errc::dataset, where, "options", "duplicate option letter '" + std::string(letter) + "'");
    items_.push_back({letter[0], std::move(text)});
  }
  std::vector<Option> items_;
};

using Span = std::pair<std::size_t, std::size_t>;  // [begin, end) bytes of the original output

struct Extraction {
  std::optional<std::string> answer;  // one option letter, or nullopt when no answer can be read
  std::string rule;                   // the rule that decided (also set for refusals)
  std::optional<Span> span;           // the bytes that rule read
  std::string reason;                 // why there is no answer (empty when there is one)
};

inline void to_json(nlohmann::json& j, const Extraction& e) {
  j = nlohmann::json{{"answer", e.answer ? nlohmann::json(*e.answer) : nlohmann::json(nullptr)},
                     {"rule", e.rule},
                     {"span", e.span ? nlohmann::json::array({e.span->first, e.span->second}) : nlohmann::json(nullptr)}};
  if (!e.answer) j["reason"] = e.reason;
}

// One finding of a rule: a letter with the span it came from, or a refusal (letter 0) with its reason.
struct Candidate {
  char letter = 0;
  Span span{0, 0};
  std::string_view rule;
  std::string reason;
  bool answers() const noexcept { return letter != 0; }
};

}  // namespace curebench::eval::extract
