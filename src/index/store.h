// The embedding store of an image collection: one SQLite file holding, per indexed file, its
// path, its signature (size, mtime, content hash) and its vector (or why it has none), and the
// identity of the model that made the vectors. It knows vectors, not models: the api computes
// embeddings and hashes and decides what to re-embed.
//
// Crash safety: every write is inside a transaction that SQLite commits atomically (rollback
// journal, synchronous=FULL), so a process killed at any moment leaves the file as of its last
// commit. One Store opened for update holds an exclusive lock on the file for its lifetime: a
// second writer fails at once with a message naming the file, instead of interleaving.
//
// Thread safety: a Store is one SQLite connection; use it from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zeroshot::index {

// What the vectors of an index were made with. An index holds vectors of one model only.
struct Identity {
  std::string model;     // the repo id or folder the user named
  std::string revision;  // the revision asked for ("main", a tag or a commit)
  std::string family;    // config.json's model_type
  int dim = 0;           // floats per vector
};

// One indexed file.
struct FileRecord {
  std::string path;           // absolute
  std::int64_t size = 0;      // bytes
  std::int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
  std::string hash;           // content hash (lowercase hex); empty when unknown
  // Why the file has no vector ("image_decode: ..."); nullopt when it has one.
  std::optional<std::string> error;
};

// Every vector of the index, contiguous (search is one matrix product over it).
struct Vectors {
  std::vector<std::string> paths;  // [n]
  std::vector<float> data;         // [n, dim], row i is paths[i]'s vector
  int dim = 0;
};

class Store {
 public:
  enum class Mode {
    kRead,    // queries only; the file must exist
    kUpdate,  // creates the file if missing; holds the writer's lock until destroyed
  };

  // Opens `path`. Throws zeroshot::Error: kInvalidArgument naming the file when it is not a
  // zeroshot index (not SQLite, another program's database, a newer format), leaving it byte for
  // byte as it was; kIo when it cannot be read or created, or (kUpdate) when another process is
  // updating it.
  static Store open(const std::string& path, Mode mode);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& path() const;
  // nullopt for an index nothing was written to yet.
  std::optional<Identity> identity() const;
  // Records the identity of a new index; for one that has an identity, throws
  // Error(kInvalidArgument) naming both models unless it is the same.
  void check_or_set_identity(const Identity& identity);
  // The same check without writing: throws unless the index is empty of an identity or has this
  // one.
  void check_identity(const Identity& identity) const;

  std::optional<FileRecord> file(const std::string& path) const;
  // A vector stored for a file with this content hash (a copy or a renamed file), if any.
  std::optional<std::vector<float>> vector_for_hash(const std::string& hash) const;
  // Paths of indexed files below `folder` (an absolute folder path), sorted.
  std::vector<std::string> paths_under(const std::string& folder) const;
  // Every file recorded with an error, sorted by path.
  std::vector<FileRecord> failures() const;
  std::size_t file_count() const;    // with or without a vector
  std::size_t vector_count() const;  // files with a vector
  Vectors vectors() const;           // sorted by path

  // Groups the writes between begin() and commit() into one atomic, durable transaction (a
  // killed process loses at most the uncommitted group). Writes outside a group commit singly.
  void begin();
  void commit();
  // Inserts or replaces the file; `vector` ([dim]) when it has one, empty with record.error set
  // when it has none. Throws Error(kInvalidArgument) for a vector of the wrong size.
  void put(const FileRecord& record, std::span<const float> vector);
  void remove(const std::string& path);

  // Copies every file record of the index file `other` (vectors and failures) into this one, in
  // one transaction (a killed merge leaves this file as it was; a rerun does it again): a path
  // recorded in both takes `other`'s record. An empty `other` adds nothing. Throws
  // Error(kInvalidArgument) when `other` is not a zeroshot index, is this file, or holds vectors
  // of another model than this index (both named). Returns the records copied.
  std::size_t merge(const std::string& other);

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zeroshot::index
