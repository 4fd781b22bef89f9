#pragma once
// `curebench chat --model PATH --messages FILE [--system S] [--enable-thinking true|false] [--raw] [--json]`: the
// prompt a model's chat template renders for a conversation (add_generation_prompt=True), or the raw text with --raw.
#include "cli_common.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/tokenizer/chat_template.hpp"

namespace cli {

inline void add_chat(CLI::App& app, Context& ctx) {
  static std::string model, messages_file, system, family;
  static bool raw = false;
  static std::optional<bool> enable_thinking;
  auto* sub = app.add_subcommand("chat", "Render a conversation with the model's chat template");
  sub->add_option("--model", model, "Model folder (tokenizer_config.json chat_template, else config.json model_type)");
  sub->add_option("--messages", messages_file, "JSON list of {\"role\", \"content\"} (roles: system, user, assistant)")->required();
  sub->add_option("--system", system, "System prompt; replaces a leading system message in FILE");
  sub->add_option("--family", family, "Template family instead of the model's: gemma2, llama3, mistral_v01, mistral_v02, qwen2, qwen3, chatml, deepseek_r1");
  sub->add_option("--enable-thinking", enable_thinking, "Qwen3's switch (apply_chat_template's enable_thinking): true | false; "
                  "unset = the template's default (thinking); other templates ignore it");
  sub->add_flag("--raw", raw, "No template: contents separated by blank lines (base models)");
  add_json_flag(sub, ctx);
  sub->callback([&ctx] {
    namespace tk = curebench::tokenizer;
    auto msgs = tk::parse_chat_messages(curebench::read_json_file(messages_file), messages_file);
    if (!system.empty()) {
      if (!msgs.empty() && msgs.front().role == "system") msgs.front().content = system;
      else msgs.insert(msgs.begin(), {"system", system});
    }
    std::string prompt, used = "raw";
    if (!raw) {
      tk::ChatSetup setup;
      if (!family.empty()) setup.style = &tk::chat_style(family);
      else if (!model.empty()) setup = tk::chat_setup_for_model(model);
      else throw curebench::Error(curebench::Errc::invalid_argument, "", "--model", "give --model, --family or --raw");
      used = std::string(setup.style->family);
      setup.options.enable_thinking = enable_thinking;
      prompt = tk::render_chat(*setup.style, msgs, setup.options);
    } else {
      prompt = tk::render_raw(msgs);
    }
    if (ctx.json) print_json({{"family", used}, {"prompt", prompt}});
    else std::cout << prompt << std::flush;
  });
}

}  // namespace cli
