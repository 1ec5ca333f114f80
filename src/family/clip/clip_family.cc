#include "family/clip/clip_family.h"

#include <filesystem>
#include <utility>

#include "config/preprocessor_config.h"
#include "family/clip/clip_config.h"
#include "family/clip/clip_model.h"
#include "family/clip/clip_tokenizer.h"
#include "safetensors/safetensors.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {
namespace {

namespace fs = std::filesystem;

class ClipTowers final : public Towers {
 public:
  explicit ClipTowers(ClipModel model) : model_(std::move(model)) {}
  void encode_images(const float* pixels, int batch, float* out) const override {
    model_.encode_images(pixels, batch, out);
  }
  void encode_texts(std::span<const std::vector<int>> prompts, float* out) const override {
    model_.encode_texts(prompts, out);
  }
  int embedding_dim() const override { return model_.config().projection_dim; }

 private:
  ClipModel model_;
};

// CLIPImageProcessor: resize the shortest edge, centre crop to the tower's image_size, rescale,
// normalise.
image::PreprocessParams to_params(const config::PreprocessorConfig& p,
                                  const config::VisionConfig& vision, const std::string& source) {
  if (p.resize_height > 0) {
    throw Error(ErrorCode::kModelInvalid,
                source +
                    ": 'size' gives a height and width; a CLIP preprocessor resizes the "
                    "shortest edge ({\"shortest_edge\": N})");
  }
  image::PreprocessParams params;
  params.do_resize = p.do_resize;
  params.shortest_edge = p.shortest_edge;
  params.resample = static_cast<int>(p.resample);
  params.do_center_crop = p.do_center_crop;
  params.crop_height = p.crop_height;
  params.crop_width = p.crop_width;
  params.do_rescale = p.do_rescale;
  params.rescale_factor = p.rescale_factor;
  params.do_normalize = p.do_normalize;
  params.mean = p.image_mean;
  params.std = p.image_std;
  // The vision tower takes exactly image_size x image_size; HF would fail later with a shape error.
  if (!p.do_center_crop || p.crop_height != vision.image_size ||
      p.crop_width != vision.image_size) {
    throw Error(ErrorCode::kModelInvalid,
                source + ": the preprocessor must centre-crop to the model's image_size (" +
                    std::to_string(vision.image_size) + "x" + std::to_string(vision.image_size) +
                    "), but crops to " + std::to_string(p.crop_height) + "x" +
                    std::to_string(p.crop_width) + (p.do_center_crop ? "" : " (crop disabled)"));
  }
  return params;
}

LoadedModel load(const std::string& folder, kernels::GemmPrecision vision_precision) {
  const std::string config_path = (fs::path(folder) / "config.json").string();
  const std::string preprocessor_path = (fs::path(folder) / "preprocessor_config.json").string();
  const ClipConfig config = parse_clip_config(util::read_file(config_path), config_path);
  const auto preprocessor =
      config::parse_preprocessor_config(util::read_file(preprocessor_path), preprocessor_path);
  LoadedModel loaded;
  loaded.preprocess = to_params(preprocessor, config.vision, preprocessor_path);
  loaded.tokenizer = std::make_unique<ClipTokenizer>(folder, config.text.max_position_embeddings);
  auto weights = safetensors::File::open((fs::path(folder) / "model.safetensors").string());
  ClipModel clip(config, weights.tensors(), weights.path(), vision_precision, weights.mapping());
  loaded.logit_scale = clip.logit_scale();
  loaded.towers = std::make_unique<ClipTowers>(std::move(clip));
  return loaded;
}

}  // namespace

const Family kFamily{
    .model_type = "clip",
    .scoring = Scoring::kSoftmax,
    .files = {.fetch = {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                        "special_tokens_map.json"},
              .needs = {{.what = "the byte-level BPE tokenizer",
                         .forms = {{"tokenizer.json"}, {"vocab.json", "merges.txt"}},
                         .unread = {}}}},
    .load = &load,
};

}  // namespace zeroshot::family::clip
