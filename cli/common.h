// Shared pieces of the CLI: model flags, output helpers and the subcommand registry.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "zeroshot/zeroshot.h"

namespace zeroshot::cli {

// --repo and --revision, on every subcommand that loads a model.
struct ModelFlags {
  std::string repo = std::string(kDefaultRepo);
  std::string revision = "main";
  int threads = 0;
  std::string precision = "fp32";  // fp32 | int8
  std::string decode = "exact";    // exact | fast (--decode, on commands that decode images)
  void add_to(CLI::App& command);
  // --decode, for the commands that decode images.
  void add_decode_to(CLI::App& command);
  Model load() const;
  // The DecodeOptions of --decode for images `model` will see.
  DecodeOptions decode_options(const Model& model) const;
  // For a command on an existing index (--db): unless --repo (--revision) was given on `command`,
  // the model and revision the index was built with.
  void default_to_index(const CLI::App& command, const IndexInfo& info);
  IndexModel index_model() const { return {repo, revision}; }
};

// "0 B", "999 B", "1.5 kB", "2.3 GB": decimal units, as the hub and huggingface_hub show sizes.
std::string format_bytes(double bytes);

// Prints a JSON value on stdout (pretty for people, one line when piped).
void print_json(const nlohmann::json& value);

// The command line, kept by main() for run_with_passive_waits.
void remember_command_line(int argc, char** argv);
// Batch commands decode the next images on a thread beside the model's OpenMP threads. With
// OpenMP's default waits, threads spin at every barrier and take the core the decoder needs
// (measured on 2 cores, 4000x3000 JPEGs, --decode fast: 0.59x the 640x480 rate, 0.76x with
// passive waits; bench/README.md). OpenMP reads OMP_WAIT_POLICY only at start-up, so when the
// user has not set it this starts the same command again with OMP_WAIT_POLICY=passive (before
// any side effect); if that fails, the command goes on as it is.
void run_with_passive_waits();

// Subcommands, one file each.
void add_classify_commands(CLI::App& app);  // classify, label
void add_similarity_command(CLI::App& app);
void add_embed_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_download_command(CLI::App& app);
void add_cache_command(CLI::App& app);
void add_serve_command(CLI::App& app);  // server/ does the work
void add_index_command(CLI::App& app);
void add_search_commands(CLI::App& app);  // search, dups

}  // namespace zeroshot::cli
