#include "core/inputs/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/base/error.h"

namespace moescope {
namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string path_ =
      (std::filesystem::temp_directory_path() /
       ("moescope_st_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".safetensors"))
          .string();
  void TearDown() override { std::filesystem::remove(path_); }

  // A file with an 8-byte length, the given header text, then `data_bytes` zero bytes.
  void write_raw(const std::string& header, std::size_t data_bytes, std::uint64_t length) {
    std::ofstream out(path_, std::ios::binary);
    for (int i = 0; i < 8; ++i)
      out.put(static_cast<char>((length >> (8 * i)) & 0xFF));
    out << header << std::string(data_bytes, '\0');
  }
  void write_raw(const std::string& header, std::size_t data_bytes) {
    write_raw(header, data_bytes, header.size());
  }
  std::string open_error() {
    try {
      SafetensorsFile f(path_);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
};

TEST_F(SafetensorsTest, RoundTripsF32F16AndBf16) {
  const std::vector<float> values = {0.0f, 1.0f, -2.5f, 3.140625f, 65504.0f, 1e-7f};
  write_safetensors(
      path_,
      {{"a", {2, 3}, values, "F32"}, {"b", {6}, values, "F16"}, {"c", {3, 2}, values, "BF16"}});
  const SafetensorsFile f(path_);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.find("a")->shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.read_f32(*f.find("a")), values);
  const auto half = f.read_f32(*f.find("b"));
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(half[i], values[i], 1e-3 * std::fabs(values[i]) + 6e-8);
  const auto bf = f.read_f32(*f.find("c"));
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(bf[i], values[i], 8e-3 * std::fabs(values[i]));
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(HalfConversions, ExactValuesAndSpecials) {
  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0xC000), -2.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(half_to_float(0x7C00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(70000.0f), 0x7C00);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(bfloat16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(float_to_bfloat16(1.0f), 0x3F80);
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(std::nanf("")))));
  for (int bits = 0; bits < 0x7C00; bits += 7) {
    EXPECT_EQ(float_to_half(half_to_float(static_cast<std::uint16_t>(bits))), bits);
  }
}

TEST_F(SafetensorsTest, EmptyAndShortFiles) {
  write_raw("", 0, 0);
  std::filesystem::resize_file(path_, 0);
  EXPECT_NE(open_error().find("shorter than the 8-byte header length"), std::string::npos);
  std::filesystem::resize_file(path_, 5);
  EXPECT_NE(open_error().find("shorter than the 8-byte header length"), std::string::npos);
}

TEST_F(SafetensorsTest, HeaderLengthThatLies) {
  write_raw("{}", 0, 1ull << 40);
  EXPECT_NE(open_error().find("exceeds"), std::string::npos) << open_error();
  write_raw("{}", 0, std::numeric_limits<std::uint64_t>::max());
  EXPECT_NE(open_error().find("exceeds"), std::string::npos);
}

TEST_F(SafetensorsTest, HeaderThatIsNotJsonOrNotAnObject) {
  write_raw("{\"a\": [", 0);
  EXPECT_NE(open_error().find("not valid JSON"), std::string::npos);
  write_raw("[1, 2]", 0);
  EXPECT_NE(open_error().find("not a JSON object"), std::string::npos);
}

TEST_F(SafetensorsTest, OffsetsOutsideTheData) {
  write_raw(R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 8);
  EXPECT_NE(open_error().find("outside the data section"), std::string::npos) << open_error();
  write_raw(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8);
  EXPECT_NE(open_error().find("outside the data section"), std::string::npos);
}

TEST_F(SafetensorsTest, SizeThatDisagreesWithShapeAndDtype) {
  write_raw(R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}})", 16);
  EXPECT_NE(open_error().find("need 4 elements"), std::string::npos) << open_error();
  write_raw(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})", 0);
  EXPECT_NE(open_error().find("overflows"), std::string::npos) << open_error();
}

TEST_F(SafetensorsTest, BadEntries) {
  write_raw(R"({"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(open_error().find("unknown dtype 'F33'"), std::string::npos);
  write_raw(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(open_error().find("not a size"), std::string::npos);
  write_raw(R"({"x":{"dtype":"F32","shape":[1]}})", 4);
  EXPECT_NE(open_error().find("data_offsets"), std::string::npos);
  write_raw(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(open_error().find("dtype"), std::string::npos);
  write_raw(R"({"x":7})", 0);
  EXPECT_NE(open_error().find("not an object"), std::string::npos);
}

TEST_F(SafetensorsTest, MetadataIsSkippedAndOtherDtypesAreRefusedOnRead) {
  write_raw(
      R"({"__metadata__":{"format":"pt"},"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
      4);
  const SafetensorsFile f(path_);
  ASSERT_EQ(f.tensors().size(), 1u);
  try {
    f.read_f32(f.tensors()[0]);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dtype I32"), std::string::npos);
  }
}

TEST_F(SafetensorsTest, MissingFileAndDirectory) {
  EXPECT_NE(open_error().find("no such file"), std::string::npos);
  path_ = std::filesystem::temp_directory_path().string();
  EXPECT_NE(open_error().find("not a regular file"), std::string::npos);
  path_ = "/nonexistent-file-for-teardown";
}

}  // namespace
}  // namespace moescope

namespace moescope {
namespace {

TEST_F(SafetensorsTest, DuplicateNamesOverlapsHolesAndBadMetadata) {
  write_raw(
      R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8);
  EXPECT_NE(open_error().find("'x' is listed twice"), std::string::npos) << open_error();
  write_raw(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8);
  EXPECT_NE(open_error().find("overlapping or unindexed"), std::string::npos) << open_error();
  write_raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})", 5);
  EXPECT_NE(open_error().find("overlapping or unindexed"), std::string::npos) << open_error();
  write_raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12);
  EXPECT_NE(open_error().find("extra or missing data"), std::string::npos) << open_error();
  write_raw(R"({"__metadata__":5,"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  EXPECT_NE(open_error().find("__metadata__"), std::string::npos) << open_error();
  // Nested objects may repeat names that tensors use.
  write_raw(R"({"__metadata__":{"a":"x"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
            4);
  EXPECT_EQ(open_error(), "(no error)");
}

}  // namespace
}  // namespace moescope

namespace moescope {
namespace {

class SafetensorsEdges : public SafetensorsTest {};

// An F32 tensor with no elements reads as nothing (it once copied zero bytes from a null
// pointer, which UBSan reports).
TEST_F(SafetensorsEdges, ATensorWithNoElementsReadsEmpty) {
  write_raw(R"({"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}})", 0);
  SafetensorsFile f(path_);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_TRUE(f.read_f32(f.tensors()[0]).empty());
}

// A number the header cannot hold names the file and the field, not the JSON library.
TEST_F(SafetensorsEdges, AnOverflowingNumberNamesTheField) {
  write_raw(R"({"t":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})", 4);
  const std::string message = open_error();
  EXPECT_NE(message.find(path_), std::string::npos) << message;
  EXPECT_NE(message.find("field 't.shape'"), std::string::npos) << message;
  EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
}

}  // namespace
}  // namespace moescope
