#pragma once
// The part of a generated text that is the answer, shared by the NER and relation parsers: text before the
// first blank line and before a line that starts one of the prompt's own markers ("Sentence:", "Task:"), which
// a base model writes when it continues the few-shot pattern with a new item of its own.
#include <cstddef>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline std::vector<std::string_view> answer_lines(std::string_view output) {
  std::vector<std::string_view> lines;
  bool started = false;
  for (std::size_t pos = 0; pos <= output.size();) {
    std::size_t nl = output.find('\n', pos);
    if (nl == std::string_view::npos) nl = output.size();
    const auto line = trim(output.substr(pos, nl - pos));
    pos = nl + 1;
    if (line.empty()) {
      if (started) break;  // a blank line after the answer ends it; leading blank lines do not
      continue;
    }
    if (line.substr(0, 9) == "Sentence:" || line.substr(0, 5) == "Task:") break;
    started = true;
    lines.push_back(line);
  }
  return lines;
}

}  // namespace curebench::eval::tasks
