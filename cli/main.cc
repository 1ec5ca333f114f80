// zeroshot: command-line entry point. Each subcommand lives in its own file (see common.h).
// Exit codes: 0 success, 2 usage errors, 1 every other failure (message on stderr).
#include <iostream>
#include <string_view>

#include "common.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{
      "zeroshot: zero-shot image classification with CLIP and SigLIP.\n"
      "Give an image and any labels; get back how well each label describes it."};
  app.set_version_flag("--version", zeroshot::version());
  app.require_subcommand(1);
  app.footer(R"(Examples:
  zeroshot classify dog.jpg "a dog" "a cat" "a sports car"
  zeroshot label --json dog.jpg "a dog" "a cat"
  zeroshot similarity a.jpg b.jpg
  zeroshot download openai/clip-vit-base-patch16
  zeroshot cache ls
  zeroshot serve --port 8080                 # HTTP API and web page
  zeroshot index --db photos.db ~/Pictures   # then: zeroshot search --db photos.db "a dog"
Models: --repo takes a local folder in the Hugging Face CLIP or SigLIP layout (config.json's
model_type picks the family; SigLIP scores are independent sigmoids) or a hub id (default
openai/clip-vit-base-patch32), downloaded on first use into the Hugging Face cache that Python's
huggingface_hub shares (HF_HUB_CACHE; HF_HUB_OFFLINE=1 never touches the network).
Run 'zeroshot SUBCOMMAND --help' for each subcommand's options and examples.)");
  zeroshot::cli::add_classify_commands(app);
  zeroshot::cli::add_similarity_command(app);
  zeroshot::cli::add_embed_command(app);
  zeroshot::cli::add_tokenize_command(app);
  zeroshot::cli::add_download_command(app);
  zeroshot::cli::add_cache_command(app);
  zeroshot::cli::add_serve_command(app);
  zeroshot::cli::add_index_command(app);
  zeroshot::cli::add_search_commands(app);
  // Usage errors have the same shape as the others, with the code name "usage" (docs/ERRORS.md).
  auto usage_error = [](const std::string& message) {
    std::cerr << "zeroshot: error (usage): " << message
              << "\nRun 'zeroshot --help' (or 'zeroshot SUBCOMMAND --help') for usage.\n";
    return 2;
  };
  // CLI11 would only say "A subcommand is required": name the word it did not know.
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[1]); }).empty()) {
    return usage_error("unknown subcommand '" + std::string(argv[1]) + "'");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "successful" parse errors with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(e.what());
  } catch (const zeroshot::Error& e) {
    std::cerr << "zeroshot: error (" << zeroshot::error_code_name(e.code()) << "): " << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    // Not a zeroshot::Error (std::bad_alloc, say): a bug or resource exhaustion.
    std::cerr << "zeroshot: error (internal): " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  zeroshot::cli::remember_command_line(argc, argv);
  // A command should not wait for the disk: the weights it prepares for a later run are written
  // by a background child once its output is out (README, "Prepared weights"). The server
  // lives long enough to write them as it packs them.
  const bool defer = !(argc > 1 && std::string_view(argv[1]) == "serve");
  if (defer) zeroshot::defer_prepared_weights();
  const int code = run(argc, argv);
  if (defer) {
    std::cout.flush();
    zeroshot::write_prepared_weights_in_background();
  }
  return code;
}
