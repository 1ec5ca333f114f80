#include "hub/cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "zeroshot/error.h"

namespace zeroshot::hub {
namespace fs = std::filesystem;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// A unique sibling name for write-then-rename.
std::string temp_sibling(const std::string& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << path << ".tmp." << getpid() << "." << std::hex << rng();
  return name.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_valid_repo_id(std::string_view repo) {
  if (repo.empty() || repo.size() > 96) return false;
  if (repo.find("--") != std::string_view::npos || repo.find("..") != std::string_view::npos) {
    return false;
  }
  const size_t slash = repo.find('/');
  if (slash != std::string_view::npos && repo.find('/', slash + 1) != std::string_view::npos) {
    return false;
  }
  auto part_ok = [](std::string_view part) {
    if (part.empty() || part.front() == '-' || part.front() == '.' || part.back() == '-' ||
        part.back() == '.') {
      return false;
    }
    return std::all_of(part.begin(), part.end(), is_name_char);
  };
  if (slash == std::string_view::npos) return part_ok(repo);
  return part_ok(repo.substr(0, slash)) && part_ok(repo.substr(slash + 1));
}

bool is_valid_revision(std::string_view revision) {
  if (revision.empty() || revision.size() > 255 || revision.front() == '/' ||
      revision.back() == '/') {
    return false;
  }
  size_t start = 0;
  while (start <= revision.size()) {
    size_t end = revision.find('/', start);
    if (end == std::string_view::npos) end = revision.size();
    std::string_view part = revision.substr(start, end - start);
    if (part.empty() || part.front() == '.') return false;
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string repo_folder_name(std::string_view repo) {
  std::string name = "models--";
  for (char c : repo) {
    if (c == '/') {
      name += "--";
    } else {
      name += c;
    }
  }
  return name;
}

std::string normalize_etag(std::string_view etag) {
  // huggingface_hub: etag.lstrip("W/").strip('"')
  while (!etag.empty() && (etag.front() == 'W' || etag.front() == '/')) etag.remove_prefix(1);
  while (!etag.empty() && etag.front() == '"') etag.remove_prefix(1);
  while (!etag.empty() && etag.back() == '"') etag.remove_suffix(1);
  return std::string(etag);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec && !fs::is_directory(path)) {
    throw Error(ErrorCode::kIo, path + ": cannot create folder in the hub cache (" + ec.message() +
                                    "); set HF_HUB_CACHE to a writable folder");
  }
}

RepoCache::RepoCache(std::string cache_dir, std::string repo)
    : cache_dir_(std::move(cache_dir)),
      repo_(std::move(repo)),
      storage_(cache_dir_ + "/" + repo_folder_name(repo_)) {}

std::string RepoCache::blob_path(const std::string& etag) const {
  return storage_ + "/blobs/" + etag;
}
std::string RepoCache::incomplete_path(const std::string& etag) const {
  return blob_path(etag) + ".incomplete";
}
std::string RepoCache::lock_path(const std::string& etag) const {
  return cache_dir_ + "/.locks/" + repo_folder_name(repo_) + "/" + etag + ".lock";
}
std::string RepoCache::snapshot_dir(const std::string& commit) const {
  return storage_ + "/snapshots/" + commit;
}
std::string RepoCache::pointer_path(const std::string& commit, const std::string& file) const {
  return snapshot_dir(commit) + "/" + file;
}
std::string RepoCache::no_exist_path(const std::string& commit, const std::string& file) const {
  return storage_ + "/.no_exist/" + commit + "/" + file;
}
std::string RepoCache::ref_path(const std::string& revision) const {
  return storage_ + "/refs/" + revision;
}

std::optional<std::string> RepoCache::commit_for(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::error_code ec;
  if (!fs::is_regular_file(ref_path(revision), ec)) return std::nullopt;
  std::string commit = read_file(ref_path(revision));
  // huggingface_hub writes no newline; tolerate one written by hand.
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  if (!is_commit_hash(commit)) return std::nullopt;
  return commit;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (revision == commit) return;  // as huggingface_hub: no refs file for a commit hash
  const std::string path = ref_path(revision);
  if (auto existing = commit_for(revision); existing && *existing == commit) return;
  make_dirs(fs::path(path).parent_path().string());
  const std::string temp = temp_sibling(path);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out.flush()) throw Error(ErrorCode::kIo, temp + ": cannot write the revision reference");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temp.c_str());
    throw Error(ErrorCode::kIo,
                path + ": cannot write the revision reference (" + std::strerror(err) + ")");
  }
}

