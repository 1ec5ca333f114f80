// zeroshot cache ls: what the Hugging Face cache holds.
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

}  // namespace

void add_cache_command(CLI::App& app) {
  auto* cache = app.add_subcommand("cache", "Inspect the Hugging Face model cache");
  cache->require_subcommand(1);
  cache->footer(R"(The cache is huggingface_hub's: HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub. Models downloaded by Python (transformers, huggingface_hub) appear too.)");
  auto json = std::make_shared<bool>(false);
  auto* ls = cache->add_subcommand("ls", "List cached models: repo, size, revisions, folder");
  ls->add_flag("--json", *json, "Print JSON for scripts");
  ls->footer(R"(Examples:
  zeroshot cache ls
  zeroshot cache ls --json | jq '.models[].repo'

Text output: one line per repo: id, size on disk, revisions (refs@commit), folder.
JSON output: {"cache": DIR, "models": [{"repo", "size_on_disk", "path",
  "revisions": [{"commit", "refs", "path"}]}]})");
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
      print_json(out);
      return;
    }
    if (models.empty()) {
      std::printf("No models cached in %s\n", hub_cache_dir().c_str());
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
  });
}

}  // namespace zeroshot::cli
