#pragma once
// Chat prompts for the seed's model families, written as data instead of Jinja: one ChatStyle row per
// family reproduces what transformers' apply_chat_template(..., add_generation_prompt=True) renders with
// that family's tokenizer_config.json template (checked against rendered references in tests).
// The family is recognised from the template text (signatures), else from config.json model_type.
// Families whose template refuses a system turn (Gemma-2, Mistral v0.1/v0.2) get it folded into the first
// user turn as "system\n\nuser", the way Gemma-3's and later Mistral templates do it themselves.
// Qwen3's template takes `enable_thinking` (ChatOptions::enable_thinking): false closes an empty think block in
// the generation prompt, which is how the CURE-Bench kit renders every local model.
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/utf8.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class SystemPlacement {
  own_turn,          // rendered like any other turn (Llama-3, ChatML)
  fold_into_user,    // "system\n\n" + first user content; roles must then alternate user/assistant
  after_bos,         // the (last) system text right after BOS, outside any turn (DeepSeek-R1)
};

// What a template does with the reasoning ("<think>...</think>") of an assistant turn in the history.
enum class ReasoningHistory {
  keep,   // rendered as written
  drop,   // only the text after the last "</think>" (DeepSeek-R1)
  qwen3,  // Qwen3: dropped before the last user query; after it, re-wrapped as "<think>\nR\n</think>\n\n" + answer
};

struct ChatStyle {
  std::string_view family;
  std::string_view bos;  // written first (empty: none)
  std::string_view eos;  // what the template's eos_token is
  SystemPlacement system = SystemPlacement::own_turn;
  std::string_view default_system;  // inserted when the first message is not a system turn
  std::string_view system_prefix, system_suffix;
  std::string_view user_prefix, user_suffix;
  std::string_view assistant_prefix, assistant_suffix;  // suffix may contain "{eos}"
  std::string_view generation_prompt;
  bool trim_content = false;       // Jinja `| trim` (Python str.strip)
  ReasoningHistory reasoning = ReasoningHistory::keep;
  std::string_view thinking_off;   // appended to the generation prompt when enable_thinking is false (Qwen3)
};

// The rows. Sources of each template: tests/data/tokenizer/README.md.
inline constexpr ChatStyle kChatStyles[] = {
    {"gemma2", "<bos>", "<eos>", SystemPlacement::fold_into_user, "", "", "",
     "<start_of_turn>user\n", "<end_of_turn>\n", "<start_of_turn>model\n", "<end_of_turn>\n",
     "<start_of_turn>model\n", true, ReasoningHistory::keep},
    {"llama3", "<|begin_of_text|>", "<|eot_id|>", SystemPlacement::own_turn, "",
     "<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>",
     "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>",
     "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>",
     "<|start_header_id|>assistant<|end_header_id|>\n\n", true, ReasoningHistory::keep},
    {"mistral_v01", "<s>", "</s>", SystemPlacement::fold_into_user, "", "", "", "[INST] ", " [/INST]", "", "{eos} ", "",
     false, ReasoningHistory::keep},
    {"mistral_v02", "<s>", "</s>", SystemPlacement::fold_into_user, "", "", "", "[INST] ", " [/INST]", "", "{eos}", "",
     false, ReasoningHistory::keep},
    {"qwen2", "", "<|im_end|>", SystemPlacement::own_turn, "You are a helpful assistant.", "<|im_start|>system\n",
     "<|im_end|>\n", "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>\n",
     "<|im_start|>assistant\n", false, ReasoningHistory::keep},
    // Qwen3 (Qwen/Qwen3-8B and the rest of the Qwen3 hybrid-thinking family): ChatML, no default system turn,
    // the enable_thinking switch and its reasoning rules for assistant history.
    {"qwen3", "", "<|im_end|>", SystemPlacement::own_turn, "", "<|im_start|>system\n", "<|im_end|>\n",
     "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>\n", "<|im_start|>assistant\n", false,
     ReasoningHistory::qwen3, "<think>\n\n</think>\n\n"},
    // ChatML without a default system turn (other <|im_start|> templates, simple conversations only).
    {"chatml", "", "<|im_end|>", SystemPlacement::own_turn, "", "<|im_start|>system\n", "<|im_end|>\n",
     "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>\n", "<|im_start|>assistant\n", false,
     ReasoningHistory::keep},
    {"deepseek_r1", "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
     "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", SystemPlacement::after_bos, "", "", "",
     "<\xEF\xBD\x9CUser\xEF\xBD\x9C>", "", "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>", "{eos}",
     "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n", false, ReasoningHistory::drop},
};

inline const ChatStyle& chat_style(std::string_view family) {
  for (const auto& s : kChatStyles)
    if (s.family == family) return s;
  std::string known;
  for (const auto& s : kChatStyles) known += (known.empty() ? "" : ", ") + std::string(s.family);
  throw Error(Errc::unsupported, "", "chat family", "unknown chat family \"" + std::string(family) + "\" (known: " + known + ")");
}

