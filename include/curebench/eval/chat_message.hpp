#pragma once
// A chat message as every chat template and the CURE-Bench `reasoning` column see it: {role, content}.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace curebench::eval {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

using Conversation = std::vector<ChatMessage>;

inline void to_json(nlohmann::json& j, const ChatMessage& m) { j = {{"role", m.role}, {"content", m.content}}; }
inline void from_json(const nlohmann::json& j, ChatMessage& m) {
  m.role = j.at("role").get<std::string>();
  m.content = j.at("content").get<std::string>();
}

}  // namespace curebench::eval
