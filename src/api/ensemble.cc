// Label embeddings under templates: one template = its prompts' embeddings; several = each
// label's ensemble mean (OpenAI's prompt ensembling), cached per (templates, label).
#include <string>
#include <vector>

#include "api/model_impl.h"
#include "api/prompts.h"
#include "api/scoring.h"

namespace zeroshot {
namespace {

// A label's ensemble embedding: the L2-normalised mean of its templates' L2-normalised prompt
// embeddings, as OpenAI's zeroshot_classifier (Prompt_Engineering_for_ImageNet.ipynb). Groups
// are added one template at a time, so only one template's embeddings are held at once.
class EnsembleSum {
 public:
  explicit EnsembleSum(std::size_t labels) : sums_(labels) {}
  // group: [labels][projection_dim], one template's prompts.
  void add(const std::vector<std::vector<float>>& group) {
    for (std::size_t l = 0; l < sums_.size(); ++l) {
      sums_[l].resize(group[l].size());
      for (std::size_t k = 0; k < group[l].size(); ++k) sums_[l][k] += group[l][k];
    }
    ++groups_;
  }
  // [labels][projection_dim]
  std::vector<std::vector<float>> embeddings() const {
    std::vector<std::vector<float>> out(sums_.size());
    for (std::size_t l = 0; l < sums_.size(); ++l) {
      out[l].resize(sums_[l].size());
      for (std::size_t k = 0; k < sums_[l].size(); ++k)
        out[l][k] = static_cast<float>(sums_[l][k] / static_cast<double>(groups_));
      api::l2_normalize(out[l]);
    }
    return out;
  }

 private:
  std::vector<std::vector<double>> sums_;  // [labels][projection_dim]
  std::size_t groups_ = 0;
};

}  // namespace

std::vector<std::vector<float>> Model::Impl::label_embeddings(
    std::span<const std::string> labels, std::span<const std::string> templates,
    std::span<const std::string> prompts) const {
  if (templates.size() <= 1) return text_embeddings(prompts, "label");
  // Ensembles: the labels' mean embeddings are cached too, under a key no prompt can have (invalid
  // UTF-8 first, then the templates), so that repeated calls (a batch run's every batch) cost no
  // text-tower pass even when labels x templates prompts do not fit in the cache.
  std::string key_prefix = "\xff";
  for (const auto& t : templates) key_prefix.append(t).push_back('\0');
  std::vector<std::vector<float>> texts(labels.size());
  bool all_cached = true;
  for (std::size_t l = 0; l < labels.size() && all_cached; ++l) {
    auto cached = text_cache->get(key_prefix + labels[l]);
    all_cached = cached.has_value();
    if (all_cached) texts[l] = std::move(*cached);
  }
  if (all_cached) return texts;
  // One template at a time, so that every text-tower pass holds prompts of one template (they
  // share its prefix).
  EnsembleSum sum(labels.size());
  for (std::size_t t = 0; t < templates.size(); ++t)
    sum.add(text_embeddings(prompts.subspan(t * labels.size(), labels.size()), "label"));
  texts = sum.embeddings();
  for (std::size_t l = 0; l < labels.size(); ++l) text_cache->put(key_prefix + labels[l], texts[l]);
  return texts;
}

std::vector<std::vector<float>> Model::Impl::label_embeddings(
    std::span<const std::string> labels, const ClassifyOptions& options) const {
  const auto templates = api::call_templates(options);
  return label_embeddings(labels, templates, api::make_prompts(labels, templates, options));
}

}  // namespace zeroshot
