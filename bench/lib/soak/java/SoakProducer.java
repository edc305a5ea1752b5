import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The soak's Java producer (bench/soak.ts): acks=all with idempotence, optionally transactional, writing records
 * whose key names the stream and a sequence number ("<stream>:<seq>"), and reporting on stdout exactly which
 * sequence numbers the cluster acknowledged, so that the soak can later check each one is in the log once.
 * Single-file source launch, nothing to build:
 *
 *   java -cp <kafka classpath> SoakProducer.java <bootstrap> <topic> <stream> <partitions> <recordsPerSec>
 *       [--transactional-id ID --records-per-txn N] [--value-bytes N] [--property KEY=VALUE]...
 *
 * Record seq goes to partition seq % partitions (explicitly, so every partition gets records whatever the
 * partitioner). Lines on stdout:
 *   READY                          the producer is connected (transactional: initTransactions done)
 *   BEGIN <txn>                    a transaction was begun (transactional only)
 *   ACK <seq>:<partition>:<offset> ...
 *                                  acknowledged records: non-transactional once the send callback succeeds,
 *                                  transactional once commitTransaction has returned
 *   FAIL <seq> <exception>         a send the client gave up on (not acknowledged; it may or may not be stored)
 *   ABORT <txn> <records> <why>    a transaction aborted by this program (its records are not acknowledged)
 *   DONE sent=<n> acked=<n> failed=<n>
 * It stops cleanly (transactional: commits the open transaction) when stdin ends or reads "stop".
 * Exit 1 when the producer can no longer go on (fenced, fatal error), 2 on bad arguments.
 */
public class SoakProducer {
  private static volatile boolean stopping = false;
  private static final StringBuilder pendingAcks = new StringBuilder();
  private static long acked = 0;
  private static long failed = 0;

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    String transactionalId = null;
    int recordsPerTxn = 100;
    int valueBytes = 100;
    List<String> positional = new ArrayList<>();
    try {
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
          case "--records-per-txn" -> recordsPerTxn = Integer.parseInt(value);
          case "--value-bytes" -> valueBytes = Integer.parseInt(value);
          case "--property" -> {
            int eq = value.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--property wants KEY=VALUE, got " + value);
            props.put(value.substring(0, eq), value.substring(eq + 1));
          }
          default -> throw new IllegalArgumentException("unknown option " + arg);
        }
      }
      if (positional.size() != 5) throw new IllegalArgumentException("expected 5 arguments, got " + positional.size());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(
          "usage: SoakProducer <bootstrap> <topic> <stream> <partitions> <recordsPerSec>"
              + " [--transactional-id ID --records-per-txn N] [--value-bytes N] [--property KEY=VALUE]...");
      System.exit(2);
      return;
    }
    String topic = positional.get(1);
    String stream = positional.get(2);
    int partitions = Integer.parseInt(positional.get(3));
    double rate = Double.parseDouble(positional.get(4));
    String padding = "x".repeat(Math.max(0, valueBytes));

    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, positional.get(0));
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "soak-" + stream);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    // A broker restart and a sidecar handover each take seconds to tens of seconds on a loaded machine: a record
    // should ride them out in the client's own retries rather than fail.
    props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "180000");
    props.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
    if (transactionalId != null) {
      props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
      // A transaction left open by a killed instance is aborted by the coordinator after this, if no new instance
      // with the same id fences it first.
      props.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000");
    }

    Thread stdinWatcher = new Thread(SoakProducer::watchStdin, "stdin-watcher");
    stdinWatcher.setDaemon(true);
    stdinWatcher.start();
    Thread printer = new Thread(SoakProducer::printAcks, "ack-printer");
    printer.setDaemon(true);
    printer.start();

    long sent = 0;
    long intervalNanos = (long) (1_000_000_000L / rate);
    long next = System.nanoTime();
    int exitCode = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      if (transactionalId != null) producer.initTransactions();
      else producer.partitionsFor(topic);
      line("READY");
      long seq = 0;
      long txn = 0;
      while (!stopping) {
        if (transactionalId == null) {
          next = pace(next, intervalNanos);
          final long s = seq++;
          producer.send(record(topic, stream, s, partitions, padding), (metadata, exception) -> {
            if (exception == null) ack(s + ":" + metadata.partition() + ":" + metadata.offset());
            else fail(s, exception);
          });
          sent++;
          continue;
        }
        txn++;
        producer.beginTransaction();
        line("BEGIN " + txn);
        List<Long> seqs = new ArrayList<>();
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        // The transaction is finished even when a stop arrives halfway: stopping must not lose what it sent.
        for (int i = 0; i < recordsPerTxn; i++) {
          next = pace(next, intervalNanos);
          seqs.add(seq);
          futures.add(producer.send(record(topic, stream, seq++, partitions, padding)));
          sent++;
        }
        try {
          producer.commitTransaction();
        } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException e) {
          throw e;
        } catch (KafkaException e) {
          line("ABORT " + txn + " " + seqs.size() + " " + e.getClass().getSimpleName());
          producer.abortTransaction();
          failed += seqs.size();
          continue;
        }
        StringBuilder acks = new StringBuilder();
        for (int i = 0; i < seqs.size(); i++) {
          RecordMetadata metadata = futures.get(i).get();
          acks.append(' ').append(seqs.get(i)).append(':').append(metadata.partition()).append(':').append(metadata.offset());
        }
        synchronized (pendingAcks) {
          pendingAcks.append(acks);
          acked += seqs.size();
        }
      }
      producer.flush();
    } catch (Exception e) {
      System.err.println("SoakProducer failed: " + e);
      e.printStackTrace(System.err);
      exitCode = 1;
    }
    flushAcks();
    synchronized (pendingAcks) {
      line("DONE sent=" + sent + " acked=" + acked + " failed=" + failed);
    }
    System.exit(exitCode);
  }

  private static ProducerRecord<String, String> record(
      String topic, String stream, long seq, int partitions, String padding) {
    String key = stream + ":" + seq;
    return new ProducerRecord<>(topic, (int) (seq % partitions), key, key + "|" + padding);
  }

  /** Sleeps until the next send is due; returns when the one after is. */
  private static long pace(long next, long intervalNanos) throws InterruptedException {
    long wait = next - System.nanoTime();
    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
    // After a stall (a blocked send), carry on at the rate instead of bursting to catch up.
    return Math.max(next, System.nanoTime() - intervalNanos) + intervalNanos;
  }

  private static void ack(String entry) {
    synchronized (pendingAcks) {
      pendingAcks.append(' ').append(entry);
      acked++;
    }
  }

  private static void fail(long seq, Exception exception) {
    synchronized (pendingAcks) {
      failed++;
      line("FAIL " + seq + " " + exception.getClass().getSimpleName());
    }
  }

  /** Acknowledgements go out in one line every 200 ms: a line per record would cost more than the records. */
  private static void printAcks() {
    while (true) {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
      flushAcks();
    }
  }

  private static void flushAcks() {
    synchronized (pendingAcks) {
      if (pendingAcks.length() == 0) return;
      line("ACK" + pendingAcks);
      pendingAcks.setLength(0);
    }
  }

  private static synchronized void line(String text) {
    System.out.println(text);
    System.out.flush();
  }

  private static void watchStdin() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String l;
      while ((l = in.readLine()) != null) {
        if (l.trim().equals("stop")) break;
      }
    } catch (Exception ignored) {
      // stdin gone: stop as on EOF
    }
    stopping = true;
  }
}
