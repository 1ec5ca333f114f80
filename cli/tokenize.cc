// zeroshot tokenize: the model's token ids (CLIP BPE or SigLIP SentencePiece), as it sees the text.
#include <cstdio>
#include <memory>

#include "common.h"

namespace zeroshot::cli {

void add_tokenize_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    bool json = false;
    std::vector<std::string> texts;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "tokenize",
      "Print the model's token ids: CLIP <|startoftext|> ... <|endoftext|> (at most 77), SigLIP "
      "SentencePiece ids ending with </s>, SigLIP 2 tokenizer.json ids ending with <eos> (at most "
      "64, not padded)");
  flags->model.add_to(*command);
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_option("TEXT", flags->texts, "Texts to tokenize (verbatim, no template)")
      ->required();
  command->footer(R"(Examples:
  zeroshot tokenize "a photo of a dog"           # prints: 49406 320 1125 539 320 1929 49407
  zeroshot tokenize --json "a dog" "a cat"       # prints [{"text": "a dog", "ids": [...]}, ...]
  zeroshot tokenize --repo google/siglip-base-patch16-224 "a photo of a dog"   # ... ends with 1)");
  command->callback([flags] {
    auto model = flags->model.load();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& text : flags->texts) {
      auto ids = model.tokenize(text);
      if (flags->json) {
        out.push_back({{"text", text}, {"ids", ids}});
      } else {
        for (std::size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
        std::printf("\n");
      }
    }
    if (flags->json) print_json(out);
  });
}

}  // namespace zeroshot::cli
