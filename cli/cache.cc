// zeroshot cache ls: what the Hugging Face cache and the prepared-weights cache hold;
// zeroshot cache clear: empties the prepared-weights cache (never the downloaded models).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "common.h"

namespace zeroshot::cli {
namespace {

// "main,v1.0@3d74acf" or "3d74acf" for a snapshot no ref points to.
std::string describe(const CachedRevision& revision) {
  std::string refs;
  for (const auto& ref : revision.refs) refs += (refs.empty() ? "" : ",") + ref;
  const std::string commit = revision.commit.substr(0, 7);
  return refs.empty() ? commit : refs + "@" + commit;
}

nlohmann::json prepared_json() {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& p : list_prepared_weights()) {
    files.push_back({{"path", p.path},
                     {"size_on_disk", p.size_on_disk},
                     {"source", p.source},
                     {"tower", p.tower},
                     {"precision", p.precision},
                     {"signature", p.signature},
                     {"stale", p.stale},
                     {"temporary", p.temporary}});
  }
  const std::string folder = prepared_cache_dir();
  return {{"folder", folder.empty() ? nlohmann::json(nullptr) : nlohmann::json(folder)},
          {"files", files}};
}

void print_prepared() {
  const std::string folder = prepared_cache_dir();
  if (folder.empty()) {
    std::printf("\nPrepared weights: off (ZEROSHOT_PREPARED_CACHE)\n");
    return;
  }
  const auto files = list_prepared_weights();
  uint64_t total = 0;
  for (const auto& p : files) total += p.size_on_disk;
  std::printf("\nPrepared weights in %s: %zu file%s, %s\n", folder.c_str(), files.size(),
              files.size() == 1 ? "" : "s", format_bytes(static_cast<double>(total)).c_str());
  for (const auto& p : files) {
    const std::string what = p.temporary        ? "(being written)"
                             : p.source.empty() ? "(unreadable)"
                                                : p.tower + " " + p.precision + " of " + p.source;
    std::printf("  %9s  %s%s\n", format_bytes(static_cast<double>(p.size_on_disk)).c_str(),
                what.c_str(), p.stale ? "  [stale]" : "");
  }
}

}  // namespace

void add_cache_command(CLI::App& app) {
  auto* cache = app.add_subcommand("cache", "Inspect the Hugging Face model cache");
  cache->require_subcommand(1);
  cache->footer(R"(The model cache is huggingface_hub's: HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub. Models downloaded by Python (transformers, huggingface_hub) appear too.

Prepared weights: on CPUs where oneDNN's fastest kernels take weights in a blocked layout
(AVX-512), each model tower's weights are packed on first use and kept in a file that later runs
map instead of packing again, so a one-shot classify starts faster. A command does not wait for
the file: a background process it leaves writes it after the command exits (serve writes it
itself). Folder: ZEROSHOT_PREPARED_CACHE, else $XDG_CACHE_HOME/zeroshot/prepared, else
~/.cache/zeroshot/prepared; ZEROSHOT_PREPARED_CACHE=off turns it off. Any file may be deleted at
any time; `zeroshot cache clear` deletes them all.)");
  auto json = std::make_shared<bool>(false);
  auto* ls = cache->add_subcommand(
      "ls", "List cached models (repo, size, revisions, folder) and prepared weights");
  ls->add_flag("--json", *json, "Print JSON for scripts");
  ls->footer(R"(Examples:
  zeroshot cache ls
  zeroshot cache ls --json | jq '.models[].repo'

Text output: one line per repo: id, size on disk, revisions (refs@commit), folder.
Text output: one line per repo: id, size on disk, revisions (refs@commit), folder; then the
prepared weights: size, tower, precision and source of each file ([stale]: its source changed or
is gone; `zeroshot cache clear --stale` removes those).
JSON output: {"cache": DIR, "models": [{"repo", "size_on_disk", "path",
  "revisions": [{"commit", "refs", "path"}]}], "prepared": {"folder": DIR or null,
  "files": [{"path", "size_on_disk", "source", "tower", "precision", "signature", "stale",
  "temporary"}]}})");
  ls->callback([json] {
    const auto models = list_cached_models();
    if (*json) {
      nlohmann::json out = {{"cache", hub_cache_dir()}, {"models", nlohmann::json::array()}};
      for (const auto& m : models) {
        nlohmann::json revisions = nlohmann::json::array();
        for (const auto& r : m.revisions) {
          revisions.push_back({{"commit", r.commit}, {"refs", r.refs}, {"path", r.path}});
        }
        out["models"].push_back({{"repo", m.repo},
                                 {"size_on_disk", m.size_on_disk},
                                 {"path", m.path},
                                 {"revisions", revisions}});
      }
      out["prepared"] = prepared_json();
      print_json(out);
      return;
    }
    if (models.empty()) {
      std::printf("No models cached in %s\n", hub_cache_dir().c_str());
      print_prepared();
      return;
    }
    size_t repo_width = 4;
    std::vector<std::string> revisions;
    size_t revisions_width = 9;
    for (const auto& m : models) {
      repo_width = std::max(repo_width, m.repo.size());
      std::string text;
      for (const auto& r : m.revisions) text += (text.empty() ? "" : " ") + describe(r);
      if (text.empty()) text = "-";
      revisions_width = std::max(revisions_width, text.size());
      revisions.push_back(text);
    }
    const int rw = static_cast<int>(repo_width), vw = static_cast<int>(revisions_width);
    std::printf("%-*s  %9s  %-*s  %s\n", rw, "REPO", "SIZE", vw, "REVISIONS", "PATH");
    for (size_t i = 0; i < models.size(); ++i) {
      std::printf("%-*s  %9s  %-*s  %s\n", rw, models[i].repo.c_str(),
                  format_bytes(static_cast<double>(models[i].size_on_disk)).c_str(), vw,
                  revisions[i].c_str(), models[i].path.c_str());
    }
    print_prepared();
  });

  auto stale = std::make_shared<bool>(false);
  auto* clear = cache->add_subcommand(
      "clear", "Delete prepared weights (the downloaded models stay; they are re-prepared on use)");
  clear->add_flag("--stale", *stale, "Only files whose model changed or is gone, or unreadable");
  clear->add_flag("--json", *json, "Print {\"folder\", \"freed\"} for scripts");
  clear->footer(R"(Examples:
  zeroshot cache clear           # every prepared-weights file (safe while other runs use them)
  zeroshot cache clear --stale   # only those no run can use again

Downloaded models are never deleted here: remove a repo's folder (zeroshot cache ls shows it),
or use huggingface-cli delete-cache.)");
  clear->callback([stale, json] {
    const std::string folder = prepared_cache_dir();
    const uint64_t freed = clear_prepared_weights(*stale);
    if (*json) {
      print_json({{"folder", folder.empty() ? nlohmann::json(nullptr) : nlohmann::json(folder)},
                  {"freed", freed}});
      return;
    }
    if (folder.empty()) {
      std::printf("Prepared weights are off (ZEROSHOT_PREPARED_CACHE): nothing to clear\n");
      return;
    }
    std::printf("Freed %s in %s\n", format_bytes(static_cast<double>(freed)).c_str(),
                folder.c_str());
  });
}

}  // namespace zeroshot::cli
