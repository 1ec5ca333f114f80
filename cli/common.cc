#include "common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "progress.h"

namespace zeroshot::cli {

void ModelFlags::add_to(CLI::App& command) {
  command
      .add_option("--repo", repo,
                  "Model: a local folder in the Hugging Face CLIP or SigLIP layout, or a hub "
                  "repo id")
      ->capture_default_str();
  command.add_option("--revision", revision, "Branch, tag or commit of a hub repo")
      ->capture_default_str();
  command.add_option("--threads", threads, "Threads for inference (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      .add_option("--precision", precision,
                  "fp32 (exact) or int8 (quantised linear layers: faster, slightly less accurate)")
      ->check(CLI::IsMember({"fp32", "int8"}))
      ->capture_default_str();
}

void ModelFlags::add_decode_to(CLI::App& command) {
  command
      .add_option("--decode", decode,
                  "exact (every pixel: Hugging Face's pixels exactly) or fast (JPEG and WebP "
                  "decoded at 1/2, 1/4 or 1/8 while at least twice the model's input size, then "
                  "the same resize: camera photos several times faster, embeddings within cosine "
                  "0.9999; small pictures and other formats as exact)")
      ->check(CLI::IsMember({"exact", "fast"}))
      ->capture_default_str();
}

DecodeOptions ModelFlags::decode_options(const Model& model) const {
  return model.decode_options(decode == "fast" ? DecodeMode::kFast : DecodeMode::kExact);
}

Model ModelFlags::load() const {
  // A first use of a hub repo downloads it: show the same progress bar as `zeroshot download`
  // (on a terminal only; nothing is drawn for local folders and cached models).
  ProgressBar bar(ProgressBar::stderr_is_terminal());
  return Model::load({.repo = repo,
                      .revision = revision,
                      .threads = threads,
                      .precision = precision == "int8" ? Precision::kInt8 : Precision::kFloat32,
                      .progress = bar.callback()});
}

void ModelFlags::default_to_index(const CLI::App& command, const IndexInfo& info) {
  if (info.repo.empty()) return;
  if (command.count("--repo") == 0) {
    repo = info.repo;
    if (command.count("--revision") == 0) revision = info.revision;
  }
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

namespace {
int saved_argc = 0;
char** saved_argv = nullptr;
}  // namespace

void remember_command_line(int argc, char** argv) {
  saved_argc = argc;
  saved_argv = argv;
}

void run_with_passive_waits() {
  if (saved_argv == nullptr || saved_argc < 1 || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (::setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  std::cout.flush();
  std::cerr.flush();
  ::execv("/proc/self/exe", saved_argv);
  ::unsetenv("OMP_WAIT_POLICY");  // exec failed: go on with the waits as they are
}

void print_json(const nlohmann::json& value) {
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  std::cout << value.dump(terminal ? 2 : -1, ' ', /*ensure_ascii=*/false,
                          nlohmann::json::error_handler_t::replace)
            << "\n";
}

}  // namespace zeroshot::cli
