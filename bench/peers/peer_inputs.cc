// peer_inputs: writes what the peer benchmark (bench/peers/run.sh) feeds ONNX Runtime, taken from
// zeroshot itself, and zeroshot's own embeddings of it to check the exported model against:
//
//   peer_inputs MODEL_DIR IMAGE LABEL_COUNT OUT_DIR
//
// OUT_DIR/inputs.json names everything; tensors are raw little-endian float32 files:
// - pixels.f32: IMAGE preprocessed exactly as embed_image does it ([1, 3, S, S]);
// - image_embedding.f32: zeroshot's embed_image of IMAGE ([1, projection_dim]);
// - "prompts"/"ids": model_bench's LABEL_COUNT labels as "a photo of {label}" and their token ids
//   (the first 100 are model_bench's 100);
// - "check_ids" and check_embeddings.f32: prompts of different lengths (a padded batch) with
//   zeroshot's embed_texts of them ([K, projection_dim]).
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "family/clip/clip_config.h"
#include "family/registry.h"
#include "image/preprocess.h"
#include "labels.h"
#include "zeroshot/zeroshot.h"

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw zeroshot::Error(zeroshot::ErrorCode::kIo, "cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `values` as raw float32 (the bench runs on little-endian x86) and returns its JSON entry.
nlohmann::json write_floats(const fs::path& dir, const std::string& name,
                            const std::vector<float>& values, std::vector<int> shape) {
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out)
    throw zeroshot::Error(zeroshot::ErrorCode::kIo, "cannot write " + (dir / name).string());
  return {{"file", name}, {"shape", shape}};
}

std::vector<float> flatten(const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return flat;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: peer_inputs MODEL_DIR IMAGE LABEL_COUNT OUT_DIR\n");
    return 2;
  }
  try {
    const fs::path folder = argv[1];
    const std::string image_path = argv[2];
    const int label_count = std::stoi(argv[3]);
    const fs::path out = argv[4];
    fs::create_directories(out);

    const auto model = zeroshot::Model::load({.repo = folder.string()});
    const auto config = zeroshot::family::clip::parse_clip_config(
        read_text(folder / "config.json"), (folder / "config.json").string());

    // The vision tower's input, with the preprocessing the library's model family builds from
    // preprocessor_config.json.
    const auto params =
        zeroshot::family::load_model(folder.string(), zeroshot::kernels::GemmPrecision::kF32)
            .preprocess;
    const auto image = zeroshot::Image::from_file(image_path);
    const int side = config.vision.image_size;
    std::vector<float> pixels(3 * static_cast<std::size_t>(side) * side);  // [3, side, side]
    zeroshot::image::preprocess(image.rgb().data(), image.width(), image.height(), params,
                                pixels.data());

    const auto prompts = zeroshot::bench::photo_prompts(zeroshot::bench::make_labels(label_count));
    std::vector<std::vector<int>> ids;
    for (const auto& p : prompts) ids.push_back(model.tokenize(p));

    // Lengths from 3 tokens to the model's 77 positions (truncated), so that the check runs a
    // padded batch whose rows end at different positions.
    std::string long_text;
    for (int i = 0; i < 90; ++i) long_text += "dog ";
    std::vector<std::string> check = {"", "a photo of a dog", "dog", long_text,
                                      "the big red wooden house by the river, at night"};
    check.insert(check.end(), prompts.begin(), prompts.begin() + std::min<int>(20, label_count));
    std::vector<std::vector<int>> check_ids;
    for (const auto& t : check) check_ids.push_back(model.tokenize(t));

    const int dim = model.embedding_dim();
    const nlohmann::json inputs = {
        {"model", fs::absolute(folder).string()},
        {"image", image_path},
        {"eos_token_id", config.text.eos_token_id},
        {"pixels", write_floats(out, "pixels.f32", pixels, {1, 3, side, side})},
        {"image_embedding",
         write_floats(out, "image_embedding.f32", model.embed_image(image), {1, dim})},
        {"prompts", prompts},
        {"ids", ids},
        {"check_texts", check},
        {"check_ids", check_ids},
        {"check_embeddings",
         write_floats(out, "check_embeddings.f32", flatten(model.embed_texts(check)),
                      {static_cast<int>(check.size()), dim})}};
    std::ofstream json(out / "inputs.json");
    json << inputs.dump() << "\n";
    if (!json)
      throw zeroshot::Error(zeroshot::ErrorCode::kIo,
                            "cannot write " + (out / "inputs.json").string());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer_inputs: %s\n", e.what());
    return 1;
  }
  return 0;
}
