import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Kafka's Java admin client creating topics in a loop, as a provisioning job would: one createTopics call per
 * batch of topics, each waited for, with the client's defaults (retryOnQuotaViolation true: topics answered
 * THROTTLING_QUOTA_EXCEEDED are retried after the throttle time, KIP-599). Single-file source launch:
 *
 *   java -cp <kafka classpath> CreateTopicsLoop.java <bootstrap> <prefix> <topics> <partitions> <perCall> <clientId>
 *
 * Prints one line and exits 0 when every topic was created:
 *   CreateTopicsLoop created=<n> calls=<c> elapsedMs=<ms>
 * Exit 1 on any failure (the exception on stderr), 2 on bad arguments.
 */
public class CreateTopicsLoop {
  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: CreateTopicsLoop <bootstrap> <prefix> <topics> <partitions> <perCall> <clientId>");
      System.exit(2);
    }
    String bootstrap = args[0];
    String prefix = args[1];
    int topics = Integer.parseInt(args[2]);
    int partitions = Integer.parseInt(args[3]);
    int perCall = Integer.parseInt(args[4]);
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, args[5]);
    int created = 0;
    int calls = 0;
    long started = System.nanoTime();
    try (Admin admin = Admin.create(props)) {
      while (created < topics) {
        List<NewTopic> batch = new ArrayList<>();
        for (int i = 0; i < perCall && created + i < topics; i++) {
          batch.add(new NewTopic(prefix + "-" + (created + i), partitions, (short) 1));
        }
        try {
          admin.createTopics(batch, new CreateTopicsOptions()).all().get();
        } catch (ExecutionException e) {
          System.err.println("createTopics failed: " + e.getCause());
          e.getCause().printStackTrace();
          System.exit(1);
        }
        created += batch.size();
        calls++;
      }
    }
    long elapsedMs = (System.nanoTime() - started) / 1_000_000;
    System.out.println("CreateTopicsLoop created=" + created + " calls=" + calls + " elapsedMs=" + elapsedMs);
  }
}
