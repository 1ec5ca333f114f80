// zeroshot::Index: the public index of an image collection over index::Store (the SQLite file),
// index::plan_update (what a scan changes) and index::exact_search (one GEMM), with the model's
// embeddings, hub::Sha256 (content hashes of the bytes read once) and DecodeAhead (decoding those
// bytes ahead of the model).
#include "zeroshot/index.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "family/registry.h"
#include "hub/sha256.h"
#include "index/ann.h"
#include "index/search.h"
#include "index/store.h"
#include "index/update_plan.h"
#include "zeroshot/decode_ahead.h"
#include "zeroshot/error.h"

namespace zeroshot {

namespace fs = std::filesystem;

struct Index::Impl {
  index::Store store;
  Model model;
  IndexMode mode;
  std::optional<index::Vectors> vectors;  // loaded on first search, dropped by add()
  std::unique_ptr<index::AnnIndex> ann;   // built on first approximate search, dropped by add()

  const index::Vectors& loaded() {
    if (!vectors) vectors = store.vectors();
    return *vectors;
  }
};

namespace {

std::string absolute(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) return path;
  return p.lexically_normal().string();
}

// The identity recorded for `model`: a model folder as an absolute path (the same folder named
// from another directory is the same model), a repo id as given.
index::Identity identity_of(const Model& model, const IndexModel& id) {
  std::error_code ec;
  std::string repo = id.repo;
  if (!repo.empty() && fs::is_directory(repo, ec)) {
    repo = absolute(repo);
    while (repo.size() > 1 && repo.back() == '/') repo.pop_back();
  }
  const auto& family = family::family_of(model.folder() + "/config.json");
  return {repo, id.revision, std::string(family.model_type), model.embedding_dim()};
}

std::string describe(const Error& e) {
  return std::string(error_code_name(e.code())) + ": " + e.what();
}

struct Scan {
  std::vector<index::ScannedFile> files;
  std::vector<std::string> folders;
  std::vector<IndexFailure> missing;  // named directly, not there
};

index::ScannedFile stat_file(const std::string& path, bool& ok) {
  struct stat st {};
  ok = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  return {path, ok ? static_cast<std::int64_t>(st.st_size) : 0,
          ok ? static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : 0};
}

Scan scan(std::span<const std::string> paths,
          const std::function<bool(const std::string&)>& select) {
  Scan out;
  std::set<std::string> seen;
  for (const std::string& given : paths) {
    const std::string path = absolute(given);
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::string folder = path;
      while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
      out.folders.push_back(folder);
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied,
                                          ec);
      if (ec) {
        throw Error(ErrorCode::kIo, "cannot read the folder " + folder + ": " + ec.message());
      }
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::error_code type_ec;
        if (it->is_regular_file(type_ec) && has_image_extension(it->path().string()))
          found.push_back(it->path().lexically_normal().string());
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) {
        if (select && !select(f)) continue;
        if (!seen.insert(f).second) continue;
        bool ok = false;
        auto scanned = stat_file(f, ok);
        if (ok) out.files.push_back(std::move(scanned));
      }
      continue;
    }
    if (select && !select(path)) continue;
    if (!seen.insert(path).second) continue;
    bool ok = false;
    auto scanned = stat_file(path, ok);
    if (ok) {
      out.files.push_back(std::move(scanned));
    } else {
      out.missing.push_back(
          {path, std::string(error_code_name(ErrorCode::kImageRead)) + ": " + path +
                     (fs::exists(path, ec) ? " is not a regular file" : ": no such file")});
    }
  }
  return out;
}

// One new or changed file on its way into the index.
struct Pending {
  index::ScannedFile file;
  bool changed = false;
  std::string hash;
};

// describe(), with a decode error's "image buffer" (the bytes' name) replaced by the file's path.
std::string describe_for(const Error& e, const std::string& path) {
  static const std::string kBuffer = "image buffer";
  std::string message = e.what();
  if (message.rfind(kBuffer, 0) == 0) message = path + message.substr(kBuffer.size());
  return std::string(error_code_name(e.code())) + ": " + message;
}

// Reads and hashes the new and changed files in order, on a thread of its own, at most `ahead`
// files (and about 256 MB) ahead of next(): the one read of each file.
class FileReader {
 public:
  struct Read {
    std::size_t todo = 0;  // index into the files given
    std::string bytes;
    std::string hash;                  // SHA-256 of bytes, lowercase hex
    std::optional<std::string> error;  // why the file could not be read ("image_read: ...")
  };

