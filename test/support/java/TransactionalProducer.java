import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A Java transactional producer for tests: InitProducerId, transactional Produce and EndTxn (and, with
 * --offsets-group, TxnOffsetCommit) as a Kafka Java application sends them. Against brokers with transaction
 * version 2 (KIP-890, the default of new Kafka 4 clusters) the client sends no AddPartitionsToTxn/AddOffsetsToTxn:
 * the partition leader adds partitions itself, with an AddPartitionsToTxn v5 of its own to the coordinator; older
 * brokers get both from this client. Single-file source launch, nothing to build:
 *
 *   java -cp <kafka classpath> TransactionalProducer.java <bootstrap> <topic> <committedCount> <abortedCount> [options]
 *
 * It sends committedCount records (key "k-<i>", value "committed-<i>") in one transaction and commits it, then
 * abortedCount records (key "k-<i>", value "aborted-<i>") in a second transaction and aborts it. A consumer with
 * isolation.level=read_committed must see exactly the committed values; read_uncommitted sees both.
 *
 * Options:
 *   --transactional-id <id>   default: tx-<random uuid>
 *   --client-id <id>          default: the producer's own (producer-<transactional id>)
 *   --compression <type>      none | gzip | snappy | lz4 | zstd; default none
 *   --offsets-group <group>   inside the committed transaction, also commit offset <committedCount> of
 *                             <topic>-0 for this consumer group (sendOffsetsToTransaction)
 *   --property <key>=<value>  any other producer property; repeatable
 *
 * On success it prints one line to stdout and exits 0:
 *   TransactionalProducer committed=<n> aborted=<m> topic=<topic> transactionalId=<id> partitions=<p,...>
 * Exit 1 on a Kafka error (message on stderr), 2 on bad arguments (usage on stderr).
 */
public class TransactionalProducer {
  private static final String USAGE =
      "usage: TransactionalProducer <bootstrap> <topic> <committedCount> <abortedCount>"
          + " [--transactional-id ID] [--client-id ID] [--compression none|gzip|snappy|lz4|zstd]"
          + " [--offsets-group GROUP] [--property KEY=VALUE]...";

  public static void main(String[] args) {
    Properties props = new Properties();
    String bootstrap;
    String topic;
    int committed;
    int aborted;
    String transactionalId = "tx-" + UUID.randomUUID();
    String offsetsGroup = null;
    try {
      List<String> positional = new ArrayList<>();
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (!arg.startsWith("--")) {
          positional.add(arg);
          continue;
        }
        if (i + 1 >= args.length) throw new IllegalArgumentException(arg + " needs a value");
        String value = args[++i];
        switch (arg) {
          case "--transactional-id" -> transactionalId = value;
          case "--client-id" -> props.put(ProducerConfig.CLIENT_ID_CONFIG, value);
          case "--compression" -> props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, value);
          case "--offsets-group" -> offsetsGroup = value;
          case "--property" -> {
            int eq = value.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--property wants KEY=VALUE, got " + value);
            props.put(value.substring(0, eq), value.substring(eq + 1));
          }
          default -> throw new IllegalArgumentException("unknown option " + arg);
        }
      }
      if (positional.size() != 4) throw new IllegalArgumentException("expected 4 arguments, got " + positional.size());
      bootstrap = positional.get(0);
      topic = positional.get(1);
      committed = Integer.parseInt(positional.get(2));
      aborted = Integer.parseInt(positional.get(3));
      if (committed < 0 || aborted < 0) throw new IllegalArgumentException("counts must be >= 0");
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }

    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    // Tests run on small machines next to brokers that are still settling: fail within the test's own timeouts.
    props.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
    props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");

    List<Integer> partitions = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();

      producer.beginTransaction();
      // Sent without waiting on each record, so they travel in batches as an application's would.
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < committed; i++) sent.add(producer.send(new ProducerRecord<>(topic, "k-" + i, "committed-" + i)));
      producer.flush();
      collectPartitions(sent, partitions);
      if (offsetsGroup != null) sendOffsets(producer, topic, committed, offsetsGroup);
      producer.commitTransaction();

      producer.beginTransaction();
      sent.clear();
      for (int i = 0; i < aborted; i++) sent.add(producer.send(new ProducerRecord<>(topic, "k-" + i, "aborted-" + i)));
      // Flushed first so the aborted records really are in the log (and a read_committed reader must skip them).
      producer.flush();
      collectPartitions(sent, partitions);
      producer.abortTransaction();
    } catch (Exception e) {
      System.err.println("TransactionalProducer failed: " + e);
      e.printStackTrace(System.err);
      System.exit(1);
      return;
    }
    partitions.sort(null);
    System.out.println(
        "TransactionalProducer committed=" + committed + " aborted=" + aborted + " topic=" + topic
            + " transactionalId=" + transactionalId + " partitions="
            + String.join(",", partitions.stream().map(String::valueOf).toList()));
  }

  // A consumer's groupMetadata() is the supported source of ConsumerGroupMetadata; constructing one from a group
  // id (deprecated for removal in Kafka 4) spares this tool a consumer. The broker only needs the group id.
  @SuppressWarnings("removal")
  private static void sendOffsets(KafkaProducer<String, String> producer, String topic, int offset, String group) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    offsets.put(new TopicPartition(topic, 0), new OffsetAndMetadata(offset));
    producer.sendOffsetsToTransaction(offsets, new ConsumerGroupMetadata(group));
  }

  private static void collectPartitions(List<Future<RecordMetadata>> sent, List<Integer> partitions) throws Exception {
    for (Future<RecordMetadata> future : sent) {
      int partition = future.get().partition();
      if (!partitions.contains(partition)) partitions.add(partition);
    }
  }
}
