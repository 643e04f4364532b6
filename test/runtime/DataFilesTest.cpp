// Readers: IDX (plain and gzip), NPY, CSV, format detection, every bad input.
#include "runtime/data/DataFiles.h"

#include "TestUtil.h"

using namespace kiln::runtime;
using namespace kiln::runtime::test;

namespace {

class DataFilesTest : public TempDirTest {};

TEST_F(DataFilesTest, IdxU8PlainAndGzip) {
  Bytes data = {1, 2, 3, 4, 5, 6};
  Bytes file = idxBytes(0x08, {3, 2}, data);
  writeFile(path("a-idx2-ubyte"), file);
  writeGzip(path("a.gz"), file);
  for (const char *name : {"a-idx2-ubyte", "a.gz"}) {
    Result<Tensor> t = loadData(path(name), DType::F32, {2});
    ASSERT_TRUE(t.ok()) << t.error;
    EXPECT_EQ(t.value.shape(), (std::vector<int64_t>{3, 2}));
    EXPECT_FLOAT_EQ(t.value.as<float>()[5], 6.0f);
  }
}

TEST_F(DataFilesTest, IdxBigEndianI32AndF64) {
  writeFile(path("i.idx"), idxBytes(0x0C, {2}, {0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE}));
  Result<Tensor> t = loadData(path("i.idx"), DType::I64, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.as<int64_t>()[0], 258);
  EXPECT_EQ(t.value.as<int64_t>()[1], -2);

  Bytes d = {0x3F, 0xF8, 0, 0, 0, 0, 0, 0}; // 1.5
  writeFile(path("d.idx"), idxBytes(0x0E, {1}, d));
  Result<Tensor> f = loadData(path("d.idx"), DType::F64, {});
  ASSERT_TRUE(f.ok()) << f.error;
  EXPECT_EQ(f.value.as<double>()[0], 1.5);
}

TEST_F(DataFilesTest, IdxTruncatedPlainAndGzip) {
  Bytes file = idxBytes(0x08, {10000}, Bytes(9999, 1));
  writeFile(path("labels.idx"), file);
  Result<Tensor> t = loadData(path("labels.idx"), DType::I64, {});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, path("labels.idx") + ": truncated: header says 10000 items"));
  EXPECT_TRUE(contains(t.error, "file holds 9999 bytes of data"));

  writeGzip(path("labels.gz"), file);
  t = loadData(path("labels.gz"), DType::I64, {});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, "truncated"));
}

TEST_F(DataFilesTest, IdxAbsurdSizeRejectedBeforeAllocation) {
  // 4 dims of 65535: 2^64 bytes claimed by a 20-byte file.
  writeFile(path("huge.idx"), idxBytes(0x0E, {65535, 65535, 65535, 65535}, {}));
  Result<Tensor> t = loadData(path("huge.idx"), DType::F64, {65535, 65535, 65535});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, "data limit")) << t.error;
  // A terabyte claim under the cap's arithmetic but far beyond the file, gzipped.
  writeGzip(path("tb.gz"), idxBytes(0x08, {1000000, 1000, 1000}, Bytes(10, 0)));
  t = loadData(path("tb.gz"), DType::U8, {1000, 1000});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, "data limit")) << t.error;
  writeGzip(path("gb.gz"), idxBytes(0x08, {1000, 1000, 1000}, Bytes(10, 0)));
  t = loadData(path("gb.gz"), DType::U8, {1000, 1000});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, "truncated")) << t.error;
}

