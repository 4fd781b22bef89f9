#pragma once
// A chat message as every chat template and the CURE-Bench `reasoning` column see it: {role, content}.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace curebench::eval {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

using Conversation = std::vector<ChatMessage>;

// A conversation as plain text, for a model without a chat template (base models): the contents, blank-line
// separated, and nothing after the last one. A loglikelihood continuation (" B") or a generation follows
// the last message directly ("...Answer:" + " B"), as the protocols' prompts are written.
inline std::string render_without_template(const Conversation& c) {
  std::string out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (i) out += "\n\n";
    out += c[i].content;
  }
  return out;
}

inline void to_json(nlohmann::json& j, const ChatMessage& m) { j = {{"role", m.role}, {"content", m.content}}; }
inline void from_json(const nlohmann::json& j, ChatMessage& m) {
  m.role = j.at("role").get<std::string>();
  m.content = j.at("content").get<std::string>();
}

}  // namespace curebench::eval
