// zeroshot: an index of an image collection (one SQLite file of embeddings), to find images by
// text or by image and to classify the whole collection against new labels without decoding it.
//
//   auto model = zeroshot::Model::load({.repo = "openai/clip-vit-base-patch32"});
//   auto index = zeroshot::Index::open("photos.db", model, zeroshot::IndexMode::kUpdate,
//                                      {.repo = "openai/clip-vit-base-patch32"});
//   std::vector<std::string> folders = {"/home/me/Pictures"};
//   zeroshot::IndexUpdate update = index.add(folders);  // incremental: rerun it any time
//   for (const auto& hit : index.search("a photo of a dog on a beach", {.top_k = 5}))
//     std::printf("%.3f %s\n", hit.score, hit.path.c_str());
//
// Thread safety: an Index is one database connection; use it from one thread at a time. Any
// number of readers (kRead) may use one file at once; one writer (kUpdate) holds it alone.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zeroshot/image.h"
#include "zeroshot/model.h"

namespace zeroshot {

enum class IndexMode {
  kRead,    // search and classify; the file must exist
  kUpdate,  // also add(); creates the file; a second writer on the same file is refused
};

// The model whose vectors an index holds, as the caller named it: Index::open records it in a new
// index and refuses another model (vectors of two models cannot be compared).
struct IndexModel {
  std::string repo;  // a hub repo id or a model folder (stored as an absolute path)
  std::string revision = "main";
};

// What an index file holds (Index::info, Index::read_info).
struct IndexInfo {
  std::string path;
  std::string repo;          // empty for an index nothing was written to
  std::string revision;      // as given to open
  std::string family;        // config.json's model_type ("clip", "siglip")
  int dim = 0;               // floats per vector
  std::size_t files = 0;     // indexed files, with or without a vector
  std::size_t vectors = 0;   // files with a vector
  std::size_t failures = 0;  // files recorded with an error (no vector)
};

struct IndexFailure {
  std::string path;   // absolute
  std::string error;  // "image_decode: ..." (the error code's name, then the message)
};

// What one add() did.
struct IndexUpdate {
  std::size_t added = 0;      // new files that got a vector
  std::size_t updated = 0;    // changed files (another size or mtime) that got a new vector
  std::size_t unchanged = 0;  // same size and mtime as indexed (a recorded failure too): skipped
  std::size_t removed = 0;    // indexed files gone from the folders scanned
  std::size_t reused = 0;     // of added + updated: vectors copied from a file with the same
                              // content (a copy or a rename), no image decoded
  // New or changed files that got no vector (missing, unreadable, not an image): recorded with
  // their error (a rerun skips them until they change), never fatal.
  std::vector<IndexFailure> failed;
};

struct IndexAddOptions {
  // Images per pass of the vision tower, and per transaction: a process killed at any moment
  // loses at most the batch in flight, and a rerun completes the index.
  std::size_t batch = 16;
  // Threads decoding ahead of the model (at least 1).
  std::size_t decode_threads = 2;
  // kFast: JPEG and WebP decoded reduced for the model (Model::decode_options); vectors within
  // cosine 0.9999 of kExact's, so an index may mix them.
  DecodeMode decode = DecodeMode::kExact;
  // Called after each batch is committed (and once at the start) with the new and changed files
  // done and their total. Must not throw.
  std::function<void(std::size_t done, std::size_t total)> progress = nullptr;
  // Only the files (absolute paths, as stored) for which it returns true are scanned, added or
  // removed: one shard's share of a collection, indexed into a file of its own and merged with
  // Index::merge (the CLI's --shard I/N). Null: every file.
  std::function<bool(const std::string& path)> select = nullptr;
};

struct SearchHit {
  std::string path;  // absolute
  float score;       // cosine of the query's and the image's L2-normalised embeddings
};

struct IndexSearchOptions {
  std::size_t top_k = 10;   // 0 = every image
  float min_score = -1.0f;  // hits scoring below it are left out
  // Approximate search: an HNSW graph over the stored vectors, built on the first approximate
  // search and kept by this Index (building takes far longer than one exact search: about a
  // minute per 100,000 vectors on 2 cores; worth it for a process that answers many queries over
  // a large collection, e.g. zeroshot serve --ann). Each hit's score is still its exact cosine,
  // but a few of the true best may be missing (recall@10 >= 0.95 on clustered data in
  // bench/search_bench). top_k = 0 is always exact.
  bool approximate = false;
};

// One indexed image's scores against labels (Index::classify).
struct IndexedScores {
  std::string path;
  std::vector<LabelScore> scores;
};

class Index {
 public:
  // Opens (kUpdate: creates) the index file `path` for vectors of `model`, which `identity`
  // names. Throws zeroshot::Error: kInvalidArgument when the file is missing (kRead) or is not a
  // zeroshot index (left
  // byte for byte as it was) or holds vectors of another model or revision (the message says how
  // to rebuild); kIo when it cannot be read or created, or (kUpdate) when another process is
  // updating it.
  static Index open(const std::string& path, const Model& model, IndexMode mode,
                    const IndexModel& identity);
  // Merges the index files `shards` (each made by add(), e.g. one per shard of a collection) into
  // the index file `into` (created if missing), without a model: every file record is copied,
  // each shard in one transaction (a merge killed at any moment leaves `into` as of its last
  // shard; rerunning it gives the same result). A path in several files takes the last one's
  // record. Throws zeroshot::Error: kInvalidArgument when a file is not a zeroshot index (left as
  // it was) or holds vectors of another model than the others (both named); kIo as open(kUpdate).
  // Returns the records copied.
  static std::size_t merge(const std::string& into, std::span<const std::string> shards);
  // What the index file holds, without a model (to load the model it was built with). Throws as
  // open(kRead).
  static IndexInfo read_info(const std::string& path);