TEST_F(DataFilesTest, IdxBadMagicTypeAndTrailingData) {
  writeFile(path("bad.idx"), {1, 2, 8, 1, 0, 0, 0, 1, 7});
  EXPECT_TRUE(contains(loadData(path("bad.idx"), DType::U8, {}).error, "wrong magic"));
  writeFile(path("type.idx"), idxBytes(0x07, {1}, {1}));
  EXPECT_TRUE(contains(loadData(path("type.idx"), DType::U8, {}).error,
                       "unknown IDX data type 0x07"));
  writeFile(path("extra.idx"), idxBytes(0x08, {1}, {1, 2}));
  EXPECT_FALSE(loadData(path("extra.idx"), DType::U8, {}).ok());
  writeGzip(path("extra.gz"), idxBytes(0x08, {1}, {1, 2}));
  EXPECT_TRUE(contains(loadData(path("extra.gz"), DType::U8, {}).error, "more data"));
}

TEST_F(DataFilesTest, CorruptGzip) {
  Bytes gz = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef};
  writeFile(path("c.gz"), gz);
  Result<Tensor> t = loadData(path("c.gz"), DType::U8, {});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(contains(t.error, path("c.gz") + ": ")) << t.error;
}

TEST_F(DataFilesTest, NpyVersionsAndDtypes) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  for (int major : {1, 2, 3}) {
    writeFile(path("a.npy"), npyBytes("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (2, 3), }",
                                      rawBytes(v), major));
    Result<Tensor> t = loadData(path("a.npy"), DType::F64, {3});
    ASSERT_TRUE(t.ok()) << t.error;
    EXPECT_EQ(t.value.as<double>()[4], 5.0);
  }
  std::vector<uint16_t> u = {65535, 7};
  writeFile(path("u.npy"),
            npyBytes("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", rawBytes(u)));
  Result<Tensor> t = loadData(path("u.npy"), DType::I32, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.as<int32_t>()[0], 65535);

  Bytes b = {0, 1, 5};
  writeFile(path("b.npy"),
            npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b));
  t = loadData(path("b.npy"), DType::F32, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.as<float>()[2], 1.0f);
}

TEST_F(DataFilesTest, NpyErrors) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  auto npy = [&](const std::string &dict, const Bytes &data) {
    writeFile(path("x.npy"), npyBytes(dict, data));
    return loadData(path("x.npy"), DType::F32, {3}).error;
  };
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                           rawBytes(v)),
                       "Fortran"));
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
                           rawBytes(v)),
                       path("x.npy") + ": expected per-sample shape [3], file has [2]"));
  EXPECT_TRUE(contains(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }",
                           Bytes(24, 0)),
                       "cannot convert f64 data to the declared f32"));
  EXPECT_TRUE(contains(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                           rawBytes(v)),
                       "big-endian"));
  EXPECT_TRUE(contains(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }",
                           rawBytes(v)),
                       "unsupported dtype"));
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }",
                           rawBytes(v)),
                       "truncated: header says 4 items"));
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, "
                           "3), }",
                           rawBytes(v)),
                       "data limit"));
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'shape': (2, 3), }", rawBytes(v)),
                       "bad NPY header"));
  EXPECT_TRUE(contains(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                           rawBytes(v)),
                       "single value"));
  writeText(path("y.npy"), "not numpy at all");
  EXPECT_EQ(loadData(path("y.npy"), DType::F32, {}).error,
            path("y.npy") + ": wrong magic: not an NPY file");
  // A header length past the end of the file.
  Bytes h = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{'};
  writeFile(path("h.npy"), h);
  EXPECT_TRUE(contains(loadData(path("h.npy"), DType::F32, {}).error, "past the end"));
}