namespace chat_detail {
// Python's str.strip(): Unicode whitespace plus the ASCII separators \x1c-\x1f.
inline bool py_space(char32_t c) {
  return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
inline std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e) {
    std::size_t i = b;
    if (!py_space(utf8_next(s, i))) break;
    b = i;
  }
  while (e > b) {
    std::size_t p = e - 1;
    while (p > b && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    std::size_t i = p;
    if (!py_space(utf8_next(s, i))) break;
    e = p;
  }
  return std::string(s.substr(b, e - b));
}
// Python's str.lstrip('\n') / rstrip('\n') / strip('\n'), as Qwen3's template calls them.
inline std::string_view lstrip_nl(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
inline std::string_view rstrip_nl(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}
// Qwen3's index of the last user query: the last user turn that is not a wrapped tool response, else the last turn.
template <class Msgs>
std::size_t qwen3_last_query(const Msgs& msgs) {
  for (std::size_t i = msgs.size(); i-- > 0;) {
    const std::string_view c = msgs[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (msgs[i].role == "user" && !tool_response) return i;
  }
  return msgs.empty() ? 0 : msgs.size() - 1;
}
// Qwen3's assistant turn body: content.split('</think>')[-1].lstrip('\n') with the reasoning
// content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n'), re-wrapped after the last query
// when the turn is the last one or has reasoning.
inline std::string qwen3_assistant_body(std::string_view content, bool after_last_query, bool last_turn) {
  std::string_view answer = content, reasoning;
  if (auto close = content.find("</think>"); close != std::string_view::npos) {
    answer = lstrip_nl(content.substr(content.rfind("</think>") + 8));
    reasoning = rstrip_nl(content.substr(0, close));
    if (auto open = reasoning.rfind("<think>"); open != std::string_view::npos) reasoning = reasoning.substr(open + 7);
    reasoning = lstrip_nl(reasoning);
  }
  if (after_last_query && (last_turn || !reasoning.empty()))
    return "<think>\n" + std::string(rstrip_nl(lstrip_nl(reasoning))) + "\n</think>\n\n" + std::string(lstrip_nl(answer));
  return std::string(answer);
}
inline std::string with_eos(std::string_view pattern, std::string_view eos) {
  std::string out(pattern);
  if (auto p = out.find("{eos}"); p != std::string::npos) out.replace(p, 5, eos);
  return out;
}
}  // namespace chat_detail

struct ChatOptions {
  bool add_generation_prompt = true;
  std::optional<std::string> bos, eos;  // override the row's tokens (tokenizer_config.json's bos_token/eos_token)
  // apply_chat_template(..., enable_thinking=...): unset = not passed (the template's default: Qwen3 thinks).
  // Only a template that reads it (a row with `thinking_off`) changes; the others ignore it, as Jinja does.
  std::optional<bool> enable_thinking;
};

inline std::string render_chat(const ChatStyle& style, std::span<const ChatMessage> messages, const ChatOptions& opt = {}) {
  const std::string bos = opt.bos.value_or(std::string(style.bos));
  const std::string eos = opt.eos.value_or(std::string(style.eos));
  auto fail = [&](const std::string& msg) { throw Error(Errc::invalid_argument, "", "messages", std::string(style.family) + ": " + msg); };
  for (const auto& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      fail("role \"" + m.role + "\" is not supported (system, user, assistant)");
    require_valid_utf8(m.content, "message content");
  }
  std::vector<ChatMessage> msgs(messages.begin(), messages.end());
  std::string system_text;  // after_bos
  if (style.system == SystemPlacement::fold_into_user) {
    if (!msgs.empty() && msgs.front().role == "system") {
      if (msgs.size() < 2 || msgs[1].role != "user") fail("a system message must be followed by a user message");
      msgs[1].content = msgs.front().content + "\n\n" + msgs[1].content;
      msgs.erase(msgs.begin());
    }
    for (std::size_t i = 0; i < msgs.size(); ++i)
      if ((msgs[i].role == "user") != (i % 2 == 0))
        fail("conversation roles must alternate user/assistant/user/assistant/... (after the optional first system message)");
  } else if (style.system == SystemPlacement::after_bos) {
    for (const auto& m : msgs)
      if (m.role == "system") system_text = m.content;
  }

  const std::size_t last_query = chat_detail::qwen3_last_query(msgs);
  std::string out = bos + system_text;
  if (!style.default_system.empty() && (msgs.empty() || msgs.front().role != "system"))
    out.append(style.system_prefix).append(style.default_system).append(style.system_suffix);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    std::string content = style.trim_content ? chat_detail::trim(m.content) : m.content;
    if (m.role == "system") {
      if (style.system == SystemPlacement::after_bos) continue;
      out.append(style.system_prefix).append(content).append(chat_detail::with_eos(style.system_suffix, eos));
    } else if (m.role == "user") {
      out.append(style.user_prefix).append(content).append(chat_detail::with_eos(style.user_suffix, eos));
    } else {
      if (style.reasoning == ReasoningHistory::drop)
        if (auto p = content.rfind("</think>"); p != std::string::npos) content = content.substr(p + 8);
      if (style.reasoning == ReasoningHistory::qwen3)
        content = chat_detail::qwen3_assistant_body(content, i > last_query, i + 1 == msgs.size());
      out.append(style.assistant_prefix).append(content).append(chat_detail::with_eos(style.assistant_suffix, eos));
    }
  }
  if (opt.add_generation_prompt) {
    out.append(style.generation_prompt);
    if (opt.enable_thinking == std::optional<bool>(false)) out.append(style.thinking_off);
  }
  return out;
}

// Raw mode (base models): the contents, system first, separated by blank lines; no special tokens.
inline std::string render_raw(std::span<const ChatMessage> messages) {
  std::string out;
  for (const auto& m : messages) {
    require_valid_utf8(m.content, "message content");
    if (!out.empty()) out += "\n\n";
    out += m.content;
  }
  return out;
}

// Family from a chat_template string (its marker tokens), or nullopt.
inline std::optional<std::string> chat_family_from_template(std::string_view t) {
  auto has = [&](std::string_view s) { return t.find(s) != std::string_view::npos; };
  if (has("<start_of_turn>")) return "gemma2";
  if (has("<|start_header_id|>")) return "llama3";
  if (has("<\xEF\xBD\x9CUser\xEF\xBD\x9C>")) return "deepseek_r1";
  if (has("<|im_start|>")) {
    if (has("enable_thinking")) return "qwen3";
    return has("You are a helpful assistant.") ? "qwen2" : "chatml";
  }
  if (has("[INST]")) {
    if (has("[AVAILABLE_TOOLS]") || has("[SYSTEM_PROMPT]")) return std::nullopt;  // v0.3+: not modelled
    return has("eos_token + ' '") ? "mistral_v01" : "mistral_v02";
  }
  return std::nullopt;
}

// Family for a model folder: tokenizer_config.json's chat_template, else config.json's model_type.
struct ChatSetup {
  const ChatStyle* style = nullptr;
  ChatOptions options;
};

inline ChatSetup chat_setup_for_model(const std::string& dir) {
  namespace fs = std::filesystem;
  ChatSetup setup;
  nlohmann::json tc;
  const auto tc_path = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(tc_path)) tc = read_json_file(tc_path);
  auto token = [&](const char* key) -> std::optional<std::string> {
    if (!tc.is_object() || !tc.contains(key)) return std::nullopt;
    const auto& v = tc[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return std::nullopt;
  };
  std::optional<std::string> family;
  if (tc.is_object() && tc.contains("chat_template")) {
    const auto& ct = tc["chat_template"];
    std::string text = ct.is_string() ? ct.get<std::string>() : ct.dump();  // list form: [{name, template}]
    family = chat_family_from_template(text);
    if (!family)
      throw Error(Errc::unsupported, tc_path, "chat_template", "no known family matches this chat template "
                  "(known: gemma2, llama3, mistral_v01, mistral_v02, qwen2, qwen3, chatml, deepseek_r1); use --raw");
  } else {
    const auto cfg_path = (fs::path(dir) / "config.json").string();
    if (!fs::exists(cfg_path))
      throw Error(Errc::not_found, dir, "chat_template", "no tokenizer_config.json chat_template and no config.json");
    auto mt = json_get<std::string>(read_json_file(cfg_path), "model_type", cfg_path);
    if (mt == "gemma2" || mt == "gemma") family = "gemma2";
    else if (mt == "qwen2") family = "qwen2";
    else if (mt == "mistral") family = "mistral_v02";
    else if (mt == "llama" && token("bos_token") == std::optional<std::string>("<|begin_of_text|>")) family = "llama3";
    else
      throw Error(Errc::unsupported, cfg_path, "model_type",
                  "no chat template for model_type \"" + mt + "\" without a tokenizer_config.json chat_template; use --raw");
  }
  setup.style = &chat_style(*family);
  setup.options.bos = token("bos_token");
  setup.options.eos = token("eos_token");
  if (setup.style->bos.empty()) setup.options.bos = std::string();  // ChatML templates write no BOS
  return setup;
}

inline std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& j, const std::string& path) {
  require(j.is_array(), Errc::format, path, "", "expected a JSON list of {\"role\", \"content\"} objects");
  std::vector<ChatMessage> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto field = "[" + std::to_string(i) + "]";
    require(j[i].is_object() && j[i].contains("role") && j[i]["role"].is_string() && j[i].contains("content") &&
                j[i]["content"].is_string(),
            Errc::format, path, field, "expected {\"role\": string, \"content\": string}");
    out.push_back({j[i]["role"].get<std::string>(), j[i]["content"].get<std::string>()});
  }
  return out;
}

}  // namespace curebench::tokenizer
