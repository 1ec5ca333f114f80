// zeroshot index: embed an image collection into an index file (zeroshot::Index), incrementally.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "common.h"
#include "shard.h"

namespace zeroshot::cli {

void add_index_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    std::string db;
    bool json = false;
    bool quiet = false;
    int batch = 16;
    ShardFlags shard;
    std::vector<std::string> inputs;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "index", "Embed images and folders into an index file, to search and classify them later");
  flags->model.add_to(*command);
  flags->model.add_decode_to(*command);
  command->add_option("--db", flags->db, "The index file (SQLite; created if missing)")->required();
  command->add_flag("--json", flags->json, "Print the summary as one JSON object on stdout");
  command->add_flag("-q,--quiet", flags->quiet, "No progress on stderr");
  command->add_option("--batch", flags->batch, "Images per pass through the model")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  flags->shard.add_to(*command);
  command
      ->add_option("PATHS", flags->inputs,
                   "Images, folders (scanned recursively for image files) and @list.txt (one "
                   "path per line)")
      ->required();
  command->footer(R"(Examples:
  zeroshot index --db photos.db ~/Pictures
  zeroshot index --db photos.db --repo google/siglip-base-patch16-224 ~/Pictures more.jpg @list.txt
  zeroshot index --db photos.db --json ~/Pictures     # rerun at any time: only changes are done
  zeroshot index --db part-3.db --shard 3/16 /data/photos   # then: zeroshot index-merge
Paths are stored absolute. Rerunning is incremental: a file with the size and mtime it had is
skipped; a new or changed file is hashed (SHA-256) and, if the index holds a file of the same
content (a copy, a rename), takes its vector without decoding; the others are decoded and embedded
in batches. Files gone from a folder named here are removed from the index. Each batch is one
transaction: a run killed at any moment, then rerun, leaves every image in the index once.
The model (--repo, --revision), its family and dimension are recorded: another model is refused
(use another --db file, or delete this one to rebuild it). Only one index run per file at a time:
a second one stops with an error.
Output: a one-line summary (text), or with --json one object, last on stdout:
  {"added": 120, "updated": 2, "unchanged": 5000, "removed": 3, "reused": 1,
   "failed": [{"path": "/abs/bad.jpg", "error": "image_decode: ..."}]}
A file that cannot be read or decoded is recorded with its error, listed in "failed" (and on
stderr) and skipped by later runs until it changes. The exit code is still 0: the index is
complete, failures included, and a rerun would not change them; check "failed". Exit 1 for an
error that stops the run (not an index, another model, another run holding the file).
Sharded (docs/BATCH.md): --shard I/N (or a Slurm job array, or --shards N in a Kubernetes Indexed
Job) indexes only the files whose absolute path hashes to I, into a --db file of the shard's own;
`zeroshot index-merge --db all.db part-*.db` then merges the shard files into one index.)");
  command->callback([flags] {
    run_with_passive_waits();
    const auto paths = expand_lists(flags->inputs);
    const std::optional<Shard> shard = flags->shard.resolve();
    auto model = flags->model.load();
    auto index = Index::open(flags->db, model, IndexMode::kUpdate, flags->model.index_model());
    const bool show = !flags->quiet && ::isatty(STDERR_FILENO) != 0;
    bool drawn = false;
    IndexAddOptions options{
        .batch = static_cast<std::size_t>(flags->batch),
        .decode = flags->model.decode == "fast" ? DecodeMode::kFast : DecodeMode::kExact};
    if (shard) {
      options.select = [shard = *shard](const std::string& path) {
        return shard_of(path, shard.count) == shard.index;
      };
    }
    if (show) {
      options.progress = [&drawn](std::size_t done, std::size_t total) {
        if (total == 0) return;
        std::fprintf(stderr, "\rindexing: %zu/%zu images ", done, total);
        drawn = true;
      };
    }
    const IndexUpdate update = index.add(paths, options);
    if (drawn) std::fputc('\n', stderr);
    if (flags->json) {
      nlohmann::json failed = nlohmann::json::array();
      for (const auto& f : update.failed) failed.push_back({{"path", f.path}, {"error", f.error}});
      print_json({{"added", update.added},
                  {"updated", update.updated},
                  {"unchanged", update.unchanged},
                  {"removed", update.removed},
                  {"reused", update.reused},
                  {"failed", failed}});
      return;
    }
    if (!flags->quiet) {
      for (const auto& f : update.failed)
        std::fprintf(stderr, "zeroshot: not indexed: %s: %s\n", f.path.c_str(), f.error.c_str());
    }
    const IndexInfo info = index.info();
    std::printf(
        "%s: %zu added, %zu updated, %zu unchanged, %zu removed, %zu failed (%zu reused by "
        "content); %zu images indexed\n",
        flags->db.c_str(), update.added, update.updated, update.unchanged, update.removed,
        update.failed.size(), update.reused, info.vectors);
  });

  struct MergeFlags {
    std::string db;
    std::vector<std::string> shards;
    bool json = false;
  };
  auto merge_flags = std::make_shared<MergeFlags>();
  auto* merge = app.add_subcommand(
      "index-merge", "Merge index files (the shards of a sharded zeroshot index) into one");
  merge->add_option("--db", merge_flags->db, "The merged index file (created if missing)")
      ->required();
  merge->add_flag("--json", merge_flags->json, "Print the summary as one JSON object on stdout");
  merge->add_option("SHARDS", merge_flags->shards, "Index files made by zeroshot index")
      ->required();
  merge->footer(R"(Examples:
  zeroshot index-merge --db photos.db part-*.db
  zeroshot index-merge --db photos.db --json part-0.db part-1.db
Every file record of each shard (vectors and recorded failures) is copied into --db; no model is
loaded and no image is read. All files must hold vectors of the same model (--repo, --revision;
another is refused, naming both). Each shard is one transaction: a merge killed at any moment,
then rerun, gives the same index. A path in several shards takes the last one's record.
Output: a one-line summary, or with --json {"merged": N, "shards": K, "images": M}.)");
  merge->callback([merge_flags] {
    const std::size_t merged = Index::merge(merge_flags->db, merge_flags->shards);
    const IndexInfo info = Index::read_info(merge_flags->db);
    if (merge_flags->json) {
      print_json(
          {{"merged", merged}, {"shards", merge_flags->shards.size()}, {"images", info.vectors}});
      return;
    }
    std::printf("%s: %zu records merged from %zu index files; %zu images indexed\n",
                merge_flags->db.c_str(), merged, merge_flags->shards.size(), info.vectors);
  });
}

}  // namespace zeroshot::cli
