// What train keeps and writes: RNG state, checkpoints, TensorBoard framing.
#include "runtime/Args.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/TensorBoard.h"
#include "runtime/weights/Params.h"
#include "runtime/weights/Random.h"
#include "runtime/weights/Safetensors.h"

#include "TestUtil.h"

#include <fstream>
#include <sstream>

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

class TrainTest : public TempDirTest {
protected:
  Manifest manifest() const {
    Manifest m;
    m.model = "Fake";
    m.inputs = {{"x", DType::F32, {-1, 3}}};
    m.targets = {{"y", DType::I64, {-1}, 2}};
    m.outputs = {{"logits", DType::F32, {-1, 2}}};
    m.params = {{"fc.weight", DType::F32, {2, 3}, {}}, {"fc.bias", DType::F32, {2}, {}}};
    m.state = {{"fc.weight.momentum_buffer", DType::F32, {2, 3}},
               {"fc.bias.momentum_buffer", DType::F32, {2}}};
    m.loss = true;
    m.entryPoints = {"forward", "loss", "train_step"};
    return m;
  }
};

TEST(RngStateTest, ContinuesTheStreamExactly) {
  Rng a(42);
  a.next();
  a.normal(); // leaves a spare normal pending
  Rng b(7);
  ASSERT_TRUE(b.restoreState(a.saveState()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.normal(), b.normal());
    EXPECT_EQ(a.next(), b.next());
  }
  EXPECT_FALSE(b.restoreState("xyz"));
  EXPECT_FALSE(b.restoreState(std::string(16 * 6 + 5, '0'))); // all zero: not a state
  std::string s = a.saveState();
  EXPECT_FALSE(b.restoreState(s + ":0"));
  EXPECT_FALSE(b.restoreState(s.substr(0, s.size() - 1)));
}

TEST(TensorBoardTest, Crc32cAndMasking) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u); // the standard check value
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST_F(TrainTest, CheckpointRoundTripAndWeightsLoading) {
  Manifest m = manifest();
  std::vector<Tensor> params = initParams(m.params, 3), state;
  for (const TensorSpec &s : m.state) {
    state.emplace_back(s.dtype, s.shape);
    fillConstant(state.back(), 0.5);
  }
  TrainPosition pos;
  pos.epochsDone = 2;
  pos.epochStepsDone = 1;
  pos.runStep = 7;
  pos.epochs = 3;
  pos.batch = 4;
  pos.samples = 10;
  pos.lr = 0.1;
  pos.seed = 42;
  pos.shuffleRng = Rng(1).saveState();
  pos.dropoutRng = Rng(2).saveState();
  ASSERT_EQ(saveCheckpoint(path("c.safetensors"), m, params, state, pos), "");
  Checkpoint ck = loadCheckpoint(path("c.safetensors"), m);
  EXPECT_EQ(ck.position.runStep, 7);
  EXPECT_EQ(ck.position.epochStepsDone, 1);
  EXPECT_EQ(ck.position.lr, 0.1);
  EXPECT_EQ(ck.position.shuffleRng, pos.shuffleRng);
  ASSERT_EQ(ck.state.size(), 2u);
  EXPECT_EQ(ck.state[1].as<float>()[1], 0.5f);
  EXPECT_EQ(std::memcmp(ck.params[0].data(), params[0].data(), params[0].bytes()), 0);
  // The parameters alone load as weights (--init, --weights): the optimizer
  // state's names are skipped.
  Result<std::vector<Tensor>> w = loadParams(path("c.safetensors"), m.params);
  ASSERT_TRUE(w.ok()) << w.error;
  // A plain weights file is no checkpoint; another model's checkpoint neither.
  ASSERT_EQ(saveParams(path("w.safetensors"), m.params, params), "");
  try {
    loadCheckpoint(path("w.safetensors"), m);
    FAIL() << "a weights file loaded as a checkpoint";
  } catch (const CliError &e) {
    EXPECT_EQ(e.status, 2);
    EXPECT_TRUE(contains(e.what(), "not a Kiln checkpoint"));
  }
  Manifest other = m;
  other.model = "Other";
  try {
    loadCheckpoint(path("c.safetensors"), other);
    FAIL() << "another model's checkpoint loaded";
  } catch (const CliError &e) {
    EXPECT_TRUE(contains(e.what(), "a checkpoint of model 'Fake'"));
  }
  Manifest noState = m;
  noState.state.clear();
  try {
    loadCheckpoint(path("c.safetensors"), noState);
    FAIL() << "unexpected optimizer state loaded";
  } catch (const CliError &e) {
    EXPECT_TRUE(contains(e.what(), "unexpected optimizer state"));
  }
}

TEST_F(TrainTest, EventFileFraming) {
  EventWriter w;
  ASSERT_EQ(w.open(path("tb/run")), "");
  w.scalar("step/loss", 3, 0.5);
  w.flush();
  std::string file;
  for (const char *cmd : {"ls "}) {
    FILE *p = popen((cmd + path("tb/run")).c_str(), "r");
    char buf[512];
    while (p && fgets(buf, sizeof buf, p))
      file = buf;
    if (p)
      pclose(p);
  }
  ASSERT_EQ(file.rfind("events.out.tfevents.", 0), 0u) << file;
  file.pop_back(); // the newline
  std::ifstream f(path("tb/run/" + file), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  // Two records, each: length, masked CRC of it, data, masked CRC of data.
  size_t at = 0;
  int records = 0;
  auto masked = [](uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; };
  while (at < bytes.size()) {
    ASSERT_LE(at + 12, bytes.size());
    uint64_t len;
    uint32_t lenCrc, dataCrc;
    std::memcpy(&len, bytes.data() + at, 8);
    std::memcpy(&lenCrc, bytes.data() + at + 8, 4);
    EXPECT_EQ(lenCrc, masked(crc32c(bytes.data() + at, 8)));
    ASSERT_LE(at + 12 + len + 4, bytes.size());
    std::memcpy(&dataCrc, bytes.data() + at + 12 + len, 4);
    EXPECT_EQ(dataCrc, masked(crc32c(bytes.data() + at + 12, len)));
    std::string data = bytes.substr(at + 12, len);
    if (records == 0)
      EXPECT_TRUE(contains(data, "brain.Event:2"));
    else
      EXPECT_TRUE(contains(data, "step/loss"));
    at += 12 + len + 4;
    ++records;
  }
  EXPECT_EQ(records, 2);
}

} // namespace