void RepoCache::link_snapshot(const std::string& commit, const std::string& file,
                              const std::string& etag) const {
  const fs::path pointer = pointer_path(commit, file);
  make_dirs(pointer.parent_path().string());
  // As huggingface_hub's _create_symlink: os.path.relpath(blob, dirname(pointer)), which is
  // "../../blobs/<etag>" for a top-level file.
  const std::string target =
      fs::path(blob_path(etag)).lexically_relative(pointer.parent_path()).string();
  std::error_code ec;
  if (fs::is_symlink(pointer, ec) && fs::read_symlink(pointer, ec).string() == target) return;
  const std::string temp = temp_sibling(pointer.string());
  if (symlink(target.c_str(), temp.c_str()) != 0 || rename(temp.c_str(), pointer.c_str()) != 0) {
    const int err = errno;
    unlink(temp.c_str());
    throw Error(ErrorCode::kIo, pointer.string() + ": cannot create the snapshot symlink (" +
                                    std::strerror(err) + ")");
  }
}

void RepoCache::mark_no_exist(const std::string& commit, const std::string& file) const {
  const std::string path = no_exist_path(commit, file);
  make_dirs(fs::path(path).parent_path().string());
  std::ofstream touch(path, std::ios::app);
  if (!touch) throw Error(ErrorCode::kIo, path + ": cannot record the missing file");
}

bool RepoCache::known_missing(const std::string& commit, const std::string& file) const {
  std::error_code ec;
  return fs::exists(no_exist_path(commit, file), ec);
}

std::string forms_text(const FileNeed& need) {
  std::string text;
  for (std::size_t i = 0; i < need.forms.size(); ++i) {
    if (i > 0) text += " or ";
    for (std::size_t j = 0; j < need.forms[i].size(); ++j) {
      text += (j > 0 ? " + " : "") + need.forms[i][j];
    }
  }
  return text;
}

const FileNeed* unmet_need(const std::string& folder, const ModelFiles& files) {
  std::error_code ec;
  auto has = [&](const std::string& name) {
    return fs::is_regular_file(fs::path(folder) / name, ec);
  };
  for (const FileNeed& need : files.needs) {
    bool met = false;
    for (const auto& form : need.forms) met = met || std::all_of(form.begin(), form.end(), has);
    if (!met) return &need;
  }
  return nullptr;
}

bool is_complete_model_folder(const std::string& folder, const ModelFiles& files) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(folder) / "config.json", ec) &&
         unmet_need(folder, files) == nullptr;
}

bool is_complete_model_folder(const std::string& folder, const ModelLayout& layout) {
  std::error_code ec;
  const std::string config = (fs::path(folder) / "config.json").string();
  if (!fs::is_regular_file(config, ec)) return false;
  return is_complete_model_folder(folder, layout.files_for(config));
}

std::vector<CachedModel> scan_cache(const std::string& cache_dir) {
  std::vector<CachedModel> models;
  std::error_code ec;
  if (!fs::is_directory(cache_dir, ec)) return models;
  for (const auto& entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("models--", 0) != 0 || !entry.is_directory(ec)) continue;
    CachedModel model;
    model.path = entry.path().string();
    // "models--org--name" -> "org/name" (ids never contain "--").
    std::string rest = name.substr(8);
    for (size_t pos; (pos = rest.find("--")) != std::string::npos;) rest.replace(pos, 2, "/");
    model.repo = rest;
    for (const auto& blob : fs::directory_iterator(entry.path() / "blobs", ec)) {
      if (blob.is_regular_file(ec) && blob.path().extension() != ".incomplete") {
        model.size_on_disk += blob.file_size(ec);
      }
    }
    std::map<std::string, std::vector<std::string>> refs_by_commit;
    const fs::path refs = entry.path() / "refs";
    if (fs::is_directory(refs, ec)) {
      for (const auto& ref : fs::recursive_directory_iterator(refs, ec)) {
        if (!ref.is_regular_file(ec)) continue;
        std::string commit = read_file(ref.path().string());
        while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) {
          commit.pop_back();
        }
        refs_by_commit[commit].push_back(ref.path().lexically_relative(refs).string());
      }
    }
    for (const auto& snapshot : fs::directory_iterator(entry.path() / "snapshots", ec)) {
      if (!snapshot.is_directory(ec)) continue;
      CachedRevision revision;
      revision.commit = snapshot.path().filename().string();
      revision.path = snapshot.path().string();
      revision.refs = refs_by_commit[revision.commit];
      std::sort(revision.refs.begin(), revision.refs.end());
      model.revisions.push_back(std::move(revision));
    }
    std::sort(model.revisions.begin(), model.revisions.end(),
              [](const auto& a, const auto& b) { return a.commit < b.commit; });
    models.push_back(std::move(model));
  }
  std::sort(models.begin(), models.end(),
            [](const auto& a, const auto& b) { return a.repo < b.repo; });
  return models;
}

}  // namespace zeroshot::hub
