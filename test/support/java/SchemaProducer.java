import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A Java producer whose records are serialized by Apicurio Registry's Avro serde (io.apicurio.registry.serde.avro.
 * AvroKafkaSerializer: the schema registered under <topic>-value, the Confluent framing with the content id, or the id
 * in the apicurio.value.contentId header with --headers), for the schema-validation tests. Single-file source launch
 * with the jars of test/harness/maven/apicurio-serdes-pom.xml on CLASSPATH:
 *
 *   java SchemaProducer.java <bootstrap> <registry v3 API url> <topic> [options]
 *
 * It serializes --records Order records per partition, breaks the one at --invalid-at in the last partition (its last
 * two bytes cut off: the same framing and schema id, an Avro encoding that ends early), and sends every record of
 * every partition at once (one batch per partition, one Produce request), idempotent (the Java client's default).
 * Then, with --after N, N more valid records per partition, to show the producer carries on.
 *
 * Options: --records N (5) --invalid-at K (none) --partitions 0,1 (0) --headers --transactional --compression TYPE
 *          --after N (0) --client-id ID
 *
 * Output, one line per record: SENT <p> <i> <hex value> before sending; RESULT <p> <i> OK <offset> or
 * RESULT <p> <i> ERR <exception class>: <message>; AFTER lines alike; with --transactional, TXN aborted (the batch
 * failed: abortTransaction, then the valid records again in a new transaction) and TXN committed.
 */
public class SchemaProducer {
  static final String ORDER_SCHEMA =
      "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\",\"fields\":"
          + "[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount\",\"type\":\"int\"}]}";

  record Out(int partition, int index, byte[] value, RecordHeaders headers) {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: SchemaProducer <bootstrap> <registry v3 url> <topic> [options]");
      System.exit(2);
    }
    String bootstrap = args[0];
    String registry = args[1];
    String topic = args[2];
    int records = 5;
    int invalidAt = -1;
    int after = 0;
    List<Integer> partitions = List.of(0);
    boolean headers = false;
    boolean transactional = false;
    String compression = "none";
    String clientId = "schema-producer";
    for (int i = 3; i < args.length; i++) {
      switch (args[i]) {
        case "--records" -> records = Integer.parseInt(args[++i]);
        case "--invalid-at" -> invalidAt = Integer.parseInt(args[++i]);
        case "--after" -> after = Integer.parseInt(args[++i]);
        case "--partitions" -> partitions = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
        case "--headers" -> headers = true;
        case "--transactional" -> transactional = true;
        case "--compression" -> compression = args[++i];
        case "--client-id" -> clientId = args[++i];
        default -> {
          System.err.println("unknown option " + args[i]);
          System.exit(2);
        }
      }
    }

    Map<String, Object> serdeConfig = new HashMap<>();
    serdeConfig.put("apicurio.registry.url", registry);
    serdeConfig.put("apicurio.registry.auto-register", "true");
    serdeConfig.put("apicurio.registry.headers.enabled", String.valueOf(headers));
    io.apicurio.registry.serde.avro.AvroKafkaSerializer<GenericRecord> serializer =
        new io.apicurio.registry.serde.avro.AvroKafkaSerializer<>();
    serializer.configure(serdeConfig, false);
    Schema schema = new Schema.Parser().parse(ORDER_SCHEMA);

    List<Out> batch = new ArrayList<>();
    int last = partitions.get(partitions.size() - 1);
    for (int p : partitions) {
      for (int i = 0; i < records; i++) {
        GenericRecord order = new GenericData.Record(schema);
        order.put("id", "order-" + p + "-" + i);
        order.put("amount", 100 + i);
        RecordHeaders h = new RecordHeaders();
        byte[] value = serializer.serialize(topic, h, order);
        if (p == last && i == invalidAt) value = Arrays.copyOf(value, value.length - 2);
        batch.add(new Out(p, i, value, h));
      }
    }

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    // Everything sent at once lands in one batch per partition and one request.
    props.put(ProducerConfig.LINGER_MS_CONFIG, "200");
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
    if (transactional) props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "schema-tx-" + UUID.randomUUID());

    int failures = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      if (transactional) {
        producer.initTransactions();
        producer.beginTransaction();
      }
      failures = sendAll(producer, topic, batch, "RESULT");
      if (transactional) {
        if (failures > 0) {
          // The failed batch left the transaction abortable (TransactionManager#maybeTransitionToErrorState).
          producer.abortTransaction();
          System.out.println("TXN aborted");
          producer.beginTransaction();
          final int broken = invalidAt;
          sendAll(producer, topic, batch.stream().filter(o -> !isInvalid(o, last, broken)).toList(), "RETRY");
        }
      }
      List<Out> more = new ArrayList<>();
      for (int p : partitions) {
        for (int i = 0; i < after; i++) {
          GenericRecord order = new GenericData.Record(schema);
          order.put("id", "after-" + p + "-" + i);
          order.put("amount", 1);
          RecordHeaders h = new RecordHeaders();
          more.add(new Out(p, i, serializer.serialize(topic, h, order), h));
        }
      }
      sendAll(producer, topic, more, "AFTER");
      if (transactional) {
        producer.commitTransaction();
        System.out.println("TXN committed");
      }
    }
    System.out.flush();
  }

  static boolean isInvalid(Out o, int last, int invalidAt) {
    return o.partition() == last && o.index() == invalidAt;
  }

  static int sendAll(KafkaProducer<byte[], byte[]> producer, String topic, List<Out> outs, String label)
      throws InterruptedException {
    List<Future<RecordMetadata>> futures = new ArrayList<>();
    for (Out o : outs) {
      System.out.println("SENT " + o.partition() + " " + o.index() + " " + HexFormat.of().formatHex(o.value()));
      futures.add(producer.send(new ProducerRecord<byte[], byte[]>(topic, o.partition(), (byte[]) null, o.value(), (Iterable<Header>) o.headers())));
    }
    producer.flush();
    int failures = 0;
    for (int i = 0; i < outs.size(); i++) {
      Out o = outs.get(i);
      try {
        RecordMetadata m = futures.get(i).get();
        System.out.println(label + " " + o.partition() + " " + o.index() + " OK " + m.offset());
      } catch (ExecutionException e) {
        failures++;
        Throwable c = e.getCause();
        System.out.println(label + " " + o.partition() + " " + o.index() + " ERR " + c.getClass().getName() + ": " + c.getMessage());
      }
    }
    return failures;
  }
}
