// Chat prompts against transformers 5.17 apply_chat_template(..., add_generation_prompt=True) renderings of
// each family's own Jinja template (tests/data/tokenizer/hf/chat_references.json; templates and sources in
// tests/data/tokenizer/chat_templates.json and README.md).
#include "curebench/core/json_file.hpp"
#include "curebench/eval/sha256.hpp"  // the reference file names the template it rendered by its sha256
#include "curebench/tokenizer/chat_template.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace curebench;
using namespace curebench::tokenizer;
namespace fs = std::filesystem;

namespace {
const std::string kData = std::string(CUREBENCH_TEST_DATA) + "/tokenizer";

class ChatReference : public ::testing::TestWithParam<std::string> {};
}  // namespace

TEST_P(ChatReference, RendersLikeTransformers) {
  auto refs = read_json_file(kData + "/hf/chat_references.json");
  const auto& cases = refs.at("families").at(GetParam());
  ASSERT_GE(cases.size(), 8u);
  const auto& style = chat_style(GetParam());
  for (const auto& c : cases) {
    auto msgs = parse_chat_messages(c.at("messages"), "chat_references.json");
    if (c.contains("error")) {
      EXPECT_THROW(render_chat(style, msgs), Error) << c.dump();
      continue;
    }
    EXPECT_EQ(render_chat(style, msgs), c.at("rendered").get<std::string>()) << c.at("messages").dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ChatReference,
                         ::testing::Values("gemma2", "llama3", "mistral_v01", "mistral_v02", "qwen2", "deepseek_r1"));

TEST(ChatTemplate, FamilyFromTemplateSignatures) {
  auto templates = read_json_file(kData + "/chat_templates.json");
  for (const auto& [family, t] : templates.items())
    EXPECT_EQ(chat_family_from_template(t.at("chat_template").get<std::string>()), family);
  EXPECT_EQ(chat_family_from_template("{{ messages }}"), std::nullopt);
}

TEST(ChatTemplate, ModelFolderUsesTokenizerConfigThenModelType) {
  fs::path dir = fs::temp_directory_path() / ("curebench_chat_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto templates = read_json_file(kData + "/chat_templates.json");
  // tokenizer_config.json with Llama-3's template (and its bos/eos).
  std::ofstream(dir / "tokenizer_config.json")
      << nlohmann::json{{"chat_template", templates["llama3"]["chat_template"]}, {"bos_token", "<|begin_of_text|>"},
                        {"eos_token", "<|eot_id|>"}}.dump();
  auto setup = chat_setup_for_model(dir.string());
  EXPECT_EQ(setup.style->family, "llama3");
  std::vector<ChatMessage> m{{"user", "Hello"}};
  EXPECT_EQ(render_chat(*setup.style, m, setup.options),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // No tokenizer_config.json: config.json model_type picks the family.
  fs::remove(dir / "tokenizer_config.json");
  std::ofstream(dir / "config.json") << R"({"model_type": "qwen2"})";
  EXPECT_EQ(chat_setup_for_model(dir.string()).style->family, "qwen2");
  std::ofstream(dir / "config.json") << R"({"model_type": "gpt_neox"})";
  try {
    chat_setup_for_model(dir.string());
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported);
    EXPECT_EQ(e.field(), "model_type");
  }
  fs::remove_all(dir);
}

TEST(ChatTemplate, RawModeAndBadMessages) {
  std::vector<ChatMessage> m{{"system", "S"}, {"user", "Q"}};
  EXPECT_EQ(render_raw(m), "S\n\nQ");
  std::vector<ChatMessage> bad_role{{"tool", "x"}};
  EXPECT_THROW(render_chat(chat_style("llama3"), bad_role), Error);
  std::vector<ChatMessage> two_users{{"user", "a"}, {"user", "b"}};
  EXPECT_THROW(render_chat(chat_style("gemma2"), two_users), Error);
  EXPECT_NO_THROW(render_chat(chat_style("llama3"), two_users));
  EXPECT_THROW(chat_style("vicuna"), Error);
  EXPECT_THROW(parse_chat_messages(nlohmann::json::parse(R"([{"role": "user"}])"), "m.json"), Error);
}

// Qwen3's enable_thinking switch (issue 18, point 3). Two independent references:
//  - hf/qwen3_chat_references.json: transformers 5.17 tokenizer.apply_chat_template on the Qwen3 tokenizer
//    (tests/fixtures/make_qwen3_chat_references.py), 15 conversations x enable_thinking unset / true / false;
//  - the strings below, derived by hand from the template text (chat_templates.json "qwen3"): the generation
//    prompt is '<|im_start|>assistant\n', then '<think>\n\n</think>\n\n' only when `enable_thinking is defined
//    and enable_thinking is false`; an assistant turn after the last user query is re-wrapped as
//    '<think>\n' + reasoning.strip('\n') + '\n</think>\n\n' + answer when it is the last turn or has reasoning;
//    before that query only content.split('</think>')[-1].lstrip('\n') is kept.
TEST(ChatTemplate, Qwen3EnableThinkingByHand) {
  const auto& qwen3 = chat_style("qwen3");
  std::vector<ChatMessage> kit{{"system", "You are a helpful assistant."}, {"user", "Q"}};
  const std::string head = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n";
  ChatOptions on, off, unset;
  on.enable_thinking = true;
  off.enable_thinking = false;
  EXPECT_EQ(render_chat(qwen3, kit, unset), head + "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(qwen3, kit, on), head + "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(qwen3, kit, off), head + "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  // Templates that do not read enable_thinking ignore it (Jinja ignores an unused variable).
  EXPECT_EQ(render_chat(chat_style("qwen2"), kit, off), render_chat(chat_style("qwen2"), kit, unset));
  // Reasoning before the last query is dropped; an answer last after it gets an (empty) think block.
  std::vector<ChatMessage> history{{"user", "Q1"}, {"assistant", "<think>r1</think>\n\nA1"}, {"user", "Q2"}};
  EXPECT_EQ(render_chat(qwen3, history, unset),
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
            "<|im_start|>assistant\n");
  std::vector<ChatMessage> answered{{"user", "Q"}, {"assistant", "B"}};
  EXPECT_EQ(render_chat(qwen3, answered, off),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nB<|im_end|>\n"
            "<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(ChatTemplate, Qwen3RendersLikeTransformers) {
  auto refs = read_json_file(kData + "/hf/qwen3_chat_references.json");
  auto templates = read_json_file(kData + "/chat_templates.json");
  ASSERT_EQ(eval::sha256_hex(templates.at("qwen3").at("chat_template").get<std::string>()), refs.at("chat_template_sha256"));
  EXPECT_EQ(chat_family_from_template(templates.at("qwen3").at("chat_template").get<std::string>()), "qwen3");
  const auto& cases = refs.at("cases");
  ASSERT_EQ(cases.size(), 45u);
  std::size_t thinking_off = 0;
  for (const auto& c : cases) {
    ChatOptions opt;
    if (!c.at("enable_thinking").is_null()) opt.enable_thinking = c.at("enable_thinking").get<bool>();
    thinking_off += opt.enable_thinking == std::optional<bool>(false);
    auto msgs = parse_chat_messages(c.at("messages"), "qwen3_chat_references.json");
    EXPECT_EQ(render_chat(chat_style("qwen3"), msgs, opt), c.at("rendered").get<std::string>())
        << c.at("messages").dump() << " enable_thinking=" << c.at("enable_thinking").dump();
  }
  EXPECT_EQ(thinking_off, 15u);
}