  FileReader(const std::vector<Pending>& todo, std::size_t ahead) : ahead_(ahead) {
    std::vector<std::string> paths;
    paths.reserve(todo.size());
    for (const auto& p : todo) paths.push_back(p.file.path);
    thread_ = std::thread([this, paths = std::move(paths)] { run(paths); });
  }
  ~FileReader() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // The next file in order, waiting for it; nullopt after the last.
  std::optional<Read> next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) return std::nullopt;
    Read read = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= read.bytes.size();
    changed_.notify_all();
    return read;
  }

 private:
  static constexpr std::size_t kMaxBytes = std::size_t{256} << 20;

  static Read read_one(std::size_t index, const std::string& path) {
    Read read;
    read.todo = index;
    try {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        throw Error(ErrorCode::kImageRead, path + ": cannot read image: " + std::strerror(errno));
      }
      if (!S_ISREG(st.st_mode))
        throw Error(ErrorCode::kImageRead, path + ": cannot read image: not a regular file");
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        throw Error(ErrorCode::kImageRead,
                    path + ": cannot read image: permission denied or unreadable");
      }
      // The size of the scan, then whatever the file has grown by since.
      std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      bytes.resize(static_cast<std::size_t>(in.gcount()));
      char more[65536];
      while (in.read(more, sizeof more) || in.gcount() > 0)
        bytes.append(more, static_cast<std::size_t>(in.gcount()));
      hub::Sha256 sha;
      sha.update(bytes.data(), bytes.size());
      read.hash = sha.hex_digest();
      read.bytes = std::move(bytes);
    } catch (const Error& e) {
      read.error = describe(e);
    } catch (const std::exception& e) {
      read.error =
          std::string(error_code_name(ErrorCode::kImageRead)) + ": " + path + ": " + e.what();
    }
    return read;
  }

  void run(const std::vector<std::string>& paths) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      Read read = read_one(i, paths[i]);
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return stop_ || (queue_.size() < ahead_ && (queue_.empty() || bytes_ < kMaxBytes));
      });
      if (stop_) return;
      bytes_ += read.bytes.size();
      queue_.push_back(std::move(read));
      changed_.notify_all();
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }

  const std::size_t ahead_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Read> queue_;
  std::size_t bytes_ = 0;  // of the reads in queue_
  bool stop_ = false;
  bool finished_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

Index Index::open(const std::string& path, const Model& model, IndexMode mode,
                  const IndexModel& identity) {
  auto store = index::Store::open(
      path, mode == IndexMode::kUpdate ? index::Store::Mode::kUpdate : index::Store::Mode::kRead);
  const index::Identity id = identity_of(model, identity);
  if (mode == IndexMode::kUpdate) {
    store.check_or_set_identity(id);
  } else {
    store.check_identity(id);
  }
  return Index(std::make_unique<Impl>(Impl{std::move(store), model, mode, std::nullopt, nullptr}));
}

namespace {

IndexInfo info_of(const index::Store& store) {
  IndexInfo info;
  info.path = store.path();
  if (auto id = store.identity()) {
    info.repo = id->model;
    info.revision = id->revision;
    info.family = id->family;
    info.dim = id->dim;
  }
  info.files = store.file_count();
  info.vectors = store.vector_count();
  info.failures = info.files - info.vectors;
  return info;
}

}  // namespace

IndexInfo Index::read_info(const std::string& path) {
  return info_of(index::Store::open(path, index::Store::Mode::kRead));
}

IndexInfo Index::info() const { return info_of(impl_->store); }

std::size_t Index::merge(const std::string& into, std::span<const std::string> shards) {
  auto store = index::Store::open(into, index::Store::Mode::kUpdate);
  std::size_t copied = 0;
  for (const auto& shard : shards) copied += store.merge(shard);
  return copied;
}

