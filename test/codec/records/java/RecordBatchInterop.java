import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.xerial.snappy.Snappy;

/**
 * Record batches written and read by Kafka's own Java client code (kafka-clients 4.x, record classes in
 * org.apache.kafka.common.record.internal), for test/codec/records/java-interop.test.ts. Run as a single-file
 * source program: java -cp <kafka classpath> RecordBatchInterop.java <dir>
 *
 * In <dir>:
 *   records.txt          input, one record a line: timestamp, key, value, headers (see parseRecords)
 *   java-<codec>.bin     output: a plain batch, a transactional batch, a COMMIT and an ABORT marker
 *   ours-<codec>.bin     input when present: batches written by the TypeScript codec
 *   ours-<codec>.txt     output: what Java reads from them, after ensureValid() (CRC and layout)
 *   raw-input.bin        input: bytes that raw-java.snappy receives compressed by snappy-java's Snappy.compress,
 *                        Google's snappy without the xerial framing: the form librdkafka writes
 *   raw-ours.snappy      input: a raw snappy block written by the TypeScript codec; raw-ours.out gets it
 *                        decompressed by Snappy.uncompress
 */
public class RecordBatchInterop {
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
    static final long BASE_OFFSET = 100L;
    static final long PRODUCER_ID = 4242L;
    static final short PRODUCER_EPOCH = 7;
    static final int BASE_SEQUENCE = 11;
    static final int PARTITION_LEADER_EPOCH = 3;
    static final long MARKER_TIMESTAMP = 1_700_000_000_999L;

    record Input(long timestamp, byte[] key, byte[] value, Header[] headers) {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        List<Input> records = parseRecords(dir.resolve("records.txt"));
        for (String codec : CODECS) {
            Files.write(dir.resolve("java-" + codec + ".bin"), writeBatches(codec, records));
            Path ours = dir.resolve("ours-" + codec + ".bin");
            if (Files.exists(ours)) describe(Files.readAllBytes(ours), dir.resolve("ours-" + codec + ".txt"));
        }
        Files.write(dir.resolve("raw-java.snappy"), Snappy.compress(Files.readAllBytes(dir.resolve("raw-input.bin"))));
        Files.write(dir.resolve("raw-ours.out"), Snappy.uncompress(Files.readAllBytes(dir.resolve("raw-ours.snappy"))));
    }

    /** Fields separated by tabs; bytes in base64, "-" for null; headers as key:value pairs joined by commas. */
    static List<Input> parseRecords(Path file) throws IOException {
        List<Input> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            List<Header> headers = new ArrayList<>();
            if (!f[3].isEmpty()) {
                for (String pair : f[3].split(",")) {
                    String[] kv = pair.split(":", -1);
                    headers.add(new RecordHeader(new String(bytes(kv[0]), StandardCharsets.UTF_8), bytes(kv[1])));
                }
            }
            out.add(new Input(Long.parseLong(f[0]), bytes(f[1]), bytes(f[2]), headers.toArray(new Header[0])));
        }
        return out;
    }

    static byte[] bytes(String field) {
        return field.equals("-") ? null : Base64.getDecoder().decode(field);
    }

    static String text(ByteBuffer buffer) {
        if (buffer == null) return "-";
        byte[] a = new byte[buffer.remaining()];
        buffer.duplicate().get(a);
        return Base64.getEncoder().encodeToString(a);
    }

    static byte[] writeBatches(String codec, List<Input> records) {
        Compression compression = Compression.of(codec).build();
        ByteBuffer plain = build(compression, records, BASE_OFFSET, RecordBatch.NO_PRODUCER_ID,
            RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, false, RecordBatch.NO_PARTITION_LEADER_EPOCH);
        long next = BASE_OFFSET + records.size();
        ByteBuffer transactional = build(compression, records, next, PRODUCER_ID, PRODUCER_EPOCH, BASE_SEQUENCE, true,
            PARTITION_LEADER_EPOCH);
        next += records.size();
        ByteBuffer commit = MemoryRecords.withEndTransactionMarker(next, MARKER_TIMESTAMP, PARTITION_LEADER_EPOCH,
            PRODUCER_ID, PRODUCER_EPOCH, new EndTransactionMarker(ControlRecordType.COMMIT, 5)).buffer();
        ByteBuffer abort = MemoryRecords.withEndTransactionMarker(next + 1, MARKER_TIMESTAMP, PARTITION_LEADER_EPOCH,
            PRODUCER_ID, PRODUCER_EPOCH, new EndTransactionMarker(ControlRecordType.ABORT, 6)).buffer();
        ByteBuffer all = ByteBuffer.allocate(plain.remaining() + transactional.remaining() + commit.remaining() + abort.remaining());
        all.put(plain).put(transactional).put(commit).put(abort);
        return all.array();
    }

    static ByteBuffer build(Compression compression, List<Input> records, long baseOffset, long producerId,
                            short producerEpoch, int baseSequence, boolean transactional, int partitionLeaderEpoch) {
        MemoryRecordsBuilder builder = MemoryRecords.builder(ByteBuffer.allocate(1024), RecordBatch.CURRENT_MAGIC_VALUE,
            compression, TimestampType.CREATE_TIME, baseOffset, RecordBatch.NO_TIMESTAMP, producerId, producerEpoch,
            baseSequence, transactional, partitionLeaderEpoch);
        for (Input r : records) builder.append(r.timestamp(), r.key(), r.value(), r.headers());
        return builder.build().buffer();
    }

    /** One "B" line per batch, then one "R" line per record: offset, timestamp, key, value, headers. */
    static void describe(byte[] data, Path out) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
            for (RecordBatch batch : MemoryRecords.readableRecords(ByteBuffer.wrap(data)).batches()) {
                batch.ensureValid();
                w.println(String.join("\t", "B", Long.toString(batch.baseOffset()), Long.toString(batch.lastOffset()),
                    batch.compressionType().name, Boolean.toString(batch.isTransactional()),
                    Boolean.toString(batch.isControlBatch()), Long.toString(batch.producerId()),
                    Short.toString(batch.producerEpoch()), Integer.toString(batch.baseSequence()),
                    Long.toString(batch.maxTimestamp())));
                for (Record r : batch) {
                    List<String> headers = new ArrayList<>();
                    for (Header h : r.headers()) {
                        headers.add(Base64.getEncoder().encodeToString(h.key().getBytes(StandardCharsets.UTF_8)) + ":"
                            + (h.value() == null ? "-" : Base64.getEncoder().encodeToString(h.value())));
                    }
                    w.println(String.join("\t", "R", Long.toString(r.offset()), Long.toString(r.timestamp()),
                        text(r.key()), text(r.value()), String.join(",", headers)));
                }
            }
        }
    }
}