TEST_F(DataFilesTest, LosslessConversionTable) {
  auto load = [&](const std::string &descr, size_t size, DType to) {
    writeFile(path("c.npy"), npyBytes("{'descr': '" + descr +
                                          "', 'fortran_order': False, 'shape': (1,), }",
                                      Bytes(size, 0)));
    return loadData(path("c.npy"), to, {}).ok();
  };
  EXPECT_TRUE(load("|u1", 1, DType::U8));
  EXPECT_TRUE(load("|u1", 1, DType::F32));
  EXPECT_TRUE(load("|i1", 1, DType::I32));
  EXPECT_FALSE(load("|i1", 1, DType::U8));
  EXPECT_TRUE(load("<i2", 2, DType::F32));
  EXPECT_TRUE(load("<i4", 4, DType::I64));
  EXPECT_TRUE(load("<i4", 4, DType::F64));
  EXPECT_FALSE(load("<i4", 4, DType::F32));
  EXPECT_TRUE(load("<u4", 4, DType::I64));
  EXPECT_FALSE(load("<u4", 4, DType::I32));
  EXPECT_FALSE(load("<i8", 8, DType::I32));
  EXPECT_FALSE(load("<i8", 8, DType::F64));
  EXPECT_FALSE(load("<u8", 8, DType::I64));
  EXPECT_TRUE(load("<f4", 4, DType::F64));
  EXPECT_FALSE(load("<f4", 4, DType::I64));
  EXPECT_FALSE(load("<f8", 8, DType::F32));
}

TEST_F(DataFilesTest, CsvHeaderAndValues) {
  writeText(path("a.csv"), "a,b,c\n1,2,3\r\n\n 4.5 , -1e2,7\n");
  Result<Tensor> t = loadData(path("a.csv"), DType::F32, {3});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_FLOAT_EQ(t.value.as<float>()[3], 4.5f);
  EXPECT_FLOAT_EQ(t.value.as<float>()[4], -100.0f);

  writeText(path("m.csv"), "1,2,3,4\n5,6,7,8\n");
  t = loadData(path("m.csv"), DType::U8, {2, 2}); // a row holds a whole sample
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.shape(), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(t.value.as<uint8_t>()[7], 8);

  writeText(path("l.csv"), "label\n3\n9223372036854775807\n2.0\n");
  t = loadData(path("l.csv"), DType::I64, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.as<int64_t>()[1], INT64_MAX);
  EXPECT_EQ(t.value.as<int64_t>()[2], 2);
}

TEST_F(DataFilesTest, CsvErrors) {
  auto csv = [&](const std::string &text, DType dtype, std::vector<int64_t> shape) {
    writeText(path("x.csv"), text);
    return loadData(path("x.csv"), dtype, shape).error;
  };
  EXPECT_EQ(csv("1,2\n3,abc\n", DType::F32, {2}),
            path("x.csv") + ": line 2, column 2: 'abc' is not a number");
  EXPECT_EQ(csv("1,2\n3,1.5\n", DType::I64, {2}),
            path("x.csv") + ": line 2, column 2: 1.5 does not fit i64 exactly");
  EXPECT_EQ(csv("300\n", DType::U8, {}),
            path("x.csv") + ": line 1, column 1: 300 does not fit u8 exactly");
  EXPECT_TRUE(contains(csv("-1\n", DType::U8, {}), "does not fit u8"));
  EXPECT_TRUE(contains(csv("3000000000\n", DType::I32, {}), "does not fit i32"));
  EXPECT_TRUE(contains(csv("1e39\n", DType::F32, {}), "does not fit f32"));
  EXPECT_EQ(csv("1,2,3\n4,5\n", DType::F32, {3}),
            path("x.csv") + ": line 2 has 2 values, expected 3 (per-sample shape [3])");
  EXPECT_TRUE(contains(csv("1,,3\n", DType::F32, {3}), "'' is not a number"));
  EXPECT_TRUE(contains(csv("a,1\n", DType::F32, {2}), "line 1, column 1"));
}