IndexUpdate Index::add(std::span<const std::string> paths, const IndexAddOptions& options) {
  if (impl_->mode != IndexMode::kUpdate) {
    throw Error(ErrorCode::kInvalidArgument,
                impl_->store.path() +
                    " was opened for reading: open it with IndexMode::kUpdate "
                    "to add images");
  }
  impl_->vectors.reset();
  impl_->ann.reset();
  index::Store& store = impl_->store;
  const std::size_t batch = std::max<std::size_t>(options.batch, 1);
  IndexUpdate result;

  Scan found = scan(paths, options.select);
  result.failed = std::move(found.missing);
  index::UpdatePlan plan = index::plan_update(store, found.files, found.folders);
  // Another shard's files are not this run's to remove.
  if (options.select)
    std::erase_if(plan.removed, [&](const auto& p) { return !options.select(p); });
  result.unchanged = plan.unchanged;

  std::vector<Pending> todo;
  todo.reserve(plan.added.size() + plan.changed.size());
  for (const auto& f : plan.added) todo.push_back({f, false, {}});
  for (const auto& f : plan.changed) todo.push_back({f, true, {}});
  // Embedded in path order, whatever the plan's order.
  std::sort(todo.begin(), todo.end(),
            [](const Pending& a, const Pending& b) { return a.file.path < b.file.path; });
  const std::size_t total = todo.size();
  std::size_t done = 0;
  if (options.progress) options.progress(0, total);

  auto count = [&](const Pending& p) { ++(p.changed ? result.updated : result.added); };
  auto record = [&](const Pending& p, std::optional<std::string> error) {
    return index::FileRecord{p.file.path, p.file.size, p.file.mtime_ns, p.hash, std::move(error)};
  };

  // Each new or changed file is read once, ahead of the model on a thread of its own: its bytes
  // are hashed (a content already indexed, or seen earlier in this run, needs no decode) and, when
  // it must be embedded, decoded from those same bytes. A file that cannot be read is a failure
  // like one that cannot be decoded.
  const std::size_t ahead = 2 * batch;
  FileReader reader(todo, ahead);
  DecodeAhead decoder({.threads = std::max<std::size_t>(options.decode_threads, 1),
                       .decode = impl_->model.decode_options(options.decode)});
  std::unordered_map<std::string, std::size_t> leader;           // hash -> todo index being decoded
  std::vector<std::vector<std::size_t>> followers(todo.size());  // same content, later paths
  struct Decoding {
    std::size_t todo;
    std::future<Image> image;
  };
  std::deque<Decoding> decoding;   // leaders in the decoder, in path order
  std::vector<std::size_t> reuse;  // content in the store already: no decode
  std::vector<std::pair<std::size_t, std::string>> unreadable;  // todo index, error
  std::vector<std::size_t> members;  // todo indexes of this batch's decoded images
  std::vector<Image> images;
  std::vector<std::pair<std::size_t, std::string>> errors;  // decode errors: todo index, error

  auto progress = [&] {
    if (options.progress) options.progress(done, total);
  };
  // Copies and renames of indexed contents, and unreadable files: no decode, a batch per
  // transaction all the same.
  auto flush_undecoded = [&] {
    if (reuse.empty() && unreadable.empty()) return;
    store.begin();
    for (std::size_t i : reuse) {
      const auto vector = store.vector_for_hash(todo[i].hash);
      store.put(record(todo[i], std::nullopt), *vector);
      count(todo[i]);
      ++result.reused;
    }
    for (const auto& [i, error] : unreadable) {
      store.put(record(todo[i], error), {});
      result.failed.push_back({todo[i].file.path, error});
    }
    store.commit();
    done += reuse.size() + unreadable.size();
    reuse.clear();
    unreadable.clear();
    progress();
  };
  // A batch of decoded images embedded in one pass, and written (with the files of the same
  // content) in one transaction.
  auto flush = [&] {
    if (members.empty() && errors.empty()) return;
    std::vector<std::vector<float>> embeddings;
    if (!images.empty()) embeddings = impl_->model.embed_images(images);
    store.begin();
    std::size_t written = 0;
    for (std::size_t k = 0; k < members.size(); ++k) {
      store.put(record(todo[members[k]], std::nullopt), embeddings[k]);
      count(todo[members[k]]);
      ++written;
      for (std::size_t i : followers[members[k]]) {
        store.put(record(todo[i], std::nullopt), embeddings[k]);
        count(todo[i]);
        ++result.reused;
        ++written;
      }
    }
    for (const auto& [leader_index, error] : errors) {
      store.put(record(todo[leader_index], error), {});
      result.failed.push_back({todo[leader_index].file.path, error});
      ++written;
      for (std::size_t i : followers[leader_index]) {
        store.put(record(todo[i], error), {});
        result.failed.push_back({todo[i].file.path, error});
        ++written;
      }
    }
    store.commit();
    // Later files with these contents find them in the store (or, after a failure, try again).
    for (std::size_t i : members) leader.erase(todo[i].hash);
    for (const auto& e : errors) leader.erase(todo[e.first].hash);
    done += written;
    members.clear();
    images.clear();
    errors.clear();
    progress();
  };
  // The oldest decode joins the batch.
  auto take_decoded = [&] {
    Decoding d = std::move(decoding.front());
    decoding.pop_front();
    try {
      images.push_back(d.image.get());
      members.push_back(d.todo);
    } catch (const Error& e) {
      errors.emplace_back(d.todo, describe_for(e, todo[d.todo].file.path));
    }
    if (images.size() + errors.size() >= batch) flush();
  };
  while (auto read = reader.next()) {
    const std::size_t i = read->todo;
    if (read->error) {
      unreadable.emplace_back(i, *read->error);
    } else {
      todo[i].hash = std::move(read->hash);
      if (auto it = leader.find(todo[i].hash); it != leader.end()) {
        followers[it->second].push_back(i);
      } else if (store.vector_for_hash(todo[i].hash)) {
        reuse.push_back(i);
      } else {
        leader.emplace(todo[i].hash, i);
        std::vector<ImageSource> source;
        source.push_back(ImageSource::bytes(std::move(read->bytes)));
        auto futures = decoder.submit(std::move(source));  // never refused: no max_waiting
        decoding.push_back({i, std::move(futures->front())});
      }
    }
    if (reuse.size() + unreadable.size() >= batch) flush_undecoded();
    while (decoding.size() >= ahead) take_decoded();
  }
  while (!decoding.empty()) take_decoded();
  flush();
  flush_undecoded();
  // Gone files last: a renamed file's new path has taken the old one's vector by then.
  if (!plan.removed.empty()) {
    store.begin();
    for (const auto& gone : plan.removed) store.remove(gone);
    store.commit();
    result.removed = plan.removed.size();
  }
  std::sort(result.failed.begin(), result.failed.end(),
            [](const IndexFailure& a, const IndexFailure& b) { return a.path < b.path; });
  return result;
}

