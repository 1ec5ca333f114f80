// zeroshot download: prefetch a hub model into the Hugging Face cache.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "progress.h"

namespace zeroshot::cli {
namespace {

struct DownloadFlags {
  std::string repo;
  std::string revision = "main";
  bool quiet = false;
  bool json = false;
};

}  // namespace

void add_download_command(CLI::App& app) {
  auto flags = std::make_shared<DownloadFlags>();
  auto* command = app.add_subcommand(
      "download", "Download a hub model into the Hugging Face cache (shared with Python)");
  command->add_option("REPO", flags->repo, "Hub repo id, org/name")->required();
  command->add_option("--revision", flags->revision, "Branch, tag or commit hash")
      ->capture_default_str();
  command->add_flag("-q,--quiet", flags->quiet, "No progress bar");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->footer(R"(Examples:
  zeroshot download openai/clip-vit-base-patch32
  zeroshot download --revision 3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268 openai/clip-vit-base-patch32
  HF_TOKEN=hf_... zeroshot download my-org/private-clip

Fetches config.json, model.safetensors, preprocessor_config.json and the tokenizer files (CLIP's
tokenizer.json, vocab.json, merges.txt; SigLIP's spiece.model; SigLIP 2's tokenizer.json) into
HF_HUB_CACHE (default ~/.cache/huggingface/hub), exactly as Python's huggingface_hub would, then
prints the snapshot folder. Files already cached are not downloaded again; an interrupted
download resumes. Later commands (classify --repo ...) then work offline (HF_HUB_OFFLINE=1).
The progress bar goes to stderr when it is a terminal.
JSON output: {"repo": ..., "revision": ..., "commit": ..., "path": ...})");
  command->callback([flags] {
    ProgressBar bar(!flags->quiet && !flags->json && ProgressBar::stderr_is_terminal());
    std::string folder;
    try {
      folder = download_model(flags->repo, flags->revision, bar.callback());
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kInvalidArgument) throw CLI::ValidationError("REPO", e.what());
      throw;
    }
    if (flags->json) {
      print_json({{"repo", flags->repo},
                  {"revision", flags->revision},
                  {"commit", std::filesystem::path(folder).filename().string()},
                  {"path", folder}});
    } else {
      std::printf("%s\n", folder.c_str());
    }
  });
}

}  // namespace zeroshot::cli