// Issue 14: a one-column CSV starting with a UTF-8 byte order mark lost its
// first row, which "\xEF\xBB\xBF1" made look like a header.
TEST_F(DataFilesTest, CsvByteOrderMarkAndHeaderRule) {
  writeText(path("bom.csv"), "\xEF\xBB\xBF" "1\n0\n1\n");
  Result<Tensor> t = loadData(path("bom.csv"), DType::I64, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(t.value.as<int64_t>()[0], 1);
  writeText(path("bomh.csv"), "\xEF\xBB\xBF" "label\r\n7\r\n");
  t = loadData(path("bomh.csv"), DType::I64, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.shape(), (std::vector<int64_t>{1}));
  EXPECT_EQ(t.value.as<int64_t>()[0], 7);
  // A header only when none of its cells is a number: "nan", "inf" and hex
  // are numbers, so those rows are data.
  writeText(path("nan.csv"), "nan,1\n2,3\n");
  t = loadData(path("nan.csv"), DType::F32, {2});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.samples(), 2);
  writeText(path("mixed.csv"), "x,1\n2,3\n");
  EXPECT_EQ(loadData(path("mixed.csv"), DType::F32, {2}).error,
            path("mixed.csv") + ": line 1, column 1: 'x' is not a number");
  // A BOM alone, blank lines alone: no samples.
  writeText(path("empty.csv"), "\xEF\xBB\xBF\n \t\r\n\n");
  t = loadData(path("empty.csv"), DType::F32, {});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.samples(), 0);
}

TEST_F(DataFilesTest, CsvHugeCellsAndLines) {
  // A cell longer than any number is quoted cut short, and costs no memory.
  std::string cell(100000, '7');
  writeText(path("long.csv"), "1," + cell + "\n");
  std::string err = loadData(path("long.csv"), DType::F64, {2}).error;
  EXPECT_TRUE(contains(err, "line 1, column 2: '7777")) << err;
  EXPECT_TRUE(contains(err, "...' is not a number")) << err;
  EXPECT_LT(err.size(), 200u);
  // A last line without a newline is a row like the others.
  writeText(path("nonl.csv"), "1,2\n3,4");
  Result<Tensor> t = loadData(path("nonl.csv"), DType::I32, {2});
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.value.as<int32_t>()[3], 4);
}

TEST_F(DataFilesTest, DataLimitFromTheEnvironment) {
  writeText(path("rows.csv"), "1,2,3\n4,5,6\n");
  writeFile(path("x.npy"), npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                    rawBytes(std::vector<float>(6, 1.0f))));
  setenv("KILN_MAX_DATA_BYTES", "20", 1); // 24 bytes of f32 do not fit
  EXPECT_EQ(maxDataBytes(), 20u);
  EXPECT_TRUE(contains(loadData(path("rows.csv"), DType::F32, {3}).error,
                       "more than the data limit of 20 bytes (set KILN_MAX_DATA_BYTES"));
  EXPECT_TRUE(contains(loadData(path("x.npy"), DType::F32, {3}).error, "data limit of 20 bytes"));
  // The decoded size counts: 6 u8 values fit 20 bytes, as f64 they do not.
  writeFile(path("u8.idx"), idxBytes(0x08, {2, 3}, Bytes(6, 1)));
  EXPECT_TRUE(loadData(path("u8.idx"), DType::U8, {3}).ok());
  EXPECT_TRUE(contains(loadData(path("u8.idx"), DType::F64, {3}).error, "data limit"));
  setenv("KILN_MAX_DATA_BYTES", "24", 1);
  EXPECT_TRUE(loadData(path("rows.csv"), DType::F32, {3}).ok());
  setenv("KILN_MAX_DATA_BYTES", "3G", 1);
  EXPECT_EQ(maxDataBytes(), uint64_t(3) << 30);
  EXPECT_EQ(checkDataLimitEnvironment(), "");
  setenv("KILN_MAX_DATA_BYTES", "512MiB", 1);
  EXPECT_EQ(maxDataBytes(), uint64_t(512) << 20);
  setenv("KILN_MAX_DATA_BYTES", "-5", 1);
  EXPECT_TRUE(contains(checkDataLimitEnvironment(), "'-5' is not a byte count"));
  setenv("KILN_MAX_DATA_BYTES", "12Q", 1);
  EXPECT_FALSE(checkDataLimitEnvironment().empty());
  unsetenv("KILN_MAX_DATA_BYTES");
  EXPECT_LE(maxDataBytes(), uint64_t(16) << 30);
  EXPECT_EQ(humanBytes(1536), "1.5 KiB");
  EXPECT_EQ(humanBytes(uint64_t(16) << 30), "16 GiB");
}

