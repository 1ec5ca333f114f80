#include "family/siglip/siglip_family.h"

#include <filesystem>
#include <utility>

#include "config/json_reader.h"
#include "config/preprocessor_config.h"
#include "family/siglip/siglip_model.h"
#include "family/siglip/siglip_tokenizer.h"
#include "safetensors/safetensors.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {
namespace {

namespace fs = std::filesystem;

class SiglipTowers final : public Towers {
 public:
  explicit SiglipTowers(SiglipModel model) : model_(std::move(model)) {}
  void encode_images(const float* pixels, int batch, float* out) const override {
    model_.encode_images(pixels, batch, out);
  }
  void encode_texts(std::span<const std::vector<int>> prompts, float* out) const override {
    model_.encode_texts(prompts, out);
  }
  int embedding_dim() const override { return model_.config().vision.encoder.hidden_size; }

 private:
  SiglipModel model_;
};

// SiglipImageProcessor: resize to size {height, width} (default 224 x 224; it must be the tower's
// image_size), rescale, normalise with mean = std = 0.5 unless the file says otherwise; no crop.
image::PreprocessParams to_params(std::string_view json, const config::VisionConfig& vision,
                                  const std::string& source) {
  const config::PreprocessorConfig p = config::parse_preprocessor_config(json, source);
  const auto root = config::json_reader::parse_object(json, source);
  image::PreprocessParams params;
  params.do_resize = p.do_resize;
  params.resize_height = p.resize_height > 0 ? p.resize_height : 224;
  params.resize_width = p.resize_width > 0 ? p.resize_width : 224;
  params.resample = static_cast<int>(p.resample);
  params.do_center_crop = false;
  params.do_rescale = p.do_rescale;
  params.rescale_factor = p.rescale_factor;
  params.do_normalize = p.do_normalize;
  params.mean = root.contains("image_mean") ? p.image_mean : std::array<float, 3>{0.5f, 0.5f, 0.5f};
  params.std = root.contains("image_std") ? p.image_std : std::array<float, 3>{0.5f, 0.5f, 0.5f};
  if (!p.do_resize || params.resize_height != vision.image_size ||
      params.resize_width != vision.image_size) {
    throw Error(ErrorCode::kModelInvalid,
                source + ": the preprocessor must resize to the model's image_size (" +
                    std::to_string(vision.image_size) + "x" + std::to_string(vision.image_size) +
                    "), but resizes to " + std::to_string(params.resize_height) + "x" +
                    std::to_string(params.resize_width) +
                    (p.do_resize ? "" : " (resize disabled)"));
  }
  return params;
}

LoadedModel load(const std::string& folder, kernels::GemmPrecision vision_precision) {
  const std::string config_path = (fs::path(folder) / "config.json").string();
  const std::string preprocessor_path = (fs::path(folder) / "preprocessor_config.json").string();
  const SiglipConfig config = parse_siglip_config(util::read_file(config_path), config_path);
  LoadedModel loaded;
  loaded.preprocess =
      to_params(util::read_file(preprocessor_path), config.vision, preprocessor_path);
  loaded.tokenizer = load_text_tokenizer(folder, config.text.max_position_embeddings);
  auto weights = safetensors::File::open((fs::path(folder) / "model.safetensors").string());
  SiglipModel model(config, weights.tensors(), weights.path(), vision_precision, weights.mapping());
  loaded.logit_scale = model.logit_scale();
  loaded.logit_bias = model.logit_bias();
  loaded.towers = std::make_unique<SiglipTowers>(std::move(model));
  return loaded;
}

}  // namespace

const Family kFamily{
    .model_type = "siglip",
    .scoring = Scoring::kSigmoid,
    // SigLIP 2's fixed-resolution checkpoints ship a Gemma tokenizer.json (preferred, as by the
    // pipeline), SigLIP's spiece.model.
    .files = {.fetch = {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                        "spiece.model"},
              .needs = {{.what =
                             "the tokenizer (tokenizer.json, or the SentencePiece spiece.model)",
                         .forms = {{"tokenizer.json"}, {"spiece.model"}},
                         .unread = {}}}},
    .load = &load,
};

}  // namespace zeroshot::family::siglip
