#pragma once
// IOB2 tags <-> entity spans, with the CoNLL-2000 conlleval script's chunk rules, so entity counts match it:
//  - a chunk starts at B-T, at I-T after O, and at I-T after a tag of another type (an I- tag never continues
//    an entity of a different type: "O I-X" and "B-Y I-X" each start a new X entity, as conlleval counts them);
//  - a chunk ends before O, before B-, and before a tag of another type (and at the end of the sentence).
// Accepted tags: "O", "B-<type>", "I-<type>" with a non-empty type (the type is everything after the first '-',
// as conlleval's /^([^-]*)-(.*)$/ splits it). IOBES/E-/S- and bare "B"/"I" are refused, not guessed at.
#include "curebench/core/error.hpp"

#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace curebench::eval::tasks {

// Tokens [begin, end) of one sentence carry one entity of `type`.
struct Span {
  std::size_t begin = 0, end = 0;
  std::string type;
  auto operator<=>(const Span&) const = default;
  bool operator==(const Span&) const = default;
};

struct Tag {
  char kind = 'O';        // 'O', 'B' or 'I'
  std::string_view type;  // empty for O
};

inline std::optional<Tag> parse_tag(std::string_view tag) {
  if (tag == "O") return Tag{};
  if (tag.size() >= 3 && (tag[0] == 'B' || tag[0] == 'I') && tag[1] == '-') return Tag{tag[0], tag.substr(2)};
  return std::nullopt;
}

inline Tag require_tag(std::string_view tag, std::string_view path, std::string_view field) {
  auto t = parse_tag(tag);
  if (!t)
    throw Error(Errc::dataset, std::string(path), std::string(field),
                "expected an IOB2 tag (O, B-<type> or I-<type>), found '" + std::string(tag) + "'");
  return *t;
}

// The entities of one sentence, in token order. Throws Errc::invalid_argument on a tag parse_tag refuses.
template <class Tags>
std::vector<Span> spans_from_tags(const Tags& tags) {
  std::vector<Span> out;
  bool open = false;
  std::string_view open_type;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    auto parsed = parse_tag(tags[i]);
    if (!parsed)
      throw Error(Errc::invalid_argument, "", "tag " + std::to_string(i),
                  "expected an IOB2 tag (O, B-<type> or I-<type>), found '" + std::string(tags[i]) + "'");
    const Tag t = *parsed;
    const bool continues = open && t.kind == 'I' && t.type == open_type;
    if (open && !continues) {
      out.back().end = i;
      open = false;
    }
    if (t.kind != 'O' && !continues) {
      out.push_back({i, i + 1, std::string(t.type)});
      open = true;
      open_type = t.type;
    }
  }
  if (open) out.back().end = tags.size();
  return out;
}

// The inverse for non-overlapping spans: B- on the first token, I- on the rest, O elsewhere. Overlapping or
// out-of-range spans are a caller bug (Errc::invalid_argument): IOB2 cannot express them.
inline std::vector<std::string> tags_from_spans(std::size_t tokens, const std::vector<Span>& spans) {
  std::vector<std::string> tags(tokens, "O");
  for (const auto& s : spans) {
    require(s.begin < s.end && s.end <= tokens && !s.type.empty(), Errc::invalid_argument, "", "span",
            "span [" + std::to_string(s.begin) + "," + std::to_string(s.end) + ") does not fit " +
                std::to_string(tokens) + " tokens or has no type");
    for (std::size_t i = s.begin; i < s.end; ++i) {
      require(tags[i] == "O", Errc::invalid_argument, "", "span", "spans overlap at token " + std::to_string(i));
      tags[i] = (i == s.begin ? "B-" : "I-") + s.type;
    }
  }
  return tags;
}

}  // namespace curebench::eval::tasks
