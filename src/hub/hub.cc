#include "hub/hub.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "hub/cache.h"
#include "hub/file_lock.h"
#include "hub/http.h"
#include "hub/sha256.h"
#include "util/env.h"
#include "zeroshot/error.h"

namespace zeroshot::hub {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxRelativeRedirects = 5;
// Attempts at one blob within a call when the connection breaks after some progress (each resumes
// with Range); huggingface_hub's http_get retries 5 times.
constexpr int kMaxDownloadAttempts = 6;

// Everything that can be said about one request to the hub, for error messages.
struct Context {
  std::string endpoint;
  std::string repo;
  std::string revision;
  bool has_token = false;
};

std::string offline_hint() {
  return "To work without the network, set HF_HUB_OFFLINE=1 (uses models already in the cache), "
         "or pass a local model folder instead of a repo id.";
}

[[noreturn]] void throw_transport(const Context& ctx, const std::string& url,
                                  const std::string& what) {
  throw Error(ErrorCode::kNetwork, "cannot download '" + ctx.repo + "' from " + ctx.endpoint +
                                       ": " + what + " (" + url +
                                       "). Check the network, proxy "
                                       "or HF_ENDPOINT. " +
                                       offline_hint());
}

// Maps an HTTP error status of the hub to an Error that says what to do.
[[noreturn]] void throw_http(const Context& ctx, const std::string& file, const HttpResponse& r,
                             const std::string& url) {
  const std::string code = r.header("x-error-code").value_or("");
  const std::string status = "HTTP " + std::to_string(r.status);
  const std::string token_hint =
      ctx.has_token ? "The token in HF_TOKEN (or the token file) was sent but has no access."
                    : "No token was sent: set HF_TOKEN (or put it in $HF_HOME/token).";
  if (code == "RepoNotFound" || (r.status == 404 && code.empty() && file.empty())) {
    throw Error(ErrorCode::kHubNotFound,
                "repository '" + ctx.repo + "' not found on " + ctx.endpoint + " (" + status +
                    "). Check the id (org/name); if the repo is private, " +
                    (ctx.has_token ? "the token sent has no access to it."
                                   : "set HF_TOKEN to a token with access."));
  }
  if (code == "RevisionNotFound") {
    throw Error(ErrorCode::kHubNotFound, "revision '" + ctx.revision + "' not found in '" +
                                             ctx.repo + "' on " + ctx.endpoint + " (" + status +
                                             "): use a branch, tag or commit hash of the repo.");
  }
  if (code == "GatedRepo" || r.status == 401 || r.status == 403) {
    throw Error(ErrorCode::kHubUnauthorized,
                "access to '" + ctx.repo + "' denied (" + status +
                    (code.empty() ? "" : ", " + code) +
                    "): the repo is gated or private. Request access on its hub page, then use a "
                    "token that has it. " +
                    token_hint);
  }
  if (r.status == 404) {
    throw Error(ErrorCode::kHubNotFound, "'" + file + "' not found in '" + ctx.repo +
                                             "' at revision '" + ctx.revision + "' (" + status +
                                             ", " + url + ")");
  }
  throw Error(ErrorCode::kNetwork, "the hub answered " + status + " for " + url +
                                       "; try again later. " + offline_hint());
}

struct FileMetadata {
  std::string commit;
  std::string etag;
  uint64_t size = 0;
  std::string resolve_url;  // the hub URL asked (after relative redirects)
  std::string location;     // where to GET the content: the resolve URL or a CDN redirect target
};

std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

std::optional<uint64_t> parse_size(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

bool is_safe_etag(const std::string& etag) {
  if (etag.empty() || etag.size() > 128 || etag.front() == '.') return false;
  for (char c : etag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// HEAD as huggingface_hub's get_hf_file_metadata: relative redirects (a renamed repo) are
// followed, absolute ones (the CDN of an LFS file) are not: their Location is where to download.
HttpResponse head_following_relative(std::string& url, const HttpOptions& http) {
  for (int hop = 0;; ++hop) {
    HttpResponse r = http_head(url, http);
    if (r.status < 300 || r.status > 399 || hop == kMaxRelativeRedirects) return r;
    const std::string location = r.header("location").value_or("");
    if (location.empty() || location.front() != '/') return r;
    url = origin_of(url) + location;
  }
}

// Downloads one blob into blobs/<etag>.incomplete (resuming what is there), verifies its size and,
// for a sha256 ETag, its hash, then renames it to blobs/<etag>. The caller holds the blob's lock.
void download_blob(const RepoCache& cache, const Context& ctx, const std::string& file,
                   const FileMetadata& meta, const HttpOptions& http,
                   const ProgressCallback& progress) {
  make_dirs(cache.storage() + "/blobs");
  const std::string incomplete = cache.incomplete_path(meta.etag);
  const std::string blob = cache.blob_path(meta.etag);
  const int fd = open(incomplete.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw Error(ErrorCode::kIo, incomplete + ": cannot create (" + std::strerror(errno) +
                                    "); set HF_HUB_CACHE to a writable folder");
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  auto file_size = [&]() -> uint64_t {
    struct stat st {};
    return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  };
  auto discard = [&](const std::string& why) {
    // A body that cannot be the blob: drop it so that the next run starts over.
    unlink(incomplete.c_str());
    throw Error(ErrorCode::kNetwork, "download of '" + file + "' from '" + ctx.repo +
                                         "' is corrupt: " + why +
                                         "; the partial file was removed, run again to retry");
  };
  const uint64_t total = meta.size;
  auto report = [&](uint64_t done) {
    if (progress) progress(DownloadProgress{file, done, total});
  };

  uint64_t offset = file_size();
  if (offset > total) {
    if (ftruncate(fd, 0) != 0) throw Error(ErrorCode::kIo, incomplete + ": cannot truncate");
    offset = 0;
  }
  // As huggingface_hub: the token goes to the hub's host only, never to a CDN on another host.
  HttpOptions get_options = http;
  if (origin_of(meta.location) != origin_of(meta.resolve_url)) get_options.token.reset();
  for (int attempt = 1; offset != total; ++attempt) {
    report(offset);
    DownloadResult result = http_download(meta.location, get_options, fd, offset, report);
    offset = file_size();
    const long status = result.response.status;
    if (status == 416 && offset == total) break;  // already complete
    if (status != 0 && (status < 200 || status > 299)) {
      if (status == 416) {
        if (ftruncate(fd, 0) != 0) throw Error(ErrorCode::kIo, incomplete + ": cannot truncate");
        offset = 0;
        if (attempt < kMaxDownloadAttempts) continue;
      }
      throw_http(ctx, file, result.response, meta.location);
    }
    if (!result.failure || offset > total) {
      if (offset == total) break;
      // A clean end at the wrong length, or too many bytes: the body is not the hub's file.
      discard("received " + std::to_string(offset) + " bytes, the hub announced " +
              std::to_string(total));
    }
    if (result.bytes_written == 0 || attempt >= kMaxDownloadAttempts) {
      throw_transport(ctx, meta.location,
                      "transfer of '" + file + "' interrupted at " + std::to_string(offset) +
                          " of " + std::to_string(total) + " bytes: " + result.failure->message +
                          " (the partial file is kept and resumed on the next run)");
    }
  }
  if (file_size() != total) {
    discard("size " + std::to_string(file_size()) + " instead of " + std::to_string(total));
  }
  if (fsync(fd) != 0) {
    throw Error(ErrorCode::kIo, incomplete + ": fsync failed (" + std::strerror(errno) + ")");
  }
  // LFS blobs are named by the sha256 of their content (git blobs by a git sha1, not checked).
  if (meta.etag.size() == 64 &&
      meta.etag.find_first_not_of("0123456789abcdef") == std::string::npos) {
    const std::string actual = sha256_file(incomplete);
    if (actual != meta.etag) discard("sha256 " + actual + " instead of " + meta.etag);
  }
  if (rename(incomplete.c_str(), blob.c_str()) != 0) {
    throw Error(ErrorCode::kIo,
                blob + ": cannot move the download into place (" + std::strerror(errno) + ")");
  }
  report(file_size());
}

enum class FetchOutcome { kCached, kMissing };

struct FetchResult {
  FetchOutcome outcome;
  std::string commit;  // empty when the hub sent none with a 404
};

// One file as huggingface_hub's hf_hub_download does it: HEAD for commit, ETag and size; if the
// blob is not cached, download it under the blob's lock; then link the snapshot entry.
// `http` is for the HEAD (huggingface_hub's etag timeout), `download_http` for the body (its
// download timeout).
FetchResult fetch_file(const RepoCache& cache, const Context& ctx, const std::string& url_revision,
                       const std::string& file, const HttpOptions& http,
                       const HttpOptions& download_http, const ProgressCallback& progress) {
  if (is_commit_hash(url_revision)) {
    // A pinned commit already on disk needs no request (huggingface_hub's shortcut).
    std::error_code ec;
    if (fs::exists(cache.pointer_path(url_revision, file), ec)) {
      return {FetchOutcome::kCached, url_revision};
    }
    if (cache.known_missing(url_revision, file)) return {FetchOutcome::kMissing, url_revision};
  }
  std::string url = ctx.endpoint + "/" + ctx.repo + "/resolve/" + url_quote(url_revision, false) +
                    "/" + url_quote(file, true);
  HttpResponse r;
  try {
    r = head_following_relative(url, http);
  } catch (const Error& e) {
    throw_transport(ctx, url, e.what());
  }
  const std::optional<std::string> commit = r.header("x-repo-commit");
  if (r.status == 404 && r.header("x-error-code").value_or("") == "EntryNotFound") {
    if (commit && is_commit_hash(*commit)) cache.mark_no_exist(*commit, file);
    return {FetchOutcome::kMissing, commit.value_or("")};
  }
  if (r.status >= 400) throw_http(ctx, file, r, url);
  if (!commit || !is_commit_hash(*commit)) {
    throw Error(ErrorCode::kNetwork, url + ": the answer has no X-Repo-Commit header; is " +
                                         ctx.endpoint + " a Hugging Face hub (HF_ENDPOINT)?");
  }
  FileMetadata meta;
  meta.commit = *commit;
  // X-Linked-Etag (the LFS object's sha256) wins over ETag (that of the pointer file).
  std::optional<std::string> etag = r.header("x-linked-etag");
  if (!etag) etag = r.header("etag");
  meta.etag = normalize_etag(etag.value_or(""));
  if (!is_safe_etag(meta.etag)) {
    throw Error(ErrorCode::kNetwork, url + ": missing or malformed ETag '" + meta.etag +
                                         "'; cannot cache the file reliably");
  }
  std::optional<uint64_t> size = parse_size(r.header("x-linked-size"));
  if (!size) size = parse_size(r.header("content-length"));
  if (!size) {
    // huggingface_hub refuses these too: without a size a truncated body cannot be detected.
    throw Error(ErrorCode::kNetwork,
                url +
                    ": the answer has neither X-Linked-Size nor Content-Length; cannot verify "
                    "the download");
  }
  meta.size = *size;
  meta.resolve_url = url;
  meta.location = url;
  if (r.status >= 300 && r.status <= 399) {
    const std::string location = r.header("location").value_or("");
    if (location.empty()) throw_http(ctx, file, r, url);
    meta.location = location.front() == '/' ? origin_of(url) + location : location;
  }

  std::error_code ec;
  if (!fs::exists(cache.blob_path(meta.etag), ec)) {
    FileLock lock(cache.lock_path(meta.etag));
    // Another process may have finished the blob while we waited for the lock.
    if (!fs::exists(cache.blob_path(meta.etag), ec)) {
      download_blob(cache, ctx, file, meta, download_http, progress);
    }
  }
  cache.link_snapshot(meta.commit, file, meta.etag);
  return {FetchOutcome::kCached, meta.commit};
}

HttpOptions http_options() {
  HttpOptions http;
  http.token = util::hf_token();
  http.connect_timeout_s = util::env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
  http.timeout_s = util::env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
  return http;
}

void check_ids(const ResolveOptions& options) {
  if (!is_valid_repo_id(options.repo)) {
    throw Error(ErrorCode::kInvalidArgument,
                "'" + options.repo +
                    "' is not a hub repo id: expected 'org/name' (letters, "
                    "digits, '-', '_', '.'), or a path to an existing local model folder");
  }
  if (!is_valid_revision(options.revision)) {
    throw Error(ErrorCode::kInvalidArgument,
                "revision '" + options.revision + "' is not a branch, tag or commit hash");
  }
  if (!options.layout.files_for) {
    throw Error(ErrorCode::kInvalidArgument,
                "hub: no model layout given (ResolveOptions::layout.files_for)");
  }
}

std::optional<std::string> cached_snapshot(const RepoCache& cache, const std::string& revision,
                                           const ModelLayout& layout) {
  const auto commit = cache.commit_for(revision);
  if (!commit) return std::nullopt;
  const std::string folder = cache.snapshot_dir(*commit);
  if (!is_complete_model_folder(folder, layout)) return std::nullopt;
  return folder;
}

[[noreturn]] void throw_offline(const ResolveOptions& options, const RepoCache& cache) {
  std::string looked =
      "a local folder '" + options.repo + "' (none), the hub cache " + cache.storage() + " (";
  if (auto commit = cache.commit_for(options.revision)) {
    looked += "revision '" + options.revision + "' is commit " + *commit +
              ", but its snapshot lacks model files";
  } else {
    looked += "no snapshot of revision '" + options.revision + "'";
  }
  looked += ")";
  throw Error(ErrorCode::kOffline,
              "model '" + options.repo +
                  "' is not available offline (HF_HUB_OFFLINE is set). "
                  "Looked in " +
                  looked + ". Download it first with `zeroshot download " + options.repo +
                  (options.revision == "main" ? "" : " --revision " + options.revision) +
                  "` (or huggingface_hub) while online, or pass a local model folder.");
}

}  // namespace

std::string download_snapshot(const ResolveOptions& options) {
  check_ids(options);
  const RepoCache cache(util::hf_hub_cache(), options.repo);
  if (util::hf_hub_offline()) {
    if (auto folder = cached_snapshot(cache, options.revision, options.layout)) return *folder;
    throw_offline(options, cache);
  }
  Context ctx{util::hf_endpoint(), options.repo, options.revision, false};
  HttpOptions http = http_options();
  ctx.has_token = http.token.has_value();
  HttpOptions download_http = http;
  download_http.timeout_s = util::env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);

  // The first answer fixes the commit; later files are asked for by that commit, so one snapshot
  // never mixes two states of a moving branch (as snapshot_download pins the commit first).
  std::string url_revision = options.revision;
  std::string commit = is_commit_hash(options.revision) ? options.revision : "";
  const std::string at = "'" + ctx.repo + "' at revision '" + options.revision + "'";
  auto fetch = [&](const std::string& file) {
    FetchResult result =
        fetch_file(cache, ctx, url_revision, file, http, download_http, options.progress);
    if (!result.commit.empty()) {
      commit = result.commit;
      url_revision = commit;
    }
    return result.outcome == FetchOutcome::kCached;
  };
  if (!fetch("config.json")) {
    throw Error(ErrorCode::kModelInvalid,
                at + " has no config.json: it is not a model in the Hugging Face layout" +
                    (options.layout.supported.empty()
                         ? std::string()
                         : " (zeroshot loads " + options.layout.supported + ")"));
  }
  const std::string folder = cache.snapshot_dir(commit);
  // What the rest of the folder is depends on the model config.json describes.
  const ModelFiles files = options.layout.files_for(folder + "/config.json");
  for (const std::string& file : files.fetch) {
    if (fetch(file)) continue;
    const auto only_form = std::find_if(files.needs.begin(), files.needs.end(), [&](const auto& n) {
      return n.forms.size() == 1 && n.forms[0] == std::vector<std::string>{file};
    });
    if (only_form == files.needs.end()) continue;  // optional, or one form of several
    // Say why rather than "not found" when the need exists in a form we do not read.
    for (const auto& [other, why] : only_form->unread) {
      std::string url = ctx.endpoint + "/" + ctx.repo + "/resolve/" +
                        url_quote(url_revision, false) + "/" + url_quote(other, true);
      HttpResponse r;
      try {
        r = head_following_relative(url, http);
      } catch (const Error&) {
        continue;
      }
      if (r.status >= 400) continue;
      throw Error(ErrorCode::kModelInvalid, at + " has " + other + " but no " + file + ": " + why);
    }
    throw Error(ErrorCode::kModelInvalid, at + " lacks " + only_form->what + ": it has no " + file);
  }
  if (const FileNeed* need = unmet_need(folder, files)) {
    throw Error(ErrorCode::kModelInvalid,
                at + " lacks " + need->what + ": it has no " + forms_text(*need));
  }
  // Written last: a ref only ever names a snapshot that holds a whole model.
  cache.write_ref(options.revision, commit);
  return folder;
}

std::string resolve_model_folder(const ResolveOptions& options) {
  std::error_code ec;
  if (!options.repo.empty() && fs::is_directory(options.repo, ec)) return options.repo;
  if (!is_valid_repo_id(options.repo)) {
    throw Error(ErrorCode::kModelNotFound,
                "model '" + options.repo +
                    "' not found: it is not a folder, and not a hub repo "
                    "id of the form 'org/name'");
  }
  check_ids(options);
  const RepoCache cache(util::hf_hub_cache(), options.repo);
  if (auto folder = cached_snapshot(cache, options.revision, options.layout)) return *folder;
  if (util::hf_hub_offline()) throw_offline(options, cache);
  return download_snapshot(options);
}

}  // namespace zeroshot::hub
