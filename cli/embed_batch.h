// zeroshot embed IMAGES...: embeddings of many images (folders, @lists), sharded and resumable
// like classify -l, as JSON lines or a .npy matrix with an index of paths. See docs/BATCH.md.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "batch_output.h"
#include "common.h"
#include "shard.h"

namespace zeroshot::cli {

struct EmbedBatchFlags {
  std::vector<std::string> inputs;  // positional: images, folders, @lists
  ShardFlags shard;
  OutputFlags output;
  std::string format = "jsonl";  // jsonl | npy
  int batch = 8;
  bool quiet = false;
  void add_to(CLI::App& command);
  // Without IMAGES: any batch flag is a usage error.
  void reject_unless_batch() const;
};

// FILE.npy -> FILE.paths.txt (the image of each row, one per line) and FILE.errors.jsonl.
std::string npy_index_path(const std::string& npy_path);
std::string npy_errors_path(const std::string& npy_path);

void run_embed_batch(const EmbedBatchFlags& flags, const Model& model, const DecodeOptions& decode);

}  // namespace zeroshot::cli
