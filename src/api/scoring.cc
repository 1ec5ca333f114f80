#include "api/scoring.h"

#include <algorithm>
#include <cmath>

#include "zeroshot/error.h"

namespace zeroshot {
namespace api {

void l2_normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  const float inv = sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
  for (float& x : v) x *= inv;
}

float dot(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

std::vector<LabelScore> score_labels(std::span<const float> image_embedding,
                                     std::span<const float> text_embeddings,
                                     std::span<const std::string> labels,
                                     const family::LoadedModel& model, float logit_scale_exp,
                                     int top_k) {
  const std::size_t dim = image_embedding.size();
  std::vector<float> cosines(labels.size());  // [labels]
  std::vector<float> logits(labels.size());   // [labels]
  for (std::size_t i = 0; i < labels.size(); ++i) {
    cosines[i] = dot(image_embedding, text_embeddings.subspan(i * dim, dim));
    logits[i] = logit_scale_exp * cosines[i] + model.logit_bias;
  }
  std::vector<float> probabilities(labels.size());  // [labels]
  if (model.scoring == family::Scoring::kSigmoid) {
    for (std::size_t i = 0; i < labels.size(); ++i)
      probabilities[i] =
          static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logits[i]))));
  } else {
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    std::vector<double> exps(labels.size());  // [labels]
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
      sum += (exps[i] = std::exp(logits[i] - max_logit));
    for (std::size_t i = 0; i < labels.size(); ++i)
      probabilities[i] = static_cast<float>(static_cast<float>(exps[i]) / sum);
  }
  std::vector<LabelScore> scores;
  scores.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    scores.push_back({labels[i], probabilities[i], logits[i], std::clamp(cosines[i], -1.0f, 1.0f)});
  std::stable_sort(scores.begin(), scores.end(),
                   [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  if (top_k > 0 && static_cast<std::size_t>(top_k) < scores.size())
    scores.resize(static_cast<std::size_t>(top_k));
  return scores;
}

}  // namespace api

float cosine(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "cosine of vectors of different sizes: " + std::to_string(a.size()) + " and " +
                    std::to_string(b.size()));
  }
  return std::clamp(api::dot(a, b), -1.0f, 1.0f);
}

}  // namespace zeroshot