TEST_F(DataFilesTest, CsvRowsCannotInflateTheAllocation) {
  // Three short rows against a per-sample shape of 2^40 values would be 24 TB
  // of f64: every row's value count is checked before anything is allocated.
  writeText(path("x.csv"), "1\n2\n3\n");
  EXPECT_EQ(loadData(path("x.csv"), DType::F64, {1 << 20, 1 << 20}).error,
            path("x.csv") + ": line 1 has 1 values, expected 1099511627776 "
                            "(per-sample shape [1048576, 1048576])");
}

// Found by fuzz-csv and fuzz-npy: bytes of the file quoted in a message could
// hold a newline or a carriage return and break the one-line error.
TEST_F(DataFilesTest, MessagesQuoteFileBytesOnOneLine) {
  writeText(path("x.csv"), "1\n1.\r2\n");
  EXPECT_EQ(loadData(path("x.csv"), DType::F32, {}).error,
            path("x.csv") + ": line 2, column 1: '1.\\x0D2' is not a number");
  writeText(path("y.csv"), "1\n\x1b[2J" + std::string(100, '7') + "x\n");
  EXPECT_EQ(loadData(path("y.csv"), DType::F32, {}).error,
            path("y.csv") + ": line 2, column 1: '\\x1B[2J" + std::string(60, '7') +
                "...' is not a number");
  writeFile(path("z.npy"),
            npyBytes("{'descr': '<f4', 'fortran_order': False, 'sha\npe': (2,), }", Bytes(8, 0)));
  EXPECT_EQ(loadData(path("z.npy"), DType::F32, {}).error,
            path("z.npy") + ": bad NPY header: unexpected key 'sha\\x0Ape'");
}

// Issue 14: a FIFO with no writer made every reader block in open().
TEST_F(DataFilesTest, FifosAndDevicesAreNotRegularFiles) {
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  for (const char *name : {"fifo.npy", "fifo.csv", "fifo.idx.gz", "fifo"}) {
    std::string p = path(name);
    if (std::string(name) != "fifo")
      ASSERT_EQ(symlink(path("fifo").c_str(), p.c_str()), 0);
    EXPECT_EQ(loadData(p, DType::F32, {}).error, p + ": not a regular file (a FIFO)");
  }
  EXPECT_EQ(loadIdx(path("fifo"), DType::F32, {}).error,
            path("fifo") + ": not a regular file (a FIFO)");
  EXPECT_EQ(loadData("/dev/zero", DType::F32, {}).error,
            "/dev/zero: not a regular file (a character device)");
}

TEST_F(DataFilesTest, MissingUnreadableAndUnknown) {
  Result<Tensor> t = loadData(path("nope.npy"), DType::F32, {});
  EXPECT_EQ(t.error, path("nope.npy") + ": cannot open: No such file or directory");
  EXPECT_EQ(loadData(dir_, DType::F32, {}).error, dir_ + ": not a regular file (a directory)");
  writeText(path("data.txt"), "1,2\n");
  EXPECT_TRUE(contains(loadData(path("data.txt"), DType::F32, {}).error,
                       "unknown data format"));
  writeText(path("empty"), "");
  EXPECT_TRUE(contains(loadData(path("empty"), DType::F32, {}).error, "empty file"));
  if (getuid() != 0) { // root reads anything
    writeText(path("secret.csv"), "1\n");
    chmod(path("secret.csv").c_str(), 0);
    EXPECT_TRUE(contains(loadData(path("secret.csv"), DType::F32, {}).error,
                         "cannot open: Permission denied"));
  }
}

} // namespace