std::vector<SearchHit> Index::search(std::span<const float> embedding,
                                     const IndexSearchOptions& options) {
  const index::Vectors& v = impl_->loaded();
  if (v.paths.empty()) return {};
  if (static_cast<int>(embedding.size()) != v.dim) {
    throw Error(ErrorCode::kInvalidArgument, "the query embedding has " +
                                                 std::to_string(embedding.size()) +
                                                 " floats; the vectors of " + impl_->store.path() +
                                                 " have " + std::to_string(v.dim));
  }
  const index::SearchOptions search{.top_k = options.top_k, .min_score = options.min_score};
  if (options.approximate && !impl_->ann)
    impl_->ann = std::make_unique<index::AnnIndex>(v.data, v.dim);
  const auto hits = options.approximate ? impl_->ann->search(v.data, embedding, search)
                                        : index::exact_search(v.data, embedding, v.dim, search);
  std::vector<SearchHit> out;
  out.reserve(hits.size());
  // A cosine, clamped as zeroshot::cosine does (float sums of unit vectors can pass 1 by an ulp).
  for (const auto& h : hits) out.push_back({v.paths[h.row], std::clamp(h.score, -1.0f, 1.0f)});
  return out;
}

std::vector<SearchHit> Index::search(std::string_view text, const IndexSearchOptions& options) {
  return search(impl_->model.embed_text(text), options);
}

std::vector<SearchHit> Index::search(const Image& image, const IndexSearchOptions& options) {
  return search(impl_->model.embed_image(image), options);
}

bool Index::contains(const std::string& path) {
  const auto& paths = impl_->loaded().paths;  // sorted by path
  return std::binary_search(paths.begin(), paths.end(), path);
}

std::vector<std::vector<std::string>> Index::duplicates(float threshold) {
  const index::Vectors& v = impl_->loaded();
  const std::size_t n = v.paths.size();
  const auto dim = static_cast<std::size_t>(v.dim);
  std::vector<std::size_t> parent(n);
  for (std::size_t i = 0; i < n; ++i) parent[i] = i;
  const auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  // Rows [start, start + rows) against all: scores stay at most ~16 M floats (64 MB).
  const std::size_t rows =
      std::max<std::size_t>(1, (std::size_t{1} << 24) / std::max<std::size_t>(n, 1));
  std::vector<float> scores;
  for (std::size_t start = 0; start < n; start += rows) {
    const std::size_t count = std::min(rows, n - start);
    scores.resize(count * n);
    index::score_all(std::span<const float>(v.data).subspan(start * dim, count * dim), v.data,
                     v.dim, scores.data());
    for (std::size_t r = 0; r < count; ++r) {
      const std::size_t i = start + r;
      for (std::size_t j = i + 1; j < n; ++j) {
        if (scores[r * n + j] >= threshold) parent[root(j)] = root(i);
      }
    }
  }
  std::map<std::size_t, std::vector<std::string>> groups;  // root -> paths (rows are sorted)
  for (std::size_t i = 0; i < n; ++i) groups[root(i)].push_back(v.paths[i]);
  std::vector<std::vector<std::string>> out;
  for (auto& [r, paths] : groups) {
    if (paths.size() > 1) out.push_back(std::move(paths));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<IndexedScores> Index::classify(const LabelSet& labels, int top_k) {
  const index::Vectors& v = impl_->loaded();
  std::vector<IndexedScores> out;
  out.reserve(v.paths.size());
  const auto dim = static_cast<std::size_t>(v.dim);
  for (std::size_t row = 0; row < v.paths.size(); ++row) {
    out.push_back(
        {v.paths[row], impl_->model.classify_embedding(
                           std::span<const float>(v.data).subspan(row * dim, dim), labels, top_k)});
  }
  return out;
}

}  // namespace zeroshot
