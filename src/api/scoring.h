// From embeddings to scores: L2 normalisation, the dot product (the one cosine: zeroshot::cosine
// clamps it), logits and softmax or sigmoid scores.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "family/family.h"
#include "zeroshot/model.h"

namespace zeroshot::api {

// v / |v| (sum of squares in double); a zero vector stays zero.
void l2_normalize(std::vector<float>& v);

// The dot product accumulated in double (a and b of the same size), not clamped.
float dot(std::span<const float> a, std::span<const float> b);

// logits = exp(logit_scale) * cosine + logit_bias; scores: a softmax over all the labels (max
// subtracted; CLIP) or each logit's sigmoid (SigLIP, HF's zero-shot pipeline: independent per
// label). Sorted by descending score, stable for ties; the best top_k kept (0 = all).
// text_embeddings: [labels, dim] row-major, L2-normalised.
std::vector<LabelScore> score_labels(std::span<const float> image_embedding,
                                     std::span<const float> text_embeddings,
                                     std::span<const std::string> labels,
                                     const family::LoadedModel& model, float logit_scale_exp,
                                     int top_k);

}  // namespace zeroshot::api
