// LabelSet: labels prepared by Model::prepare_labels (model.cc), with their text embeddings.
#include "api/model_impl.h"
#include "zeroshot/error.h"

namespace zeroshot {

namespace {
const std::vector<std::string> kNoLabels;
}  // namespace

// A moved-from set has no data: it reads as empty (Model refuses it with an Error).
const std::vector<std::string>& LabelSet::labels() const {
  return data_ ? data_->labels : kNoLabels;
}
std::size_t LabelSet::size() const { return data_ ? data_->labels.size() : 0; }
int LabelSet::embedding_dim() const { return data_ ? data_->dim : 0; }
std::span<const float> LabelSet::embeddings() const {
  return data_ ? std::span<const float>(data_->embeddings) : std::span<const float>();
}
std::span<const float> LabelSet::embedding(std::size_t label) const {
  const auto dim = static_cast<std::size_t>(embedding_dim());
  if (label >= size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "label " + std::to_string(label) + " of a label set of " + std::to_string(size()));
  }
  return embeddings().subspan(label * dim, dim);
}

}  // namespace zeroshot