  Index(Index&&) noexcept;
  Index& operator=(Index&&) noexcept;
  ~Index();

  IndexInfo info() const;

  // Indexes image files and folders (absolute or relative paths; folders recursively, image
  // files by has_image_extension). Incremental: unchanged files (size + mtime) are skipped, new
  // and changed files are read once, ahead on a thread of their own, and hashed (SHA-256 of the
  // content); a content already indexed (a copy, a rename) reuses its vector; the others are
  // decoded from the bytes read and embedded in batches. Files indexed
  // below a folder named here that are no longer there are removed. kUpdate only.
  IndexUpdate add(std::span<const std::string> paths, const IndexAddOptions& options = {});

  // The indexed images best matching the query, best first (equal scores by path). The text is
  // embedded verbatim (apply a template yourself); an empty index gives no hits.
  std::vector<SearchHit> search(std::string_view text, const IndexSearchOptions& options = {});
  std::vector<SearchHit> search(const Image& image, const IndexSearchOptions& options = {});
  // An L2-normalised embedding of this index's model ([info().dim]).
  std::vector<SearchHit> search(std::span<const float> embedding,
                                const IndexSearchOptions& options = {});

  // Whether `path` (absolute, as search returns it) is an indexed image with a vector: the
  // service serves thumbnails of these files only.
  bool contains(const std::string& path);

  // Groups of near-duplicates: images linked by a cosine of at least `threshold` (single linkage:
  // a chain of close pairs is one group), each group sorted by path, the groups by their first
  // path; images without a close one are in no group. Exact: every pair is scored, in chunks
  // of one matrix product each, so memory stays bounded (time grows with the square of the
  // images).
  std::vector<std::vector<std::string>> duplicates(float threshold);

  // Every indexed image (with a vector), sorted by path, with exactly the scores
  // Model::classify_embedding gives its stored embedding: no image is decoded.
  std::vector<IndexedScores> classify(const LabelSet& labels, int top_k = 0);

  struct Impl;

 private:
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zeroshot
