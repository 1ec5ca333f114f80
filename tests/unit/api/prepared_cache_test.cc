// The prepared-weights cache through the public API: a model loaded with the cache empty (packs
// and writes), again (maps the files), with the cache off, and after a file was damaged gives
// bit-identical text and image embeddings; the files are listed and cleared
// (list_prepared_weights, clear_prepared_weights). On CPUs where oneDNN uses the weights in place
// (AVX2: nothing is packed) no file is written, which is checked too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;

struct Embeddings {
  std::vector<std::vector<float>> texts;
  std::vector<float> image;
  bool operator==(const Embeddings&) const = default;
};

class PreparedCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("zs_prepared_api_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    // Small, but wide enough that oneDNN packs its weights where it packs any.
    testing::RandomClipOptions options;
    options.config = {{"projection_dim", 64},
                      {"text_config",
                       {{"hidden_size", 64},
                        {"intermediate_size", 256},
                        {"num_hidden_layers", 2},
                        {"num_attention_heads", 2}}},
                      {"vision_config",
                       {{"hidden_size", 64},
                        {"intermediate_size", 256},
                        {"num_hidden_layers", 2},
                        {"num_attention_heads", 2},
                        {"image_size", 64},
                        {"patch_size", 16}}}};
    options.tokenizer_from = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
    model_ = (root_ / "model").string();
    testing::write_random_clip(model_, options);
    cache_ = (root_ / "cache").string();
    ::setenv("ZEROSHOT_PREPARED_CACHE", cache_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("ZEROSHOT_PREPARED_CACHE");
    fs::remove_all(root_);
  }

  Embeddings embed(Precision precision = Precision::kFloat32) const {
    const Model model = Model::load({.repo = model_, .precision = precision});
    const std::vector<std::string> texts = {"a photo of a dog", "a cat"};
    const Image image =
        Image::from_file(std::string(ZEROSHOT_FIXTURES) + "/images/cmyk_200x150.jpg");
    return {model.embed_texts(texts), model.embed_image(image)};
  }

  std::vector<PreparedWeights> complete_files() const {
    std::vector<PreparedWeights> out;
    for (const auto& p : list_prepared_weights())
      if (!p.temporary) out.push_back(p);
    return out;
  }

  fs::path root_;
  std::string model_, cache_;
};

TEST_F(PreparedCacheTest, EmbeddingsAreIdenticalWithAndWithoutTheCache) {
  ASSERT_EQ(prepared_cache_dir(), cache_);
  const Embeddings written = embed();  // packs both towers into new files
  const auto files = complete_files();
  ASSERT_TRUE(files.size() == 0 || files.size() == 2) << files.size();
  const bool packs = files.size() == 2;
  for (const auto& f : files) {
    EXPECT_EQ(f.source, fs::path(model_ + "/model.safetensors").lexically_normal().string());
    EXPECT_TRUE(f.tower == "text" || f.tower == "vision") << f.tower;
    EXPECT_FALSE(f.stale);
    EXPECT_GT(f.size_on_disk, 0u);
  }
  const Embeddings mapped = embed();  // maps them
  EXPECT_EQ(mapped, written);
  EXPECT_EQ(complete_files().size(), files.size());

  ::setenv("ZEROSHOT_PREPARED_CACHE", "off", 1);
  EXPECT_EQ(prepared_cache_dir(), "");
  EXPECT_TRUE(list_prepared_weights().empty());
  EXPECT_EQ(embed(), written);
  ::setenv("ZEROSHOT_PREPARED_CACHE", cache_.c_str(), 1);

  if (!packs) GTEST_SKIP() << "oneDNN packs no weights on this CPU: nothing is cached";
  // A damaged file: its bad slot is packed in memory (same numbers) and the file removed.
  const fs::path victim = files[0].path;
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(victim) - 8192));
    f.put('\x7f');
  }
  EXPECT_EQ(embed(), written);
  EXPECT_FALSE(fs::exists(victim));
  EXPECT_EQ(embed(), written);  // written anew
  EXPECT_EQ(complete_files().size(), 2u);

  EXPECT_GT(clear_prepared_weights(), 0u);
  EXPECT_TRUE(list_prepared_weights().empty());
}

TEST_F(PreparedCacheTest, AnInt8VisionTowerHasAFileOfItsOwn) {
  const Embeddings f32 = embed();
  const Embeddings int8 = embed(Precision::kInt8);
  EXPECT_EQ(embed(Precision::kInt8), int8);  // from its own file
  EXPECT_EQ(embed(), f32);                   // the float32 file was not replaced
  int vision_files = 0;
  for (const auto& f : complete_files()) vision_files += f.tower == "vision";
  EXPECT_LE(vision_files, 2);  // one per precision at most: neither replaces the other
}

}  // namespace
}  // namespace zeroshot
